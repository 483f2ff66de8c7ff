package learn

import (
	"fmt"
	"math"
)

// CheckRange returns nil when the option value v is finite and within [lo, hi], with the
// low end open when openLo and the high end open when openHi; otherwise a one-line error
// naming the rule, the option, its value and the interval it accepts, e.g.
// "ccl option lr = NaN: want a finite number in (0, 100]". Rules call it from their
// options' Validate.
func CheckRange(rule, name string, v, lo, hi float64, openLo, openHi bool) error {
	okLo := v > lo || (!openLo && v == lo)
	okHi := v < hi || (!openHi && v == hi)
	if !math.IsNaN(v) && !math.IsInf(v, 0) && okLo && okHi {
		return nil
	}
	lb, rb := "[", "]"
	if openLo {
		lb = "("
	}
	if openHi {
		rb = ")"
	}
	return fmt.Errorf("%s option %s = %v: want a finite number in %s%g, %g%s", rule, name, v, lb, lo, hi, rb)
}

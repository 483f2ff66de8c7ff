package learn

import (
	"math"
	"testing"
)

func TestCheckRange(t *testing.T) {
	for _, c := range []struct {
		v              float64
		openLo, openHi bool
		want           string
	}{
		{0.5, false, false, ""},
		{0, false, false, ""},
		{1, false, false, ""},
		{0, true, false, "x option lr = 0: want a finite number in (0, 1]"},
		{1, false, true, "x option lr = 1: want a finite number in [0, 1)"},
		{math.NaN(), false, false, "x option lr = NaN: want a finite number in [0, 1]"},
		{math.Inf(1), false, false, "x option lr = +Inf: want a finite number in [0, 1]"},
		{-0.1, false, false, "x option lr = -0.1: want a finite number in [0, 1]"},
	} {
		err := CheckRange("x", "lr", c.v, 0, 1, c.openLo, c.openHi)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("CheckRange(%v, openLo %v, openHi %v) = %q, want %q", c.v, c.openLo, c.openHi, got, c.want)
		}
	}
}

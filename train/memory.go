package train

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/copi-learn/copi/learn"
)

// AvailableMemory returns the bytes the machine can still give a process (MemAvailable of
// /proc/meminfo), or 0 where it cannot tell.
func AvailableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// checkMemory refuses a learner whose estimated allocation exceeds the memory the machine
// has available, with both figures, before anything is allocated.
func checkMemory(r learn.Rule, opts any, s learn.Shape) error {
	if r.Memory == nil {
		return nil
	}
	need, have := r.Memory(opts, s), AvailableMemory()
	if have <= 0 || need <= have {
		return nil
	}
	return fmt.Errorf("rule %s: this network needs about %s of memory and the machine has %s available: choose smaller layer sizes (or batch)",
		r.Name, bytesText(need), bytesText(have))
}

// bytesText formats a byte count in binary units, e.g. "37.3 GiB".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, 0
	for v >= unit && u < 4 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[u])
}

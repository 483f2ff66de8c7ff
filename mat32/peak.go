package mat32

import (
	"errors"
	"runtime"
	"time"
)

// peakLoop is an FMA-throughput loop: run(n) executes n iterations of flopsPerIter FLOPs.
type peakLoop struct {
	name         string
	flopsPerIter int
	run          func(n int)
}

// MeasurePeakGFLOPS measures the machine's physical float32 peak for threads threads: it
// runs tight loops of independent vector FMAs (AVX-512 and AVX2, whichever the CPU has) on
// one OS thread for about d per loop, takes the best rate of one core, and multiplies it by
// min(threads, NumCPU). It returns the peak in GFLOP/s and the name of the loop that reached
// it. One core is timed rather than all at once because the best single-core window is easy
// to catch even on a busy machine. The result is the denominator of "fraction of peak"
// figures. Off amd64, or on CPUs without FMA, it returns an error.
func MeasurePeakGFLOPS(threads int, d time.Duration) (float64, string, error) {
	if threads <= 0 {
		threads = DefaultThreads()
	}
	loops := peakLoops()
	if len(loops) == 0 {
		return 0, "", errors.New("mat32: no FMA loop to measure the peak on this CPU")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best, bestName := 0.0, ""
	for _, l := range loops {
		// Chunks of about 1 ms, timed one by one: the best chunk is the core's peak.
		n := 1 << 12
		for {
			t0 := time.Now()
			l.run(n)
			if time.Since(t0) > time.Millisecond || n > 1<<30 {
				break
			}
			n *= 2
		}
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			t0 := time.Now()
			l.run(n)
			sec := time.Since(t0).Seconds()
			if g := float64(n) * float64(l.flopsPerIter) / sec / 1e9; g > best {
				best, bestName = g, l.name
			}
		}
	}
	return best * float64(min(threads, runtime.NumCPU())), bestName, nil
}

package mat32

import (
	"errors"
	"runtime"
	"sync"
	"time"
)

// peakLoop is an FMA-throughput loop: run(n) executes n iterations of flopsPerIter FLOPs.
type peakLoop struct {
	name         string
	flopsPerIter int
	run          func(n int)
}

// MeasurePeakGFLOPS measures the machine's physical float32 peak: it runs tight loops of
// independent vector FMAs (AVX-512 and AVX2, whichever the CPU has) on threads goroutines at
// once, each locked to an OS thread, for about d per loop, and returns the best rate in
// GFLOP/s and the name of the loop that reached it. It is the denominator of "fraction of
// peak" figures. Off amd64, or on CPUs without FMA, it returns an error.
func MeasurePeakGFLOPS(threads int, d time.Duration) (float64, string, error) {
	if threads <= 0 {
		threads = DefaultThreads()
	}
	loops := peakLoops()
	if len(loops) == 0 {
		return 0, "", errors.New("mat32: no FMA loop to measure the peak on this CPU")
	}
	best, bestName := 0.0, ""
	for _, l := range loops {
		// Calibrate a chunk of about 2 ms on one thread, then time whole rounds.
		n := 1 << 14
		for {
			t0 := time.Now()
			l.run(n)
			if time.Since(t0) > 2*time.Millisecond || n > 1<<30 {
				break
			}
			n *= 2
		}
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			var wg sync.WaitGroup
			t0 := time.Now()
			for t := 0; t < threads; t++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					l.run(n)
				}()
			}
			wg.Wait()
			sec := time.Since(t0).Seconds()
			if g := float64(threads) * float64(n) * float64(l.flopsPerIter) / sec / 1e9; g > best {
				best, bestName = g, l.name
			}
		}
	}
	return best, bestName, nil
}

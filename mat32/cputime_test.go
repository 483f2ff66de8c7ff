//go:build linux

package mat32

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time consumed so far by the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuRate runs f b.N times on a locked thread and reports GFLOP/s per CPU second of that
// thread: on a busy machine this is steadier than wall time for single-threaded tuning.
func cpuRate(b *testing.B, flops float64, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	t0 := threadCPU()
	for b.Loop() {
		f()
	}
	if d := threadCPU() - t0; d > 0 {
		b.ReportMetric(flops*float64(b.N)/d.Seconds()/1e9, "cpuGFLOP/s")
	}
}

//go:build !linux

package mat32

import "testing"

// cpuRate runs f b.N times and reports GFLOP/s of wall time (thread CPU time is read only
// on Linux).
func cpuRate(b *testing.B, flops float64, f func()) {
	f()
	for b.Loop() {
		f()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "cpuGFLOP/s")
}

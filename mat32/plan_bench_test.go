package mat32

import (
	"fmt"
	"testing"
)

// BenchmarkPlan compares packing decisions on the benchmark shapes (single thread).
func BenchmarkPlan(b *testing.B) {
	e, err := NewEngine(Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, s := range benchShapes {
		for _, pk := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
			b.Run(fmt.Sprintf("%s/packA=%v/packB=%v", s.name, pk[0], pk[1]), func(b *testing.B) {
				if (!pk[0] && s.tA == NoTrans) || (!pk[1] && s.tB == Trans) {
					b.Skip("must pack")
				}
				e.tweak = func(j *gemmJob) { j.packA, j.packB = pk[0], pk[1] }
				defer func() { e.tweak = nil }()
				x, y, c := benchOperands(s)
				for b.Loop() {
					e.Gemm(s.tA, s.tB, 1, x, y, s.beta, c)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

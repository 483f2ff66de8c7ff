package mat32

import (
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkGonumSgemm measures gonum's pure-Go Sgemm on the reference shapes, the yardstick
// for "no well-kept pure-Go float32 GEMM reaches this speed" in the package doc.
func BenchmarkGonumSgemm(b *testing.B) {
	var impl gonum.Implementation
	for _, s := range benchShapes[:4] {
		b.Run(s.name, func(b *testing.B) {
			x, y, c := benchOperands(s)
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, x.Data, x.Stride, y.Data, y.Stride, 0, c.Data, c.Stride)
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

package mat32

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShape is one GEMM of the benchmarks: op(A) m×k, op(B) k×n, with transposes and beta.
type benchShape struct {
	name    string
	tA, tB  Transpose
	m, k, n int
	beta    float32
}

// benchShapes are the square-ish reference shapes and the GEMMs of one training step of a
// 784-500×6-10 MLP at batch 50 (forward, backward, weight update, decorrelation).
var benchShapes = []benchShape{
	{"256x1000x1000", NoTrans, NoTrans, 256, 1000, 1000, 0},
	{"1000x1000x1000", NoTrans, NoTrans, 1000, 1000, 1000, 0},
	{"50x784x784", NoTrans, NoTrans, 50, 784, 784, 0},
	{"50x500x500", NoTrans, NoTrans, 50, 500, 500, 0},
	{"fwd_XWt_50x784x500", NoTrans, Trans, 50, 784, 500, 0},
	{"fwd_XWt_50x500x500", NoTrans, Trans, 50, 500, 500, 0},
	{"bwd_DW_50x500x784", NoTrans, NoTrans, 50, 500, 784, 0},
	{"upd_DtX_500x50x784_beta1", Trans, NoTrans, 500, 50, 784, 1},
	{"decor_XR_50x784x784", NoTrans, NoTrans, 50, 784, 784, 0},
	{"decor_XtY_784x50x784_beta1", Trans, NoTrans, 784, 50, 784, 1},
}

func benchOperands(s benchShape) (a, b, c Matrix) {
	rng := rand.New(rand.NewPCG(7, 7))
	ar, ac := s.m, s.k
	if s.tA {
		ar, ac = s.k, s.m
	}
	br, bc := s.k, s.n
	if s.tB {
		br, bc = s.n, s.k
	}
	return randView(rng, ar, ac, 0), randView(rng, br, bc, 0), New(s.m, s.n)
}

func BenchmarkGemm(b *testing.B) {
	for _, threads := range []int{1, 2} {
		for _, name := range kernelNames() {
			e, err := NewEngine(Options{Threads: threads, Kernel: name})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			for _, s := range benchShapes {
				if name == "generic" && s.m*s.n*s.k > 1e8 {
					continue
				}
				b.Run(fmt.Sprintf("%s/t%d/%s", name, threads, s.name), func(b *testing.B) {
					x, y, c := benchOperands(s)
					for b.Loop() {
						e.Gemm(s.tA, s.tB, 1, x, y, s.beta, c)
					}
					b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

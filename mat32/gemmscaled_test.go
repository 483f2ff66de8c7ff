package mat32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmScaledMatchesScaleThenGemm checks GemmScaled against ScaleRows/ScaleColumns
// followed by Gemm with beta = 1, bit for bit, for every kernel, thread count, transpose and
// a range of shapes (partial tiles, several k blocks, parallel and serial products).
func TestGemmScaledMatchesScaleThenGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(m Matrix) {
		for i := range m.Data {
			m.Data[i] = float32(rng.NormFloat64())
		}
	}
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1 + float32(rng.NormFloat64()*0.1)
		}
		return v
	}
	for _, kname := range kernelNames() {
		for _, threads := range []int{1, 2} {
			e, err := NewEngine(Options{Threads: threads, Kernel: kname})
			if err != nil {
				t.Fatal(err)
			}
			for _, sh := range [][3]int{{1, 1, 1}, {13, 7, 35}, {50, 784, 500}, {500, 50, 500}, {784, 50, 784}, {37, 1100, 61}} {
				m, k, n := sh[0], sh[1], sh[2]
				for _, tA := range []Transpose{NoTrans, Trans} {
					for _, tB := range []Transpose{NoTrans, Trans} {
						a, b := New(m, k), New(k, n)
						if tA {
							a = New(k, m)
						}
						if tB {
							b = New(n, k)
						}
						fill(a)
						fill(b)
						c := New(m, n)
						fill(c)
						for mode := 0; mode < 3; mode++ {
							var rs, cs []float32
							if mode != 1 {
								rs = vec(m)
							}
							if mode != 0 {
								cs = vec(n)
							}
							want := clone(c)
							if rs != nil {
								ScaleRows(want, rs)
							}
							if cs != nil {
								ScaleColumns(want, cs)
							}
							e.Gemm(tA, tB, -0.3, a, b, 1, want)
							got := clone(c)
							e.GemmScaled(tA, tB, -0.3, a, b, rs, cs, got)
							for i := range got.Data {
								if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
									t.Fatalf("%s, %d threads, %dx%dx%d %v %v mode %d: C[%d] = %g, want %g",
										kname, threads, m, k, n, tA, tB, mode, i, got.Data[i], want.Data[i])
								}
							}
						}
					}
				}
			}
			e.Close()
		}
	}
}

package mat32

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// TestAdamKernelsMatchScalar checks that every kernel's Adam update, on one thread and on
// several, is bit for bit the scalar loop, on awkward lengths (vector tails), non-contiguous
// matrices, weight decay, and extreme values (zeros, tiny and huge gradients).
func TestAdamKernelsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	co := AdamCoeffs{WeightDecay: 1e-2, Beta1: 0.9, OneMinusBeta1: float32(1 - 0.9), Beta2: 0.999,
		OneMinusBeta2: float32(1 - 0.999), InvC1: float32(1 / (1 - math.Pow(0.9, 3))),
		InvC2: float32(1 / (1 - math.Pow(0.999, 3))), LR: 1e-3, Eps: 1e-8}
	for _, kname := range kernelNames() {
		for _, threads := range []int{1, 2, 3} {
			e, err := NewEngine(Options{Threads: threads, Kernel: kname})
			if err != nil {
				t.Fatal(err)
			}
			for _, shape := range [][3]int{{1, 1, 1}, {3, 17, 17}, {7, 33, 40}, {500, 784, 784}, {1, 70001, 70001}, {40, 1000, 1000}} {
				rows, cols, stride := shape[0], shape[1], shape[2]
				mk := func() Matrix {
					m := Matrix{Rows: rows, Cols: cols, Stride: stride, Data: make([]float32, (rows-1)*stride+cols)}
					return m
				}
				p, g, m, v := mk(), mk(), mk(), mk()
				for i := range p.Data {
					p.Data[i] = float32(rng.NormFloat64())
					g.Data[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
					m.Data[i] = float32(rng.NormFloat64() * 1e-2)
					v.Data[i] = float32(rng.Float64() * 1e-3)
					if i%13 == 0 {
						g.Data[i], m.Data[i], v.Data[i] = 0, 0, 0
					}
				}
				wp, wm, wv := clone(p), clone(m), clone(v)
				for r := 0; r < rows; r++ {
					AdamScalar(wp.Row(r), g.Row(r), wm.Row(r), wv.Row(r), &co)
				}
				e.Adam(p, g, m, v, &co)
				for name, pair := range map[string][2]Matrix{"p": {p, wp}, "m": {m, wm}, "v": {v, wv}} {
					for r := 0; r < rows; r++ {
						got, want := pair[0].Row(r), pair[1].Row(r)
						for j := range got {
							if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("%s, %d threads, %dx%d: %s[%d,%d] = %g, scalar %g", kname, threads, rows, cols, name, r, j, got[j], want[j])
							}
						}
					}
				}
			}
			e.Close()
		}
	}
}

func clone(m Matrix) Matrix {
	c := m
	c.Data = append([]float32(nil), m.Data...)
	return c
}

type countRanger struct {
	hits  []atomic.Int32
	calls atomic.Int32
}

func (c *countRanger) Range(lo, hi int) {
	c.calls.Add(1)
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

// TestParallelFor checks that the pieces cover the range exactly once, respect the minimum
// piece size and allocate nothing.
func TestParallelFor(t *testing.T) {
	for _, threads := range []int{1, 2, 4} {
		e, err := NewEngine(Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 15, 100, 1000, 4097} {
			c := &countRanger{hits: make([]atomic.Int32, n)}
			e.ParallelFor(n, 16, 100, c)
			for i := range c.hits {
				if h := c.hits[i].Load(); h != 1 {
					t.Fatalf("%d threads, n=%d: index %d run %d times", threads, n, i, h)
				}
			}
			if want := max(1, min(threads, n/100)); n > 0 && int(c.calls.Load()) > want {
				t.Fatalf("%d threads, n=%d: %d pieces, want at most %d", threads, n, c.calls.Load(), want)
			}
		}
		c := &countRanger{hits: make([]atomic.Int32, 4096)}
		if a := testing.AllocsPerRun(20, func() { e.ParallelFor(4096, 16, 100, c) }); a != 0 {
			t.Fatalf("%d threads: ParallelFor allocates %v times", threads, a)
		}
		p, g, m, v := New(64, 1024), New(64, 1024), New(64, 1024), New(64, 1024)
		co := AdamCoeffs{Beta1: 0.9, OneMinusBeta1: 0.1, Beta2: 0.999, OneMinusBeta2: 0.001, InvC1: 1, InvC2: 1, LR: 1e-3, Eps: 1e-8}
		if a := testing.AllocsPerRun(20, func() { e.Adam(p, g, m, v, &co) }); a != 0 {
			t.Fatalf("%d threads: Adam allocates %v times", threads, a)
		}
		e.Close()
	}
}

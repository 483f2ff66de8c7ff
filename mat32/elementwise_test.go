package mat32

import (
	"math/rand/v2"
	"testing"
)

// TestElementwise compares the unrolled element-wise operations with plain loops on
// contiguous and strided views whose widths are not multiples of the unroll factor.
func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, pad := range []int{0, 3} {
		for _, shape := range [][2]int{{1, 1}, {3, 7}, {5, 16}, {4, 33}} {
			r, c := shape[0], shape[1]
			a, b := randView(rng, r, c, pad), randView(rng, r, c, pad)
			v := make([]float32, c)
			s := make([]float32, r)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
			check := func(name string, got Matrix, want func(i, j int) float32) {
				t.Helper()
				for i := 0; i < r; i++ {
					for j := 0; j < c; j++ {
						if g, w := got.At(i, j), want(i, j); g != w {
							t.Fatalf("%s %dx%d pad %d: (%d,%d) = %v, want %v", name, r, c, pad, i, j, g, w)
						}
					}
				}
			}
			d := randView(rng, r, c, pad)
			Add(d, a, b)
			check("Add", d, func(i, j int) float32 { return a.At(i, j) + b.At(i, j) })
			Sub(d, a, b)
			check("Sub", d, func(i, j int) float32 { return a.At(i, j) - b.At(i, j) })
			Hadamard(d, a, b)
			check("Hadamard", d, func(i, j int) float32 { return a.At(i, j) * b.At(i, j) })
			Copy(d, a)
			Axpy(0.5, b, d)
			check("Axpy", d, func(i, j int) float32 { return a.At(i, j) + 0.5*b.At(i, j) })
			Copy(d, a)
			Scale(-3, d)
			check("Scale", d, func(i, j int) float32 { return -3 * a.At(i, j) })
			Copy(d, a)
			AddRowVector(d, v)
			check("AddRowVector", d, func(i, j int) float32 { return a.At(i, j) + v[j] })
			Copy(d, a)
			ScaleColumns(d, v)
			check("ScaleColumns", d, func(i, j int) float32 { return a.At(i, j) * v[j] })
			Copy(d, a)
			ScaleRows(d, s)
			check("ScaleRows", d, func(i, j int) float32 { return a.At(i, j) * s[i] })
			Copy(d, a)
			AddOuter(2, s, v, d)
			check("AddOuter", d, func(i, j int) float32 { return a.At(i, j) + (2*s[i])*v[j] })
			Copy(d, a)
			Add(d, d, b) // aliasing dst and a
			check("Add aliased", d, func(i, j int) float32 { return a.At(i, j) + b.At(i, j) })
		}
	}
}

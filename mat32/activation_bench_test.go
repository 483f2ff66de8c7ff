package mat32

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkActivation times the element-wise activation and its backward pass on a batch of
// 50×500 pre-activations of random sign (the MNIST network's hidden layers), where a branch
// per element would be mispredicted half of the time.
func BenchmarkActivation(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, g, d := New(50, 500), New(50, 500), New(50, 500)
	for i := range a.Data {
		a.Data[i] = float32(rng.NormFloat64())
		g.Data[i] = float32(rng.NormFloat64())
	}
	for _, f := range []Func{ReLU, LeakyReLU} {
		b.Run("Apply/"+f.String(), func(b *testing.B) {
			for range b.N {
				Apply(d, a, f, 0.1)
			}
		})
		b.Run("MulDeriv/"+f.String(), func(b *testing.B) {
			for range b.N {
				MulDeriv(d, g, a, f, 0.1)
			}
		})
	}
}

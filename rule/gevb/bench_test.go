package gevb

import (
	"testing"

	"github.com/copi-learn/copi/learn"
)

// benchStep times one training step of the authors' MNIST network (784K-1024-512-1, K = 10,
// batch 128) on random data; -benchmem shows that a step allocates nothing.
func benchStep(b *testing.B, mode Mode, weights string) {
	o := DefaultOptions()
	o.Weights = weights
	l, err := New(engine(b), mode, o, learn.Shape{Inputs: 784, Classes: 10, BatchRows: 128, EvalRows: 256}, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := batch(128, 784, 1)
	for i := range x.Labels {
		x.Labels[i] = uint8(i % 10)
	}
	l.Step(x, learn.At{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Step(x, learn.At{})
	}
}

func BenchmarkStepGEVB(b *testing.B)      { benchStep(b, ModeGEVB, WeightsNonnegative) }
func BenchmarkStepBP(b *testing.B)        { benchStep(b, ModeBP, WeightsNonnegative) }
func BenchmarkStepGEVBMixed(b *testing.B) { benchStep(b, ModeGEVB, WeightsMixed) }

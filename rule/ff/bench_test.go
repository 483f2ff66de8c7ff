package ff

import (
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// benchLearner builds the released network, 784-1000-1000-1000 with 10 classes, on an
// engine with the default thread count, and a batch of MNIST-like random pixels.
func benchLearner(b *testing.B, rows int) (*Learner, learn.Batch) {
	b.Helper()
	e, err := mat32.NewEngine(mat32.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	s := learn.Shape{Inputs: 784, Classes: 10, BatchRows: rows, EvalRows: rows}
	l, err := New(e, DefaultOptions(), s, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batch := learn.Batch{X: mat32.New(rows, 784), Labels: make([]uint8, rows)}
	for r := range rows {
		batch.Labels[r] = uint8(rng.IntN(10))
		for j := range batch.X.Row(r) {
			if rng.IntN(5) == 0 {
				batch.X.Set(r, j, rng.Float32())
			}
		}
	}
	return l, batch
}

// BenchmarkStep times one training step at batch 100: three passes through
// 784-1000-1000-1000, the softmax classifier, and the local updates.
func BenchmarkStep(b *testing.B) {
	l, batch := benchLearner(b, 100)
	at := learn.At{Epochs: 100, StepsPerEpoch: 600}
	l.Step(batch, at)
	b.ResetTimer()
	for i := range b.N {
		at.Global = int64(i + 1)
		l.Step(batch, at)
	}
}

// BenchmarkPredictGoodness times goodness prediction of 100 rows: ten passes, one per
// candidate label.
func BenchmarkPredictGoodness(b *testing.B) {
	l, batch := benchLearner(b, 100)
	scores := mat32.New(100, 10)
	b.ResetTimer()
	for range b.N {
		l.Predict(batch.X, scores)
	}
}

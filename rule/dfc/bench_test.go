package dfc

import (
	"testing"

	"github.com/copi-learn/copi/learn"
)

// benchLearner is the preset network (784-256-256-256-10, batch 128) with its controllers.
func benchLearner(b *testing.B, v Variant) (*Learner, learn.Batch) {
	o := DefaultOptions()
	l := newL(b, o, v, 128)
	x := batch(128, 784, 10, 1)
	for i := range x.X.Data {
		x.X.Data[i] = (x.X.Data[i] + 2) / 4
	}
	return l, x
}

func benchStep(b *testing.B, v Variant, epoch int) {
	l, x := benchLearner(b, v)
	at := learn.At{Epoch: epoch}
	l.Step(x, at)
	b.ResetTimer()
	for i := range b.N {
		at.Global = int64(i)
		l.Step(x, at)
	}
}

// BenchmarkStepDFC times a forward-phase DFC step (500 time points); DFC-SS and DFC-SSA
// beside it; BenchmarkStepFeedback a feedback-phase step (54 noisy time points).
func BenchmarkStepDFC(b *testing.B)      { benchStep(b, DFC, 21) }
func BenchmarkStepSS(b *testing.B)       { benchStep(b, SS, 21) }
func BenchmarkStepSSA(b *testing.B)      { benchStep(b, SSA, 21) }
func BenchmarkStepFeedback(b *testing.B) { benchStep(b, DFC, 0) }

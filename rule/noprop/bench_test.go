package noprop

import (
	"testing"

	"github.com/copi-learn/copi/learn"
)

// BenchmarkStep times one training step of the MNIST presets' size (10 blocks, width 256,
// batch 128), each rule; run with -benchmem to see that a step allocates nothing.
func BenchmarkStep(b *testing.B) {
	for _, bp := range []bool{false, true} {
		name := RuleNoProp
		if bp {
			name = RuleBP
		}
		b.Run(name, func(b *testing.B) {
			e := engine(b)
			s := learn.Shape{Inputs: 784, Classes: 10, BatchRows: 128, EvalRows: 256}
			l, err := New(e, DefaultOptions(), s, 1, bp)
			if err != nil {
				b.Fatal(err)
			}
			bt := batch(128, 784, 10, 1)
			b.ResetTimer()
			for i := range b.N {
				l.Step(bt, learn.At{Global: int64(i)})
			}
		})
	}
}

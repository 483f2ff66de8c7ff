package csdp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// benchData returns MNIST when it is installed, else the embedded Fashion-MNIST sample.
func benchData(b *testing.B) *data.Dataset {
	ds, err := data.Load(context.Background(), "mnist", data.Options{})
	if err != nil {
		if ds, err = data.Sample(); err != nil {
			b.Fatal(err)
		}
	}
	return ds
}

// BenchmarkTrainStep times one training step of the authors' setting (3000-600, batch 500,
// T = 50) on real images: b.N windows of 1000 rows with plasticity at every step.
func BenchmarkTrainStep(b *testing.B) {
	for _, kern := range []string{KernelsAuto, KernelsDense} {
		b.Run(kern, func(b *testing.B) {
			ds := benchData(b)
			e, _ := mat32.NewEngine(mat32.Options{})
			defer e.Close()
			o := DefaultOptions()
			o.Kernels = kern
			n := 500
			l, err := New(e, o, learn.Shape{Inputs: 784, Classes: 10, BatchRows: n, EvalRows: 1000}, 1)
			if err != nil {
				b.Fatal(err)
			}
			x := ds.Train.X.Slice(0, n, 0, 784)
			batch := learn.Batch{X: x, Labels: ds.Train.Labels[:n]}
			l.Step(batch, learn.At{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l.Step(batch, learn.At{Global: int64(i + 1)})
			}
			b.ReportMetric(l.lastRate1*100, "%spikes_z1")
			b.ReportMetric(l.lastRate2*100, "%spikes_z2")
		})
	}
}

// BenchmarkCurrent times one step's synaptic current s·W of a 3000×3000 synapse over 1000
// rows against the presynaptic spike rate, event-driven and dense (GEMM): the crossing
// sets Options.SparseBelow.
func BenchmarkCurrent(b *testing.B) {
	const rows, n = 1000, 3000
	e, _ := mat32.NewEngine(mat32.Options{})
	defer e.Close()
	w := mat32.New(n, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range w.Data {
		w.Data[i] = float32(rng.Float64()*2 - 1)
	}
	dst := mat32.New(rows, n)
	for _, rate := range []float64{0.001, 0.01, 0.05, 0.2, 1} {
		pre := newEvents(rows, n)
		for bb := 0; bb < rows; bb++ {
			r := pre.m.Row(bb)
			for j := range r {
				if rng.Float64() < rate {
					r[j] = 1
				}
			}
			pre.index(bb)
		}
		b.Run(fmt.Sprintf("rate=%g/sparse", rate), func(b *testing.B) {
			a := accumRows{dst: dst, pre: &pre, w: w}
			for i := 0; i < b.N; i++ {
				e.ParallelFor(rows, 1, 16, &a)
			}
		})
		b.Run(fmt.Sprintf("rate=%g/dense", rate), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, pre.m, w, 0, dst)
			}
		})
	}
}

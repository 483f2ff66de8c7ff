package nn

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/copi-learn/copi/mat32"
)

// convForwardFLOP counts the forward pass's arithmetic: 2·m·k·n per product (the
// convolutions' W·col and the dense layers').
func convForwardFLOP(n *ConvNet, rows int) float64 {
	var f float64
	for _, l := range n.Layers {
		st := n.Stages[l]
		per := 1
		if st.Spec.Kind == ConvStage {
			per = st.Out.Plane()
		}
		f += 2 * float64(st.W.Rows*st.W.Cols*per*rows)
	}
	return f
}

// BenchmarkConvForward times the forward pass of LeNet and of the small CIFAR network at
// batch 64 on one thread and reports GFLOP/s and the fraction of the machine's measured
// one-thread peak (mat32.MeasurePeakGFLOPS):
//
//	go test -run XXX -bench ConvForward ./nn
func BenchmarkConvForward(b *testing.B) {
	peak, _, err := mat32.MeasurePeakGFLOPS(1, 300*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		in   Shape3
	}{{"lenet", Shape3{1, 28, 28}}, {"cifar-small", Shape3{3, 32, 32}}} {
		b.Run(c.name, func(b *testing.B) {
			e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
			defer e.Close()
			specs, _ := ParseNetwork(c.name)
			net, err := NewConvNet(ConvConfig{Input: c.in, Stages: specs, Hidden: mat32.ReLU}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			x := randMatrix(rand.New(rand.NewPCG(2, 2)), 64, net.InputSize())
			tr := net.NewTrace(64)
			net.Forward(e, x, tr)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				net.Forward(e, x, tr)
			}
			gf := convForwardFLOP(net, 64) * float64(b.N) / b.Elapsed().Seconds() / 1e9
			b.ReportMetric(gf, "GFLOP/s")
			b.ReportMetric(100*gf/peak, "%peak")
		})
	}
}

package rule

import (
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// gradientUpdate applies a gradient step to layer i from its credit δ (which carries the
// loss multiplier and points downhill):
//
//	ΔW = <δ xᵀ>      Δb = <δ>
//
// With plain SGD, W ← W + η·ΔW is one GEMM accumulating into W. Other optimisers receive the
// gradient g = −ΔW. For backprop credit without decorrelation, −ΔW is the exact gradient of
// the batch loss (for MSE up to the constant factor 2/K and the multiplier m).
func (l *Learner) gradientUpdate(i int, layer *nn.Layer, delta mat32.Matrix, slot int) {
	x := l.trace.X[i]
	n := float32(x.Rows)
	if l.fused {
		eta := float32(l.Cfg.Optimizer.LR)
		l.eng.Gemm(mat32.Trans, mat32.NoTrans, eta/n, delta, x, 1, layer.W)
		if layer.B != nil {
			meanD := l.biasScratch(layer.Out)
			mat32.ColMeans(meanD, delta)
			for j := range layer.B {
				layer.B[j] += eta * meanD[j]
			}
		}
		return
	}
	g := l.grad[i]
	l.eng.Gemm(mat32.Trans, mat32.NoTrans, -1/n, delta, x, 0, g)
	l.opt.Apply(slot, layer.W, g)
	if layer.B != nil {
		gb := l.gradB[i]
		mat32.ColMeans(gb, delta)
		for j := range gb {
			gb[j] = -gb[j]
		}
		l.opt.Apply(slot+1, mat32.FromSlice(1, len(layer.B), layer.B), mat32.FromSlice(1, len(gb), gb))
	}
}

package credit

import (
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// The gradient update of layer i from its credit δ (which carries the loss multiplier and
// points downhill), with <·> the batch mean:
//
//	ΔW = <δ xᵀ>      Δb = <δ>
//
// With plain SGD, W ← W + η·ΔW is one GEMM accumulating into W ([Learner.gradientFused]).
// Other optimisers receive the gradient g = −ΔW ([Learner.gradientDirection]). For backprop
// credit without decorrelation, −ΔW is the exact gradient of the batch loss (for MSE up to
// the constant factor 2/K and the multiplier m).

// gradientDirection sets g = −ΔW = −<δ xᵀ> and, when gb is not nil and the layer has a
// bias, gb = −Δb = −<δ>.
func (l *Learner) gradientDirection(i int, layer *nn.Layer, delta, g mat32.Matrix, gb []float32) {
	l.bindEngine()
	x := l.trace.X[i]
	n := float32(x.Rows)
	l.eng.Gemm(mat32.Trans, mat32.NoTrans, -1/n, delta, x, 0, g)
	if layer.B != nil && gb != nil {
		mat32.ColMeans(gb, delta)
		for j := range gb {
			gb[j] = -gb[j]
		}
	}
}

// gradientFused applies W ← W + η·<δ xᵀ> and b ← b + η·<δ> in place (plain SGD).
func (l *Learner) gradientFused(e *mat32.Engine, i int, layer *nn.Layer, delta mat32.Matrix) {
	x := l.trace.X[i]
	n := float32(x.Rows)
	eta := float32(l.Cfg.Optimizer.LR)
	e.Gemm(mat32.Trans, mat32.NoTrans, eta/n, delta, x, 1, layer.W)
	if layer.B != nil {
		meanD := l.meanOut[i]
		mat32.ColMeans(meanD, delta)
		for j := range layer.B {
			layer.B[j] += eta * meanD[j]
		}
	}
}

// bindEngine hands the learner's engine to an optimiser that can spread its work over the
// engine's workers (Adam); the optimiser's results do not change.
func (l *Learner) bindEngine() {
	if u, ok := l.opt.(optim.EngineUser); ok {
		u.SetEngine(l.eng)
	}
}

package rule

import (
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// copiUpdate applies COPI's inference rule to layer i. With the desired pre-activation
// z = a + δ (the actual one nudged by the top-down perturbation) and <·> the batch mean,
//
//	ΔW = <z xᵀ> − W·diag(<x²>)          ΔW_ij = <z_i x_j> − <x_j²>·W_ij
//	W ← W + η·ΔW
//
// whose fixed point W_ij = <z_i x_j> / <x_j²> is the least-squares map from x to z when the
// inputs x are decorrelated: each synapse infers its value from its own pre- and
// post-synaptic activity. A bias, being a weight on a constant input of 1, follows
// Δb = <z> − b.
//
// With plain SGD the update is fused into two passes over W: W ← W·diag(1 − η<x²>), then
// W ← W + (η/N)·Zᵀ·X by one GEMM that accumulates into W. Other optimisers receive the
// gradient −ΔW.
func (l *Learner) copiUpdate(i int, layer *nn.Layer, delta mat32.Matrix, slot int) {
	x := l.trace.X[i]
	z := delta // δ is not needed any more: turn it into z = a + δ in place.
	mat32.Add(z, z, l.trace.A[i])
	msq := l.msq[i]
	n := float32(x.Rows)
	if l.fused {
		eta := float32(l.Cfg.Optimizer.LR)
		decay := l.decayScratch(layer.In)
		for j, m := range msq {
			decay[j] = 1 - eta*m
		}
		mat32.ScaleColumns(layer.W, decay)
		l.eng.Gemm(mat32.Trans, mat32.NoTrans, eta/n, z, x, 1, layer.W)
		if layer.B != nil {
			meanZ := l.biasScratch(layer.Out)
			mat32.ColMeans(meanZ, z)
			for j := range layer.B {
				layer.B[j] += eta * (meanZ[j] - layer.B[j])
			}
		}
		return
	}
	// g = −ΔW = W·diag(<x²>) − <z xᵀ>
	g := l.grad[i]
	mat32.Copy(g, layer.W)
	mat32.ScaleColumns(g, msq)
	l.eng.Gemm(mat32.Trans, mat32.NoTrans, -1/n, z, x, 1, g)
	l.opt.Apply(slot, layer.W, g)
	if layer.B != nil {
		gb := l.gradB[i]
		mat32.ColMeans(gb, z)
		for j := range gb {
			gb[j] = layer.B[j] - gb[j]
		}
		l.opt.Apply(slot+1, mat32.FromSlice(1, len(layer.B), layer.B), mat32.FromSlice(1, len(gb), gb))
	}
}

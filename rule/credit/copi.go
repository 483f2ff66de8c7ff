package credit

import (
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// COPI's inference rule for layer i. With the desired pre-activation z = a + δ (the actual
// one nudged by the top-down perturbation) and <·> the batch mean,
//
//	ΔW = <z xᵀ> − W·diag(<x²>)          ΔW_ij = <z_i x_j> − <x_j²>·W_ij
//	W ← W + η·ΔW
//
// whose fixed point W_ij = <z_i x_j> / <x_j²> is the least-squares map from x to z when the
// inputs x are decorrelated: each synapse infers its value from its own pre- and
// post-synaptic activity. A bias, being a weight on a constant input of 1, follows
// Δb = <z> − b.
//
// With plain SGD the update is fused into one pass over W ([Learner.copiFused]):
// W ← W·diag(1 − η<x²>) + (η/N)·Zᵀ·X by one GEMM that scales W's columns as it accumulates
// into W ([mat32.Engine.GemmScaled]). Other
// optimisers receive the gradient −ΔW ([Learner.copiDirection]).

// copiDirection turns δ into z = a + δ in place and sets g = −ΔW = W·diag(<x²>) − <z xᵀ>
// and, when gb is not nil and the layer has a bias, gb = −Δb = b − <z>. It expects <x²> of
// the batch in l.msq[i].
func (l *Learner) copiDirection(i int, layer *nn.Layer, delta, g mat32.Matrix, gb []float32) {
	l.bindEngine()
	x := l.trace.X[i]
	z := delta // δ is not needed any more: turn it into z = a + δ in place.
	mat32.Add(z, z, l.trace.A[i])
	n := float32(x.Rows)
	mat32.Copy(g, layer.W)
	mat32.ScaleColumns(g, l.msq[i])
	l.eng.Gemm(mat32.Trans, mat32.NoTrans, -1/n, z, x, 1, g)
	if layer.B != nil && gb != nil {
		mat32.ColMeans(gb, z)
		for j := range gb {
			gb[j] = layer.B[j] - gb[j]
		}
	}
}

// copiFused applies W ← W·diag(1 − η<x²>) + (η/N)·Zᵀ·X and b ← b + η·(<z> − b) in place
// (plain SGD), turning δ into z = a + δ on the way.
func (l *Learner) copiFused(e *mat32.Engine, i int, layer *nn.Layer, delta mat32.Matrix) {
	x := l.trace.X[i]
	z := delta
	mat32.Add(z, z, l.trace.A[i])
	n := float32(x.Rows)
	eta := float32(l.Cfg.Optimizer.LR)
	decay := l.decay[i]
	for j, m := range l.msq[i] {
		decay[j] = 1 - eta*m
	}
	// One pass over W: each tile is scaled by the worker that adds its product.
	e.GemmScaled(mat32.Trans, mat32.NoTrans, eta/n, z, x, nil, decay, layer.W)
	if layer.B != nil {
		meanZ := l.meanOut[i]
		mat32.ColMeans(meanZ, z)
		for j := range layer.B {
			layer.B[j] += eta * (meanZ[j] - layer.B[j])
		}
	}
}

package credit

import (
	"math"

	"github.com/copi-learn/copi/mat32"
)

// Alignment compares, on one batch, a rule's weight updates and feedback matrices with
// backprop's. Angles are in degrees; the angle with a zero matrix is reported as 90°.
type Alignment struct {
	// UpdateAngleDeg[l] is, for every layer l, the angle between the rule's weight change
	// ΔW_l (what [Learner.RuleGradients] returns, negated: the direction handed to the
	// optimiser, before momentum or Adam's scaling, for COPI including its decay term
	// −W·diag(<x²>)) and the steepest-descent direction −∇_{W_l} of the network's loss on the
	// same batch ([Learner.TrueGradients]: backprop through W and R, no loss multiplier, no
	// output-derivative quirk). 0 for bp and decor-bp up to rounding. Biases are not included.
	UpdateAngleDeg []float64
	// FeedbackAngleDeg[l], for every hidden layer l (one entry fewer than layers, input side
	// first), is the angle between the feedback matrix that carries credit to layer l and the
	// forward matrix it stands in for, both flattened: for fa, copi-fa and sign symmetry
	// B_{l+1} against W_{l+1}ᵀ; for dfa and copi-dfa B_l against (W_L⋯W_{l+1})ᵀ, the
	// product of the forward weights above (the linearised path, without f' and without R).
	// Nil for rules without feedback matrices.
	FeedbackAngleDeg []float64
	// FeedbackNormRatio[l] is ‖B‖/‖M‖ (Frobenius norms) for the same pairs B, M.
	FeedbackNormRatio []float64
}

// AlignmentProbe measures a learner's [Alignment] with buffers allocated once.
type AlignmentProbe struct {
	l          *Learner
	rule, grad []mat32.Matrix // per layer, shaped like W: −ΔW of the rule and ∇W of the loss
	path       []mat32.Matrix // DFA, per hidden layer l: (W_L⋯W_{l+1})ᵀ, n_l×n_out
}

// NewAlignmentProbe allocates the buffers to measure l's alignment.
func NewAlignmentProbe(l *Learner) *AlignmentProbe {
	p := &AlignmentProbe{l: l}
	for _, layer := range l.Net.Layers {
		p.rule = append(p.rule, mat32.New(layer.Out, layer.In))
		p.grad = append(p.grad, mat32.New(layer.Out, layer.In))
	}
	if l.Cfg.Credit == DirectFeedbackAlignment {
		out := l.Net.OutputSize()
		for _, layer := range l.Net.Layers[:len(l.Net.Layers)-1] {
			p.path = append(p.path, mat32.New(layer.Out, out))
		}
	}
	return p
}

// Measure returns the alignment on the batch (x, labels) (at most the learner's batch
// capacity rows). It changes no parameter (see [Learner.RuleGradients]) but overwrites the
// learner's trace and credit buffers, so call it between steps.
func (p *AlignmentProbe) Measure(x mat32.Matrix, labels []uint8) Alignment {
	l := p.l
	L := len(l.Net.Layers)
	var a Alignment
	l.TrueGradients(x, labels, p.grad)
	l.RuleGradients(x, labels, p.rule) // last, so that sign symmetry's B is that of this W
	for i := range p.rule {
		a.UpdateAngleDeg = append(a.UpdateAngleDeg,
			angleDeg(mat32.Dot(p.rule[i], p.grad[i]), mat32.FrobeniusNorm(p.rule[i]), mat32.FrobeniusNorm(p.grad[i])))
	}
	switch l.Cfg.Credit {
	case FeedbackAlignment, SignSymmetry:
		for i := 0; i < L-1; i++ {
			b, w := l.Feedback[i+1], l.Net.Layers[i+1].W
			nb, nw := mat32.FrobeniusNorm(b), mat32.FrobeniusNorm(w)
			a.FeedbackAngleDeg = append(a.FeedbackAngleDeg, angleDeg(dotTransposed(b, w), nb, nw))
			a.FeedbackNormRatio = append(a.FeedbackNormRatio, ratio(nb, nw))
		}
	case DirectFeedbackAlignment:
		// (W_L)ᵀ for the last hidden layer, then (W_L⋯W_{l+1})ᵀ = W_{l+1}ᵀ·(W_L⋯W_{l+2})ᵀ.
		transposeInto(p.path[L-2], l.Net.Layers[L-1].W)
		for i := L - 3; i >= 0; i-- {
			l.eng.MatMul(p.path[i], mat32.Trans, l.Net.Layers[i+1].W, mat32.NoTrans, p.path[i+1])
		}
		for i := 0; i < L-1; i++ {
			b, m := l.Feedback[i], p.path[i]
			nb, nm := mat32.FrobeniusNorm(b), mat32.FrobeniusNorm(m)
			a.FeedbackAngleDeg = append(a.FeedbackAngleDeg, angleDeg(mat32.Dot(b, m), nb, nm))
			a.FeedbackNormRatio = append(a.FeedbackNormRatio, ratio(nb, nm))
		}
	}
	return a
}

// angleDeg returns arccos(dot/(na·nb)) in degrees, 90 when a norm is zero or not finite.
func angleDeg(dot, na, nb float64) float64 {
	c := dot / (na * nb)
	if na == 0 || nb == 0 || math.IsNaN(c) || math.IsInf(c, 0) {
		return 90
	}
	return math.Acos(max(-1, min(1, c))) * 180 / math.Pi
}

func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a/b) || math.IsInf(a/b, 0) {
		return 0
	}
	return a / b
}

// dotTransposed returns Σ b_ij·w_ji for b (n×m) and w (m×n), in float64.
func dotTransposed(b, w mat32.Matrix) float64 {
	var s float64
	for i := 0; i < b.Rows; i++ {
		for j, v := range b.Row(i) {
			s += float64(v) * float64(w.Data[j*w.Stride+i])
		}
	}
	return s
}

// transposeInto sets dst (n×m) to wᵀ for w (m×n).
func transposeInto(dst, w mat32.Matrix) {
	for i := 0; i < w.Rows; i++ {
		for j, v := range w.Row(i) {
			dst.Data[j*dst.Stride+i] = v
		}
	}
}

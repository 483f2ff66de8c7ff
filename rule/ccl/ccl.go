// Package ccl implements counter-current learning (Kao & Hariharan, NeurIPS 2024) in the
// form the authors' released MLP code computes, and registers the rule "ccl".
//
// With row vectors, a batch of N examples, sizes n_0 … n_L (n_L = K classes), no biases,
// ELU (α = 1) and sg the stop-gradient, a forward network F_1 … F_L (F_l is n_{l−1} × n_l)
// and a feedback network G_1 … G_L (G_l is n_l × n_{l−1}, mapping n_l to n_{l−1}):
//
//	forward:   h_0 = x,    h_l = elu(sg(h_{l−1}) F_l) for l = 1…L−1,   logits h_L = sg(h_{L−1}) F_L
//	feedback:  C_L = I_K,  C_{l−1} = elu(sg(C_l) G_l) for l = L…2,      C_0 = sg(C_1) G_1 (linear)
//
// The feedback network runs on the K class one-hots, so C_l is K × n_l: row k is the code of
// class k at layer l. The losses, for l = 0 … L−1, with Y the one-hot labels (N × K) and s
// the loss scale ("code" form, [FormCode]):
//
//	l_l = s · mean_{N×K}[(h_l C_lᵀ − Y)²] / n_l
//
// plus the cross-entropy CE(h_L, y), its mean over the batch. l_l trains F_l through h_l
// (l = 0 trains no F, since h_0 = x) and G_{l+1} through C_l; CE trains F_L. No gradient
// crosses layers. By hand, with E = 2s/(N K n_l)·(h_l C_lᵀ − Y) and elu'(a) = 1 for h > 0,
// h + 1 otherwise:
//
//	∂l_l/∂F_l     = h_{l−1}ᵀ [(E C_l) ⊙ elu'(h_l)]
//	∂l_l/∂G_{l+1} = C_{l+1}ᵀ [(Eᵀ h_l) ⊙ elu'(C_l)]     (no elu' at l = 0)
//	∂CE/∂F_L      = h_{L−1}ᵀ (softmax(h_L) − Y) / N
//
// In the "paper" form ([FormPaper]), l_l = s · mean_{N×n_l}[(h_l − Y C_l)²]: each layer
// matches the feedback activity of the example's own label; with E = 2s/(N n_l)(h_l − Y C_l)
// the gradients are the same with E C_l replaced by E and Eᵀ h_l by −Yᵀ E.
//
// The optimiser is plain SGD (no momentum, no weight decay). The gradient is clipped, as
// PyTorch's clip_grad_norm_ does (factor Clip/(‖g‖ + 1e-6) when below 1), separately for
// all forward parameters together and for all feedback parameters together. Weights start
// from PyTorch's default Linear initialisation, U(−1/√fan_in, 1/√fan_in) (kaiming_uniform
// with a = √5), fan_in being n_{l−1} for F_l and n_l for G_l.
//
// Prediction is the argmax of the logits h_L. A step draws no random numbers.
package ccl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

const (
	// maxChunk bounds the rows of one evaluation pass (Predict, Evaluate, Probe).
	maxChunk = 256
	// clipEps is added to the norm in the clipping factor, as PyTorch's clip_grad_norm_.
	clipEps = 1e-6
	// initSalt separates the initial weights' stream from other uses of the seed.
	initSalt = 0x9e3779b97f4a7c15
)

func init() {
	learn.Register(learn.Rule{
		Name:      "ccl",
		About:     "counter-current learning (Kao & Hariharan 2024): a feedback net on the class one-hots teaches each forward layer locally, and vice versa",
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr", "clip"},
		Memory: func(opts any, s learn.Shape) int64 {
			o, ok := opts.(*Options)
			if !ok {
				return 0
			}
			k := float64(o.Sizes[len(o.Sizes)-1])
			rows := 2 * float64(max(s.BatchRows, 1)+min(max(s.EvalRows, 1), maxChunk))
			var floats float64
			for l, n := range o.Sizes {
				floats += (rows + 2*k) * float64(n)
				if l > 0 {
					floats += 4 * float64(o.Sizes[l-1]) * float64(n)
				}
			}
			floats += 4 * k * rows
			return int64(4 * floats)
		},
		New: learn.Constructor("ccl", New),
	})
}

// trace holds the activity of up to rows rows passing through the forward network.
type trace struct {
	rows int
	// h[l] holds h_l for l = 1…L (h[0] is unused: h_0 is the input itself).
	h []mat32.Matrix
	// d[l] holds the gradient of the loss at layer l (l = 0…L) with respect to h_l, then
	// to its pre-activation; in the paper form first the difference h_l − Y C_l.
	d []mat32.Matrix
	// s holds h_l C_lᵀ, e the loss's gradient with respect to it; y the one-hot labels.
	s, e, y mat32.Matrix
}

func newTrace(rows int, sizes []int) trace {
	k := sizes[len(sizes)-1]
	t := trace{rows: rows, s: mat32.New(rows, k), e: mat32.New(rows, k), y: mat32.New(rows, k)}
	for l, n := range sizes {
		if l == 0 {
			t.h = append(t.h, mat32.Matrix{})
		} else {
			t.h = append(t.h, mat32.New(rows, n))
		}
		t.d = append(t.d, mat32.New(rows, n))
	}
	return t
}

// Learner is a CCL forward network and its feedback network together with the rule that
// trains them. It implements [learn.Learner], [learn.Evaluator], [learn.Prober] and
// [learn.Describer].
type Learner struct {
	opts    Options
	e       *mat32.Engine
	shape   learn.Shape
	layers  int // L
	classes int // K = n_L
	// F[l], G[l] for l = 1…L (index 0 unused); dF, dG their gradients of the last step.
	F, G, dF, dG []mat32.Matrix
	// C[l] holds the feedback codes C_l (K × n_l) for l = 0…L; C[L] = I_K.
	C []mat32.Matrix
	// dC[l] holds the gradient of l_l with respect to C_l, then to its pre-activation.
	dC []mat32.Matrix
	// losses holds the last pass's local losses l_0 … l_{L−1} and then CE.
	losses []float64
	step   trace
	eval   trace
	scores mat32.Matrix
	// am is scratch for argmaxes of an evaluation chunk.
	am []int
}

// New builds a CCL learner for the shape s, drawing its initial weights from seed. The
// options must be valid, Sizes[0] must be s.Inputs and the last size s.Classes.
func New(e *mat32.Engine, opts Options, s learn.Shape, seed uint64) (*Learner, error) {
	if e == nil {
		return nil, fmt.Errorf("ccl: no matrix engine")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	L := len(opts.Sizes) - 1
	if err := learn.CheckSizes("ccl", opts.Sizes, s, true); err != nil {
		return nil, err
	}
	opts.Sizes = append([]int(nil), opts.Sizes...)
	n := opts.Sizes
	l := &Learner{opts: opts, e: e, shape: s, layers: L, classes: s.Classes}
	rng := rand.New(rand.NewPCG(mix(seed^initSalt), 0))
	uniform := func(m mat32.Matrix, fanIn int) {
		b := 1 / math.Sqrt(float64(fanIn))
		for k := range m.Data {
			m.Data[k] = float32((2*rng.Float64() - 1) * b)
		}
	}
	l.F, l.G = make([]mat32.Matrix, L+1), make([]mat32.Matrix, L+1)
	l.dF, l.dG = make([]mat32.Matrix, L+1), make([]mat32.Matrix, L+1)
	for i := 1; i <= L; i++ {
		l.F[i], l.dF[i] = mat32.New(n[i-1], n[i]), mat32.New(n[i-1], n[i])
		l.G[i], l.dG[i] = mat32.New(n[i], n[i-1]), mat32.New(n[i], n[i-1])
		uniform(l.F[i], n[i-1])
		uniform(l.G[i], n[i])
	}
	for i := 0; i <= L; i++ {
		l.C = append(l.C, mat32.New(s.Classes, n[i]))
		l.dC = append(l.dC, mat32.New(s.Classes, n[i]))
	}
	mat32.SetIdentity(l.C[L])
	l.losses = make([]float64, L+1)
	l.step = newTrace(s.BatchRows, n)
	rows := max(1, min(s.EvalRows, maxChunk))
	l.eval = newTrace(rows, n)
	l.scores = mat32.New(rows, s.Classes)
	l.am = make([]int, rows)
	return l, nil
}

// Options returns the learner's options.
func (l *Learner) Options() Options {
	o := l.opts
	o.Sizes = append([]int(nil), o.Sizes...)
	return o
}

// Step trains both networks on one batch. It returns the summed objective Σ_l l_l + CE and
// the number of examples whose logits' argmax is the label, both before the update. When a
// loss or a gradient is not finite it returns a NaN loss and changes nothing.
func (l *Learner) Step(b learn.Batch, _ learn.At) (loss float64, correct int) {
	n := b.X.Rows
	if n > l.shape.BatchRows || b.X.Cols != l.shape.Inputs || len(b.Labels) != n {
		panic(fmt.Sprintf("ccl: Step on a %dx%d batch with %d labels; built for up to %d rows of %d",
			n, b.X.Cols, len(b.Labels), l.shape.BatchRows, l.shape.Inputs))
	}
	l.checkLabels("Step", b.Labels)
	if n == 0 {
		return 0, 0
	}
	l.feedback()
	t := &l.step
	l.forward(t, b.X)
	l.oneHot(t, b.Labels)
	for i := 0; i < l.layers; i++ {
		loss += l.localLoss(t, b.X, i, n, true)
	}
	ce, correct := l.crossEntropy(t, b.Labels, true)
	loss += ce
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return math.NaN(), correct
	}
	l.gradients(t, b.X, n)
	cf, okF := l.clipFactor(l.dF)
	cg, okG := l.clipFactor(l.dG)
	if !okF || !okG {
		return math.NaN(), correct
	}
	lr := float32(l.opts.LR)
	for i := 1; i <= l.layers; i++ {
		mat32.Axpy(-lr*cf, l.dF[i], l.F[i])
		mat32.Axpy(-lr*cg, l.dG[i], l.G[i])
	}
	return loss, correct
}

// checkLabels panics on a label outside the classes (see learn.CheckLabels).
func (l *Learner) checkLabels(op string, y []uint8) { learn.CheckLabels("ccl", op, y, l.classes) }

// feedback computes the codes C_{L−1} … C_0 from the current feedback weights.
func (l *Learner) feedback() {
	for i := l.layers; i >= 1; i-- {
		c := l.C[i-1]
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, l.C[i], l.G[i], 0, c)
		if i > 1 {
			mat32.Apply(c, c, mat32.ELU, 1)
		}
	}
}

// input returns h_l of rows [0, n) of t, x when l = 0.
func (t *trace) input(x mat32.Matrix, i, n int) mat32.Matrix {
	if i == 0 {
		return x.Slice(0, n, 0, x.Cols)
	}
	return t.h[i].Slice(0, n, 0, t.h[i].Cols)
}

// forward runs the rows of x (at most t.rows) through the forward network into t.
func (l *Learner) forward(t *trace, x mat32.Matrix) {
	n := x.Rows
	for i := 1; i <= l.layers; i++ {
		h := t.h[i].Slice(0, n, 0, t.h[i].Cols)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, t.input(x, i-1, n), l.F[i], 0, h)
		if i < l.layers {
			mat32.Apply(h, h, mat32.ELU, 1)
		}
	}
}

// oneHot writes the one-hot labels into t.y.
func (l *Learner) oneHot(t *trace, y []uint8) {
	yy := t.y.Slice(0, len(y), 0, l.classes)
	mat32.Zero(yy)
	for r, c := range y {
		yy.Set(r, int(c), 1)
	}
}

// localLoss returns l_i on rows [0, n) of t (the one-hot labels in place, the codes C
// current). With grad it also leaves ∂l_i/∂h_i in t.d[i] and ∂l_i/∂C_i in dC[i]. It always
// leaves h_i C_iᵀ in t.s.
func (l *Learner) localLoss(t *trace, x mat32.Matrix, i, n int, grad bool) float64 {
	h, c := t.input(x, i, n), l.C[i]
	y, s := t.y.Slice(0, n, 0, l.classes), t.s.Slice(0, n, 0, l.classes)
	ni := float64(c.Cols)
	l.e.Gemm(mat32.NoTrans, mat32.Trans, 1, h, c, 0, s)
	var sum float64
	if l.opts.Form == FormPaper {
		d := t.d[i].Slice(0, n, 0, c.Cols)
		mat32.Copy(d, h)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, -1, y, c, 1, d)
		for r := range n {
			for _, v := range d.Row(r) {
				sum += float64(v) * float64(v)
			}
		}
		norm := l.opts.LossScale / (float64(n) * ni)
		if grad {
			mat32.Scale(float32(2*norm), d)
			l.e.Gemm(mat32.Trans, mat32.NoTrans, -1, y, d, 0, l.dC[i])
		}
		return norm * sum
	}
	norm := l.opts.LossScale / (float64(n) * float64(l.classes) * ni)
	e := t.e.Slice(0, n, 0, l.classes)
	for r := range n {
		er, sr, yr := e.Row(r), s.Row(r), y.Row(r)
		for k, v := range sr {
			dv := v - yr[k]
			sum += float64(dv) * float64(dv)
			er[k] = float32(2 * norm * float64(dv))
		}
	}
	if grad {
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, e, c, 0, t.d[i].Slice(0, n, 0, c.Cols))
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, e, h, 0, l.dC[i])
	}
	return norm * sum
}

// crossEntropy returns the mean cross-entropy of the logits h_L of rows [0, len(y)) of t and
// the number of rows whose argmax is the label. With grad it leaves (softmax − Y)/N in t.d[L].
func (l *Learner) crossEntropy(t *trace, y []uint8, grad bool) (float64, int) {
	n := len(y)
	z := t.h[l.layers]
	var d mat32.Matrix
	if grad {
		d = t.d[l.layers]
	}
	var loss float64
	correct := 0
	for r, c := range y {
		row := z.Row(r)
		zmax, arg := float32(math.Inf(-1)), 0
		for k, v := range row {
			if v > zmax {
				zmax, arg = v, k
			}
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - zmax))
		}
		loss += float64(zmax) + math.Log(sum) - float64(row[c])
		if arg == int(c) {
			correct++
		}
		if grad {
			dr := d.Row(r)
			for k, v := range row {
				dr[k] = float32(math.Exp(float64(v-zmax)) / sum / float64(n))
			}
			dr[c] -= 1 / float32(n)
		}
	}
	return loss / float64(max(n, 1)), correct
}

// eluDeriv sets d = d ⊙ elu'(a), given the activity h = elu(a): 1 where h > 0, h + 1
// (= eᵃ) elsewhere.
func eluDeriv(d, h mat32.Matrix) {
	for r := range d.Rows {
		dr, hr := d.Row(r), h.Row(r)
		hr = hr[:len(dr)]
		for j, v := range hr {
			if v <= 0 {
				dr[j] *= v + 1
			}
		}
	}
}

// gradients turns the per-layer gradients left by localLoss and crossEntropy on rows
// [0, n) into dF and dG.
func (l *Learner) gradients(t *trace, x mat32.Matrix, n int) {
	for i := 1; i <= l.layers; i++ {
		d := t.d[i].Slice(0, n, 0, l.F[i].Cols)
		if i < l.layers {
			eluDeriv(d, t.h[i].Slice(0, n, 0, d.Cols))
		}
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, t.input(x, i-1, n), d, 0, l.dF[i])
	}
	for i := 0; i < l.layers; i++ {
		if i > 0 {
			eluDeriv(l.dC[i], l.C[i])
		}
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, l.C[i+1], l.dC[i], 0, l.dG[i+1])
	}
}

// clipFactor returns the factor that clips the gradients gs (index 0 unused) to a total
// norm of at most Clip, as PyTorch's clip_grad_norm_: min(1, Clip/(‖g‖ + 1e-6)); 1 when
// clipping is off. It returns false when the norm is not finite.
func (l *Learner) clipFactor(gs []mat32.Matrix) (float32, bool) {
	var ss float64
	for _, g := range gs[1:] {
		for _, v := range g.Data {
			ss += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return 0, false
	}
	if l.opts.Clip == 0 {
		return 1, true
	}
	return float32(min(1, l.opts.Clip/(norm+clipEps))), true
}

// mix is SplitMix64's finaliser: it spreads a seed over all 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

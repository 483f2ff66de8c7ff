// Package dfc implements deep feedback control (Meulemans et al., NeurIPS 2021) in its three
// variants, DFC, DFC-SS and DFC-SSA, with feedback weights learned in their own noisy phase,
// and registers the rules "dfc", "dfc-ss" and "dfc-ssa" (one options type, so a configuration
// switches between them keeping its values).
//
// With row vectors, a batch of N examples, tanh hidden layers and a linear output layer L
// (n_L = K classes), forward weights W_l (n_{l−1} × n_l), biases b_l and feedback weights
// Q_l (n_l × K; stored transposed, Qt_l = Q_lᵀ):
//
//	feedforward:  v_l⁻ = r_{l−1} W_l + b_l,  r_l = tanh(v_l⁻) (r_L = v_L⁻),  r_0 = x
//	target:       r_L* = r_L⁻ − λ ∂L/∂r_L,   L the cross-entropy with soft targets
//	controller:   e = r_L* − r_L(t);  u_int ← u_int + Δt (e − α u);  u = u_int + k_p e
//	neurons:      v_l^A = u Q_lᵀ (through the apical low-pass τ_A and noise σ√Δt/τ_A ξ
//	              in the feedback phase); v_l^B = r_{l−1}(t) W_l + b_l with this step's
//	              r_{l−1} (instant transmission); v_l ← v_l + Δt/τ (v_l^A + v_l^B − v_l)
//
// The forward update ("gradient" fed to Adam, the authors' sign and factor 2), with
// δ_l(t) = tanh(v_l(t)) − tanh(v_l^B(t)) (the output: v_L − v_L^B):
//
//	DFC:      g_W_l = −2/(N T) Σ_t r_{l−1}(t)ᵀ δ_l(t),  g_b_l = −2/T Σ_t mean_rows δ_l(t)
//	          over the T time points of the simulation (δ(0) = 0)
//	DFC-SS:   the same at the last time point only (T = 1)
//	DFC-SSA:  no simulation: u = (J Q + α I)⁻¹ (r_L* − r_L⁻) per example, J = ∂r_L/∂v the
//	          network's Jacobian computed from the forward weights (weight transport: an
//	          analytical shortcut, not a circuit), Δv_l = u Q_lᵀ, v_l = Δv_l + r_{l−1} W_l + b_l
//	          recomputed layer by layer, then the DFC-SS update.
//
// The feedback update, in a separate phase with target r_L⁻ (no nudge) and noise:
//
//	g_Q_l = 1/(max(σ, 0.01)² (T−1) N) Σ_{t≥1} v_l^A(t−1)ᵀ u(t)
//
// Each layer's update is clipped to norm 1 (W and b together) and fed to Adam (PyTorch's,
// L2 weight decay in the gradient). The schedule (pre-training feedback epochs, then cycles of
// feedback and forward epochs) is read from the step's position, so that a resumed run
// continues bit for bit.
//
// The simulation is the heart of the cost: all N rows step together as matrix products, the
// first layer's drive x W_1 + b_1 (and its tanh) is computed once per batch, the forward
// update is accumulated online (layer 1 as xᵀ Σ_t δ_1(t), one product at the end; the others
// by products over chunks of time steps), and each layer's Euler step, tanh, δ and running
// sums are one pass over memory ([Learner.simulate]). [referenceSimulate] is the plain
// version kept beside it as the test oracle.
package dfc

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Variant is which of the three forward updates a learner uses.
type Variant int

// The variants.
const (
	// DFC averages the update over the simulated trajectory.
	DFC Variant = iota
	// SS uses the simulated steady state (the last time point).
	SS
	// SSA uses the closed-form steady state of the linearised network (no simulation).
	SSA
)

var variantNames = [...]string{"dfc", "dfc-ss", "dfc-ssa"}

// String returns the variant's rule name.
func (v Variant) String() string { return variantNames[v] }

const (
	initSalt  = 0x9e3779b97f4a7c15
	noiseSalt = 0x6a09e667f3bcc909
	// maxChunk bounds the rows of one evaluation pass.
	maxChunk = 256
	// probeRows bounds the training rows Probe simulates.
	probeRows = 256
	// chunkSteps is how many time steps of r_{l−1} and δ_l are stacked into one product
	// for the online DFC update of layers 2…L.
	chunkSteps = 8
	clipEps    = 1e-6
	// sigmaFloor is the code's floor on σ in the feedback update's 1/σ² scale.
	sigmaFloor = 0.01
)

func init() {
	abouts := [...]string{
		"deep feedback control (Meulemans et al. 2021): a PI controller nudges the output; each layer learns from its controlled minus feedforward activity, averaged over the simulated trajectory; Q learns in a noisy feedback phase",
		"deep feedback control, steady-state update: as dfc, but the forward update uses the last time point of the simulation only",
		"deep feedback control, analytical steady state: no simulation, u = (JQ + αI)⁻¹δ per example with the Jacobian J computed from the forward weights (weight transport: a fast shortcut, not a circuit); Q learns as in dfc",
	}
	for v := DFC; v <= SSA; v++ {
		v := v
		learn.Register(learn.Rule{
			Name:      v.String(),
			About:     abouts[v],
			Options:   func() any { o := DefaultOptions(); return &o },
			Resumable: []string{"optimizer.lr", "feedback_optimizer.lr", "pretrain_lr"},
			Memory: func(opts any, s learn.Shape) int64 {
				o, ok := opts.(*Options)
				if !ok {
					return 0
				}
				return memory(o, s)
			},
			New: learn.Constructor(v.String(), func(e *mat32.Engine, o Options, s learn.Shape, seed uint64) (*Learner, error) {
				return New(e, o, v, s, seed)
			}),
		})
	}
}

func memory(o *Options, s learn.Shape) int64 {
	k := float64(o.Sizes[len(o.Sizes)-1])
	rows := float64(max(s.BatchRows, 1))
	var f float64
	for l := 1; l < len(o.Sizes); l++ {
		p := float64(o.Sizes[l-1]+1)*float64(o.Sizes[l]) + 5*k*float64(o.Sizes[l])
		f += 4 * p
		f += (7*rows + rows*k + 2*chunkSteps*rows) * float64(o.Sizes[l])
	}
	f += float64(maxChunk) * float64(o.Sizes[0])
	return int64(4 * f * 1.5)
}

// Learner is a DFC network with its feedback weights and the rule that trains them. It
// implements [learn.Learner], [learn.Evaluator], [learn.Prober] and [learn.Describer].
type Learner struct {
	o       Options
	variant Variant
	e       *mat32.Engine
	shape   learn.Shape
	L, K    int
	n       []int
	// W[l], B[l] (1 × n_l), Qt[l] (K × n_l) for l = 1…L; index 0 unused.
	W, B, Qt         []mat32.Matrix
	gW, gB, gQ       []mat32.Matrix
	mW, vW, mB, vB   []mat32.Matrix
	mQ, vQ, mQi, vQi []mat32.Matrix
	// count holds the Adam step counts: forward, feedback, feedback pre-training; stats the
	// controller statistics since the last probe: examples, non-converged, diverged, Σ of
	// ‖e(T)‖/‖e(0)‖.
	count, stats mat32.Matrix
	ws           *sim
	pws          *sim
	ev           evalBuf
	pcg          *rand.PCG
	rng          *rand.Rand
	seed         uint64
	// pending holds the last forward simulation's non-converged and diverged rows and
	// Σ ‖e(T)‖/‖e(0)‖ until the step counts them.
	pending [3]float64
}

// evalBuf holds a forward pass of up to rows rows for Predict and Evaluate.
type evalBuf struct {
	rows int
	a    []mat32.Matrix
}

// sim is the workspace of a simulation over up to rows rows.
type sim struct {
	rows int
	// per layer (index 1…L): a the basal drive v^B (bias included), fa = tanh(a) (a at the
	// output), v the somatic voltage, r = tanh(v), c = u Q_lᵀ, vfb the apical voltage, dsum
	// the running Σ_t δ_l(t), d the last δ_l; rc, dc chunks of r_{l−1}(t) and δ_l(t).
	a, fa, v, r, c, vfb, dsum, d, rc, dc []mat32.Matrix
	// u, ui, uprev the control, its integral and the previous control; e the error; rstar
	// the target; soft the soft targets; g the output gradient ∂L/∂r_L.
	u, ui, uprev, e, rstar, soft, g mat32.Matrix
	// ffn holds ‖r_L⁻‖ per row, e0 ‖e(0)‖ per row, conv/div the convergence verdict per row, drop the rows
	// whose update is dropped.
	e0, ffn   []float64
	conv, div []bool
	drop      []bool
	anyDrop   bool
	// SSA: jm[l] the Jacobian ∂r_L/∂v_l, (rows·K) × n_l; jq = J Q, (rows·K) × K; sol a
	// K × (K+1) system.
	jm  []mat32.Matrix
	jq  mat32.Matrix
	sol []float64
	am  []int
}

func newSim(rows int, n []int) *sim {
	L, K := len(n)-1, n[len(n)-1]
	s := &sim{rows: rows}
	mk := func(r, c int) mat32.Matrix { return mat32.New(r, c) }
	for l := 0; l <= L; l++ {
		if l == 0 {
			for _, p := range []*[]mat32.Matrix{&s.a, &s.fa, &s.v, &s.r, &s.c, &s.vfb, &s.dsum, &s.d, &s.rc, &s.dc, &s.jm} {
				*p = append(*p, mat32.Matrix{})
			}
			continue
		}
		s.a = append(s.a, mk(rows, n[l]))
		s.fa = append(s.fa, mk(rows, n[l]))
		s.v = append(s.v, mk(rows, n[l]))
		s.r = append(s.r, mk(rows, n[l]))
		s.c = append(s.c, mk(rows, n[l]))
		s.vfb = append(s.vfb, mk(rows, n[l]))
		s.dsum = append(s.dsum, mk(rows, n[l]))
		s.d = append(s.d, mk(rows, n[l]))
		if l >= 2 {
			s.rc = append(s.rc, mk(chunkSteps*rows, n[l-1]))
			s.dc = append(s.dc, mk(chunkSteps*rows, n[l]))
		} else {
			s.rc = append(s.rc, mat32.Matrix{})
			s.dc = append(s.dc, mat32.Matrix{})
		}
		s.jm = append(s.jm, mk(rows*K, n[l]))
	}
	s.u, s.ui, s.uprev, s.e = mk(rows, K), mk(rows, K), mk(rows, K), mk(rows, K)
	s.rstar, s.soft, s.g = mk(rows, K), mk(rows, K), mk(rows, K)
	s.e0, s.ffn = make([]float64, rows), make([]float64, rows)
	s.conv, s.div, s.drop = make([]bool, rows), make([]bool, rows), make([]bool, rows)
	s.jq = mk(rows*K, K)
	s.sol = make([]float64, K*(K+1))
	s.am = make([]int, rows)
	return s
}

// New builds a DFC learner of the given variant for the shape s, drawing its initial
// weights from seed: W and Q Xavier-normal, biases 0 (Q_L = I with output_q identity).
func New(e *mat32.Engine, o Options, v Variant, s learn.Shape, seed uint64) (*Learner, error) {
	if e == nil {
		return nil, fmt.Errorf("dfc: no matrix engine")
	}
	if v < DFC || v > SSA {
		return nil, fmt.Errorf("dfc: unknown variant %d", v)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	L := len(o.Sizes) - 1
	if err := learn.CheckSizes("dfc", o.Sizes, s, true); err != nil {
		return nil, err
	}
	o.Sizes = append([]int(nil), o.Sizes...)
	n := o.Sizes
	l := &Learner{o: o, variant: v, e: e, shape: s, L: L, K: s.Classes, n: n, seed: seed}
	rng := rand.New(rand.NewPCG(mix(seed^initSalt), 0))
	xavier := func(m mat32.Matrix, fanIn, fanOut int) {
		sd := math.Sqrt(2 / float64(fanIn+fanOut))
		for k := range m.Data {
			m.Data[k] = float32(rng.NormFloat64() * sd)
		}
	}
	K := l.K
	alloc := func(r, c int) mat32.Matrix { return mat32.New(r, c) }
	for _, p := range []*[]mat32.Matrix{&l.W, &l.B, &l.Qt, &l.gW, &l.gB, &l.gQ, &l.mW, &l.vW, &l.mB, &l.vB, &l.mQ, &l.vQ, &l.mQi, &l.vQi} {
		*p = make([]mat32.Matrix, L+1)
	}
	for i := 1; i <= L; i++ {
		l.W[i], l.gW[i], l.mW[i], l.vW[i] = alloc(n[i-1], n[i]), alloc(n[i-1], n[i]), alloc(n[i-1], n[i]), alloc(n[i-1], n[i])
		l.B[i], l.gB[i], l.mB[i], l.vB[i] = alloc(1, n[i]), alloc(1, n[i]), alloc(1, n[i]), alloc(1, n[i])
		l.Qt[i], l.gQ[i] = alloc(K, n[i]), alloc(K, n[i])
		l.mQ[i], l.vQ[i], l.mQi[i], l.vQi[i] = alloc(K, n[i]), alloc(K, n[i]), alloc(K, n[i]), alloc(K, n[i])
	}
	for i := 1; i <= L; i++ {
		xavier(l.W[i], n[i-1], n[i])
	}
	for i := 1; i <= L; i++ {
		if i == L && o.OutputQ == OutputIdentity {
			mat32.SetIdentity(l.Qt[i])
			continue
		}
		xavier(l.Qt[i], K, n[i]) // Q_l is n_l × K: fan-in K, fan-out n_l
	}
	l.count, l.stats = alloc(1, 3), alloc(1, 4)
	l.ws = newSim(s.BatchRows, n)
	rows := max(1, min(s.EvalRows, maxChunk))
	l.ev.rows = rows
	l.ev.a = make([]mat32.Matrix, L+1)
	for i := 1; i <= L; i++ {
		l.ev.a[i] = alloc(rows, n[i])
	}
	l.pcg = rand.NewPCG(0, 0)
	l.rng = rand.New(l.pcg)
	return l, nil
}

// Options returns the learner's options.
func (l *Learner) Options() Options {
	o := l.o
	o.Sizes = append([]int(nil), o.Sizes...)
	return o
}

// Variant returns the learner's variant.
func (l *Learner) Variant() Variant { return l.variant }

// Phase is what a step does.
type Phase int

// The phases of the schedule.
const (
	// Pretrain trains Q alone with the pre-training learning rate and Adam state.
	Pretrain Phase = iota
	// Feedback trains Q alone (the interleaved feedback epochs).
	Feedback
	// Forward trains the forward weights.
	Forward
)

// PhaseAt returns the phase of a step in epoch epoch: PretrainEpochs feedback-only epochs,
// then cycles of FeedbackBefore feedback epochs, one forward epoch, FeedbackAfter feedback
// epochs.
func (o *Options) PhaseAt(epoch int) Phase {
	if epoch < o.PretrainEpochs {
		return Pretrain
	}
	cyc := o.FeedbackBefore + 1 + o.FeedbackAfter
	if p := (epoch - o.PretrainEpochs) % cyc; p != o.FeedbackBefore {
		return Feedback
	}
	return Forward
}

// Step trains on one batch in the phase its position selects. It returns the batch's mean
// cross-entropy (soft targets) and the number of rows classified correctly, both from the
// feedforward pass before the update; a NaN loss when a value is not finite (then nothing
// changes).
func (l *Learner) Step(b learn.Batch, at learn.At) (loss float64, correct int) {
	n := b.X.Rows
	if n > l.shape.BatchRows || b.X.Cols != l.shape.Inputs || len(b.Labels) != n {
		panic(fmt.Sprintf("dfc: Step on a %dx%d batch with %d labels; built for up to %d rows of %d",
			n, b.X.Cols, len(b.Labels), l.shape.BatchRows, l.shape.Inputs))
	}
	l.checkLabels("Step", b.Labels)
	if n == 0 {
		return 0, 0
	}
	s := l.ws
	l.feedforward(s, b.X, n)
	loss, correct = l.outputGradient(s, b.Labels, n)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return math.NaN(), correct
	}
	phase := l.o.PhaseAt(at.Epoch)
	if phase != Forward {
		if l.o.FixedQ {
			return loss, correct
		}
		l.pcg.Seed(mix(l.seed^noiseSalt), uint64(at.Global))
		l.feedbackGradients(s, b.X, n)
		if !l.clipAndCheck(l.gQ, nil) {
			return math.NaN(), correct
		}
		lr, m, v, c := l.o.FeedbackOptimizer.LR, l.mQ, l.vQ, 1
		if phase == Pretrain {
			lr, m, v, c = l.o.PretrainLR, l.mQi, l.vQi, 2
		}
		t := l.tick(c)
		last := l.L
		if l.o.OutputQ == OutputIdentity {
			last = l.L - 1
		}
		for i := 1; i <= last; i++ {
			l.adam(l.o.FeedbackOptimizer, lr, t, l.Qt[i], l.gQ[i], m[i], v[i])
		}
		return loss, correct
	}
	l.forwardGradients(s, b.X, n)
	l.countStats(n)
	if !l.clipAndCheck(l.gW, l.gB) {
		return math.NaN(), correct
	}
	lr := l.o.Optimizer.LR
	if l.o.NormalizeLR {
		lr /= l.o.TargetStepsize
	}
	t := l.tick(0)
	for i := 1; i <= l.L; i++ {
		l.adam(l.o.Optimizer, lr, t, l.W[i], l.gW[i], l.mW[i], l.vW[i])
		if l.o.Bias {
			l.adam(l.o.Optimizer, lr, t, l.B[i], l.gB[i], l.mB[i], l.vB[i])
		}
	}
	return loss, correct
}

// tick advances Adam step counter c and returns the new count.
func (l *Learner) tick(c int) int {
	l.count.Data[c]++
	return int(l.count.Data[c])
}

// adam applies one PyTorch Adam step with learning rate lr at step t.
func (l *Learner) adam(a Adam, lr float64, t int, p, g, m, v mat32.Matrix) {
	c := mat32.AdamCoeffs{
		WeightDecay: float32(a.WeightDecay),
		Beta1:       float32(a.Beta1), OneMinusBeta1: float32(1 - a.Beta1),
		Beta2: float32(a.Beta2), OneMinusBeta2: float32(1 - a.Beta2),
		InvC1: float32(1 / (1 - math.Pow(a.Beta1, float64(t)))),
		InvC2: float32(1 / (1 - math.Pow(a.Beta2, float64(t)))),
		LR:    float32(lr), Eps: float32(a.Eps),
	}
	l.e.Adam(p, g, m, v, &c)
}

// clipAndCheck clips each layer's update (gs[i] with bs[i] when given) to norm Clip and
// reports whether all are finite.
func (l *Learner) clipAndCheck(gs, bs []mat32.Matrix) bool {
	for i := 1; i <= l.L; i++ {
		ss := sumSquares(gs[i])
		if bs != nil && l.o.Bias {
			ss += sumSquares(bs[i])
		}
		norm := math.Sqrt(ss)
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return false
		}
		if l.o.Clip > 0 && norm+clipEps > l.o.Clip {
			f := float32(l.o.Clip / (norm + clipEps))
			mat32.Scale(f, gs[i])
			if bs != nil {
				mat32.Scale(f, bs[i])
			}
		}
	}
	return true
}

func sumSquares(m mat32.Matrix) float64 {
	var s float64
	for r := range m.Rows {
		for _, v := range m.Row(r) {
			s += float64(v) * float64(v)
		}
	}
	return s
}

// checkLabels panics on a label outside the classes (see learn.CheckLabels).
func (l *Learner) checkLabels(op string, y []uint8) { learn.CheckLabels("dfc", op, y, l.K) }

// rows returns the first n rows of m.
func rows(m mat32.Matrix, n int) mat32.Matrix { return m.Slice(0, n, 0, m.Cols) }

// input returns r_{i−1} for layer i of s (x for i = 1), first n rows.
func (s *sim) input(x mat32.Matrix, i, n int) mat32.Matrix {
	if i == 1 {
		return rows(x, n)
	}
	return rows(s.r[i-1], n)
}

// feedforward runs the first n rows of x through the network: a = v = v⁻, r = r⁻,
// fa = tanh(a) (a at the output).
func (l *Learner) feedforward(s *sim, x mat32.Matrix, n int) {
	for i := 1; i <= l.L; i++ {
		a := rows(s.a[i], n)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, s.input(x, i, n), l.W[i], 0, a)
		if l.o.Bias {
			mat32.AddRowVector(a, l.B[i].Row(0))
		}
		fa, v, r := rows(s.fa[i], n), rows(s.v[i], n), rows(s.r[i], n)
		mat32.Copy(v, a)
		if i < l.L {
			for k := range n {
				ar, fr := a.Row(k), fa.Row(k)
				for j, z := range ar {
					fr[j] = tanh32(z)
				}
			}
		} else {
			mat32.Copy(fa, a)
		}
		mat32.Copy(r, fa)
	}
	for r := range n {
		s.ffn[r] = norm(s.r[l.L].Row(r))
	}
}

// outputGradient computes the soft-target cross-entropy of the output r_L⁻ of the first n
// rows, the number classified correctly, g = ∂(N·L)/∂r_L = softmax − y (divided by N with
// NudgeMean) and the target r_L* = r_L⁻ − λ g.
func (l *Learner) outputGradient(s *sim, y []uint8, n int) (float64, int) {
	K := l.K
	off := (1 - l.o.TargetClassValue) / float64(K-1)
	out := rows(s.r[l.L], n)
	scale := 1.0
	if l.o.NudgeMean {
		scale = 1 / float64(n)
	}
	var loss float64
	correct := 0
	for r := range n {
		row, g, rs := out.Row(r), s.g.Row(r), s.rstar.Row(r)
		zmax, arg := float32(math.Inf(-1)), 0
		for k, v := range row {
			if v > zmax {
				zmax, arg = v, k
			}
		}
		if arg == int(y[r]) {
			correct++
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - zmax))
		}
		lse := float64(zmax) + math.Log(sum)
		for k, v := range row {
			t := off
			if k == int(y[r]) {
				t = l.o.TargetClassValue
			}
			loss -= t * (float64(v) - lse)
			p := math.Exp(float64(v)-lse) - t
			g[k] = float32(p * scale)
			rs[k] = v - float32(l.o.TargetStepsize)*g[k]
		}
	}
	return loss / float64(n), correct
}

// accumulation is what a simulation accumulates.
type accumulation int

const (
	accNone     accumulation = iota // nothing: the steady state is read at the end (SS)
	accForward                      // Σ_t r_{l−1}(t)ᵀ δ_l(t) into gW, Σ_t δ_l into dsum (DFC)
	accFeedback                     // Σ_t u(t)ᵀ v^A(t−1) into gQ (feedback phase)
)

// simulate runs the controlled dynamics of the first n rows of s from the feedforward
// state s.a = s.v, s.r (left by feedforward) with controller c towards s.rstar, noise σ when
// noisy (drawn from l.rng), accumulating acc. At the end s.v, s.r, s.a, s.fa hold the last
// time point, s.u the last control and s.e the last error.
//
// One Euler step is, for every layer in order, at most two products (r_{l−1} W_l, and
// u Q_lᵀ) and one fused pass over the layer's units.
func (l *Learner) simulate(s *sim, x mat32.Matrix, n int, c Controller, acc accumulation, noisy bool) {
	L, K := l.L, l.K
	dt := float32(c.DT)
	k := float32(c.DT / c.Tau)
	instant := c.ApicalTau == 0 || c.ApicalTau == c.DT
	ka := float32(1.0)
	if !instant {
		ka = float32(c.DT / c.ApicalTau)
	}
	noise := 0.0
	if noisy {
		tauA := c.ApicalTau
		if instant {
			tauA = c.DT
		}
		noise = c.Sigma * math.Sqrt(c.DT) / tauA
	}
	alpha, kp := float32(c.Alpha), float32(c.KP)
	u, ui, up, e := rows(s.u, n), rows(s.ui, n), rows(s.uprev, n), rows(s.e, n)
	mat32.Zero(u)
	mat32.Zero(ui)
	for i := 1; i <= L; i++ {
		mat32.Zero(rows(s.vfb[i], n))
		if acc == accForward {
			mat32.Zero(rows(s.dsum[i], n))
			mat32.Zero(l.gW[i])
		}
		if acc == accFeedback {
			mat32.Zero(l.gQ[i])
		}
	}
	l.error(s, n)
	for r := range n {
		s.e0[r] = norm(e.Row(r))
	}
	filled := 0 // time steps in the chunks
	for t := 0; t < c.Steps-1; t++ {
		// controller
		mat32.Copy(up, u)
		for r := range n {
			er, ur, ir := e.Row(r), u.Row(r), ui.Row(r)
			for j := range K {
				ir[j] += dt * (er[j] - alpha*ur[j])
				ur[j] = ir[j] + kp*er[j]
			}
		}
		uc := up
		if l.o.Proactive {
			uc = u
		}
		for i := 1; i <= L; i++ {
			vfb := rows(s.vfb[i], n)
			if acc == accFeedback {
				// pairs v^A(t) (before this step's update) with u(t+1)
				l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, u, vfb, 1, l.gQ[i])
			}
			a := rows(s.a[i], n)
			if i > 1 {
				l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, rows(s.r[i-1], n), l.W[i], 0, a)
			}
			cc := rows(s.c[i], n)
			l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, uc, l.Qt[i], 0, cc)
			var dc mat32.Matrix
			if acc == accForward && i > 1 {
				mat32.Copy(s.rc[i].Slice(filled*n, (filled+1)*n, 0, l.n[i-1]), rows(s.r[i-1], n))
				dc = s.dc[i].Slice(filled*n, (filled+1)*n, 0, l.n[i])
			}
			l.eulerLayer(s, i, n, k, ka, instant, noise, acc == accForward, dc)
		}
		if acc == accForward {
			filled++
			if filled == chunkSteps || t == c.Steps-2 {
				for i := 2; i <= L; i++ {
					l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, s.rc[i].Slice(0, filled*n, 0, l.n[i-1]),
						s.dc[i].Slice(0, filled*n, 0, l.n[i]), 1, l.gW[i])
				}
				filled = 0
			}
		}
		l.error(s, n)
	}
	if acc == accForward {
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, rows(x, n), rows(s.dsum[1], n), 0, l.gW[1])
	}
}

// eulerLayer is the fused Euler step of layer i over the first n rows: apical update (with
// noise), somatic update, rate, and with accumulate δ = r − fa into dsum and dc (layers ≥ 2).
// The bias is added to a here for layers ≥ 2 (layer 1's a is constant, bias included).
func (l *Learner) eulerLayer(s *sim, i, n int, k, ka float32, instant bool, noise float64, accumulate bool, dc mat32.Matrix) {
	a, fa, v, r, c, vfb, ds := s.a[i], s.fa[i], s.v[i], s.r[i], s.c[i], s.vfb[i], s.dsum[i]
	out := i == l.L
	var b []float32
	if l.o.Bias && i > 1 {
		b = l.B[i].Row(0)
	}
	for row := range n {
		ar, far, vr, rr, cr, fr := a.Row(row), fa.Row(row), v.Row(row), r.Row(row), c.Row(row), vfb.Row(row)
		var dr, dsr []float32
		if accumulate {
			dsr = ds.Row(row)
			if i > 1 {
				dr = dc.Row(row)
			}
		}
		drop := s.anyDrop && s.drop[row]
		for j := range ar {
			if b != nil {
				ar[j] += b[j]
			}
			var fb float32
			if instant {
				fb = cr[j]
			} else {
				fb = fr[j] + ka*(cr[j]-fr[j])
			}
			if noise != 0 {
				fb += float32(noise * l.rng.NormFloat64())
			}
			fr[j] = fb
			vv := vr[j] + k*(fb+ar[j]-vr[j])
			vr[j] = vv
			var rv, fv float32
			if out {
				rv, fv = vv, ar[j]
			} else {
				rv = tanh32(vv)
				if !accumulate {
					// fa is only needed for δ: the feedback phase and SS skip it
				} else if i > 1 {
					fv = tanh32(ar[j])
				} else {
					fv = far[j]
				}
			}
			rr[j] = rv
			if i > 1 && accumulate {
				far[j] = fv
			}
			if accumulate {
				d := rv - fv
				if drop {
					d = 0
				}
				dsr[j] += d
				if dr != nil {
					dr[j] = d
				}
			}
		}
	}
}

// error sets s.e = r_L* − r_L for the first n rows.
func (l *Learner) error(s *sim, n int) {
	mat32.Sub(rows(s.e, n), rows(s.rstar, n), rows(s.r[l.L], n))
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// converge judges every row as the authors' check_convergence: converged when
// ‖r_L* − α u − r_L(T)‖ / ‖r_L⁻‖ < 1e-5 and ‖e(T)‖ < ε² ‖e(0)‖; diverged when the ratio
// exceeds 1. It returns the numbers of non-converged and diverged rows and Σ ‖e(T)‖/‖e(0)‖.
func (l *Learner) converge(s *sim, n int, c Controller) (nonconv, div int, ratio float64) {
	eps2 := l.o.ConvergenceEps * l.o.ConvergenceEps
	for r := range n {
		er, ur := s.e.Row(r), s.u.Row(r)
		var d float64
		for j := range er {
			x := float64(er[j]) - c.Alpha*float64(ur[j])
			d += x * x
		}
		rel := math.Sqrt(d) / math.Max(s.ffn[r], 1e-30)
		en := norm(er)
		s.conv[r] = rel < 1e-5 && en < eps2*s.e0[r]
		s.div[r] = rel > 1
		if !s.conv[r] {
			nonconv++
		}
		if s.div[r] {
			div++
		}
		if s.e0[r] > 0 {
			ratio += en / s.e0[r]
		}
	}
	return nonconv, div, ratio
}

// forwardGradients leaves the variant's forward update of the first n rows in gW, gB.
func (l *Learner) forwardGradients(s *sim, x mat32.Matrix, n int) {
	s.anyDrop = false
	switch l.variant {
	case DFC:
		l.simulate(s, x, n, l.o.Forward, accForward, false)
		l.judge(s, n)
		if s.anyDrop {
			// rerun with the non-converged rows' δ set to 0, as if they stayed feedforward
			l.feedforward(s, x, n)
			l.simulate(s, x, n, l.o.Forward, accForward, false)
		}
		T := float32(l.o.Forward.Steps)
		for i := 1; i <= l.L; i++ {
			mat32.Scale(-2/(float32(n)*T), l.gW[i])
			l.biasGrad(s.dsum[i], n, -2/(float32(n)*T), l.gB[i])
		}
	case SS:
		l.simulate(s, x, n, l.o.Forward, accNone, false)
		l.judge(s, n)
		l.steadyUpdate(s, x, n)
	case SSA:
		l.analytic(s, x, n)
		l.pending = [3]float64{}
		l.steadyUpdate(s, x, n)
	}
}

// judge applies the convergence check after a forward-phase simulation, keeps its counts
// for the statistics and marks the rows to drop (DropNonConverged).
func (l *Learner) judge(s *sim, n int) {
	nc, dv, ratio := l.converge(s, n, l.o.Forward)
	l.pending = [3]float64{float64(nc), float64(dv), ratio}
	s.anyDrop = false
	if l.o.DropNonConverged {
		for r := range n {
			s.drop[r] = !s.conv[r]
			s.anyDrop = s.anyDrop || s.drop[r]
		}
	}
}

// countStats adds the last forward step's controller statistics to l.stats.
func (l *Learner) countStats(n int) {
	if l.variant == SSA {
		return
	}
	l.stats.Data[0] += float32(n)
	l.stats.Data[1] += float32(l.pending[0])
	l.stats.Data[2] += float32(l.pending[1])
	l.stats.Data[3] += float32(l.pending[2])
}

// biasGrad sets g = scale · Σ_rows d over the first n rows.
func (l *Learner) biasGrad(d mat32.Matrix, n int, scale float32, g mat32.Matrix) {
	gr := g.Row(0)
	for j := range gr {
		gr[j] = 0
	}
	for r := range n {
		for j, v := range d.Row(r) {
			gr[j] += v
		}
	}
	for j := range gr {
		gr[j] *= scale
	}
}

// steadyUpdate sets the DFC-SS update from the state in s: δ_l = tanh(v_l) − tanh(r_{l−1} W_l
// + b_l), g_W_l = −2/N r_{l−1}ᵀ δ_l, g_b_l = −2 mean_rows δ_l; dropped rows give δ = 0.
func (l *Learner) steadyUpdate(s *sim, x mat32.Matrix, n int) {
	for i := 1; i <= l.L; i++ {
		a, d := rows(s.a[i], n), rows(s.d[i], n)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, s.input(x, i, n), l.W[i], 0, a)
		if l.o.Bias {
			mat32.AddRowVector(a, l.B[i].Row(0))
		}
		for r := range n {
			ar, vr, dr := a.Row(r), s.v[i].Row(r), d.Row(r)
			for j := range ar {
				if s.anyDrop && s.drop[r] {
					dr[j] = 0
				} else if i == l.L {
					dr[j] = vr[j] - ar[j]
				} else {
					dr[j] = tanh32(vr[j]) - tanh32(ar[j])
				}
			}
		}
		l.e.Gemm(mat32.Trans, mat32.NoTrans, -2/float32(n), s.input(x, i, n), d, 0, l.gW[i])
		l.biasGrad(d, n, -2/float32(n), l.gB[i])
	}
}

// jacobian sets s.jm[l] = ∂r_L/∂v_l at the feedforward state of the first n rows: row
// (example i, output k). J_L = I; J_l = (J_{l+1} W_{l+1}ᵀ) ⊙ tanh'(v_l).
func (l *Learner) jacobian(s *sim, n int) {
	K := l.K
	jl := s.jm[l.L].Slice(0, n*K, 0, l.n[l.L])
	mat32.Zero(jl)
	for i := range n {
		for k := range K {
			jl.Set(i*K+k, k, 1)
		}
	}
	for i := l.L - 1; i >= 1; i-- {
		j := s.jm[i].Slice(0, n*K, 0, l.n[i])
		l.e.Gemm(mat32.NoTrans, mat32.Trans, 1, s.jm[i+1].Slice(0, n*K, 0, l.n[i+1]), l.W[i+1], 0, j)
		for ex := range n {
			fr := s.fa[i].Row(ex)
			for k := range K {
				jr := j.Row(ex*K + k)
				for c, t := range fr {
					jr[c] *= 1 - t*t
				}
			}
		}
	}
}

// analytic sets the DFC-SSA steady state of the first n rows (feedforward state in s):
// u = (J Q + α I)⁻¹ (r_L* − r_L⁻) per example, then v_l = u Q_lᵀ + r_{l−1} W_l + b_l and
// r_l = tanh(v_l) layer by layer.
func (l *Learner) analytic(s *sim, x mat32.Matrix, n int) {
	K := l.K
	l.jacobian(s, n)
	jq := s.jq.Slice(0, n*K, 0, K)
	for i := 1; i <= l.L; i++ {
		beta := float32(1)
		if i == 1 {
			beta = 0
		}
		l.e.Gemm(mat32.NoTrans, mat32.Trans, 1, s.jm[i].Slice(0, n*K, 0, l.n[i]), l.Qt[i], beta, jq)
	}
	l.error(s, n)
	u := rows(s.u, n)
	for ex := range n {
		m := s.sol
		for r := range K {
			jr := jq.Row(ex*K + r)
			for c := range K {
				m[r*(K+1)+c] = float64(jr[c])
			}
			m[r*(K+1)+r] += l.o.Forward.Alpha
			m[r*(K+1)+K] = float64(s.e.At(ex, r))
		}
		solve(m, K)
		ur := u.Row(ex)
		for r := range K {
			ur[r] = float32(m[r*(K+1)+K])
		}
	}
	for i := 1; i <= l.L; i++ {
		v := rows(s.v[i], n)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, u, l.Qt[i], 0, v)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, s.input(x, i, n), l.W[i], 1, v)
		if l.o.Bias {
			mat32.AddRowVector(v, l.B[i].Row(0))
		}
		r := rows(s.r[i], n)
		if i < l.L {
			for k := range n {
				vr, rr := v.Row(k), r.Row(k)
				for j, z := range vr {
					rr[j] = tanh32(z)
				}
			}
		} else {
			mat32.Copy(r, v)
		}
	}
}

// solve solves the K × K system held with its right-hand side in m (K × (K+1), row-major)
// by Gaussian elimination with partial pivoting, leaving the solution in column K.
func solve(m []float64, K int) {
	w := K + 1
	for c := range K {
		p := c
		for r := c + 1; r < K; r++ {
			if math.Abs(m[r*w+c]) > math.Abs(m[p*w+c]) {
				p = r
			}
		}
		if p != c {
			for j := range w {
				m[c*w+j], m[p*w+j] = m[p*w+j], m[c*w+j]
			}
		}
		piv := m[c*w+c]
		for r := c + 1; r < K; r++ {
			f := m[r*w+c] / piv
			for j := c; j < w; j++ {
				m[r*w+j] -= f * m[c*w+j]
			}
		}
	}
	for r := K - 1; r >= 0; r-- {
		x := m[r*w+K]
		for j := r + 1; j < K; j++ {
			x -= m[r*w+j] * m[j*w+K]
		}
		m[r*w+K] = x / m[r*w+r]
	}
}

// feedbackGradients leaves the feedback update of the first n rows in gQ: the noisy
// feedback-phase simulation with target r_L⁻, g_Q = 1/(max(σ,0.01)² (T−1) N) Σ v^A(t−1)ᵀ u(t).
func (l *Learner) feedbackGradients(s *sim, x mat32.Matrix, n int) {
	mat32.Copy(rows(s.rstar, n), rows(s.r[l.L], n))
	c := l.o.Feedback
	l.simulate(s, x, n, c, accFeedback, true)
	sig := max(c.Sigma, sigmaFloor)
	scale := float32(1 / (sig * sig * float64(c.Steps-1) * float64(n)))
	for i := 1; i <= l.L; i++ {
		mat32.Scale(scale, l.gQ[i])
	}
}

// forwardPass computes logits of the rows of x (at most l.ev.rows) into scores.
func (l *Learner) forwardPass(x, scores mat32.Matrix) {
	n := x.Rows
	in := x
	for i := 1; i <= l.L; i++ {
		a := rows(l.ev.a[i], n)
		if i == l.L {
			a = scores
		}
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, in, l.W[i], 0, a)
		if l.o.Bias {
			mat32.AddRowVector(a, l.B[i].Row(0))
		}
		if i < l.L {
			for k := range n {
				ar := a.Row(k)
				for j, z := range ar {
					ar[j] = tanh32(z)
				}
			}
		}
		in = a
	}
}

// Predict writes the logits r_L⁻ of every row of x into scores.
func (l *Learner) Predict(x, scores mat32.Matrix) {
	if scores.Rows != x.Rows || scores.Cols != l.K || x.Cols != l.shape.Inputs {
		panic(fmt.Sprintf("dfc: Predict of %dx%d into %dx%d", x.Rows, x.Cols, scores.Rows, scores.Cols))
	}
	for r0 := 0; r0 < x.Rows; r0 += l.ev.rows {
		r1 := min(r0+l.ev.rows, x.Rows)
		l.forwardPass(x.Slice(r0, r1, 0, x.Cols), scores.Slice(r0, r1, 0, l.K))
	}
}

// Evaluate measures the mean cross-entropy (one-hot targets) and accuracy of (x, y).
func (l *Learner) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	l.checkLabels("Evaluate", y)
	if x.Rows != len(y) {
		panic(fmt.Sprintf("dfc: Evaluate of %d rows with %d labels", x.Rows, len(y)))
	}
	sc := mat32.New(min(x.Rows, l.ev.rows), l.K)
	var loss float64
	correct := 0
	for r0 := 0; r0 < x.Rows; r0 += l.ev.rows {
		r1 := min(r0+l.ev.rows, x.Rows)
		s := sc.Slice(0, r1-r0, 0, l.K)
		l.forwardPass(x.Slice(r0, r1, 0, x.Cols), s)
		for r := range r1 - r0 {
			ce, ok := crossEntropy(s.Row(r), int(y[r0+r]))
			loss += ce
			if ok {
				correct++
			}
		}
	}
	nn := float64(max(x.Rows, 1))
	return learn.Evaluation{Loss: loss / nn, Acc: float64(correct) / nn}
}

// crossEntropy returns −log softmax(z)_c and whether c is the argmax of z.
func crossEntropy(z []float32, c int) (float64, bool) {
	zmax, arg := float32(math.Inf(-1)), 0
	for k, v := range z {
		if v > zmax {
			zmax, arg = v, k
		}
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v - zmax))
	}
	return float64(zmax) + math.Log(sum) - float64(z[c]), arg == c
}

// tensors lists the learner's whole state.
func (l *Learner) tensors() learn.Tensors {
	var ts learn.Tensors
	add := func(name, label string, m mat32.Matrix, vec bool) {
		ts = append(ts, learn.Tensor{Name: "dfc." + name, Label: "dfc " + label, M: m, Vector: vec})
	}
	for i := 1; i <= l.L; i++ {
		p, q := fmt.Sprintf("layer%d.", i), fmt.Sprintf("layer %d ", i)
		add(p+"w", q+"W", l.W[i], false)
		add(p+"b", q+"b", l.B[i], true)
		add(p+"qt", q+"Qᵀ", l.Qt[i], false)
		add(p+"w.m", q+"W Adam m", l.mW[i], false)
		add(p+"w.v", q+"W Adam v", l.vW[i], false)
		add(p+"b.m", q+"b Adam m", l.mB[i], true)
		add(p+"b.v", q+"b Adam v", l.vB[i], true)
		add(p+"qt.m", q+"Qᵀ Adam m", l.mQ[i], false)
		add(p+"qt.v", q+"Qᵀ Adam v", l.vQ[i], false)
		add(p+"qt.pm", q+"Qᵀ pre-training Adam m", l.mQi[i], false)
		add(p+"qt.pv", q+"Qᵀ pre-training Adam v", l.vQi[i], false)
	}
	add("adam_steps", "Adam step counts", l.count, true)
	add("controller_stats", "controller statistics", l.stats, true)
	return ts
}

// Save adds every tensor an exact resume needs to ck.
func (l *Learner) Save(ck *checkpoint.Checkpoint) error { return l.tensors().Save(ck, "dfc") }

// Load restores what Save wrote, checking every shape first.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error { return l.tensors().Load(ck, "dfc") }

// NonFinite names the first tensor holding a NaN or an infinity, or "".
func (l *Learner) NonFinite() string { return l.tensors().NonFinite() }

// Describe summarises the network in one line.
func (l *Learner) Describe() string {
	w := 0
	for i := 1; i <= l.L; i++ {
		w += l.n[i-1] * l.n[i]
	}
	return fmt.Sprintf("%s network %v tanh (%d forward weights), feedback Q, schedule %d pre-training + (%d fb, 1 fwd, %d fb) epochs",
		l.variant, l.n, w, l.o.PretrainEpochs, l.o.FeedbackBefore, l.o.FeedbackAfter)
}

// mix is SplitMix64's finaliser: it spreads a seed over all 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Package noprop implements NoProp-DT (Li, Teh & Pascanu 2025), the discrete-time form of
// NoProp, and registers two rules: "noprop", which trains each of T denoising blocks on its
// own, and "bp-noprop", the paper's baseline, which trains the same stack of blocks end to
// end by backprop through the inference chain.
//
// Notation (row vectors, a batch of N examples, K classes, embedding width d): the label
// embedding u_y = W_embed[y] (W_embed is K × d), the schedule of [Schedule] (ᾱ_t, SNR(t),
// a_t, b_t, c_t for t = 0 … T, z_0 pure noise, z_T the least noisy), block t ([block]) maps
// an image x and a noisy embedding z to û_t(x, z) = softmax(logits_t(x, z)) W_embed, and the
// output layer maps a state to class logits, p_out(y | z) = softmax(z W_out + b_out).
//
// NoProp-DT. Block t (t = 1 … T) learns alone to denoise:
//
//	z_{t−1} = √ᾱ_{t−1} u_y + √(1 − ᾱ_{t−1}) ε,   ε ~ N(0, I)
//	L_t = CE(p_out(y | z_T)) + KL(q(z_0|y) ‖ N(0, I)) + (T η / 2)(SNR(t) − SNR(t−1)) ‖û_t(x, z_{t−1}) − u_y‖²
//
// with z_T = √ᾱ_T u_y + √(1 − ᾱ_T) ε' a fresh sample, every term a mean over the batch.
// L_t trains block t's parameters, the output layer and (unless one-hot) W_embed, and
// nothing else: the noisy input z_{t−1} is data (no gradient flows into W_embed through
// it), and no block sees another block's output. Each block and the shared parameters
// have their own AdamW; one Step takes the T block updates in turn on the same batch, so
// the output layer and W_embed take T AdamW steps per batch, as many as in the paper's
// Algorithm 1, which loops over the blocks outside the loop over batches (an epoch here is
// one pass over the data, there T passes with one block each).
//
// The index choice. The paper's Algorithm 1 draws z_t but writes the loss with z_{t−1};
// here block t takes z_{t−1} ~ q(z_{t−1}|y), as the derivation of the ELBO and the
// inference rule (which feeds block t the state z_{t−1}) both require, and its weight is
// SNR(t) − SNR(t−1). The KL term is 0 with this schedule (ᾱ_0 = 0, so q(z_0|y) = N(0, I)
// whatever the embedding): it is not computed.
//
// Inference (Predict, both rules): z_0 ~ N(0, I), then for t = 1 … T
//
//	z_t = a_t û_t(x, z_{t−1}) + b_t z_{t−1} [+ √c_t ε]
//
// and the scores are the output layer's logits on z_T. The noise term is optional
// ([Options.InferenceNoise]); Evaluate reports the accuracy with and without it. The noise
// of inference is drawn from the seed and the row index alone, so a prediction is the same
// for a given seed whatever happened before.
//
// bp-noprop. The same stack, output layer and embedding are run as at inference from
// z_0 ~ N(0, I) (the noise term per [Options.TrainNoise]), the loss is CE(p_out(y | z_T))
// and its gradient is backpropagated through the whole chain (through û_t, the softmax and
// W_embed, and through b_t z_{t−1} into the blocks below), one AdamW over every parameter.
//
// Blocks: the image path is fully connected ([ImageFC], one ReLU layer of H units) in
// place of the paper's convolutional module; the rest follows the paper's figure without
// batch normalisation. Initialisation: PyTorch's default Linear init (U(±1/√fan_in) for
// weights and biases); a learned embedding starts N(0, 1) as nn.Embedding.
package noprop

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
)

const (
	// maxChunk bounds the rows of one evaluation pass.
	maxChunk = 256
	// Salts separate the random streams drawn from one seed.
	initSalt  = 0x9e3779b97f4a7c15
	stepSalt  = 0xd1b54a32d192ed03
	inferSalt = 0x8cb92ba72f3d8dd7
	probeSalt = 0x2545f4914f6cdd1d
)

// Rule names.
const (
	RuleNoProp = "noprop"
	RuleBP     = "bp-noprop"
)

func init() {
	mem := func(opts any, s learn.Shape) int64 {
		o, ok := opts.(*Options)
		if !ok {
			return 0
		}
		d := embedDim(*o, s)
		H := float64(o.Sizes[1])
		blockParams := float64(s.Inputs)*H + float64(d)*H + 3*H*H + H*H/2 + H/2*float64(s.Classes) + 6*H
		rows := float64(max(s.BatchRows, 1)) + float64(min(max(s.EvalRows, 1), maxChunk))
		act := rows * (7*H + float64(s.Classes)*4 + float64(d)*8)
		return int64(4 * (4*blockParams*float64(o.Blocks) + act*float64(o.Blocks+1)))
	}
	learn.Register(learn.Rule{
		Name: RuleNoProp,
		About: "NoProp-DT (Li, Teh & Pascanu 2025): T blocks, each trained alone to denoise the label embedding " +
			"from the image and a noisy embedding of the cosine schedule; inference runs the blocks in sequence from noise",
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr", "weight_decay", "inference_noise"},
		Memory:    mem,
		New: learn.Constructor(RuleNoProp, func(e *mat32.Engine, o Options, s learn.Shape, seed uint64) (*Learner, error) {
			return New(e, o, s, seed, false)
		}),
	})
	learn.Register(learn.Rule{
		Name: RuleBP,
		About: "backprop through NoProp-DT's stack of blocks end to end (the paper's baseline): the inference chain " +
			"from noise to the output layer, trained on its cross-entropy",
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr", "weight_decay", "inference_noise"},
		Memory:    mem,
		New: learn.Constructor(RuleBP, func(e *mat32.Engine, o Options, s learn.Shape, seed uint64) (*Learner, error) {
			return New(e, o, s, seed, true)
		}),
	})
}

// embedDim is the embedding's width d for the options and shape.
func embedDim(o Options, s learn.Shape) int {
	switch o.Embedding {
	case EmbedOneHot:
		return s.Classes
	case EmbedPrototype:
		return s.Inputs
	}
	return o.EmbedDim
}

// adamW is PyTorch's AdamW over a list of parameters: p ← p(1 − η λ), then Adam's step.
type adamW struct {
	adam  *optim.Adam
	decay float32
	ps    []*param
}

func newAdamW(e *mat32.Engine, o Options, ps []*param) *adamW {
	a := &optim.Adam{LR: o.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	ws := make([]mat32.Matrix, len(ps))
	for i, p := range ps {
		ws[i] = p.w
	}
	a.Init(ws)
	a.SetEngine(e)
	return &adamW{adam: a, decay: float32(1 - o.LR*o.WeightDecay), ps: ps}
}

func (o *adamW) step() {
	o.adam.Begin()
	for i, p := range o.ps {
		if o.decay != 1 {
			mat32.Scale(o.decay, p.w)
		}
		o.adam.Apply(i, p.w, p.g)
	}
}

// Learner is a NoProp-DT stack of blocks with its output layer and label embedding,
// trained by NoProp ("noprop") or by backprop through the stack ("bp-noprop"). It
// implements [learn.Learner], [learn.Evaluator], [learn.Prober] and [learn.Describer].
type Learner struct {
	opts    Options
	bp      bool
	e       *mat32.Engine
	shape   learn.Shape
	classes int
	d       int
	seed    uint64
	sched   Schedule
	blocks  []*block // blocks[t−1] is block t
	// E is W_embed (K × d), Wout, bout the output layer; shared lists them (E last when
	// trained).
	E, Wout, bout *param
	shared        []*param
	trainE        bool
	// opts: one AdamW per block and one for the shared parameters (noprop), or one over
	// everything (bp-noprop, in opt[0]).
	opt []*adamW
	src rand.PCG
	rng *rand.Rand
	// Step's buffers.
	act  []activity // one (noprop) or T (bp-noprop)
	gr   grads
	y    mat32.Matrix // one-hot labels N × K
	uy   mat32.Matrix // N × d
	z    []mat32.Matrix
	dz   []mat32.Matrix
	uhat mat32.Matrix
	du   mat32.Matrix
	dp   mat32.Matrix // N × K
	dlog mat32.Matrix
	zT   mat32.Matrix
	ol   mat32.Matrix
	dol  mat32.Matrix
	dzin mat32.Matrix
	// Evaluation buffers (maxChunk rows).
	ev evalBufs
}

type evalBufs struct {
	rows   int
	act    activity
	z, nz  mat32.Matrix
	uhat   mat32.Matrix
	logits mat32.Matrix
	y, uy  mat32.Matrix
	src    rand.PCG
	rng    *rand.Rand
	am     []int
}

// New builds a learner for the shape s, drawing its initial parameters from seed; bp
// selects backprop through the stack ("bp-noprop").
func New(e *mat32.Engine, opts Options, s learn.Shape, seed uint64, bp bool) (*Learner, error) {
	rule := RuleNoProp
	if bp {
		rule = RuleBP
	}
	if e == nil {
		return nil, fmt.Errorf("%s: no matrix engine", rule)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if s.Inputs < 1 || s.Classes < 2 || s.BatchRows < 1 || s.EvalRows < 0 {
		return nil, fmt.Errorf("%s: shape %+v: want inputs ≥ 1, classes ≥ 2, batch rows ≥ 1", rule, s)
	}
	if opts.Sizes[0] != s.Inputs || opts.Sizes[2] != s.Classes {
		return nil, fmt.Errorf("noprop option sizes = %v: want the data's %d inputs first and its %d classes last", opts.Sizes, s.Inputs, s.Classes)
	}
	opts.Sizes = append([]int(nil), opts.Sizes...)
	d := embedDim(opts, s)
	l := &Learner{opts: opts, bp: bp, e: e, shape: s, classes: s.Classes, d: d, seed: seed}
	l.sched = NewSchedule(opts.Blocks, opts.Eta, opts.ScheduleOffset)
	rng := rand.New(rand.NewPCG(mix(seed^initSalt), 0))
	T, K, H, N := opts.Blocks, s.Classes, opts.Sizes[1], s.BatchRows
	for range T {
		l.blocks = append(l.blocks, newBlock(s.Inputs, d, H, K, rng))
	}
	l.E = newParam("embed", K, d)
	switch opts.Embedding {
	case EmbedOneHot:
		mat32.SetIdentity(l.E.w)
	default:
		for k := range l.E.w.Data {
			l.E.w.Data[k] = float32(rng.NormFloat64())
		}
		l.trainE = true
	}
	l.Wout, l.bout = newParam("out.W", d, K), newParam("out.b", 1, K)
	l.Wout.initUniform(rng, d)
	l.bout.initUniform(rng, d)
	l.shared = []*param{l.Wout, l.bout}
	if l.trainE {
		l.shared = append(l.shared, l.E)
	}
	if bp {
		var all []*param
		for _, b := range l.blocks {
			all = append(all, b.all...)
		}
		l.opt = []*adamW{newAdamW(e, opts, append(all, l.shared...))}
		for range T {
			l.act = append(l.act, newActivity(N, H, K))
		}
	} else {
		for _, b := range l.blocks {
			l.opt = append(l.opt, newAdamW(e, opts, b.all))
		}
		l.opt = append(l.opt, newAdamW(e, opts, l.shared))
		l.act = []activity{newActivity(N, H, K)}
	}
	l.rng = rand.New(&l.src)
	l.gr = newGrads(N, H)
	l.y, l.uy = mat32.New(N, K), mat32.New(N, d)
	for range T + 1 {
		l.z = append(l.z, mat32.New(N, d))
		if bp {
			l.dz = append(l.dz, mat32.New(N, d))
		}
		if !bp {
			break
		}
	}
	l.uhat, l.du = mat32.New(N, d), mat32.New(N, d)
	l.dp, l.dlog = mat32.New(N, K), mat32.New(N, K)
	l.zT, l.ol, l.dol, l.dzin = mat32.New(N, d), mat32.New(N, K), mat32.New(N, K), mat32.New(N, d)
	r := max(1, min(s.EvalRows, maxChunk))
	l.ev = evalBufs{rows: r, act: newActivity(r, H, K), z: mat32.New(r, d), nz: mat32.New(r, d),
		uhat: mat32.New(r, d), logits: mat32.New(r, K), y: mat32.New(r, K), uy: mat32.New(r, d), am: make([]int, r)}
	l.ev.rng = rand.New(&l.ev.src)
	return l, nil
}

// Options returns the learner's options.
func (l *Learner) Options() Options {
	o := l.opts
	o.Sizes = append([]int(nil), o.Sizes...)
	return o
}

// Schedule returns the learner's noise schedule.
func (l *Learner) Schedule() Schedule { return l.sched }

func (l *Learner) rule() string {
	if l.bp {
		return RuleBP
	}
	return RuleNoProp
}

// Step trains on one batch: NoProp's T block updates in turn, or one backprop step through
// the stack. It returns the summed objective (noprop: Σ_t of the weighted denoising losses
// plus the mean over t of the output layer's cross-entropy; bp-noprop: the cross-entropy)
// and, for bp-noprop, the number of examples the training pass classifies correctly (−1 for
// noprop, whose training pass predicts nothing). A non-finite loss or gradient returns NaN
// (noprop may have updated the blocks before the one that found it).
func (l *Learner) Step(b learn.Batch, at learn.At) (loss float64, correct int) {
	n := b.X.Rows
	if n > l.shape.BatchRows || b.X.Cols != l.shape.Inputs || len(b.Labels) != n {
		panic(fmt.Sprintf("%s: Step on a %dx%d batch with %d labels; built for up to %d rows of %d",
			l.rule(), n, b.X.Cols, len(b.Labels), l.shape.BatchRows, l.shape.Inputs))
	}
	l.checkLabels("Step", b.Labels)
	if n == 0 {
		return 0, 0
	}
	l.src.Seed(mix(l.seed^stepSalt), uint64(at.Global))
	if at.Global == 0 && l.opts.Embedding == EmbedPrototype {
		l.prototypes(b)
	}
	oneHot(top(l.y, n), b.Labels)
	if l.bp {
		loss, correct = l.bpGradients(b)
		if !math.IsNaN(loss) {
			l.opt[0].step()
		}
		return loss, correct
	}
	return l.stepNoProp(b), -1
}

// stepNoProp is NoProp-DT's step: block t = 1 … T in turn, each with its own loss.
func (l *Learner) stepNoProp(b learn.Batch) float64 {
	var total, ce float64
	for t := 1; t <= l.opts.Blocks; t++ {
		lt, ct := l.blockLoss(b, t, true)
		if math.IsNaN(lt+ct) || math.IsInf(lt+ct, 0) || !l.gradsFinite(l.opt[t-1].ps) || !l.gradsFinite(l.shared) {
			return math.NaN()
		}
		total += lt
		ce += ct
		l.opt[t-1].step()
		l.opt[len(l.opt)-1].step()
	}
	return total + ce/float64(l.opts.Blocks)
}

// blockLoss computes block t's weighted denoising loss and the output layer's
// cross-entropy on rows of b (the one-hot labels in l.y); with grad it leaves the
// gradients of L_t in block t's parameters and in the shared ones. It draws its noise
// from l.rng.
func (l *Learner) blockLoss(b learn.Batch, t int, grad bool) (denoise, ce float64) {
	n := b.X.Rows
	e, sc := l.e, l.sched
	y, uy, z := top(l.y, n), top(l.uy, n), top(l.z[0], n)
	l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, y, l.E.w, 0, uy)
	noisy(z, uy, sc.AlphaBar[t-1], l.rng)
	blk, a := l.blocks[t-1], &l.act[0]
	blk.forward(e, a, b.X, z)
	p, uhat, du := top(a.p, n), top(l.uhat, n), top(l.du, n)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, p, l.E.w, 0, uhat)
	w := sc.Weight[t]
	var ss float64
	for r := range n {
		ur, yr, dr := uhat.Row(r), uy.Row(r), du.Row(r)
		for j, v := range ur {
			df := float64(v - yr[j])
			ss += df * df
			dr[j] = float32(2 * w * df / float64(n))
		}
	}
	denoise = w * ss / float64(n)
	ce = l.outputCE(uy, n, grad)
	if !grad {
		return denoise, ce
	}
	dp, dlog := top(l.dp, n), top(l.dlog, n)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, du, l.E.w, 0, dp)
	softmaxBack(dlog, dp, p)
	blk.backward(e, a, &l.gr, b.X, z, dlog, mat32.Matrix{})
	if l.trainE {
		// û = p E and the target u_y = Y E: ∂/∂E = pᵀ dû − Yᵀ dû (added to the CE's part).
		e.Gemm(mat32.Trans, mat32.NoTrans, 1, p, du, 1, l.E.g)
		e.Gemm(mat32.Trans, mat32.NoTrans, -1, y, du, 1, l.E.g)
	}
	return denoise, ce
}

// outputCE returns the output layer's mean cross-entropy on a fresh sample
// z_T = √ᾱ_T u_y + √(1 − ᾱ_T) ε of the rows' embeddings uy; with grad it writes the
// gradients of W_out, b_out and (when trained) sets E's gradient to the CE's part.
func (l *Learner) outputCE(uy mat32.Matrix, n int, grad bool) float64 {
	e := l.e
	zT, ol, dol, y := top(l.zT, n), top(l.ol, n), top(l.dol, n), top(l.y, n)
	noisy(zT, uy, l.sched.AlphaBar[l.opts.Blocks], l.rng)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, zT, l.Wout.w, 0, ol)
	mat32.AddRowVector(ol, l.bout.w.Row(0))
	ce, _ := crossEntropy(ol, y, dol, grad)
	if !grad {
		return ce
	}
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, zT, dol, 0, l.Wout.g)
	colSums(l.bout.g.Row(0), dol)
	if l.trainE {
		dz := top(l.dzin, n)
		e.Gemm(mat32.NoTrans, mat32.Trans, 1, dol, l.Wout.w, 0, dz)
		e.Gemm(mat32.Trans, mat32.NoTrans, float32(math.Sqrt(l.sched.AlphaBar[l.opts.Blocks])), y, dz, 0, l.E.g)
	}
	return ce
}

// bpGradients is the baseline's step without its AdamW update: the inference chain from
// noise, its cross-entropy and the gradients of every parameter by backprop through every
// block. It returns NaN when the loss or a gradient is not finite.
func (l *Learner) bpGradients(b learn.Batch) (float64, int) {
	n := b.X.Rows
	e, sc, T := l.e, l.sched, l.opts.Blocks
	for k := range l.z[0].Data[:n*l.d] {
		l.z[0].Data[k] = float32(l.rng.NormFloat64())
	}
	for t := 1; t <= T; t++ {
		a := &l.act[t-1]
		zp, zt := top(l.z[t-1], n), top(l.z[t], n)
		l.blocks[t-1].forward(e, a, b.X, zp)
		e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, top(a.p, n), l.E.w, 0, zt)
		advance(zt, zp, sc, t, l.opts.TrainNoise, l.rng)
	}
	zT, ol, dol, y := top(l.z[T], n), top(l.ol, n), top(l.dol, n), top(l.y, n)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, zT, l.Wout.w, 0, ol)
	mat32.AddRowVector(ol, l.bout.w.Row(0))
	ce, correct := crossEntropy(ol, y, dol, true)
	if math.IsNaN(ce) || math.IsInf(ce, 0) {
		return math.NaN(), correct
	}
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, zT, dol, 0, l.Wout.g)
	colSums(l.bout.g.Row(0), dol)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dol, l.Wout.w, 0, top(l.dz[T], n))
	if l.trainE {
		mat32.Zero(l.E.g)
	}
	for t := T; t >= 1; t-- {
		a := &l.act[t-1]
		dzt, dzp := top(l.dz[t], n), top(l.dz[t-1], n)
		du := top(l.du, n)
		// z_t = a_t p_t E + b_t z_{t−1} (+ noise): dû = a_t dz_t.
		mat32.Copy(du, dzt)
		mat32.Scale(float32(sc.A[t]), du)
		p := top(a.p, n)
		if l.trainE {
			e.Gemm(mat32.Trans, mat32.NoTrans, 1, p, du, 1, l.E.g)
		}
		dp, dlog := top(l.dp, n), top(l.dlog, n)
		e.Gemm(mat32.NoTrans, mat32.Trans, 1, du, l.E.w, 0, dp)
		softmaxBack(dlog, dp, p)
		if t == 1 { // z_0 is noise: no gradient wanted
			l.blocks[0].backward(e, a, &l.gr, b.X, top(l.z[0], n), dlog, mat32.Matrix{})
			break
		}
		l.blocks[t-1].backward(e, a, &l.gr, b.X, top(l.z[t-1], n), dlog, dzp)
		mat32.Axpy(float32(sc.B[t]), dzt, dzp)
	}
	if !l.gradsFinite(l.opt[0].ps) {
		return math.NaN(), correct
	}
	return ce, correct
}

// gradsFinite reports whether every gradient of ps is finite.
func (l *Learner) gradsFinite(ps []*param) bool {
	for _, p := range ps {
		if !mat32.AllFinite(p.g) {
			return false
		}
	}
	return true
}

// prototypes sets row k of W_embed to the example of class k in b nearest the mean of
// class k's examples in b (rows of absent classes keep their random start).
func (l *Learner) prototypes(b learn.Batch) {
	mean := make([]float64, l.d)
	for k := range l.classes {
		clear(mean)
		cnt := 0
		for r, c := range b.Labels {
			if int(c) == k {
				for j, v := range b.X.Row(r) {
					mean[j] += float64(v)
				}
				cnt++
			}
		}
		if cnt == 0 {
			continue
		}
		best, arg := math.Inf(1), -1
		for r, c := range b.Labels {
			if int(c) != k {
				continue
			}
			var s float64
			for j, v := range b.X.Row(r) {
				dv := float64(v) - mean[j]/float64(cnt)
				s += dv * dv
			}
			if s < best {
				best, arg = s, r
			}
		}
		copy(l.E.w.Row(k), b.X.Row(arg))
	}
}

// noisy writes z = √ᾱ u + √(1 − ᾱ) ε, ε ~ N(0, I) from rng.
func noisy(z, u mat32.Matrix, alphaBar float64, rng *rand.Rand) {
	sa, sn := math.Sqrt(alphaBar), math.Sqrt(1-alphaBar)
	for r := range z.Rows {
		zr, ur := z.Row(r), u.Row(r)
		for j := range zr {
			zr[j] = float32(sa*float64(ur[j]) + sn*rng.NormFloat64())
		}
	}
}

// advance turns zt, holding û_t, into z_t = a_t û_t + b_t z_{t−1} [+ √c_t ε].
func advance(zt, zp mat32.Matrix, sc Schedule, t int, noise bool, rng *rand.Rand) {
	a, b, c := float32(sc.A[t]), float32(sc.B[t]), math.Sqrt(sc.C[t])
	for r := range zt.Rows {
		zr, pr := zt.Row(r), zp.Row(r)
		for j := range zr {
			v := a*zr[j] + b*pr[j]
			if noise {
				v += float32(c * rng.NormFloat64())
			}
			zr[j] = v
		}
	}
}

// softmaxBack writes the gradient with respect to the logits, dlog = p ⊙ (dp − ⟨dp, p⟩),
// given the gradient dp with respect to the softmax p.
func softmaxBack(dlog, dp, p mat32.Matrix) {
	for r := range p.Rows {
		pr, gr, dr := p.Row(r), dp.Row(r), dlog.Row(r)
		var s float64
		for k, v := range pr {
			s += float64(v) * float64(gr[k])
		}
		for k, v := range pr {
			dr[k] = float32(float64(v) * (float64(gr[k]) - s))
		}
	}
}

// crossEntropy returns the mean cross-entropy of the logits ol against the one-hot rows y
// and the number of rows whose argmax is the label; with grad it writes (softmax − y)/N
// into dol.
func crossEntropy(ol, y, dol mat32.Matrix, grad bool) (float64, int) {
	n := ol.Rows
	var loss float64
	correct := 0
	for r := range n {
		row, yr := ol.Row(r), y.Row(r)
		m, arg := row[0], 0
		for k, v := range row {
			if v > m {
				m, arg = v, k
			}
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(s)
		for k, v := range row {
			if yr[k] != 0 {
				loss += float64(yr[k]) * (lse - float64(v))
				if k == arg {
					correct++
				}
			}
			if grad {
				dol.Row(r)[k] = float32((math.Exp(float64(v)-lse) - float64(yr[k])) / float64(n))
			}
		}
	}
	return loss / float64(max(n, 1)), correct
}

// oneHot writes the one-hot rows of labels into y.
func oneHot(y mat32.Matrix, labels []uint8) {
	mat32.Zero(y)
	for r, c := range labels {
		y.Set(r, int(c), 1)
	}
}

// checkLabels panics on a label outside the classes (see learn.CheckLabels).
func (l *Learner) checkLabels(op string, y []uint8) { learn.CheckLabels(l.rule(), op, y, l.classes) }

// mix is SplitMix64's finaliser: it spreads a seed over all 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

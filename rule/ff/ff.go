// Package ff implements forward-forward (Hinton 2022) as his released Matlab code does it:
// supervised, the label written into the input, peer normalisation, hard negative labels
// picked by a softmax classifier, and two prediction modes. It registers the rule "ff".
//
// With row vectors, a batch of N examples and hidden layers l = 1…L (there is no output
// layer; W_l is n_{l−1} × n_l):
//
//	norm(h) = h / sqrt(mean_j h_j² + 1e-20)                 RMS normalisation of each row
//	h_0     = the image, its first Classes pixels holding a label
//	a_l     = norm(h_{l−1}) W_l + b_l,   h_l = relu(a_l)
//	p_l     = σ((Σ_j h_{l,j}² − n_l) / T)                    "this input is positive"
//
// Every step makes three passes through the network as it was before the step:
//
//  1. positive: the true label one-hot (pixel value 1).
//     m_l ← d·m_l + (1−d)·mean_batch(h_l);  dC/da_l = (1−p_l) h_l + λ (mean_j m_l − m_l).
//     The peer term is not gated by the ReLU: it revives units that are always off.
//  2. neutral: every label pixel NeutralLabel. A softmax classifier on the normalised hidden
//     layers from the second on, z = [norm(h_2) … norm(h_L)] V, learns from it by
//     cross-entropy, and each example's negative label is drawn from softmax(z) over the
//     wrong classes (or uniformly, Options.Negatives = "uniform"). It is never the true one.
//  3. negative: the negative label one-hot.  dC/da_l = −p_l h_l.
//
// Then every layer learns from its own input and output alone (positive and negative rows
// stacked, so that each product is one GEMM):
//
//	G  = norm(h_{l−1})ᵀ dC/da / N    g  ← s·g + (1−s)·G    W ← W + ε·gain·(g − wc·W)
//	Gb = colsum(dC/da) / N           gb ← s·gb + (1−s)·Gb  b ← b + ε·gain·gb
//	Gv = Zᵀ (onehot − softmax) / N   gv ← s·gv + (1−s)·Gv  V ← V + ε_s·gain·(gv − wc_s·V)
//
// dC/da is the ascent direction of the layer's own objective C = Σ_pos log p + Σ_neg
// log(1−p), up to a constant: its exact gradient is (2/T)(1−p)h and −(2/T)p h, and the
// rule (as the released code) drops the factor 2/T, so G = (T/2)·∂(C/N)/∂W. No gradient
// crosses layers.
//
// gain is 1 for the first half of the planned epochs and then falls linearly to 0, one value
// per epoch as in the released code (see [Gain]). Prediction runs one pass per candidate
// label and scores it by Σ_j h² summed over the hidden layers from the second on
// ("goodness"), or reads the softmax classifier on the neutral pass ("softmax").
//
// Choices the spec leaves open: weights start from N(0, InitScale²/fan_in) (the released
// code's randn/sqrt(fan_in)), biases, V and every running average from 0, peer means from
// 0.5; the softmax has no bias (the released code's is 0 and never learns).
package ff

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

const (
	// normEps is added to the mean square inside the square root of norm(h), so that an
	// all-zero row normalises to zeros (the released code adds e⁻⁵⁰ to the root instead).
	normEps = 1e-20
	// peerInit is every unit's initial peer running mean (the released code's 0.5).
	peerInit = 0.5
	// labelOn is the label pixel's value in a labelled pass (the released labelstrength).
	labelOn = 1
	// firstScored is the first hidden layer, 0-based, that the softmax classifier and the
	// goodness prediction read: the second, as in the released code.
	firstScored = 1
	// maxChunk bounds the rows of one evaluation pass (Predict, Evaluate, Probe).
	maxChunk = 256
	// Salts that separate the random streams drawn from one seed.
	initSalt = 0x9e3779b97f4a7c15
	stepSalt = 0xd1b54a32d192ed03
)

func init() {
	learn.Register(learn.Rule{
		Name:      "ff",
		About:     "forward-forward (Hinton 2022): layer-local goodness, peer normalisation, hard negatives from a softmax",
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr", "softmax_lr", "predict", "cooldown"},
		Memory: func(opts any, s learn.Shape) int64 {
			o, ok := opts.(*Options)
			if !ok {
				return 0
			}
			// Weights and their smoothed gradients, and per layer the activity and
			// derivative buffers of the three training passes and of an evaluation chunk.
			rows := float64(4*max(s.BatchRows, 1) + 2*min(max(s.EvalRows, 1), 256))
			var floats float64
			for l := 0; l+1 < len(o.Sizes); l++ {
				in, out := float64(o.Sizes[l]), float64(o.Sizes[l+1])
				floats += 2*in*out + rows*(in+out)
			}
			return int64(4 * floats)
		},
		New: learn.Constructor("ff", New),
	})
}

// layer is one hidden layer with its learning state.
type layer struct {
	in, out int
	// W is in × out (a = x W + b); gW its smoothed gradient.
	W, gW mat32.Matrix
	// b is the bias; gb its smoothed gradient.
	b, gb []float32
	// m is the running mean of each unit's activity over positive batches.
	m []float32
	// threshold is the goodness at which p = 1/2: the layer's width.
	threshold float64
	// off is the layer's first column in a trace's side-by-side normalised activity.
	off int
	// peer is scratch: the batch mean of h, then the peer term λ(mean(m) − m).
	peer []float32
}

// trace holds the activity of rows passing through the network.
type trace struct {
	// x holds norm(h_0), the normalised input rows.
	x mat32.Matrix
	// h holds each layer's activity relu(a).
	h []mat32.Matrix
	// nh holds norm(h_l) of every layer side by side (layer l in columns off_l…), so that
	// the softmax classifier's input Z is one view of it.
	nh mat32.Matrix
	// good holds each layer's goodness Σ_j h_j² of every row.
	good [][]float64
}

// newTrace allocates a trace of rows rows for the layers ls.
func newTrace(rows, inputs int, ls []layer) trace {
	t := trace{x: mat32.New(rows, inputs), nh: mat32.New(rows, ls[len(ls)-1].off+ls[len(ls)-1].out)}
	for _, ly := range ls {
		t.h = append(t.h, mat32.New(rows, ly.out))
		t.good = append(t.good, make([]float64, rows))
	}
	return t
}

// norm returns the view of norm(h_i), all rows.
func (t *trace) norm(ls []layer, i int) mat32.Matrix {
	return t.nh.Slice(0, t.nh.Rows, ls[i].off, ls[i].off+ls[i].out)
}

// input returns layer i's input norm(h_{i−1}), all rows.
func (t *trace) input(ls []layer, i int) mat32.Matrix {
	if i == 0 {
		return t.x
	}
	return t.norm(ls, i-1)
}

// score returns row r's goodness summed over the scored layers.
func (t *trace) score(r int) float64 {
	var s float64
	for i := firstScored; i < len(t.good); i++ {
		s += t.good[i][r]
	}
	return s
}

// Learner is a forward-forward network together with its learning rule. It implements
// [learn.Learner], [learn.Evaluator], [learn.Prober] and [learn.Describer].
type Learner struct {
	opts    Options
	e       *mat32.Engine
	shape   learn.Shape
	seed    uint64
	layers  []layer
	classes int
	// V is the softmax classifier, (Σ_{l≥2} n_l) × Classes; gV its smoothed gradient.
	V, gV mat32.Matrix
	// zOff, zCols locate the classifier's input Z within a trace's nh.
	zOff, zCols int

	step struct {
		// t holds 3·BatchRows rows: neutral, positive and negative blocks of N rows each.
		t trace
		// p holds each layer's p of the positive and then the negative rows.
		p [][]float64
		// dC holds each layer's dC/da of the positive and then the negative rows.
		dC []mat32.Matrix
		// logits holds the neutral rows' z; probs their softmax, then onehot − softmax.
		logits, probs mat32.Matrix
		// y holds the batch's labels, neg the negative labels.
		y, neg []uint8
		// w is scratch for the weights of the wrong classes.
		w []float64
	}
	eval struct {
		t      trace
		rows   int
		logits mat32.Matrix
		scores mat32.Matrix
	}
	pcg *rand.PCG
	rng *rand.Rand
	upd axpby
}

// New builds a forward-forward learner for the shape s, drawing its initial weights from
// seed. The options must be valid, Sizes[0] must be s.Inputs and s.Classes must fit in the
// input (the label pixels are its first s.Classes pixels).
func New(e *mat32.Engine, opts Options, s learn.Shape, seed uint64) (*Learner, error) {
	if e == nil {
		return nil, fmt.Errorf("ff: no matrix engine")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Sizes[0] != s.Inputs {
		return nil, fmt.Errorf("ff option sizes = %v: the input width %d differs from the data's %d", opts.Sizes, opts.Sizes[0], s.Inputs)
	}
	if s.Classes < 2 || s.Classes > s.Inputs {
		return nil, fmt.Errorf("ff: %d classes: want 2 to %d (the label is written into the first input pixels)", s.Classes, s.Inputs)
	}
	if s.BatchRows < 1 || s.EvalRows < 0 {
		return nil, fmt.Errorf("ff: batch rows %d and evaluation rows %d: want at least 1 and 0", s.BatchRows, s.EvalRows)
	}
	opts.Sizes = append([]int(nil), opts.Sizes...)
	l := &Learner{opts: opts, e: e, shape: s, seed: seed, classes: s.Classes}
	rng := rand.New(rand.NewPCG(mix(seed^initSalt), 0))
	off := 0
	for i := 1; i < len(opts.Sizes); i++ {
		in, out := opts.Sizes[i-1], opts.Sizes[i]
		ly := layer{
			in: in, out: out,
			W: mat32.New(in, out), gW: mat32.New(in, out),
			b: make([]float32, out), gb: make([]float32, out),
			m: make([]float32, out), peer: make([]float32, out),
			threshold: float64(out), off: off,
		}
		std := opts.InitScale / math.Sqrt(float64(in))
		for k := range ly.W.Data {
			ly.W.Data[k] = float32(rng.NormFloat64() * std)
		}
		for j := range ly.m {
			ly.m[j] = peerInit
		}
		l.layers = append(l.layers, ly)
		off += out
	}
	l.zOff = l.layers[firstScored].off
	l.zCols = off - l.zOff
	l.V, l.gV = mat32.New(l.zCols, s.Classes), mat32.New(l.zCols, s.Classes)

	st := &l.step
	st.t = newTrace(3*s.BatchRows, s.Inputs, l.layers)
	for _, ly := range l.layers {
		st.p = append(st.p, make([]float64, 2*s.BatchRows))
		st.dC = append(st.dC, mat32.New(2*s.BatchRows, ly.out))
	}
	st.logits, st.probs = mat32.New(s.BatchRows, s.Classes), mat32.New(s.BatchRows, s.Classes)
	st.y, st.neg = make([]uint8, s.BatchRows), make([]uint8, s.BatchRows)
	st.w = make([]float64, s.Classes)

	ev := &l.eval
	ev.rows = max(1, min(s.EvalRows, maxChunk))
	ev.t = newTrace(ev.rows, s.Inputs, l.layers)
	ev.logits, ev.scores = mat32.New(ev.rows, s.Classes), mat32.New(ev.rows, s.Classes)

	l.pcg = rand.NewPCG(0, 0)
	l.rng = rand.New(l.pcg)
	return l, nil
}

// Options returns the learner's options.
func (l *Learner) Options() Options {
	o := l.opts
	o.Sizes = append([]int(nil), o.Sizes...)
	return o
}

// Step trains on one batch: the positive and neutral passes, the softmax classifier's loss
// and the negative labels, the negative pass, then every layer's local update. It returns
// the softmax classifier's mean cross-entropy on the neutral pass (the loss the released
// code prints) and its number of correct predictions, both before the update. When a pass
// finds a non-finite value it returns a NaN loss and changes nothing.
func (l *Learner) Step(b learn.Batch, at learn.At) (loss float64, correct int) {
	n := l.checkBatch(b)
	if n == 0 {
		return 0, 0
	}
	loss, correct, ok := l.passes(b, at)
	if !ok {
		return math.NaN(), correct
	}
	l.localGradients(n)
	l.classifierGradient(n)
	l.update(Gain(l.opts.Cooldown, at))
	return loss, correct
}

// checkBatch panics on a batch the learner was not built for and returns its rows.
func (l *Learner) checkBatch(b learn.Batch) int {
	n := b.X.Rows
	if n > l.shape.BatchRows || b.X.Cols != l.shape.Inputs || len(b.Labels) != n {
		panic(fmt.Sprintf("ff: Step on a %dx%d batch with %d labels; built for up to %d rows of %d",
			n, b.X.Cols, len(b.Labels), l.shape.BatchRows, l.shape.Inputs))
	}
	for _, y := range b.Labels {
		if int(y) >= l.classes {
			panic(fmt.Sprintf("ff: label %d with %d classes", y, l.classes))
		}
	}
	return n
}

// passes runs the three passes of a step through the pre-update network: it fills the
// step trace, the classifier's logits and softmax, and the negative labels. It returns the
// classifier's loss and correct count, and false when a value was not finite.
func (l *Learner) passes(b learn.Batch, at learn.At) (loss float64, correct int, ok bool) {
	n := b.X.Rows
	st := &l.step
	t := &st.t
	copy(st.y, b.Labels)
	// 1, 2. Positive (rows n…2n) and neutral (rows 0…n) passes, as one stack of rows.
	for r := range n {
		l.writeInput(t.x.Row(r), b.X.Row(r), -1)
		l.writeInput(t.x.Row(n+r), b.X.Row(r), int(b.Labels[r]))
	}
	l.forward(t, 0, 2*n)
	// The classifier on the neutral pass; the negative labels from its logits.
	loss, correct = l.classify(t, 0, n, st.logits, st.probs, b.Labels)
	l.pcg.Seed(mix(l.seed^stepSalt), mix(uint64(at.Global)))
	for r, y := range b.Labels {
		st.neg[r] = uint8(l.negative(st.logits.Row(r), int(y)))
	}
	// 3. Negative pass (rows 2n…3n).
	for r := range n {
		l.writeInput(t.x.Row(2*n+r), b.X.Row(r), int(st.neg[r]))
	}
	l.forward(t, 2*n, 3*n)
	ok = !math.IsNaN(loss) && !math.IsInf(loss, 0)
	for i := range l.layers {
		for _, g := range t.good[i][:3*n] {
			ok = ok && !math.IsInf(g, 0) && !math.IsNaN(g)
		}
	}
	return loss, correct, ok
}

// writeInput sets dst to norm(src with its label pixels set): one-hot label (value 1), or
// every pixel NeutralLabel when label < 0.
func (l *Learner) writeInput(dst, src []float32, label int) {
	copy(dst, src)
	lab := dst[:l.classes]
	if label < 0 {
		for j := range lab {
			lab[j] = float32(l.opts.NeutralLabel)
		}
	} else {
		clear(lab)
		lab[label] = labelOn
	}
	var ss float64
	for _, v := range dst {
		ss += float64(v) * float64(v)
	}
	normalize(dst, dst, ss)
}

// normalize sets dst = src / sqrt(mean_j src_j² + normEps), given ss = Σ_j src_j².
func normalize(dst, src []float32, ss float64) {
	s := float32(1 / math.Sqrt(ss/float64(len(src))+normEps))
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = v * s
	}
}

// forward runs rows [r0, r1) of t, whose normalised input t.x is in place, through every
// layer: a = norm(h_{l−1}) W + b, h = relu(a), the goodness Σ_j h_j² and norm(h).
func (l *Learner) forward(t *trace, r0, r1 int) {
	for i := range l.layers {
		ly := &l.layers[i]
		in := t.input(l.layers, i).Slice(r0, r1, 0, ly.in)
		h := t.h[i].Slice(r0, r1, 0, ly.out)
		nh := t.norm(l.layers, i).Slice(r0, r1, 0, ly.out)
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, in, ly.W, 0, h)
		for r := range h.Rows {
			t.good[i][r0+r] = activate(nh.Row(r), h.Row(r), ly.b)
		}
	}
}

// activate sets h = relu(h + b) and n = norm(h), and returns the goodness Σ_j h_j².
func activate(n, h, b []float32) float64 {
	b = b[:len(h)]
	var g float64
	for j, a := range h {
		v := max(a+b[j], 0)
		h[j] = v
		g += float64(v) * float64(v)
	}
	normalize(n, h, g)
	return g
}

// prob returns p = σ((goodness − threshold)/T), the probability that a layer calls its
// input positive.
func (l *Learner) prob(ly *layer, goodness float64) float64 {
	return 1 / (1 + math.Exp(-(goodness-ly.threshold)/l.opts.Temperature))
}

// classify computes the softmax classifier on rows [r0, r1) of t: z = Z V into logits and
// softmax(z) into probs (when probs has rows). It returns the summed cross-entropy against
// labels (when not nil; else 0) divided by the rows, and the number of rows whose largest
// logit is the label.
func (l *Learner) classify(t *trace, r0, r1 int, logits, probs mat32.Matrix, labels []uint8) (loss float64, correct int) {
	k := r1 - r0
	z := logits.Slice(0, k, 0, l.classes)
	l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, t.nh.Slice(r0, r1, l.zOff, l.zOff+l.zCols), l.V, 0, z)
	for r := range k {
		row := z.Row(r)
		zmax, arg := float32(math.Inf(-1)), 0
		for c, v := range row {
			if v > zmax {
				zmax, arg = v, c
			}
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - zmax))
		}
		if probs.Rows > 0 {
			pr := probs.Row(r)
			for c, v := range row {
				pr[c] = float32(math.Exp(float64(v-zmax)) / sum)
			}
		}
		if labels != nil {
			y := int(labels[r])
			loss += float64(zmax) + math.Log(sum) - float64(row[y])
			if arg == y {
				correct++
			}
		}
	}
	if labels == nil || k == 0 {
		return 0, correct
	}
	return loss / float64(k), correct
}

// negative draws the negative label for an example of class y whose classifier logits
// are z, from the step's random stream. It is never y.
func (l *Learner) negative(z []float32, y int) int {
	if l.opts.Negatives == NegativesHard {
		sum := wrongClassWeights(l.step.w, z, y)
		if sum >= 1 && !math.IsInf(sum, 0) {
			u := l.rng.Float64() * sum
			last := -1
			for c, w := range l.step.w {
				if c == y {
					continue
				}
				if u < w {
					return c
				}
				u -= w
				last = c
			}
			return last // u ran past the end by rounding
		}
	}
	c := l.rng.IntN(l.classes - 1)
	if c >= y {
		c++
	}
	return c
}

// wrongClassWeights sets w[c] = exp(z_c − max_{k≠y} z_k) for the classes c ≠ y and w[y] = 0,
// and returns their sum: softmax(z) restricted to the wrong classes, unnormalised. Taking the
// maximum over the wrong classes keeps this defined when the full softmax gives y all its
// mass (the released code subtracts 1000 from z_y instead). The sum is at least 1 when the
// logits are finite; otherwise it is NaN or not at least 1 and the caller falls back to a
// uniform wrong class.
func wrongClassWeights(w []float64, z []float32, y int) float64 {
	zmax := math.Inf(-1)
	for c, v := range z {
		if c != y {
			zmax = max(zmax, float64(v))
		}
	}
	if math.IsInf(zmax, 0) || math.IsNaN(zmax) {
		return math.NaN()
	}
	var sum float64
	for c, v := range z {
		w[c] = 0
		if c != y {
			w[c] = math.Exp(float64(v) - zmax)
			sum += w[c]
		}
	}
	return sum
}

// localGradients computes every layer's dC/da from the positive and negative passes,
// updates the peer running means, and folds G and Gb into the smoothed gradients.
func (l *Learner) localGradients(n int) {
	t := &l.step.t
	s := float32(l.opts.Smoothing)
	alpha := (1 - s) / float32(n)
	d := float32(l.opts.PeerDecay)
	lambda := float32(l.opts.PeerLambda)
	for i := range l.layers {
		ly := &l.layers[i]
		pos := t.h[i].Slice(n, 2*n, 0, ly.out)
		neg := t.h[i].Slice(2*n, 3*n, 0, ly.out)
		dC := l.step.dC[i].Slice(0, 2*n, 0, ly.out)
		p := l.step.p[i]
		// Peer normalisation: m ← d·m + (1−d)·mean_batch(h); peer = λ(mean(m) − m).
		mat32.ColMeans(ly.peer, pos)
		var mbar float64
		for j, v := range ly.peer {
			ly.m[j] = d*ly.m[j] + (1-d)*v
			mbar += float64(ly.m[j])
		}
		mbar /= float64(ly.out)
		for j, m := range ly.m {
			ly.peer[j] = lambda * (float32(mbar) - m)
		}
		// Positive rows: dC/da = (1−p) h + peer.
		for r := range n {
			p[r] = l.prob(ly, t.good[i][n+r])
			q := float32(1 - p[r])
			dr, hr := dC.Row(r), pos.Row(r)
			for j, h := range hr {
				dr[j] = q*h + ly.peer[j]
			}
		}
		// Negative rows: dC/da = −p h.
		for r := range n {
			p[n+r] = l.prob(ly, t.good[i][2*n+r])
			q := -float32(p[n+r])
			dr, hr := dC.Row(n+r), neg.Row(r)
			for j, h := range hr {
				dr[j] = q * h
			}
		}
		// g ← s·g + (1−s)·norm(h_{l−1})ᵀ dC/da / N over both passes; gb likewise.
		x := t.input(l.layers, i).Slice(n, 3*n, 0, ly.in)
		l.e.Gemm(mat32.Trans, mat32.NoTrans, alpha, x, dC, s, ly.gW)
		mat32.ColMeans(ly.peer, dC) // the mean over 2n rows: times 2 for the sum over N
		for j, v := range ly.peer {
			ly.gb[j] = s*ly.gb[j] + (1-s)*2*v
		}
	}
}

// classifierGradient folds the softmax classifier's gradient Zᵀ(onehot − softmax)/N of the
// neutral pass into gV (and turns the step's probs into onehot − softmax).
func (l *Learner) classifierGradient(n int) {
	st := &l.step
	e := st.probs.Slice(0, n, 0, l.classes)
	for r := range n {
		row := e.Row(r)
		for c := range row {
			row[c] = -row[c]
		}
		row[st.y[r]]++
	}
	s := float32(l.opts.Smoothing)
	z := st.t.nh.Slice(0, n, l.zOff, l.zOff+l.zCols)
	l.e.Gemm(mat32.Trans, mat32.NoTrans, (1-s)/float32(n), z, e, s, l.gV)
}

// update applies the smoothed gradients: W ← W + ε·gain·(g − wc·W), b ← b + ε·gain·gb,
// V ← V + ε_s·gain·(gv − wc_s·V).
func (l *Learner) update(gain float64) {
	eg := float32(l.opts.LR * gain)
	for i := range l.layers {
		ly := &l.layers[i]
		l.axpby(1-eg*float32(l.opts.WeightCost), ly.W.Data, eg, ly.gW.Data)
		for j, g := range ly.gb {
			ly.b[j] += eg * g
		}
	}
	es := float32(l.opts.SoftmaxLR * gain)
	l.axpby(1-es*float32(l.opts.SoftmaxWeightCost), l.V.Data, es, l.gV.Data)
}

// Gain returns the learning-rate multiplier of the step at: 1 without cooldown or when
// the planned epochs are unknown; else, once per epoch as the released code does it,
// min(1, (2(E − e) − 1)/E) for the 0-based epoch e of E: 1 through the first half, then
// the line from 1 at mid-training to 0 at the end taken at the middle of each epoch
// ((E−1)/E, …, 3/E, 1/E for even E), and 0 past the planned epochs.
func Gain(cooldown bool, at learn.At) float64 {
	e := at.Epochs
	if !cooldown || e <= 0 {
		return 1
	}
	return min(1, max(0, float64(2*(e-at.Epoch)-1)/float64(e)))
}

// axpby sets y = a·y + b·x element-wise, split over the engine's workers.
func (l *Learner) axpby(a float32, y []float32, b float32, x []float32) {
	l.upd = axpby{a: a, b: b, x: x, y: y}
	l.e.ParallelFor(len(y), 64, 1<<15, &l.upd)
	l.upd = axpby{}
}

// axpby is the work of [Learner.axpby] for [mat32.Engine.ParallelFor].
type axpby struct {
	a, b float32
	x, y []float32
}

// Range updates the indices [lo, hi).
func (u *axpby) Range(lo, hi int) {
	x, y := u.x[lo:hi], u.y[lo:hi]
	for k, v := range x {
		y[k] = u.a*y[k] + u.b*v
	}
}

// mix is SplitMix64's finaliser: it spreads a seed over all 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Predict writes class scores for every row of x into scores (x.Rows × Classes), as
// Options.Predict says: each label's goodness (one pass per candidate label, Σ_j h² summed
// over the hidden layers from the second on), or the softmax classifier's logits on the
// neutral pass. Rows are processed in chunks of the evaluation buffers' size.
func (l *Learner) Predict(x, scores mat32.Matrix) {
	if x.Cols != l.shape.Inputs || scores.Rows != x.Rows || scores.Cols != l.classes {
		panic(fmt.Sprintf("ff: Predict of %dx%d into %dx%d scores; want %d columns and %d classes",
			x.Rows, x.Cols, scores.Rows, scores.Cols, l.shape.Inputs, l.classes))
	}
	for r0 := 0; r0 < x.Rows; r0 += l.eval.rows {
		r1 := min(r0+l.eval.rows, x.Rows)
		xc, sc := x.Slice(r0, r1, 0, x.Cols), scores.Slice(r0, r1, 0, l.classes)
		if l.opts.Predict == PredictSoftmax {
			l.evalPass(xc, -1)
			l.classify(&l.eval.t, 0, xc.Rows, sc, mat32.Matrix{}, nil)
		} else {
			l.goodnessScores(xc, sc)
		}
	}
}

// goodnessScores writes, for every row of x (at most a chunk) and every label c, the
// goodness of the pass with label c summed over the scored layers into scores[r][c].
func (l *Learner) goodnessScores(x, scores mat32.Matrix) {
	for c := range l.classes {
		l.evalPass(x, c)
		for r := range x.Rows {
			scores.Row(r)[c] = float32(l.eval.t.score(r))
		}
	}
}

// evalPass runs the rows of x (at most a chunk) through the network with the given label
// in their label pixels (the neutral label when label < 0), into the evaluation trace.
func (l *Learner) evalPass(x mat32.Matrix, label int) {
	t := &l.eval.t
	for r := range x.Rows {
		l.writeInput(t.x.Row(r), x.Row(r), label)
	}
	l.forward(t, 0, x.Rows)
}

// Package gevb implements global error-vector broadcasting (GEVB) in vectorized networks
// (Clark, Abbott & Chung, NeurIPS 2021) and backprop in the same networks, its authors'
// baseline, and registers the rules "gevb" and "bp-vec".
//
// # The vectorized network
//
// K is the number of classes. Every unit carries a K-vector; with row vectors and a batch
// of N examples, layer l's activity a_l is N × K × n_l. Sizes n_0 = d (the input), hidden
// n_1 … n_{L−1} (even), and n_L = 1: the output is one vector unit whose K components are
// the logits.
//
//	first layer:  z_1[:, k, :] = x W_1⁽ᵏ⁾ + b_1[k]          (W_1⁽ᵏ⁾ is d × n_1, one per component)
//	later layers: z_l[:, k, :] = a_{l−1}[:, k, :] W_l + b_l[k]   (W_l is n_{l−1} × n_l, shared)
//	gate:         m_l = H(Σ_k t_l[k] ⊙ z_l[:, k, :]),  a_l = z_l ⊙ m_l  (H(0) = 1; m_l is N × n_l)
//	logits:       y[:, k] = z_L[:, k, 0],   e = softmax(y) − onehot(label)   (N × K)
//
// t_l ∈ {±1}^{K×n_l} is fixed and random, with units in (t, −t) pairs: t_l[:, 2j+1] =
// −t_l[:, 2j]. b_l is K × n_l, zero at the start. The loss is the batch-mean cross-entropy.
//
// # The updates
//
// Because the gate is the same for all K components and every layer is linear in the
// component index, the true gradient factorises: ∂loss/∂z_l[b, k, j] = e[b, k] g_l[b, j]
// with a scalar g_l per unit. With D_l[b, i] = Σ_k a_{l−1}[b, k, i] e[b, k] (N × n_{l−1}):
//
//	∂W_l = D_lᵀ g_l  (l ≥ 2),   ∂W_1⁽ᵏ⁾ = xᵀ (e[:, k] ⊙ g_1),   ∂b_l = eᵀ g_l,   g_L = 1/N
//
// Backprop ("bp-vec") propagates g_{l−1} = (g_l W_lᵀ) ⊙ m_{l−1}: the exact gradient of the
// vectorized network (H' = 0 almost everywhere). GEVB ("gevb") broadcasts the error vector
// e to every unit and replaces g_l by m_l/N: no feedback weights, no backward chain. In a
// nonnegative network (W_l ≥ 0 for l ≥ 2), backprop's g_l ≥ 0 wherever m_l = 1, so for a
// single example every GEVB update has the sign of the true gradient (the paper's theorem;
// over a batch the signs need not all agree).
//
// Both rules feed their update to Adam as a gradient (batch 128, lr 3e-4 in the authors'
// setting); a nonnegative network then projects W_l, l ≥ 2, back to ≥ 0 (clamp, or abs as
// an earlier version of the authors' code did).
//
// # Initialisation, as the authors' code
//
// Mixed: W_1 ~ N(0, 1/d) (N(0, 1/(Kd)) times √K), later W_l ~ N(0, 2/n_{l−1}) (He).
// Nonnegative: W_1's output units in ± pairs, W_1[:, 2j+1] = −W_1[:, 2j] ~ N(0, 1/d) per
// component; later layers ON/OFF blocks from W⁰ ~ N(0, 4/n_{l−1}) of half size,
// W_l[2i, 2j] = W_l[2i+1, 2j+1] = relu(W⁰[i, j]), W_l[2i+1, 2j] = W_l[2i, 2j+1] =
// relu(−W⁰[i, j]); the output unit keeps the first column only.
//
// # Layout
//
// a_l is stored as (N·K) × n_l with row b·K + k, so that a shared layer is one product of
// all N·K rows; W_1 is stored as d × (K·n_1) with component k in columns k·n_1 … (k+1)·n_1 − 1,
// so that the first layer is one product x W_1 (N × K·n_1, the same memory as z_1 read as
// (N·K) × n_1) and its update one product xᵀ P with P[b, k·n_1 + j] = e[b, k] g_1[b, j].
package gevb

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
)

// Rule names.
const (
	// RuleGEVB is global error-vector broadcasting.
	RuleGEVB = "gevb"
	// RuleBP is backprop in the same vectorized network.
	RuleBP = "bp-vec"
)

// Mode is the learning rule a [Learner] applies.
type Mode int

const (
	// ModeGEVB broadcasts the error vector: g_l = m_l/N.
	ModeGEVB Mode = iota
	// ModeBP backpropagates: g_{l−1} = (g_l W_lᵀ) ⊙ m_{l−1}.
	ModeBP
)

const (
	// maxChunk bounds the rows of one evaluation pass (Predict, Evaluate, Probe).
	maxChunk = 256
	// initSalt separates the initial weights' stream from other uses of the seed.
	initSalt = 0x5bd1e995c2b2ae35
)

func init() {
	register(RuleGEVB, ModeGEVB, "global error-vector broadcasting (Clark, Abbott & Chung 2021): a vectorized network (K-vector units, gates from fixed ±1 vectors) where every unit's update is its presynaptic activity dotted with the one broadcast output error vector, gated by the unit's activity; no feedback weights, no backward pass. weights: nonnegative (the '+' VNN, where updates match the gradient in sign) or mixed")
	register(RuleBP, ModeBP, "backprop in the vectorized network of gevb (the GEVB authors' baseline): the same network, Adam and projection, with the exact gradient propagated as one scalar per unit")
}

func register(name string, mode Mode, about string) {
	learn.Register(learn.Rule{
		Name:      name,
		About:     about,
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr"},
		Memory: func(opts any, s learn.Shape) int64 {
			o, ok := opts.(*Options)
			if !ok {
				return 0
			}
			return memory(*o, s)
		},
		New: learn.Constructor(name, func(e *mat32.Engine, o Options, s learn.Shape, seed uint64) (*Learner, error) {
			return New(e, mode, o, s, seed)
		}),
	})
}

// sizes returns n_0 … n_L for the options (n_L = 1).
func sizes(o Options) []int { return append(append([]int(nil), o.Sizes...), 1) }

// memory estimates the bytes a learner needs: every parameter four times (value, update,
// Adam's two moments), the step's and the evaluation's activity and workspaces.
func memory(o Options, s learn.Shape) int64 {
	k := float64(max(s.Classes, 1))
	n := sizes(o)
	var params, act float64
	for l := 1; l < len(n); l++ {
		w := float64(n[l-1]) * float64(n[l])
		if l == 1 {
			w *= k
		}
		params += w + k*float64(n[l])
		act += k*float64(n[l]) + 2*float64(n[l])
	}
	rows := float64(max(s.BatchRows, 1) + min(max(s.EvalRows, 1), maxChunk))
	act += float64(n[0]) + k*float64(n[1]) + float64(n[0]) + 2*k
	return int64(4 * (4*params + rows*act))
}

// trace holds the activity of up to rows rows passing through the network and, when built
// for gradients, the workspaces of the updates.
type trace struct {
	rows int
	// x holds the mapped input (rows × d).
	x mat32.Matrix
	// a[l], l = 1…L, holds a_l as (rows·K) × n_l (a[L] holds z_L); index 0 unused.
	a []mat32.Matrix
	// mask[l], l = 1…L−1, holds the gates m_l (rows × n_l, 1 or 0).
	mask []mat32.Matrix
	// logits holds y (rows × K).
	logits mat32.Matrix
	// e holds softmax(y) − onehot (rows × K); g[l] the scalar per-unit signal g_l
	// (rows × n_l, l = 1…L); d holds D_l; p holds P of the first layer.
	e, d, p mat32.Matrix
	g       []mat32.Matrix
}

func newTrace(rows, k int, n []int, grad bool) trace {
	L := len(n) - 1
	t := trace{rows: rows, x: mat32.New(rows, n[0]), logits: mat32.New(rows, k)}
	t.a = make([]mat32.Matrix, L+1)
	t.mask = make([]mat32.Matrix, L)
	for l := 1; l <= L; l++ {
		t.a[l] = mat32.New(rows*k, n[l])
		if l < L {
			t.mask[l] = mat32.New(rows, n[l])
		}
	}
	if grad {
		t.e = mat32.New(rows, k)
		widest := 1
		for _, w := range n[1:L] {
			widest = max(widest, w)
		}
		t.d = mat32.New(rows, widest)
		t.p = mat32.New(rows, k*n[1])
		t.g = make([]mat32.Matrix, L+1)
		for l := 1; l <= L; l++ {
			t.g[l] = mat32.New(rows, n[l])
		}
	}
	return t
}

// Learner is a vectorized network together with GEVB or backprop. It implements
// [learn.Learner], [learn.Evaluator], [learn.Prober] and [learn.Describer].
type Learner struct {
	opts  Options
	mode  Mode
	e     *mat32.Engine
	shape learn.Shape
	k, L  int
	n     []int
	// W[l], B[l] for l = 1…L (index 0 unused): W[1] is d × (K·n_1), W[l] n_{l−1} × n_l,
	// B[l] K × n_l. dW, dB hold the last step's updates.
	W, B, dW, dB []mat32.Matrix
	// T[l], l = 1…L−1, holds the gate vectors t_l (K × n_l).
	T []mat32.Matrix
	// params and grads list W_1 … W_L, B_1 … B_L and their updates, in Adam's order.
	params, grads []mat32.Matrix
	adam          optim.Adam
	step, eval    trace
	// probe is the evaluation trace with gradient workspaces and the second set of
	// updates a probe compares, allocated at the first Probe.
	probe *probeState
}

// New builds a vectorized network for the shape s with the rule mode, drawing its initial
// weights and gate vectors from seed. The options must be valid and Sizes[0] must be
// s.Inputs.
func New(e *mat32.Engine, mode Mode, opts Options, s learn.Shape, seed uint64) (*Learner, error) {
	if e == nil {
		return nil, fmt.Errorf("gevb: no matrix engine")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if mode != ModeGEVB && mode != ModeBP {
		return nil, fmt.Errorf("gevb: unknown mode %d", mode)
	}
	if err := learn.CheckSizes("gevb", opts.Sizes, s, false); err != nil {
		return nil, err
	}
	opts.Sizes = append([]int(nil), opts.Sizes...)
	n := sizes(opts)
	L, k := len(n)-1, s.Classes
	l := &Learner{opts: opts, mode: mode, e: e, shape: s, k: k, L: L, n: n}
	l.W, l.B = make([]mat32.Matrix, L+1), make([]mat32.Matrix, L+1)
	l.dW, l.dB = make([]mat32.Matrix, L+1), make([]mat32.Matrix, L+1)
	l.T = make([]mat32.Matrix, L)
	for i := 1; i <= L; i++ {
		cols := n[i]
		if i == 1 {
			cols *= k
		}
		l.W[i], l.dW[i] = mat32.New(n[i-1], cols), mat32.New(n[i-1], cols)
		l.B[i], l.dB[i] = mat32.New(k, n[i]), mat32.New(k, n[i])
		if i < L {
			l.T[i] = mat32.New(k, n[i])
		}
	}
	l.initialise(rand.New(rand.NewPCG(mix(seed^initSalt), 0)))
	l.params = append(append([]mat32.Matrix(nil), l.W[1:]...), l.B[1:]...)
	l.grads = append(append([]mat32.Matrix(nil), l.dW[1:]...), l.dB[1:]...)
	l.adam = optim.Adam{LR: opts.LR, Beta1: opts.Beta1, Beta2: opts.Beta2, Eps: opts.Eps}
	l.adam.Init(l.params)
	l.adam.SetEngine(e)
	l.step = newTrace(s.BatchRows, k, n, true)
	l.eval = newTrace(max(1, min(s.EvalRows, maxChunk)), k, n, false)
	return l, nil
}

// initialise draws the weights (the authors' He or ON/OFF initialisation) and the gate
// vectors, layer by layer: W_l, then t_l.
func (l *Learner) initialise(rng *rand.Rand) {
	nonneg := l.opts.Weights == WeightsNonnegative
	d, k := l.n[0], l.k
	for i := 1; i <= l.L; i++ {
		w, in, out := l.W[i], l.n[i-1], l.n[i]
		switch {
		case i == 1 && !nonneg:
			sd := 1 / math.Sqrt(float64(d))
			for j := range w.Data {
				w.Data[j] = float32(rng.NormFloat64() * sd)
			}
		case i == 1:
			// Output units in ± pairs, for every component's block.
			sd := 1 / math.Sqrt(float64(d))
			for c := range k {
				for j := 0; j < out; j += 2 {
					for r := range d {
						v := float32(rng.NormFloat64() * sd)
						w.Set(r, c*out+j, v)
						w.Set(r, c*out+j+1, -v)
					}
				}
			}
		case !nonneg:
			sd := math.Sqrt(2 / float64(in))
			for j := range w.Data {
				w.Data[j] = float32(rng.NormFloat64() * sd)
			}
		default:
			// ON/OFF blocks: W⁰ is in/2 × max(out/2, 1), entries N(0, 4/in).
			sd := 2 / math.Sqrt(float64(in))
			for j := 0; j < max(out, 2); j += 2 {
				for r := 0; r < in; r += 2 {
					v := float32(rng.NormFloat64() * sd)
					on, off := max(v, 0), max(-v, 0)
					w.Set(r, j, on)
					w.Set(r+1, j, off)
					if j+1 < out {
						w.Set(r, j+1, off)
						w.Set(r+1, j+1, on)
					}
				}
			}
		}
		if i < l.L {
			t := l.T[i]
			for c := range k {
				row := t.Row(c)
				for j := 0; j < out; j += 2 {
					v := float32(1)
					if rng.Uint64()&1 == 0 {
						v = -1
					}
					row[j], row[j+1] = v, -v
				}
			}
		}
	}
}

// Options returns the learner's options.
func (l *Learner) Options() Options {
	o := l.opts
	o.Sizes = append([]int(nil), o.Sizes...)
	return o
}

// Mode returns the learner's rule.
func (l *Learner) Mode() Mode { return l.mode }

// Step trains on one batch: forward pass, error vector, the rule's update of every layer,
// one Adam step, the projection of a nonnegative network. It returns the batch-mean
// cross-entropy and the number of examples whose logits' argmax is the label, both before
// the update. When the loss is not finite it returns NaN and changes nothing. A step draws
// no random numbers.
func (l *Learner) Step(b learn.Batch, _ learn.At) (loss float64, correct int) {
	n := b.X.Rows
	if n > l.shape.BatchRows || b.X.Cols != l.shape.Inputs || len(b.Labels) != n {
		panic(fmt.Sprintf("gevb: Step on a %dx%d batch with %d labels; built for up to %d rows of %d",
			n, b.X.Cols, len(b.Labels), l.shape.BatchRows, l.shape.Inputs))
	}
	l.checkLabels("Step", b.Labels)
	if n == 0 {
		return 0, 0
	}
	t := &l.step
	l.forward(t, b.X)
	sum, correct := l.crossEntropy(t, b.Labels, true)
	loss = sum / float64(n)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return math.NaN(), correct
	}
	l.updates(t, n, l.mode, 1/float32(n), 0, l.dW, l.dB)
	l.adam.Begin()
	for i, p := range l.params {
		l.adam.Apply(i, p, l.grads[i])
	}
	l.project()
	return loss, correct
}

// project keeps a nonnegative network's weights beyond the first layer ≥ 0.
func (l *Learner) project() {
	if l.opts.Weights != WeightsNonnegative {
		return
	}
	abs := l.opts.Projection == ProjectAbs
	for i := 2; i <= l.L; i++ {
		w := l.W[i].Data
		for j, v := range w {
			if v < 0 {
				if abs {
					w[j] = -v
				} else {
					w[j] = 0
				}
			}
		}
	}
}

// checkLabels panics on a label outside the classes (see learn.CheckLabels).
func (l *Learner) checkLabels(op string, y []uint8) { learn.CheckLabels("gevb", op, y, l.k) }

// rowsOf returns the first r rows of m.
func rowsOf(m mat32.Matrix, r int) mat32.Matrix { return m.Slice(0, r, 0, m.Cols) }

// forward runs the rows of x (at most t.rows) through the network into t.
func (l *Learner) forward(t *trace, x mat32.Matrix) {
	n, k, L := x.Rows, l.k, l.L
	xs := rowsOf(t.x, n)
	if l.opts.Inputs == InputsSigned {
		for r := range n {
			dst, src := xs.Row(r), x.Row(r)
			for j, v := range src {
				dst[j] = 2*v - 1
			}
		}
	} else {
		mat32.Copy(xs, x)
	}
	// First layer: one product x W_1 into z_1 read as n × (K·n_1), biases first.
	n1 := l.n[1]
	z1 := mat32.FromSlice(n, k*n1, t.a[1].Data[:n*k*n1])
	for r := range n {
		copy(z1.Row(r), l.B[1].Data)
	}
	l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, xs, l.W[1], 1, z1)
	if L > 1 {
		l.gate(t, 1, n)
	}
	// Shared layers: one product of all n·K rows.
	for i := 2; i <= L; i++ {
		a := rowsOf(t.a[i], n*k)
		for r := range n {
			for c := range k {
				copy(a.Row(r*k+c), l.B[i].Row(c))
			}
		}
		l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, rowsOf(t.a[i-1], n*k), l.W[i], 1, a)
		if i < L {
			l.gate(t, i, n)
		}
	}
	zL := t.a[L].Data
	for r := range n {
		copy(t.logits.Row(r), zL[r*k:(r+1)*k])
	}
}

// gate sets m_l = H(Σ_k t_l[k] ⊙ z_l[:, k, :]) (H(0) = 1) for rows [0, n) of t and
// multiplies z_l by it in place.
func (l *Learner) gate(t *trace, i, n int) {
	k, tt := l.k, l.T[i]
	z, m := t.a[i], t.mask[i]
	for r := range n {
		s := m.Row(r)
		clear(s)
		for c := range k {
			tc, zc := tt.Row(c), z.Row(r*k+c)
			for j, v := range zc {
				s[j] += tc[j] * v
			}
		}
		for j, v := range s {
			if v >= 0 {
				s[j] = 1
			} else {
				s[j] = 0
			}
		}
		for c := range k {
			zc := z.Row(r*k + c)
			for j, v := range s {
				zc[j] *= v
			}
		}
	}
}

// crossEntropy returns the summed cross-entropy of the logits of rows [0, len(y)) of t
// and the number of rows whose argmax is the label. With grad it leaves e = softmax − onehot
// in t.e.
func (l *Learner) crossEntropy(t *trace, y []uint8, grad bool) (float64, int) {
	var loss float64
	correct := 0
	for r, c := range y {
		row := t.logits.Row(r)
		zmax, arg := float32(math.Inf(-1)), 0
		for k, v := range row {
			if v > zmax {
				zmax, arg = v, k
			}
		}
		if math.IsNaN(float64(zmax)) || math.IsInf(float64(zmax), 0) {
			return math.NaN(), correct
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
			er := t.e.Row(r)
			for k, v := range row {
				er[k] = float32(math.Exp(float64(v-zmax)) / sum)
			}
			er[c]--
		}
	}
	return loss, correct
}

// updates computes the rule mode's update of every layer from rows [0, n) of t (forward
// pass and error vector in place) into dW, dB: dX = beta·dX + update, with g_L = scale
// (1/N for the batch mean over N rows).
func (l *Learner) updates(t *trace, n int, mode Mode, scale, beta float32, dW, dB []mat32.Matrix) {
	k, L := l.k, l.L
	e := rowsOf(t.e, n)
	mat32.Fill(rowsOf(t.g[L], n), scale)
	for i := L; i >= 1; i-- {
		g := rowsOf(t.g[i], n)
		if i < L {
			m := rowsOf(t.mask[i], n)
			if mode == ModeGEVB {
				// GEVB: the gate alone, g_l = m_l/N.
				mat32.Copy(g, m)
				mat32.Scale(scale, g)
			} else {
				// Backprop: g_l = (g_{l+1} W_{l+1}ᵀ) ⊙ m_l.
				l.e.Gemm(mat32.NoTrans, mat32.Trans, 1, rowsOf(t.g[i+1], n), l.W[i+1], 0, g)
				mat32.Hadamard(g, g, m)
			}
		}
		// ∂b_l = eᵀ g_l.
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, e, g, beta, dB[i])
		if i == 1 {
			// ∂W_1 = xᵀ P, P[b, k·n_1 + j] = e[b, k] g_1[b, j].
			n1 := l.n[1]
			p := mat32.FromSlice(n, k*n1, t.p.Data[:n*k*n1])
			for r := range n {
				pr, gr, er := p.Row(r), g.Row(r), e.Row(r)
				for c, ev := range er {
					dst := pr[c*n1 : (c+1)*n1]
					for j, gv := range gr {
						dst[j] = ev * gv
					}
				}
			}
			l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, rowsOf(t.x, n), p, beta, dW[1])
			continue
		}
		// ∂W_l = D_lᵀ g_l, D_l[b, :] = Σ_k e[b, k] a_{l−1}[b, k, :].
		in := l.n[i-1]
		d := t.d.Slice(0, n, 0, in)
		a := t.a[i-1]
		for r := range n {
			dr := d.Row(r)
			clear(dr)
			for c, ev := range e.Row(r) {
				ar := a.Row(r*k + c)
				for j, v := range ar {
					dr[j] += ev * v
				}
			}
		}
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, d, g, beta, dW[i])
	}
}

// mix is SplitMix64's finaliser: it spreads a seed over all 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

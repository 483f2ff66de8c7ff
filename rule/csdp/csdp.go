// Package csdp implements contrastive signal-dependent plasticity (Ororbia, Science
// Advances 2024), the event-driven generalisation of forward-forward, as the authors'
// released model computes it (ngc-museum, exhibitors/nac_lab/csdp_snn, on ngc-learn). It
// registers the rule "csdp".
//
// The circuit, with row vectors (one row per example), spikes s ∈ {0,1} and all synaptic
// inputs taken from the previous step's spikes (the order in which the released code
// advances its components), for steps t = 1…T of dt ms:
//
//	s0(t)  ~ Bernoulli(x)                                  the pixels as spike trains
//	j1(t)  = r·s0(t−1)W1 − r_i·s1(t−1)M1 + r·s2(t−1)V2 + r·y(t−1)V2y
//	j2(t)  = r·s1(t−1)W2 − r_i·s2(t−1)M2 + r·y(t−1)V3y
//	jy(t)  = s1(t−1)C2 + s2(t−1)C3                         output layer
//	jR(t)  = s1(t)R1                                       reconstruction layer (optional)
//
// y is the label one-hot on the context units (supervised mode; zero at test time and at
// t = 1). Every layer is a simplified LIF population with a per-example adaptive threshold:
//
//	v ← v + (dt/τ_m)(j − v);  s = [v > θ];  v ← (1−s)v;  θ ← max(θ + ρ_b(Σ_j s_j − 1), 0.025)
//
// θ starts each stimulus at the unit's fixed base threshold (0.055 ± 0.025 jitter). Traces
// decay linearly and are set to 1 by a spike: tr ← tr(1 − dt/τ_tr)(1−s) + s.
//
// CSDP, at every step, for hidden layer l with goodness g_l = Σ_j tr_{l,j}² and label
// c = 1 (positive: the image with its label) or 0 (negative: the image with a uniformly
// drawn wrong label, never the true one):
//
//	L_l   = mean_rows BCE(σ(g_l − θ_g), c)          m_l = ∂L_l/∂tr_l = (σ(g_l − θ_g) − c)·2tr_l/N
//	ΔW    = −η·Adam(preᵀ·(ρ·m_post)) − λ·(1 − pre)ᵀ·s_post      W ← clip(W + ΔW, −1, 1)
//
// with pre the presynaptic spikes that drove the current (s(t−1)), ρ the synapse's
// resistance (r, or r_i for the lateral M1, M2), λ the weight decay. The lateral synapses are
// inhibitory (their current enters with sign −1), nonnegative (clipped to [0, 1]) and have a
// zero diagonal. The readout C2, C3 and the reconstruction synapses R1 learn on positive rows
// only, by the error-driven Hebbian rule
//
//	e = 2(target − μ)·mask/N_pos     ΔW = η·Adam(preᵀ·(r·e) ⊙ (1 − |W|))     W ← clip(W, −1, 1)
//
// with μ the output trace and target the label (readout), μ the reconstruction spikes and
// target the input spikes (R1). Prediction withholds the label and takes the softmax of the
// output spike counts over the window; the reconstruction is the mean of the reconstruction
// layer's traces (divided by T+1 as the released code does, or by T: Options.ReconAverage).
//
// Event-driven: per step only the rows of a weight matrix whose presynaptic unit fired are
// added into the currents, and the plasticity outer products run over pairs of a
// presynaptic spike and a postsynaptic trace support only (events.go). Options.Kernels
// picks them, dense GEMM products, or (auto) one or the other by each product's measured
// presynaptic spike rate. Adam's moments move every synapse every step (as the released
// code's dense Adam does), so that part stays dense.
package csdp

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

const (
	// thrFloor is the adaptive threshold's lower bound.
	thrFloor = 0.025
	// evalChunk bounds the rows of one evaluation window (the released code's 1000).
	evalChunk = 1000
	beta1     = 0.9
	beta2     = 0.999
	adamEps   = 1e-8
	initSalt  = 0x9e3779b97f4a7c15
	stepSalt  = 0xd1b54a32d192ed03
	evalSalt  = 0x94d049bb133111eb
)

func init() {
	learn.Register(learn.Rule{
		Name: "csdp",
		About: "contrastive signal-dependent plasticity (Ororbia 2024): a spiking circuit of adaptive-threshold LIF layers " +
			"with bottom-up, top-down and inhibitory lateral synapses, learning online at every simulation step from each " +
			"layer's goodness on its spike traces (positive: image + label; negative: image + wrong label); " +
			"readout and reconstruction by error-driven Hebbian rules; predicts from output spike counts, label withheld; " +
			"event-driven kernels",
		Options:   func() any { o := DefaultOptions(); return &o },
		Resumable: []string{"lr", "kernels", "sparse_below"},
		Memory: func(opts any, s learn.Shape) int64 {
			o, ok := opts.(*Options)
			if !ok || len(o.Hidden) != 2 {
				return 0
			}
			n1, n2, ni, nc := float64(o.Hidden[0]), float64(o.Hidden[1]), float64(s.Inputs), float64(s.Classes)
			syn := ni*n1 + n1*n2 + n2*n1 + 2*nc*(n1+n2) + n1*n1 + n2*n2 + n1*ni
			rows := float64(max(2*s.BatchRows, min(max(s.EvalRows, 1), evalChunk)))
			return int64(4 * (3*syn + 2*n1*n1 + rows*(14*(n1+n2)+8*ni)))
		},
		New: learn.Constructor("csdp", New),
	})
}

// synapse is one bundle of synapses with its Adam state.
type synapse struct {
	name, label string
	// w is pre × post; m, v are Adam's moments.
	w, m, v mat32.Matrix
	// factor scales the current (r, −r_i or 1); scale multiplies the postsynaptic
	// learning signal (r, r_i, or r for the Hebbian post term).
	factor, scale           float32
	nonneg, hollow, hebbian bool
}

// population is a layer of simplified LIF units with its state over a batch of rows.
type population struct {
	n    int
	thr0 mat32.Matrix // 1 × n: base thresholds (fixed)
	rho  float32
	j    mat32.Matrix // input current
	v    mat32.Matrix // membrane potential
	thr  mat32.Matrix // adaptive thresholds
	s    events       // spikes at t
	sp   events       // spikes at t−1
	tr   events       // traces; the lists are their support
	// modR, modI are the goodness modulator m scaled by r and by r_i (hidden layers).
	modR, modI mat32.Matrix
	// good holds each row's goodness Σ_j tr_j² at the current step.
	good []float64
}

func newPopulation(rows, n int, rho float32, hidden bool) population {
	p := population{n: n, rho: rho, thr0: mat32.New(1, n), j: mat32.New(rows, n), v: mat32.New(rows, n),
		thr: mat32.New(rows, n), s: newEvents(rows, n), sp: newEvents(rows, n), tr: newEvents(rows, n)}
	if hidden {
		p.modR, p.modI, p.good = mat32.New(rows, n), mat32.New(rows, n), make([]float64, rows)
	}
	return p
}

// term is one synaptic input to a population: pre's spikes through syn.
type term struct {
	syn *synapse
	pre *events
}

// Learner is a CSDP spiking circuit together with its learning rule. It implements
// [learn.Learner], [learn.Evaluator], [learn.Prober] and [learn.Describer].
type Learner struct {
	o                    Options
	e                    *mat32.Engine
	shape                learn.Shape
	seed                 uint64
	nIn, n1, n2, nc      int
	rowsMax              int
	W1, W2, V2, M1, M2   *synapse
	V2y, V3y             *synapse // supervised only
	C2, C3, R1           *synapse // R1 with reconstruction only
	syns                 []*synapse
	z1, z2, zy, zR       population
	s0, s0p              events // input spikes at t and t−1
	lab, yp              events // label clamp at t and t−1
	x                    mat32.Matrix
	mask                 []float32
	labels               []uint8
	dmuY, aY, dmuR, aR   mat32.Matrix
	ycount, recon        mat32.Matrix
	in1, in2, inY, inR   []term
	tmp                  mat32.Matrix // rows × max width: one synaptic product
	g, p                 []float32    // gradient and pair-count scratch (largest synapse)
	cnt                  []float32
	active               []int32
	oracle               bool // tests: naive dense loops instead of the kernels
	adamT                int64
	acc                  accumRows
	outer                outerEvents
	lifR                 lifPass
	combR                combine
	csdpR                csdpPass
	hebbR                hebbPass
	stats                *windowStats
	rng                  *rand.Rand
	unif                 uniform32
	pops                 []*population
	rec                  *raster
	pcg                  *rand.PCG
	probeStats           windowStats
	gemmProducts         int64
	sparseProducts       int64
	lastRate1, lastRate2 float64
}

// New builds a circuit for the shape s from valid options, drawing its initial weights and
// base thresholds from seed.
func New(e *mat32.Engine, o Options, s learn.Shape, seed uint64) (*Learner, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if s.Inputs < 1 || s.Classes < 2 || s.BatchRows < 1 {
		return nil, fmt.Errorf("csdp: shape %+v: want inputs ≥ 1, classes ≥ 2, batch rows ≥ 1", s)
	}
	o.Hidden = append([]int(nil), o.Hidden...)
	l := &Learner{o: o, e: e, shape: s, seed: seed, nIn: s.Inputs, n1: o.Hidden[0], n2: o.Hidden[1], nc: s.Classes}
	l.rowsMax = max(2*s.BatchRows, min(max(s.EvalRows, 1), evalChunk))
	rng := rand.New(rand.NewPCG(seed, seed^initSalt))
	r, ri := float32(o.Resistance), float32(o.InhibitoryResistance)
	mk := func(name, label string, pre, post int, factor, scale float32) *synapse {
		sy := &synapse{name: name, label: label, w: mat32.New(pre, post), m: mat32.New(pre, post), v: mat32.New(pre, post), factor: factor, scale: scale}
		for i := range sy.w.Data {
			sy.w.Data[i] = float32(2*rng.Float64() - 1) // U(−1, 1)
		}
		l.syns = append(l.syns, sy)
		return sy
	}
	lateral := func(sy *synapse) {
		// The released code draws U(−1, 1) and its first update clips to [0, 1] and zeroes
		// the diagonal; we start from what that clip leaves.
		sy.nonneg, sy.hollow = true, true
		for i := 0; i < sy.w.Rows; i++ {
			row := sy.w.Row(i)
			for j := range row {
				row[j] = max(row[j], 0)
			}
			row[i] = 0
		}
	}
	l.W1 = mk("csdp.W1", "W1 (input → layer 1)", l.nIn, l.n1, r, r)
	l.W2 = mk("csdp.W2", "W2 (layer 1 → layer 2)", l.n1, l.n2, r, r)
	l.V2 = mk("csdp.V2", "V2 (layer 2 → layer 1, top-down)", l.n2, l.n1, r, r)
	l.M1 = mk("csdp.M1", "M1 (layer 1 lateral)", l.n1, l.n1, -ri, ri)
	lateral(l.M1)
	l.M2 = mk("csdp.M2", "M2 (layer 2 lateral)", l.n2, l.n2, -ri, ri)
	lateral(l.M2)
	if o.Mode == ModeSupervised {
		l.V2y = mk("csdp.V2y", "V2y (label → layer 1)", l.nc, l.n1, r, r)
		l.V3y = mk("csdp.V3y", "V3y (label → layer 2)", l.nc, l.n2, r, r)
	}
	l.C2 = mk("csdp.C2", "C2 (layer 1 → output)", l.n1, l.nc, 1, r)
	l.C3 = mk("csdp.C3", "C3 (layer 2 → output)", l.n2, l.nc, 1, r)
	l.C2.hebbian, l.C3.hebbian = true, true
	if o.Reconstruction {
		l.R1 = mk("csdp.R1", "R1 (layer 1 → reconstruction)", l.n1, l.nIn, 1, r)
		l.R1.hebbian = true
	}
	rows := l.rowsMax
	rho := float32(o.ThresholdRate)
	l.z1 = newPopulation(rows, l.n1, rho, true)
	l.z2 = newPopulation(rows, l.n2, rho, true)
	l.zy = newPopulation(rows, l.nc, rho, false)
	pops := []*population{&l.z1, &l.z2, &l.zy}
	if o.Reconstruction {
		l.zR = newPopulation(rows, l.nIn, 0, false)
		pops = append(pops, &l.zR)
	}
	l.pops = pops
	for _, p := range pops {
		for k := range p.thr0.Data {
			p.thr0.Data[k] = float32(o.Threshold + o.ThresholdJitter*(2*rng.Float64()-1))
		}
	}
	l.s0, l.s0p = newEvents(rows, l.nIn), newEvents(rows, l.nIn)
	l.lab, l.yp = newEvents(rows, l.nc), newEvents(rows, l.nc)
	l.x = mat32.New(rows, l.nIn)
	l.mask, l.labels = make([]float32, rows), make([]uint8, rows)
	l.dmuY, l.aY = mat32.New(rows, l.nc), mat32.New(rows, l.nc)
	l.ycount, l.recon = mat32.New(rows, l.nc), mat32.New(rows, l.nIn)
	if o.Reconstruction {
		l.dmuR, l.aR = mat32.New(rows, l.nIn), mat32.New(rows, l.nIn)
	}
	l.tmp = mat32.New(rows, max(l.n1, l.n2, l.nIn, l.nc))
	big := 0
	for _, sy := range l.syns {
		big = max(big, len(sy.w.Data))
	}
	l.g, l.p = make([]float32, big), make([]float32, big)
	l.cnt = make([]float32, max(l.n1, l.n2, l.nIn))
	l.active = make([]int32, 0, max(l.n1, l.n2, l.nIn))
	l.in1 = []term{{l.W1, &l.s0p}, {l.M1, &l.z1.sp}, {l.V2, &l.z2.sp}}
	l.in2 = []term{{l.W2, &l.z1.sp}, {l.M2, &l.z2.sp}}
	if l.V2y != nil {
		l.in1 = append(l.in1, term{l.V2y, &l.yp})
		l.in2 = append(l.in2, term{l.V3y, &l.yp})
	}
	l.inY = []term{{l.C2, &l.z1.sp}, {l.C3, &l.z2.sp}}
	if l.R1 != nil {
		l.inR = []term{{l.R1, &l.z1.s}}
	}
	l.pcg = rand.NewPCG(0, 0)
	l.rng = rand.New(l.pcg)
	return l, nil
}

// uniform32 draws uniforms in [0, 1) with 24 bits each, two per 64-bit draw.
type uniform32 struct {
	r    *rand.PCG
	have bool
	next float32
}

func (u *uniform32) draw() float32 {
	if u.have {
		u.have = false
		return u.next
	}
	x := u.r.Uint64()
	u.have, u.next = true, float32(x>>40&(1<<24-1))*(1.0/(1<<24))
	return float32(x>>8&(1<<24-1)) * (1.0 / (1 << 24))
}

// kernelFor picks the kernel of a product with presynaptic events pre over rows.
func (l *Learner) kernelFor(pre *events, rows int) kernel {
	if l.oracle {
		return kOracle
	}
	switch l.o.Kernels {
	case KernelsSparse:
		return kSparse
	case KernelsDense:
		return kGemm
	}
	if pre.rate(rows) < l.o.SparseBelow {
		return kSparse
	}
	return kGemm
}

// outerKernel picks the kernel of an outer product preᵀ·a whose active pairs are pre's
// events times supp's (every column when supp is nil): "auto" compares the fraction of
// active pairs with SparseBelow.
func (l *Learner) outerKernel(pre, supp *events, cols, rows int) kernel {
	if l.oracle || l.o.Kernels != KernelsAuto {
		return l.kernelFor(pre, rows)
	}
	var pairs float64
	for b := 0; b < rows; b++ {
		w := cols
		if supp != nil {
			w = int(supp.cnt[b])
		}
		pairs += float64(pre.cnt[b]) * float64(w)
	}
	if pairs < l.o.SparseBelow*float64(rows)*float64(pre.n)*float64(cols) {
		return kSparse
	}
	return kGemm
}

// current sets dst = Σ_k factor_k·(pre_k W_k) over rows [0, rows), summed in term order.
func (l *Learner) current(dst mat32.Matrix, terms []term, rows int) {
	for k, t := range terms {
		tmp := mat32.FromSlice(rows, t.syn.w.Cols, l.tmp.Data[:rows*t.syn.w.Cols])
		switch l.kernelFor(t.pre, rows) {
		case kSparse:
			l.sparseProducts++
			l.acc = accumRows{dst: tmp, pre: t.pre, w: t.syn.w}
			l.e.ParallelFor(rows, 1, 16, &l.acc)
			l.acc = accumRows{}
		case kGemm:
			l.gemmProducts++
			l.e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, t.pre.m.Slice(0, rows, 0, t.pre.n), t.syn.w, 0, tmp)
		case kOracle:
			oracleCurrent(tmp, t.pre.m.Slice(0, rows, 0, t.pre.n), t.syn.w)
		}
		l.combR = combine{dst: dst, tmp: tmp, f: t.syn.factor, first: k == 0}
		l.e.ParallelFor(rows, 1, 64, &l.combR)
		l.combR = combine{}
	}
}

// combine sets dst = f·tmp (first) or dst = dst + f·tmp.
type combine struct {
	dst, tmp mat32.Matrix
	f        float32
	first    bool
}

func (c *combine) Range(lo, hi int) {
	for b := lo; b < hi; b++ {
		d, t := c.dst.Row(b), c.tmp.Row(b)
		t = t[:len(d)]
		if c.first {
			for j, v := range t {
				d[j] = v * c.f
			}
			continue
		}
		for j, v := range t {
			d[j] += v * c.f
		}
	}
}

// lifPass advances a population one step over rows: membrane, spikes, adaptive threshold,
// trace, and (hidden layers) the goodness modulator.
type lifPass struct {
	p                   *population
	l                   *Learner
	decayV, dt, trDecay float32
	hidden              bool
	rows                int
}

func (q *lifPass) Range(lo, hi int) {
	p := q.p
	o := &q.l.o
	for b := lo; b < hi; b++ {
		j, v, thr := p.j.Row(b), p.v.Row(b), p.thr.Row(b)
		s, tr := p.s.m.Row(b), p.tr.m.Row(b)
		j, v, thr, tr = j[:p.n], v[:p.n], thr[:p.n], tr[:p.n]
		var sum float32
		for k := range s {
			vv := v[k] + (-v[k]+j[k])*q.decayV*q.dt
			var sk float32
			if vv > thr[k] {
				sk, vv = 1, 0
			}
			v[k], s[k] = vv, sk
			sum += sk
			t := tr[k] * q.trDecay
			tr[k] = t*(1-sk) + sk
		}
		p.s.index(b)
		p.tr.index(b)
		if p.rho > 0 {
			d := (sum - 1) * p.rho
			for k := range thr {
				thr[k] = max(thr[k]+d, thrFloor)
			}
		}
		if !q.hidden {
			continue
		}
		var g float64
		for _, t := range tr {
			g += float64(t) * float64(t)
		}
		p.good[b] = g
		c := 0.0
		if q.l.mask[b] > 0 {
			c = 1
		}
		sig := 1 / (1 + math.Exp(-(g - o.Goodness)))
		coef := float32((sig - c) * 2 / float64(q.rows))
		mr, mi := p.modR.Row(b)[:p.n], p.modI.Row(b)[:p.n]
		r, ri := float32(o.Resistance), float32(o.InhibitoryResistance)
		for k, t := range tr {
			m := coef * t
			mr[k], mi[k] = m*r, m*ri
		}
	}
}

// advance runs a population's step.
func (l *Learner) advance(p *population, rows int, hidden bool) {
	l.lifR = lifPass{p: p, l: l, decayV: float32(1 / l.o.TauM), dt: float32(l.o.DT),
		trDecay: float32(1 - l.o.DT/l.o.TauTrace), hidden: hidden, rows: rows}
	l.e.ParallelFor(rows, 1, 16, &l.lifR)
	l.lifR = lifPass{}
}

// resetWindow puts rows [0, rows) at rest for a new stimulus.
func (l *Learner) resetWindow(rows int) {
	for _, p := range l.pops {
		for b := 0; b < rows; b++ {
			clear(p.v.Row(b))
			copy(p.thr.Row(b), p.thr0.Row(0))
			clear(p.s.m.Row(b))
			clear(p.sp.m.Row(b))
			clear(p.tr.m.Row(b))
			p.s.cnt[b], p.sp.cnt[b], p.tr.cnt[b] = 0, 0, 0
		}
	}
	for _, ev := range [...]*events{&l.s0, &l.s0p, &l.yp} {
		for b := 0; b < rows; b++ {
			clear(ev.m.Row(b))
			ev.cnt[b] = 0
		}
	}
	for b := 0; b < rows; b++ {
		clear(l.ycount.Row(b))
		clear(l.recon.Row(b))
	}
}

// setLabels writes the label clamp of rows [0, rows): one-hot of labels, or zeros when
// labels is nil (test time) or the mode is unsupervised.
func (l *Learner) setLabels(labels []uint8, rows int) {
	for b := 0; b < rows; b++ {
		row := l.lab.m.Row(b)
		clear(row)
		if labels != nil {
			row[labels[b]] = 1
		}
		l.lab.index(b)
	}
}

// windowStats accumulates what the probe reports over a window.
type windowStats struct {
	spikes1, spikes2    []float64 // per unit, over the positive rows
	good1, good2        []float64 // per row, summed over steps
	total1, total2, tyc float64
}

// run simulates rows [0, rows) of l.x for T steps; with train it applies the plasticity
// at every step. Rows with mask 1 are positives. u draws the input spikes.
func (l *Learner) run(rows int, train bool, npos int, u *uniform32) {
	o := &l.o
	l.resetWindow(rows)
	T := o.Steps
	invN := float32(1 / float64(max(npos, 1)))
	r := float32(o.Resistance)
	for t := 1; t <= T; t++ {
		// t−1 spikes become the previous ones.
		l.s0, l.s0p = l.s0p, l.s0
		for _, p := range l.pops {
			p.s, p.sp = p.sp, p.s
		}
		// Currents from the previous step's spikes.
		l.current(l.z1.j, l.in1, rows)
		l.current(l.z2.j, l.in2, rows)
		l.current(l.zy.j, l.inY, rows)
		// Input spikes.
		l.s0.clear(rows)
		for b := 0; b < rows; b++ {
			xr, sr := l.x.Row(b), l.s0.m.Row(b)
			for k, xv := range xr {
				if u.draw() < xv {
					sr[k] = 1
				}
			}
			l.s0.index(b)
		}
		l.advance(&l.z1, rows, true)
		l.advance(&l.z2, rows, true)
		l.advance(&l.zy, rows, false)
		// Readout error against the label clamp (positives only).
		for b := 0; b < rows; b++ {
			d, a, tr, y := l.dmuY.Row(b), l.aY.Row(b), l.zy.tr.m.Row(b), l.lab.m.Row(b)
			for k := range d {
				d[k] = (y[k] - tr[k]) * 2 * l.mask[b] * invN
				a[k] = d[k] * r
			}
		}
		if l.R1 != nil {
			l.current(l.zR.j, l.inR, rows)
			l.advance(&l.zR, rows, false)
			for b := 0; b < rows; b++ {
				d, a, s0, sR := l.dmuR.Row(b), l.aR.Row(b), l.s0.m.Row(b), l.zR.s.m.Row(b)
				for k := range d {
					d[k] = (s0[k] - sR[k]) * 2 * l.mask[b] * invN
					a[k] = d[k] * r
				}
				rc, tr := l.recon.Row(b), l.zR.tr.m.Row(b)
				for k, v := range tr {
					rc[k] += v
				}
			}
		}
		if train {
			l.adamT++
			l.evolve(rows)
		}
		for b := 0; b < rows; b++ {
			yc := l.ycount.Row(b)
			for _, k := range l.zy.s.list(b) {
				yc[k]++
			}
		}
		if l.stats != nil {
			l.collect(rows, npos)
		}
		if l.rec != nil {
			l.rec.record(l)
		}
		if t == 1 {
			// The context units carry the label from the second step on.
			for b := 0; b < rows; b++ {
				copy(l.yp.m.Row(b), l.lab.m.Row(b))
				l.yp.index(b)
			}
		}
	}
	div := float32(T)
	if o.ReconAverage == ReconStepsPlusOne {
		div = float32(T + 1)
	}
	if l.R1 != nil {
		for b := 0; b < rows; b++ {
			rc := l.recon.Row(b)
			for k := range rc {
				rc[k] /= div
			}
		}
	}
}

// collect adds a step's spikes and goodness to l.stats.
func (l *Learner) collect(rows, npos int) {
	st := l.stats
	for b := 0; b < rows; b++ {
		st.good1[b] += l.z1.good[b]
		st.good2[b] += l.z2.good[b]
		if b < npos {
			for _, k := range l.z1.s.list(b) {
				st.spikes1[k]++
			}
			for _, k := range l.z2.s.list(b) {
				st.spikes2[k]++
			}
			st.total1 += float64(l.z1.s.cnt[b])
			st.total2 += float64(l.z2.s.cnt[b])
			st.tyc += float64(l.zy.s.cnt[b])
		}
	}
}

// evolve applies every synapse's update for the current step.
func (l *Learner) evolve(rows int) {
	l.csdp(l.W1, &l.s0p, &l.z1.s, l.z1.modR, &l.z1.tr, rows)
	l.csdp(l.V2, &l.z2.sp, &l.z1.s, l.z1.modR, &l.z1.tr, rows)
	l.csdp(l.W2, &l.z1.sp, &l.z2.s, l.z2.modR, &l.z2.tr, rows)
	if l.V2y != nil {
		l.csdp(l.V2y, &l.yp, &l.z1.s, l.z1.modR, &l.z1.tr, rows)
		l.csdp(l.V3y, &l.yp, &l.z2.s, l.z2.modR, &l.z2.tr, rows)
	}
	l.csdp(l.M1, &l.z1.sp, &l.z1.s, l.z1.modI, &l.z1.tr, rows)
	l.csdp(l.M2, &l.z2.sp, &l.z2.s, l.z2.modI, &l.z2.tr, rows)
	l.hebb(l.C2, &l.z1.sp, l.aY, rows)
	l.hebb(l.C3, &l.z2.sp, l.aY, rows)
	if l.R1 != nil {
		l.hebb(l.R1, &l.z1.s, l.aR, rows)
	}
}

// gradient fills the scratch G (zero on entry) with preᵀ·a over rows, on active pairs
// (support supp, or every column when supp is nil).
func (l *Learner) gradient(sy *synapse, pre *events, a mat32.Matrix, supp *events, rows int) mat32.Matrix {
	g := mat32.FromSlice(sy.w.Rows, sy.w.Cols, l.g[:len(sy.w.Data)])
	switch l.outerKernel(pre, supp, a.Cols, rows) {
	case kSparse:
		l.outer = outerEvents{g: g, pre: pre, a: a, supp: supp, rows: rows}
		l.e.ParallelFor(g.Rows, 1, 64, &l.outer)
		l.outer = outerEvents{}
	case kGemm:
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, pre.m.Slice(0, rows, 0, pre.n), a.Slice(0, rows, 0, a.Cols), 0, g)
	case kOracle:
		oracleOuter(g, pre.m.Slice(0, rows, 0, pre.n), a.Slice(0, rows, 0, a.Cols))
	}
	return g
}

func (l *Learner) adam(sy *synapse, g mat32.Matrix) {
	t := float64(l.adamT)
	c := mat32.AdamCoeffs{Beta1: beta1, OneMinusBeta1: float32(1 - beta1), Beta2: beta2, OneMinusBeta2: float32(1 - beta2),
		InvC1: float32(1 / (1 - math.Pow(beta1, t))), InvC2: float32(1 / (1 - math.Pow(beta2, t))),
		LR: float32(l.o.LR), Eps: adamEps}
	l.e.Adam(sy.w, g, sy.m, sy.v, &c)
}

// csdp applies the CSDP update of sy: Adam on preᵀ·(ρ m_post), the decay −λ(1−pre)ᵀs_post,
// the clip and (lateral) the zero diagonal.
func (l *Learner) csdp(sy *synapse, pre, post *events, mod mat32.Matrix, supp *events, rows int) {
	g := l.gradient(sy, pre, mod, supp, rows)
	l.adam(sy, g)
	q := &l.csdpR
	*q = csdpPass{w: sy.w, g: g, sy: sy, bound: float32(l.o.WeightBound), wd: float32(l.o.WeightDecay)}
	if l.o.WeightDecay > 0 {
		if l.oracle {
			n := mat32.FromSlice(sy.w.Rows, sy.w.Cols, l.p[:len(sy.w.Data)])
			oracleDecayCounts(n, pre.m.Slice(0, rows, 0, pre.n), post.m.Slice(0, rows, 0, post.n))
			q.dense, q.p = true, n
		} else {
			q.p = mat32.FromSlice(sy.w.Rows, sy.w.Cols, l.p[:len(sy.w.Data)])
			clear(l.cnt[:sy.w.Cols])
			l.active = pairCounts(q.p, l.cnt[:sy.w.Cols], l.active, pre, post, rows)
			q.cnt, q.active = l.cnt[:sy.w.Cols], l.active
		}
	}
	l.e.ParallelFor(sy.w.Rows, 1, 64, q)
	*q = csdpPass{}
}

// csdpPass finishes a CSDP update row by row: W += −(n·λ) with n = Σ_b (1−pre)·post
// (from pair counts on the active columns, or dense counts in the oracle), then the clip,
// the zero diagonal, and the scratch reset.
type csdpPass struct {
	w, g, p   mat32.Matrix
	sy        *synapse
	bound, wd float32
	cnt       []float32
	active    []int32
	dense     bool
}

func (q *csdpPass) Range(lo, hi int) {
	lb := -q.bound
	if q.sy.nonneg {
		lb = 0
	}
	for i := lo; i < hi; i++ {
		w := q.w.Row(i)
		if q.p.Data != nil {
			pr := q.p.Row(i)
			if q.dense {
				for j, n := range pr {
					w[j] += -(n * q.wd)
				}
				clear(pr)
			} else {
				for _, j := range q.active {
					w[j] += -((q.cnt[j] - pr[j]) * q.wd)
					pr[j] = 0
				}
			}
		}
		for j, v := range w {
			w[j] = min(max(v, lb), q.bound)
		}
		if q.sy.hollow {
			w[i] = 0
		}
		clear(q.g.Row(i))
	}
}

// hebb applies the error-driven Hebbian update of a readout or reconstruction synapse.
func (l *Learner) hebb(sy *synapse, pre *events, a mat32.Matrix, rows int) {
	g := l.gradient(sy, pre, a, nil, rows)
	q := &l.hebbR
	*q = hebbPass{w: sy.w, g: g, bound: float32(l.o.WeightBound)}
	l.e.ParallelFor(sy.w.Rows, 1, 64, q)
	l.adam(sy, g)
	q.after = true
	l.e.ParallelFor(sy.w.Rows, 1, 64, q)
	*q = hebbPass{}
}

// hebbPass turns G into the descent direction −G⊙(b − |W|) (before Adam), or clips W and
// clears G (after).
type hebbPass struct {
	w, g  mat32.Matrix
	bound float32
	after bool
}

func (q *hebbPass) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		w, g := q.w.Row(i), q.g.Row(i)
		g = g[:len(w)]
		if !q.after {
			for j, v := range w {
				g[j] = -(g[j] * (q.bound - float32(math.Abs(float64(v)))))
			}
			continue
		}
		for j, v := range w {
			w[j] = min(max(v, -q.bound), q.bound)
		}
		clear(g)
	}
}

// stepRNG seeds the learner's generator for a training step at position at.
func (l *Learner) stepRNG(at learn.At) *uniform32 {
	l.pcg.Seed(l.seed^stepSalt, uint64(at.Global))
	l.unif = uniform32{r: l.pcg}
	return &l.unif
}

// wrongLabel draws a label uniformly among the classes other than y.
func wrongLabel(rng *rand.Rand, y uint8, classes int) uint8 {
	k := uint8(rng.IntN(classes - 1))
	if k >= y {
		k++
	}
	return k
}

// Step trains on one batch: positives (the images with their labels) and negatives
// stacked, one window of T steps with plasticity at every step. It returns the positive
// rows' cross-entropy of softmax(output spike counts) and how many of them the counts
// classify correctly (the label is clamped during training, as in the released code's
// online estimate).
func (l *Learner) Step(b learn.Batch, at learn.At) (float64, int) {
	n := b.X.Rows
	if n == 0 {
		return 0, 0
	}
	if 2*n > l.rowsMax || b.X.Cols != l.nIn {
		panic(fmt.Sprintf("csdp: batch %d×%d does not fit the circuit (%d rows of %d)", n, b.X.Cols, l.rowsMax/2, l.nIn))
	}
	l.adamT = at.Global * int64(l.o.Steps)
	u := l.stepRNG(at)
	rows := 2 * n
	for i := 0; i < n; i++ {
		copy(l.x.Row(i), b.X.Row(i))
		l.mask[i], l.mask[n+i] = 1, 0
		l.labels[i] = b.Labels[i]
	}
	if l.o.Mode == ModeSupervised {
		for i := 0; i < n; i++ {
			copy(l.x.Row(n+i), b.X.Row(i))
			l.labels[n+i] = wrongLabel(l.rng, b.Labels[i], l.nc)
		}
		l.setLabels(l.labels[:rows], rows)
	} else {
		a := float32(l.o.BlendAlpha)
		for i := 0; i < n; i++ {
			k := i
			if n > 1 {
				k = l.rng.IntN(n - 1)
				if k >= i {
					k++
				}
			}
			xn, xi, xk := l.x.Row(n+i), b.X.Row(i), b.X.Row(k)
			for j := range xn {
				xn[j] = xi[j]*a + xk[j]*(1-a)
			}
			l.labels[n+i] = b.Labels[k]
		}
		l.setLabels(l.labels[:rows], rows)
		// No context units: the clamp only serves as the readout's target.
	}
	l.run(rows, true, n, u)
	l.lastRate1 = l.z1.s.rate(rows)
	l.lastRate2 = l.z2.s.rate(rows)
	var loss float64
	correct := 0
	for i := 0; i < n; i++ {
		c := l.ycount.Row(i)
		loss += nll(c, int(b.Labels[i]))
		if argmax(c) == int(b.Labels[i]) {
			correct++
		}
	}
	return loss / float64(n), correct
}

// nll is −log softmax(c)[y].
func nll(c []float32, y int) float64 {
	m := math.Inf(-1)
	for _, v := range c {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range c {
		s += math.Exp(float64(v) - m)
	}
	return -(float64(c[y]) - m - math.Log(s))
}

func argmax(c []float32) int {
	k := 0
	for j, v := range c {
		if v > c[k] {
			k = j
		}
	}
	return k
}

// window runs the circuit with labels withheld on the rows x (at most one chunk), chunk
// numbering the evaluation stream; the counts land in l.ycount, the reconstructions in
// l.recon.
func (l *Learner) window(x mat32.Matrix, chunk int) {
	rows := x.Rows
	for i := 0; i < rows; i++ {
		copy(l.x.Row(i), x.Row(i))
		l.mask[i] = 1
	}
	l.setLabels(nil, rows)
	l.pcg.Seed(l.seed^evalSalt, uint64(chunk))
	l.unif = uniform32{r: l.pcg}
	l.run(rows, false, rows, &l.unif)
}

// Predict writes softmax(output spike counts) of every row of x into scores, the label
// withheld. The input spikes are drawn from a fixed stream, so the same x gives the same
// scores.
func (l *Learner) Predict(x, scores mat32.Matrix) {
	ch := min(l.rowsMax, evalChunk)
	for r0, c := 0, 0; r0 < x.Rows; r0, c = r0+ch, c+1 {
		r1 := min(r0+ch, x.Rows)
		l.window(x.Slice(r0, r1, 0, x.Cols), c)
		for i := r0; i < r1; i++ {
			softmax(scores.Row(i), l.ycount.Row(i-r0))
		}
	}
}

func softmax(dst, c []float32) {
	m := float32(math.Inf(-1))
	for _, v := range c {
		m = max(m, v)
	}
	var s float64
	for j, v := range c {
		e := math.Exp(float64(v - m))
		dst[j] = float32(e)
		s += e
	}
	for j := range dst {
		dst[j] = float32(float64(dst[j]) / s)
	}
}

func (l *Learner) tensors() learn.Tensors {
	var ts learn.Tensors
	for _, sy := range l.syns {
		ts = append(ts, learn.Tensor{Name: sy.name, Label: sy.label, M: sy.w},
			learn.Tensor{Name: sy.name + ".adam_m", Label: sy.label + " Adam m", M: sy.m},
			learn.Tensor{Name: sy.name + ".adam_v", Label: sy.label + " Adam v", M: sy.v})
	}
	ts = append(ts, learn.Tensor{Name: "csdp.z1.threshold", Label: "layer 1 base thresholds", M: l.z1.thr0, Vector: true},
		learn.Tensor{Name: "csdp.z2.threshold", Label: "layer 2 base thresholds", M: l.z2.thr0, Vector: true},
		learn.Tensor{Name: "csdp.zy.threshold", Label: "output base thresholds", M: l.zy.thr0, Vector: true})
	if l.R1 != nil {
		ts = append(ts, learn.Tensor{Name: "csdp.zR.threshold", Label: "reconstruction base thresholds", M: l.zR.thr0, Vector: true})
	}
	return ts
}

// Save adds every synapse, its Adam moments and the base thresholds to ck. The Adam step
// count and all randomness derive from the step position, so nothing else is needed.
func (l *Learner) Save(ck *checkpoint.Checkpoint) error { return l.tensors().Save(ck, "csdp") }

// Load restores what Save wrote, checking every shape first.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error { return l.tensors().Load(ck, "csdp") }

// NonFinite names the first synapse holding a NaN or an infinity.
func (l *Learner) NonFinite() string { return l.tensors().NonFinite() }

// Describe summarises the circuit in one line.
func (l *Learner) Describe() string {
	var n int
	for _, sy := range l.syns {
		n += len(sy.w.Data)
	}
	rec := ""
	if l.R1 != nil {
		rec = fmt.Sprintf(" + reconstruction %d", l.nIn)
	}
	return fmt.Sprintf("spiking circuit %d → [%d, %d] → %d%s, %s, T=%d×%gms (%d synapses), kernels %s",
		l.nIn, l.n1, l.n2, l.nc, rec, l.o.Mode, l.o.Steps, l.o.DT, n, l.o.Kernels)
}

package csdp

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

func newEngine(t testing.TB, threads int) *mat32.Engine {
	e, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// smallOptions is a circuit small enough for naive loops that still spikes: low thresholds,
// strong resistance, a few steps.
func smallOptions() Options {
	o := DefaultOptions()
	o.Hidden = []int{24, 16}
	o.Steps = 8
	o.Threshold, o.ThresholdJitter = 0.02, 0.01
	o.Resistance = 0.5
	o.InhibitoryResistance = 0.05
	o.Goodness = 2
	o.LR = 0.01
	o.WeightDecay = 1e-3
	o.Kernels = KernelsSparse
	return o
}

const (
	nIn, nClasses, nBatch = 30, 4, 6
)

func newSmall(t testing.TB, e *mat32.Engine, o Options) *Learner {
	l, err := New(e, o, learn.Shape{Inputs: nIn, Classes: nClasses, BatchRows: nBatch, EvalRows: 20}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func smallBatch(rng *rand.Rand) learn.Batch {
	x := mat32.New(nBatch, nIn)
	y := make([]uint8, nBatch)
	for i := range y {
		y[i] = uint8(rng.IntN(nClasses))
		r := x.Row(i)
		for j := range r {
			if (j+int(y[i]))%3 == 0 {
				r[j] = float32(0.5 + 0.5*rng.Float64())
			}
		}
	}
	return learn.Batch{X: x, Labels: y}
}

func sameWeights(a, b *Learner) string {
	for k := range a.syns {
		for i, v := range a.syns[k].w.Data {
			if math.Float32bits(v) != math.Float32bits(b.syns[k].w.Data[i]) {
				return a.syns[k].label
			}
		}
		for i, v := range a.syns[k].v.Data {
			if math.Float32bits(v) != math.Float32bits(b.syns[k].v.Data[i]) {
				return a.syns[k].label + " Adam v"
			}
		}
	}
	return ""
}

// TestEventKernelsMatchDenseOracle runs the event-driven kernels and naive dense loops
// side by side, step by step: same spikes, same traces, same weights, bit for bit.
func TestEventKernelsMatchDenseOracle(t *testing.T) {
	e := newEngine(t, 2)
	o := smallOptions()
	a, b := newSmall(t, e, o), newSmall(t, e, o)
	b.oracle = true
	w0 := a.W1.w.Clone()
	rng := rand.New(rand.NewPCG(1, 1))
	spikes := 0
	for g := 0; g < 4; g++ {
		bt := smallBatch(rng)
		la, ca := a.Step(bt, learn.At{Global: int64(g)})
		lb, cb := b.Step(bt, learn.At{Global: int64(g)})
		if la != lb || ca != cb {
			t.Fatalf("step %d: loss/correct %v/%d (events) vs %v/%d (dense)", g, la, ca, lb, cb)
		}
		for _, p := range [][2]*population{{&a.z1, &b.z1}, {&a.z2, &b.z2}, {&a.zy, &b.zy}, {&a.zR, &b.zR}} {
			for i, v := range p[0].s.m.Data {
				if v != p[1].s.m.Data[i] {
					t.Fatalf("step %d: spikes differ", g)
				}
				spikes += int(v)
			}
			for i, v := range p[0].tr.m.Data {
				if v != p[1].tr.m.Data[i] {
					t.Fatalf("step %d: traces differ", g)
				}
			}
		}
		if s := sameWeights(a, b); s != "" {
			t.Fatalf("step %d: %s differs between the event kernels and the dense oracle", g, s)
		}
	}
	if spikes == 0 {
		t.Fatal("no spikes: the comparison proves nothing")
	}
	if mat32.Dot(w0, w0) == mat32.Dot(a.W1.w, a.W1.w) {
		t.Fatal("W1 did not change: the comparison proves nothing")
	}
	if a.sparseProducts == 0 {
		t.Fatal("the event kernels were not used")
	}
}

// TestGemmMatchesEvents checks the dense GEMM kernel against the event kernel on the
// same spikes (up to rounding: they sum in different orders).
func TestGemmMatchesEvents(t *testing.T) {
	e := newEngine(t, 2)
	rng := rand.New(rand.NewPCG(3, 3))
	const rows, np, nq = 37, 53, 41
	w := mat32.New(np, nq)
	for i := range w.Data {
		w.Data[i] = float32(rng.Float64()*2 - 1)
	}
	pre := newEvents(rows, np)
	for b := 0; b < rows; b++ {
		r := pre.m.Row(b)
		for j := range r {
			if rng.Float64() < 0.1 {
				r[j] = 1
			}
		}
		pre.index(b)
	}
	s, d := mat32.New(rows, nq), mat32.New(rows, nq)
	acc := accumRows{dst: s, pre: &pre, w: w}
	e.ParallelFor(rows, 1, 4, &acc)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, pre.m, w, 0, d)
	for i, v := range s.Data {
		if math.Abs(float64(v-d.Data[i])) > 1e-5 {
			t.Fatalf("element %d: events %v, GEMM %v", i, v, d.Data[i])
		}
	}
	a := mat32.New(rows, nq)
	for i := range a.Data {
		a.Data[i] = float32(rng.NormFloat64())
	}
	g1, g2 := mat32.New(np, nq), mat32.New(np, nq)
	oe := outerEvents{g: g1, pre: &pre, a: a, rows: rows}
	e.ParallelFor(np, 1, 4, &oe)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, pre.m, a, 0, g2)
	for i, v := range g1.Data {
		if math.Abs(float64(v-g2.Data[i])) > 1e-4 {
			t.Fatalf("outer element %d: events %v, GEMM %v", i, v, g2.Data[i])
		}
	}
}

// TestConstraints: lateral synapses stay nonnegative with a zero diagonal, every synapse
// stays within the bound, and the updates are not silently zero.
func TestConstraints(t *testing.T) {
	e := newEngine(t, 1)
	o := smallOptions()
	o.LR = 0.5 // large steps push weights against the bounds
	l := newSmall(t, e, o)
	before := make([]mat32.Matrix, len(l.syns))
	for k, sy := range l.syns {
		before[k] = sy.w.Clone()
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for g := 0; g < 3; g++ {
		l.Step(smallBatch(rng), learn.At{Global: int64(g)})
	}
	atBound := 0
	for k, sy := range l.syns {
		changed := false
		for i, v := range sy.w.Data {
			if v < -1 || v > 1 {
				t.Fatalf("%s = %v outside [−1, 1]", sy.label, v)
			}
			if v == 1 || v == -1 {
				atBound++
			}
			changed = changed || v != before[k].Data[i]
		}
		if !changed {
			t.Errorf("%s never changed", sy.label)
		}
	}
	if atBound == 0 {
		t.Error("no weight reached the bound: the clip is untested")
	}
	for _, sy := range []*synapse{l.M1, l.M2} {
		pos := 0
		for i := 0; i < sy.w.Rows; i++ {
			if sy.w.At(i, i) != 0 {
				t.Fatalf("%s diagonal %d = %v", sy.label, i, sy.w.At(i, i))
			}
			for _, v := range sy.w.Row(i) {
				if v < 0 {
					t.Fatalf("%s has a negative weight %v", sy.label, v)
				}
				if v > 0 {
					pos++
				}
			}
		}
		if pos == 0 {
			t.Fatalf("%s is all zero", sy.label)
		}
	}
}

// TestNegativeLabels: a negative label never equals the true one, and every wrong class
// is drawn.
func TestNegativeLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for c := 2; c <= 10; c++ {
		seen := make([]int, c)
		for i := 0; i < 2000; i++ {
			y := uint8(rng.IntN(c))
			k := wrongLabel(rng, y, c)
			if k == y || int(k) >= c {
				t.Fatalf("classes %d: label %d drew negative %d", c, y, k)
			}
			seen[k]++
		}
		for k, n := range seen {
			if n == 0 {
				t.Fatalf("classes %d: class %d never drawn", c, k)
			}
		}
	}
	// And in a training step, on the clamp the negatives actually see.
	e := newEngine(t, 1)
	l := newSmall(t, e, smallOptions())
	bt := smallBatch(rand.New(rand.NewPCG(6, 6)))
	for g := 0; g < 20; g++ {
		l.Step(bt, learn.At{Global: int64(g)})
		for i := 0; i < nBatch; i++ {
			if l.labels[nBatch+i] == bt.Labels[i] || l.lab.m.At(nBatch+i, int(bt.Labels[i])) != 0 {
				t.Fatalf("step %d row %d: the negative carries the true label %d", g, i, bt.Labels[i])
			}
			if l.mask[i] != 1 || l.mask[nBatch+i] != 0 {
				t.Fatal("mask does not mark positives then negatives")
			}
		}
	}
}

// TestTraceDecay: with no input a trace set by a spike decays by 1 − dt/τ_tr per step, and
// a new spike resets it to 1.
func TestTraceDecay(t *testing.T) {
	e := newEngine(t, 1)
	o := smallOptions()
	l := newSmall(t, e, o)
	p := &l.zy
	l.resetWindow(1)
	p.tr.m.Set(0, 1, 1)
	d := float32(1 - o.DT/o.TauTrace)
	want := float32(1)
	for k := 0; k < 5; k++ {
		l.advance(p, 1, false)
		want *= d
		if got := p.tr.m.At(0, 1); got != want || p.s.m.At(0, 1) != 0 {
			t.Fatalf("step %d: trace %v, want %v", k, got, want)
		}
	}
	p.j.Set(0, 1, 1e6) // a huge current fires the unit
	l.advance(p, 1, false)
	if p.s.m.At(0, 1) != 1 || p.tr.m.At(0, 1) != 1 || p.v.At(0, 1) != 0 {
		t.Fatalf("spike: s %v, trace %v, v %v; want 1, 1, 0", p.s.m.At(0, 1), p.tr.m.At(0, 1), p.v.At(0, 1))
	}
	// The adaptive threshold moved by ρ_b(Σs − 1) = 0 for one spike, −ρ_b per silent step.
	if got, want := p.thr.At(0, 0), max(p.thr0.At(0, 0)-5*float32(o.ThresholdRate), thrFloor); math.Abs(float64(got-want)) > 1e-7 {
		t.Fatalf("adaptive threshold %v, want %v", got, want)
	}
}

// TestModulatorIsTheGoodnessGradient checks m = ∂L/∂tr by finite differences, L the mean
// over rows of BCE(σ(Σ tr² − θ), c).
func TestModulatorIsTheGoodnessGradient(t *testing.T) {
	e := newEngine(t, 1)
	o := smallOptions()
	l := newSmall(t, e, o)
	rows := 4
	rng := rand.New(rand.NewPCG(9, 9))
	l.resetWindow(rows)
	p := &l.z2
	for b := 0; b < rows; b++ {
		l.mask[b] = float32(b % 2)
		for k := range p.tr.m.Row(b) {
			p.tr.m.Row(b)[k] = float32(0.3 * rng.Float64())
		}
	}
	loss := func(tr [][]float64) float64 {
		var s float64
		for b, r := range tr {
			var g float64
			for _, v := range r {
				g += v * v
			}
			z := g - o.Goodness
			c := float64(l.mask[b])
			s += math.Max(z, 0) - z*c + math.Log1p(math.Exp(-math.Abs(z)))
		}
		return s / float64(len(tr))
	}
	tr := make([][]float64, rows)
	for b := range tr {
		for _, v := range p.tr.m.Row(b) {
			// The pass decays the trace once (no spike: no current) before the modulator.
			tr[b] = append(tr[b], float64(v*float32(1-o.DT/o.TauTrace)))
		}
	}
	l.advance(p, rows, true)
	for b := 0; b < rows; b++ {
		for k := 0; k < 3; k++ {
			h := 1e-6
			tr[b][k] += h
			up := loss(tr)
			tr[b][k] -= 2 * h
			down := loss(tr)
			tr[b][k] += h
			fd := (up - down) / (2 * h)
			got := float64(p.modR.At(b, k)) / o.Resistance
			if math.Abs(got-fd) > 1e-4*math.Max(1, math.Abs(fd)) || fd == 0 {
				t.Fatalf("row %d unit %d: modulator %v, finite difference %v", b, k, got, fd)
			}
		}
	}
}

// TestResumeIsExact: saving after two steps and loading into a fresh learner continues bit
// for bit; the randomness derives from the step position.
func TestResumeIsExact(t *testing.T) {
	e := newEngine(t, 1)
	o := smallOptions()
	rng := rand.New(rand.NewPCG(4, 4))
	batches := []learn.Batch{smallBatch(rng), smallBatch(rng), smallBatch(rng), smallBatch(rng)}
	a := newSmall(t, e, o)
	for g, bt := range batches {
		a.Step(bt, learn.At{Global: int64(g)})
	}
	b := newSmall(t, e, o)
	for g, bt := range batches[:2] {
		b.Step(bt, learn.At{Global: int64(g)})
	}
	ck := checkpoint.New()
	if err := b.Save(ck); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, ck); err != nil {
		t.Fatal(err)
	}
	ck2, err := checkpoint.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	c := newSmall(t, e, o)
	if sameWeights(a, c) == "" {
		t.Fatal("a fresh learner equals a trained one: the test proves nothing")
	}
	if err := c.Load(ck2); err != nil {
		t.Fatal(err)
	}
	for g, bt := range batches[2:] {
		c.Step(bt, learn.At{Global: int64(g + 2)})
	}
	if s := sameWeights(a, c); s != "" {
		t.Fatalf("resumed run differs in %s", s)
	}
	for _, name := range ck.Names() {
		if !strings.HasPrefix(name, "csdp.") {
			t.Errorf("tensor %q not prefixed csdp.", name)
		}
	}
}

// TestPredictWithholdsLabels: prediction changes nothing, is repeatable, and does not
// depend on a label (none is given; the context units stay silent).
func TestPredictWithholdsLabels(t *testing.T) {
	e := newEngine(t, 1)
	l := newSmall(t, e, smallOptions())
	rng := rand.New(rand.NewPCG(7, 7))
	for g := 0; g < 3; g++ {
		l.Step(smallBatch(rng), learn.At{Global: int64(g)})
	}
	x := smallBatch(rng).X
	w := l.W1.w.Clone()
	s1, s2 := mat32.New(x.Rows, nClasses), mat32.New(x.Rows, nClasses)
	l.Predict(x, s1)
	for b := 0; b < x.Rows; b++ {
		if l.yp.cnt[b] != 0 || l.lab.cnt[b] != 0 {
			t.Fatal("a label reached the context units at test time")
		}
	}
	l.Predict(x, s2)
	for i, v := range s1.Data {
		if v != s2.Data[i] {
			t.Fatal("Predict is not repeatable")
		}
	}
	if mat32.Dot(w, w) != mat32.Dot(l.W1.w, l.W1.w) {
		t.Fatal("Predict changed W1")
	}
	ev := l.Evaluate(x, make([]uint8, x.Rows))
	if _, ok := ev.Scalars["recon_bce"]; !ok || ev.Acc < 0 || ev.Acc > 1 {
		t.Fatalf("Evaluate: %+v", ev)
	}
}

// TestStepAllocatesNothing after the first step.
func TestStepAllocatesNothing(t *testing.T) {
	e := newEngine(t, 2)
	l := newSmall(t, e, smallOptions())
	bt := smallBatch(rand.New(rand.NewPCG(1, 2)))
	l.Step(bt, learn.At{})
	g := int64(1)
	if n := testing.AllocsPerRun(3, func() { l.Step(bt, learn.At{Global: g}); g++ }); n != 0 {
		t.Fatalf("Step allocates %v times", n)
	}
}

func TestUnsupervised(t *testing.T) {
	e := newEngine(t, 1)
	o := smallOptions()
	o.Mode = ModeUnsupervised
	l := newSmall(t, e, o)
	if l.V2y != nil || l.V3y != nil {
		t.Fatal("unsupervised circuit has context synapses")
	}
	bt := smallBatch(rand.New(rand.NewPCG(1, 3)))
	l.Step(bt, learn.At{})
	// Each negative is a blend of its image with another row's.
	a := float32(o.BlendAlpha)
	for i := 0; i < nBatch; i++ {
		same := true
		for j, v := range l.x.Row(nBatch + i) {
			if v != bt.X.At(i, j) {
				same = false
			}
			if v < bt.X.At(i, j)*a-1e-6 {
				t.Fatalf("negative %d pixel %d = %v below α·x", i, j, v)
			}
		}
		if same {
			t.Fatalf("negative %d equals its positive", i)
		}
	}
	if l.NonFinite() != "" {
		t.Fatal(l.NonFinite())
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.Hidden = []int{10} }, "hidden"},
		{func(o *Options) { o.Hidden = []int{0, 5} }, "hidden"},
		{func(o *Options) { o.Steps = 0 }, "steps"},
		{func(o *Options) { o.LR = math.NaN() }, "lr"},
		{func(o *Options) { o.LR = -1 }, "lr"},
		{func(o *Options) { o.TauTrace = 1 }, "tau_trace"},
		{func(o *Options) { o.WeightDecay = -1e-5 }, "weight_decay"},
		{func(o *Options) { o.Mode = "semi" }, "mode"},
		{func(o *Options) { o.Kernels = "fast" }, "kernels"},
		{func(o *Options) { o.ReconAverage = "x" }, "recon_average"},
		{func(o *Options) { o.Threshold = 0 }, "threshold"},
	} {
		o := DefaultOptions()
		c.set(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want a one-line error naming %s, got %v", c.want, err)
		}
	}
	o := DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFigures(t *testing.T) {
	e := newEngine(t, 1)
	l := newSmall(t, e, smallOptions())
	rng := rand.New(rand.NewPCG(8, 8))
	l.Step(smallBatch(rng), learn.At{})
	x := mat32.New(3, nIn)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64())
	}
	var buf bytes.Buffer
	if err := l.RenderReconstructions(&buf, x, 3); err == nil {
		t.Fatal("30 inputs are not a square image, yet no error")
	}
	if err := l.RenderRaster(&buf, x, 10); err != nil || buf.Len() == 0 || !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("raster: %v, %d bytes", err, buf.Len())
	}
	o := smallOptions()
	sq, err := New(e, o, learn.Shape{Inputs: 25, Classes: 3, BatchRows: 4, EvalRows: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := sq.RenderReconstructions(&buf, mat32.New(2, 25), 2); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("reconstructions: %v", err)
	}
}

// TestThreadsGiveSameBits: one and two threads, auto kernels, the same weights bit for bit.
func TestThreadsGiveSameBits(t *testing.T) {
	o := smallOptions()
	o.Kernels = KernelsAuto
	o.SparseBelow = 0.1 // a mix of event and GEMM products on this circuit
	a, b := newSmall(t, newEngine(t, 1), o), newSmall(t, newEngine(t, 2), o)
	rng := rand.New(rand.NewPCG(3, 1))
	for g := 0; g < 3; g++ {
		bt := smallBatch(rng)
		a.Step(bt, learn.At{Global: int64(g)})
		b.Step(bt, learn.At{Global: int64(g)})
	}
	if s := sameWeights(a, b); s != "" {
		t.Fatalf("%s differs between 1 and 2 threads", s)
	}
	if a.gemmProducts == 0 || a.sparseProducts == 0 {
		t.Fatalf("products: %d GEMM, %d event-driven; want both", a.gemmProducts, a.sparseProducts)
	}
}

package noprop

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

func engine(t testing.TB) *mat32.Engine {
	t.Helper()
	e, err := mat32.NewEngine(mat32.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// small returns options and a shape small enough for finite differences.
func small(emb string) (Options, learn.Shape) {
	o := DefaultOptions()
	o.Blocks, o.Sizes, o.Embedding, o.EmbedDim, o.Eta = 3, []int{5, 6, 3}, emb, 4, 1
	return o, learn.Shape{Inputs: 5, Classes: 3, BatchRows: 8, EvalRows: 8}
}

func batch(rows, inputs, classes int, seed uint64) learn.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := mat32.New(rows, inputs)
	for k := range x.Data {
		x.Data[k] = float32(rng.NormFloat64())
	}
	y := make([]uint8, rows)
	for r := range y {
		y[r] = uint8(r % classes)
	}
	return learn.Batch{X: x, Labels: y}
}

func newL(t *testing.T, e *mat32.Engine, o Options, s learn.Shape, bp bool) *Learner {
	t.Helper()
	l, err := New(e, o, s, 1, bp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The schedule matches its closed forms, and its inference coefficients keep the marginals
// q(z_t|y) = N(√ᾱ_t u, (1 − ᾱ_t) I): a_t + b_t √ᾱ_{t−1} = √ᾱ_t and
// b_t²(1 − ᾱ_{t−1}) + c_t = 1 − ᾱ_t (a wrong index in a_t, b_t or c_t breaks these).
func TestScheduleClosedForms(t *testing.T) {
	const T, eta, s = 10, 0.1, 0.008
	sc := NewSchedule(T, eta, s)
	g := func(u float64) float64 {
		c := math.Cos(math.Pi / 2 * (u + s) / (1 + s))
		c0 := math.Cos(math.Pi / 2 * s / (1 + s))
		return c * c / (c0 * c0)
	}
	if sc.AlphaBar[0] != 0 || sc.SNR[0] != 0 {
		t.Fatalf("ᾱ_0 = %v, SNR(0) = %v; want 0 (z_0 pure noise)", sc.AlphaBar[0], sc.SNR[0])
	}
	for tt := 1; tt <= T; tt++ {
		want := g(float64(T+1-tt) / float64(T+1))
		if math.Abs(sc.AlphaBar[tt]-want) > 1e-15 {
			t.Errorf("ᾱ_%d = %v, want %v", tt, sc.AlphaBar[tt], want)
		}
		if tt > 0 && sc.AlphaBar[tt] <= sc.AlphaBar[tt-1] {
			t.Errorf("ᾱ not increasing at %d", tt)
		}
		if snr := want / (1 - want); math.Abs(sc.SNR[tt]-snr) > 1e-12*snr {
			t.Errorf("SNR(%d) = %v, want %v", tt, sc.SNR[tt], snr)
		}
		if w := T * eta / 2 * (sc.SNR[tt] - sc.SNR[tt-1]); math.Abs(sc.Weight[tt]-w) > 1e-12*w || w <= 0 {
			t.Errorf("weight %d = %v, want %v > 0", tt, sc.Weight[tt], w)
		}
		prod := 1.0
		for u := tt; u <= T; u++ {
			prod *= sc.Alpha[u]
		}
		if math.Abs(prod-sc.AlphaBar[tt]) > 1e-12 {
			t.Errorf("Π_{s≥%d} α_s = %v, ᾱ = %v", tt, prod, sc.AlphaBar[tt])
		}
		ab, abp, ap := sc.AlphaBar[tt], sc.AlphaBar[tt-1], sc.Alpha[tt-1]
		if a := math.Sqrt(ab) * (1 - ap) / (1 - abp); math.Abs(sc.A[tt]-a) > 1e-15 {
			t.Errorf("a_%d = %v, want %v", tt, sc.A[tt], a)
		}
		if math.Abs(sc.A[tt]+sc.B[tt]*math.Sqrt(abp)-math.Sqrt(ab)) > 1e-12 {
			t.Errorf("t=%d: a + b√ᾱ_{t−1} = %v, want √ᾱ_t = %v", tt, sc.A[tt]+sc.B[tt]*math.Sqrt(abp), math.Sqrt(ab))
		}
		if math.Abs(sc.B[tt]*sc.B[tt]*(1-abp)+sc.C[tt]-(1-ab)) > 1e-12 {
			t.Errorf("t=%d: b²(1−ᾱ_{t−1}) + c = %v, want 1 − ᾱ_t = %v", tt, sc.B[tt]*sc.B[tt]*(1-abp)+sc.C[tt], 1-ab)
		}
	}
}

// The noisy targets at each t have the schedule's signal-to-noise ratio.
func TestNoisyTargetsHaveTheScheduleSNR(t *testing.T) {
	sc := NewSchedule(10, 0.1, 0.008)
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, d = 4000, 10
	u := mat32.New(rows, d)
	oneHot(u, func() []uint8 {
		y := make([]uint8, rows)
		for r := range y {
			y[r] = uint8(r % d)
		}
		return y
	}())
	z := mat32.New(rows, d)
	for tt := 0; tt <= 10; tt++ {
		noisy(z, u, sc.AlphaBar[tt], rng)
		// Regress z on u: signal coefficient and residual variance.
		var zu, uu float64
		for k, v := range z.Data {
			zu += float64(v) * float64(u.Data[k])
			uu += float64(u.Data[k]) * float64(u.Data[k])
		}
		beta := zu / uu
		var res float64
		for k, v := range z.Data {
			r := float64(v) - beta*float64(u.Data[k])
			res += r * r
		}
		res /= float64(len(z.Data))
		if math.Abs(beta*beta-sc.AlphaBar[tt]) > 0.02 || math.Abs(res-(1-sc.AlphaBar[tt])) > 0.02 {
			t.Errorf("t=%d: signal² %v noise var %v, want ᾱ %v and 1−ᾱ %v (SNR %v)", tt, beta*beta, res, sc.AlphaBar[tt], 1-sc.AlphaBar[tt], sc.SNR[tt])
		}
	}
}

func zeroGrads(ps []*param) {
	for _, p := range ps {
		mat32.Zero(p.g)
	}
}

func nonzero(m mat32.Matrix) bool {
	for _, v := range m.Data {
		if v != 0 {
			return true
		}
	}
	return false
}

// Block t's loss reaches block t's parameters and the shared ones only: every other
// block's gradient stays zero and changing another block leaves L_t as it was.
func TestBlockUpdateIsLocal(t *testing.T) {
	e := engine(t)
	o, s := small(EmbedLearned)
	l := newL(t, e, o, s, false)
	b := batch(8, s.Inputs, s.Classes, 1)
	oneHot(l.y, b.Labels)
	for tt := 1; tt <= o.Blocks; tt++ {
		for _, blk := range l.blocks {
			zeroGrads(blk.all)
		}
		l.src.Seed(5, 6)
		l0, _ := l.blockLoss(b, tt, true)
		for u, blk := range l.blocks {
			any := false
			for _, p := range blk.all {
				any = any || nonzero(p.g)
			}
			if (u == tt-1) != any {
				t.Errorf("block %d's loss: block %d has a nonzero gradient: %v", tt, u+1, any)
			}
		}
		if !nonzero(l.E.g) || !nonzero(l.Wout.g) {
			t.Errorf("block %d's loss leaves no gradient in W_embed or the output layer", tt)
		}
		// Perturb every other block: L_t must not move.
		other := l.blocks[tt%o.Blocks]
		saved := other.Wz1.w.Clone()
		mat32.Scale(3, other.Wz1.w)
		l.src.Seed(5, 6)
		l1, _ := l.blockLoss(b, tt, false)
		mat32.Copy(other.Wz1.w, saved)
		if l0 != l1 {
			t.Errorf("block %d's loss changed from %v to %v with another block's weights", tt, l0, l1)
		}
	}
}

// One Step changes every block, the output layer and a learned embedding (no update is
// silently zero), and leaves a one-hot embedding fixed.
func TestStepUpdatesEveryBlock(t *testing.T) {
	e := engine(t)
	for _, emb := range []string{EmbedLearned, EmbedOneHot} {
		for _, bp := range []bool{false, true} {
			o, s := small(emb)
			l := newL(t, e, o, s, bp)
			before := l.tensors()
			snap := make([]mat32.Matrix, len(before))
			for i, x := range before {
				snap[i] = x.M.Clone()
			}
			loss, _ := l.Step(batch(8, s.Inputs, s.Classes, 2), learn.At{})
			if math.IsNaN(loss) {
				t.Fatal("NaN loss")
			}
			for i, x := range before {
				if strings.Contains(x.Name, "adamw") {
					continue
				}
				same := true
				for k, v := range x.M.Data {
					same = same && v == snap[i].Data[k]
				}
				if want := emb == EmbedOneHot && x.Name == "noprop.embed"; same != want {
					t.Errorf("%s bp=%v: %s unchanged=%v by a step, want %v", emb, bp, x.Name, same, want)
				}
			}
		}
	}
}

// lossFunc evaluates the loss whose gradient is claimed, with the same noise every call.
type lossFunc func() float64

func checkGrad(t *testing.T, what string, p *param, f lossFunc, grad mat32.Matrix) {
	t.Helper()
	const h = 1e-3
	bad := 0
	for k := range p.w.Data {
		v := p.w.Data[k]
		p.w.Data[k] = v + h
		lp := f()
		p.w.Data[k] = v - h
		lm := f()
		p.w.Data[k] = v
		fd := (lp - lm) / (2 * h)
		g := float64(grad.Data[k])
		if math.Abs(fd-g) > 2e-3+0.05*math.Abs(fd) {
			bad++
			if bad <= 3 {
				t.Errorf("%s %s[%d]: gradient %v, finite difference %v", what, p.name, k, g, fd)
			}
		}
	}
}

// NoProp's gradients of L_t (block t's parameters, the output layer, W_embed) match finite
// differences of L_t.
func TestNoPropGradientFiniteDifference(t *testing.T) {
	e := engine(t)
	o, s := small(EmbedLearned)
	l := newL(t, e, o, s, false)
	b := batch(8, s.Inputs, s.Classes, 3)
	oneHot(l.y, b.Labels)
	for tt := 1; tt <= o.Blocks; tt++ {
		f := func() float64 { l.src.Seed(11, uint64(tt)); d, c := l.blockLoss(b, tt, false); return d + c }
		l.src.Seed(11, uint64(tt))
		l.blockLoss(b, tt, true)
		ps := append(append([]*param{}, l.blocks[tt-1].all...), l.shared...)
		grads := make([]mat32.Matrix, len(ps))
		for i, p := range ps {
			grads[i] = p.g.Clone()
		}
		for i, p := range ps {
			checkGrad(t, "noprop block "+string(rune('0'+tt)), p, f, grads[i])
		}
	}
}

// bp-noprop's gradients through the whole chain match finite differences of its loss.
func TestBPGradientFiniteDifference(t *testing.T) {
	e := engine(t)
	o, s := small(EmbedLearned)
	l := newL(t, e, o, s, true)
	b := batch(8, s.Inputs, s.Classes, 4)
	oneHot(l.y, b.Labels)
	f := func() float64 { l.src.Seed(13, 0); c, _ := l.bpGradients(b); return c }
	f()
	ps := l.opt[0].ps
	grads := make([]mat32.Matrix, len(ps))
	for i, p := range ps {
		grads[i] = p.g.Clone()
	}
	for i, p := range ps {
		checkGrad(t, "bp-noprop", p, f, grads[i])
	}
}

// Inference is deterministic for a fixed seed, with and without its noise term, whatever
// ran before; the noise term does change the result.
func TestInferenceDeterministic(t *testing.T) {
	e := engine(t)
	o, s := small(EmbedOneHot)
	b := batch(8, s.Inputs, s.Classes, 5)
	var outs [2][2]mat32.Matrix
	for i := range 2 {
		for j, noise := range []bool{false, true} {
			o.InferenceNoise = noise
			l := newL(t, e, o, s, false)
			l.Step(b, learn.At{})
			sc := mat32.New(8, s.Classes)
			l.Predict(b.X, sc)
			again := mat32.New(8, s.Classes)
			l.Predict(b.X, again)
			for k := range sc.Data {
				if sc.Data[k] != again.Data[k] {
					t.Fatalf("noise=%v: two Predicts differ", noise)
				}
			}
			outs[i][j] = sc
		}
	}
	diff := false
	for k := range outs[0][0].Data {
		if outs[0][0].Data[k] != outs[1][0].Data[k] || outs[0][1].Data[k] != outs[1][1].Data[k] {
			t.Fatal("two learners of one seed predict differently")
		}
		diff = diff || outs[0][0].Data[k] != outs[0][1].Data[k]
	}
	if !diff {
		t.Error("the inference noise term changes nothing")
	}
}

// A learner restored from a checkpoint continues bit for bit as the original.
func TestResumeExact(t *testing.T) {
	e := engine(t)
	for _, bp := range []bool{false, true} {
		o, s := small(EmbedLearned)
		a := newL(t, e, o, s, bp)
		for i := range 3 {
			a.Step(batch(8, s.Inputs, s.Classes, uint64(10+i)), learn.At{Global: int64(i)})
		}
		ck := checkpoint.New()
		if err := a.Save(ck); err != nil {
			t.Fatal(err)
		}
		c, err := New(e, o, s, 99, bp)
		if err != nil {
			t.Fatal(err)
		}
		c.seed = a.seed // the loop rebuilds a learner from the run's own seed
		if err := c.Load(ck); err != nil {
			t.Fatal(err)
		}
		bt := batch(8, s.Inputs, s.Classes, 20)
		la, _ := a.Step(bt, learn.At{Global: 3})
		lc, _ := c.Step(bt, learn.At{Global: 3})
		ta, tc := a.tensors(), c.tensors()
		if la != lc {
			t.Errorf("bp=%v: loss after resume %v, want %v", bp, lc, la)
		}
		for i := range ta {
			for k, v := range ta[i].M.Data {
				if tc[i].M.Data[k] != v {
					t.Fatalf("bp=%v: %s differs after resume", bp, ta[i].Name)
				}
			}
		}
	}
}

// A training step allocates nothing.
func TestStepAllocatesNothing(t *testing.T) {
	e := engine(t)
	for _, bp := range []bool{false, true} {
		o, s := small(EmbedLearned)
		l := newL(t, e, o, s, bp)
		b := batch(8, s.Inputs, s.Classes, 6)
		var g int64
		l.Step(b, learn.At{})
		if n := testing.AllocsPerRun(5, func() { g++; l.Step(b, learn.At{Global: g}) }); n != 0 {
			t.Errorf("bp=%v: %v allocations per step", bp, n)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.Blocks = 0 }, "blocks"},
		{func(o *Options) { o.Eta = math.NaN() }, "eta"},
		{func(o *Options) { o.Eta = -1 }, "eta"},
		{func(o *Options) { o.Embedding = "x" }, "embedding"},
		{func(o *Options) { o.Embedding, o.EmbedDim = EmbedLearned, 0 }, "embed_dim"},
		{func(o *Options) { o.Sizes = []int{784, 1, 10} }, "sizes"},
		{func(o *Options) { o.Sizes = []int{784, 10} }, "sizes"},
		{func(o *Options) { o.Image = "conv" }, "image"},
		{func(o *Options) { o.LR = 0 }, "lr"},
		{func(o *Options) { o.WeightDecay = math.Inf(1) }, "weight_decay"},
		{func(o *Options) { o.ScheduleOffset = -0.1 }, "schedule_offset"},
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
		t.Errorf("defaults: %v", err)
	}
}

package gevb

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
	e, err := mat32.NewEngine(mat32.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

const classes = 3

func smallOptions(weights string) Options {
	o := DefaultOptions()
	o.Sizes = []int{6, 8, 4}
	o.Weights = weights
	o.LR = 1e-2
	return o
}

func newLearner(t testing.TB, mode Mode, o Options, batch int, seed uint64) *Learner {
	t.Helper()
	l, err := New(engine(t), mode, o, learn.Shape{Inputs: o.Sizes[0], Classes: classes, BatchRows: batch, EvalRows: 64}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// batch returns n random examples in [0, 1] with labels.
func batch(n, d int, seed uint64) learn.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := learn.Batch{X: mat32.New(n, d), Labels: make([]uint8, n)}
	for i := range b.X.Data {
		b.X.Data[i] = float32(rng.Float64())
	}
	for i := range b.Labels {
		b.Labels[i] = uint8(rng.IntN(classes))
	}
	return b
}

func rows(m mat32.Matrix) [][]float64 { return toF64(m) }

// updatesOf runs the learner's forward pass and its update of mode on b (no step taken).
func updatesOf(l *Learner, b learn.Batch, mode Mode) {
	t := &l.step
	l.forward(t, b.X)
	l.crossEntropy(t, b.Labels, true)
	l.updates(t, b.X.Rows, mode, 1/float32(b.X.Rows), 0, l.dW, l.dB)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

// The fast path (one product per layer, factorised δ) computes what the plain reference with
// full vector-valued deltas computes: logits, and both rules' updates of every W and b.
func TestFastPathMatchesReference(t *testing.T) {
	for _, w := range []string{WeightsNonnegative, WeightsMixed} {
		for _, mode := range []Mode{ModeGEVB, ModeBP} {
			l := newLearner(t, mode, smallOptions(w), 5, 3)
			b := batch(5, 6, 11)
			ref := refFrom(l)
			p := ref.forward(rows(b.X))
			scores := mat32.New(5, classes)
			l.Predict(b.X, scores)
			for r := range 5 {
				for c := range classes {
					if !near(float64(scores.At(r, c)), p.logits[r][c], 1e-5) {
						t.Fatalf("%s: logit [%d,%d] = %v, reference %v", w, r, c, scores.At(r, c), p.logits[r][c])
					}
				}
			}
			updatesOf(l, b, mode)
			gW, gB := ref.grads(rows(b.X), b.Labels, mode)
			for i := 1; i <= l.L; i++ {
				for r := range l.dW[i].Rows {
					for c := range l.dW[i].Cols {
						if !near(float64(l.dW[i].At(r, c)), gW[i][r][c], 1e-4) {
							t.Fatalf("%s mode %d: layer %d dW[%d,%d] = %v, reference %v", w, mode, i, r, c, l.dW[i].At(r, c), gW[i][r][c])
						}
					}
				}
				for r := range classes {
					for c := range l.dB[i].Cols {
						if !near(float64(l.dB[i].At(r, c)), gB[i][r][c], 1e-4) {
							t.Fatalf("%s mode %d: layer %d dB[%d,%d] = %v, reference %v", w, mode, i, r, c, l.dB[i].At(r, c), gB[i][r][c])
						}
					}
				}
			}
		}
	}
}

// Backprop in the vectorized network is the gradient of the batch-mean cross-entropy:
// central finite differences of the float64 reference loss, for every weight and bias of
// every layer (coordinates whose perturbation flips a gate are skipped).
func TestBackpropMatchesFiniteDifferences(t *testing.T) {
	for _, w := range []string{WeightsNonnegative, WeightsMixed} {
		l := newLearner(t, ModeBP, smallOptions(w), 4, 5)
		b := batch(4, 6, 13)
		x := rows(b.X)
		updatesOf(l, b, ModeBP)
		ref := refFrom(l)
		base := ref.forward(x)
		const h = 1e-5
		checked := 0
		probe := func(what string, i int, v *float64, got float32) {
			old := *v
			*v = old + h
			pp := ref.forward(x)
			lp, _ := refLoss(pp.logits, b.Labels)
			*v = old - h
			pm := ref.forward(x)
			lm, _ := refLoss(pm.logits, b.Labels)
			*v = old
			if !sameMasks(base, pp) || !sameMasks(base, pm) {
				return
			}
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-float64(got)) > 1e-4+1e-3*math.Abs(fd) {
				t.Fatalf("%s layer %d %s: backprop %v, finite difference %v", w, i, what, got, fd)
			}
			checked++
		}
		for i := 1; i <= l.L; i++ {
			out := l.n[i]
			for a := range l.n[i-1] {
				for c := range len(ref.w[i][a]) {
					for j := range out {
						probe("W", i, &ref.w[i][a][c][j], l.dW[i].At(a, c*out+j))
					}
				}
			}
			for c := range classes {
				for j := range out {
					probe("b", i, &ref.b[i][c][j], l.dB[i].At(c, j))
				}
			}
		}
		if checked < 100 {
			t.Fatalf("%s: only %d coordinates checked", w, checked)
		}
	}
}

func sameMasks(a, b refPass) bool {
	for l := 1; l < len(a.mask); l++ {
		for r := range a.mask[l] {
			for j := range a.mask[l][r] {
				if a.mask[l][r][j] != b.mask[l][r][j] {
					return false
				}
			}
		}
	}
	return true
}

// signMismatches counts the weights (all layers, W and b) where GEVB's update and the true
// gradient have strictly opposite signs, or GEVB's is zero where the gradient is not.
func signMismatches(l *Learner, b learn.Batch) (bad, nonzero int) {
	updatesOf(l, b, ModeBP)
	var bp []float32
	for i := 1; i <= l.L; i++ {
		bp = append(append(bp, l.dW[i].Data...), l.dB[i].Data...)
	}
	updatesOf(l, b, ModeGEVB)
	var gv []float32
	for i := 1; i <= l.L; i++ {
		gv = append(append(gv, l.dW[i].Data...), l.dB[i].Data...)
	}
	for j, g := range bp {
		if g == 0 {
			continue
		}
		nonzero++
		if (g > 0) != (gv[j] > 0) || gv[j] == 0 {
			bad++
		}
	}
	return bad, nonzero
}

// The paper's theorem: in a nonnegative network, for any single example, every GEVB update
// (every layer, weights and biases) has the sign of the true gradient. On random networks
// (including trained ones, whose weights have been clamped) and random examples. In a mixed
// network the same check fails, so the test can tell the two apart.
func TestSignMatchTheorem(t *testing.T) {
	var mixedBad int
	for seed := uint64(1); seed <= 6; seed++ {
		for _, w := range []string{WeightsNonnegative, WeightsMixed} {
			l := newLearner(t, ModeGEVB, smallOptions(w), 8, seed)
			// Train a little so that the weights are no longer the initial ones.
			for s := range 5 {
				l.Step(batch(8, 6, 100*seed+uint64(s)), learn.At{})
			}
			for ex := range 8 {
				b := batch(1, 6, 1000*seed+uint64(ex))
				bad, nz := signMismatches(l, b)
				if w == WeightsMixed {
					mixedBad += bad
					continue
				}
				if nz == 0 {
					t.Fatalf("seed %d: the true gradient is zero everywhere", seed)
				}
				if bad != 0 {
					t.Fatalf("seed %d example %d: %d of %d GEVB updates disagree in sign with the gradient in a nonnegative network", seed, ex, bad, nz)
				}
			}
		}
	}
	if mixedBad == 0 {
		t.Fatal("in mixed networks every GEVB update matched the gradient's sign: the check cannot tell nonnegative from mixed")
	}
}

// The output layer's update is the same in both rules (g_L = 1/N): a mis-scaled or
// misplaced broadcast signal would show here first.
func TestOutputLayerSameInBothRules(t *testing.T) {
	l := newLearner(t, ModeGEVB, smallOptions(WeightsMixed), 5, 2)
	b := batch(5, 6, 4)
	updatesOf(l, b, ModeBP)
	w, bb := l.dW[l.L].Clone(), l.dB[l.L].Clone()
	updatesOf(l, b, ModeGEVB)
	for j, v := range w.Data {
		if v != l.dW[l.L].Data[j] {
			t.Fatalf("output dW[%d]: backprop %v, GEVB %v", j, v, l.dW[l.L].Data[j])
		}
	}
	for j, v := range bb.Data {
		if v != l.dB[l.L].Data[j] {
			t.Fatalf("output dB[%d]: backprop %v, GEVB %v", j, v, l.dB[l.L].Data[j])
		}
	}
}

// After every step a nonnegative network's weights beyond the first layer are ≥ 0, and the
// projection is really at work (some weight is held at exactly 0 that Adam pushed below);
// the first layer keeps both signs; every parameter moves (no update is silently zero).
func TestNonnegativeAfterEveryStep(t *testing.T) {
	for _, proj := range []string{ProjectClamp, ProjectAbs} {
		o := smallOptions(WeightsNonnegative)
		o.Projection = proj
		for _, mode := range []Mode{ModeGEVB, ModeBP} {
			l := newLearner(t, mode, o, 8, 9)
			before := make([]mat32.Matrix, len(l.params))
			for i, p := range l.params {
				before[i] = p.Clone()
			}
			projected := 0
			for s := range 30 {
				l.Step(batch(8, 6, uint64(s)), learn.At{})
				for i := 2; i <= l.L; i++ {
					for _, v := range l.W[i].Data {
						if v < 0 {
							t.Fatalf("%s mode %d step %d: layer %d weight %v < 0", proj, mode, s, i, v)
						}
					}
				}
				// Would the raw Adam step have gone negative somewhere? Count weights at 0
				// whose Adam first moment is positive (pushing them down).
				st := l.adam.State()
				for i := 2; i <= l.L; i++ {
					m := st["m."+itoa(i-1)]
					for j, v := range l.W[i].Data {
						if (v == 0 || proj == ProjectAbs) && m.Data[j] > 0 {
							projected++
						}
					}
				}
			}
			if projected == 0 {
				t.Fatalf("%s mode %d: no weight was ever pushed below zero: the test does not exercise the projection", proj, mode)
			}
			neg := false
			for _, v := range l.W[1].Data {
				neg = neg || v < 0
			}
			if !neg {
				t.Fatalf("%s: the first layer has no negative weight: it must not be projected", proj)
			}
			for i, p := range l.params {
				same := true
				for j, v := range p.Data {
					same = same && v == before[i].Data[j]
				}
				if same {
					t.Fatalf("%s mode %d: parameter %d never changed", proj, mode, i)
				}
			}
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// Clamp and abs differ: the same run gives different weights.
func TestProjectionsDiffer(t *testing.T) {
	var ws [2][]float32
	for k, proj := range []string{ProjectClamp, ProjectAbs} {
		o := smallOptions(WeightsNonnegative)
		o.Projection = proj
		l := newLearner(t, ModeGEVB, o, 8, 9)
		for s := range 20 {
			l.Step(batch(8, 6, uint64(s)), learn.At{})
		}
		ws[k] = append([]float32(nil), l.W[2].Data...)
	}
	for j := range ws[0] {
		if ws[0][j] != ws[1][j] {
			return
		}
	}
	t.Fatal("clamp and abs projections gave the same weights")
}

// The ON/OFF initialisation has its documented structure: first layer in ± pairs per
// component; later layers in 2×2 blocks [[relu(w), relu(−w)], [relu(−w), relu(w)]] with
// W⁰ ~ N(0, 4/fan_in); the output keeps the first column. Mixed: He. Gate vectors in
// (t, −t) pairs of ±1.
func TestInitialisation(t *testing.T) {
	o := DefaultOptions()
	o.Sizes = []int{40, 200, 100}
	shape := learn.Shape{Inputs: 40, Classes: 10, BatchRows: 4, EvalRows: 4}
	l, err := New(engine(t), ModeGEVB, o, shape, 1)
	if err != nil {
		t.Fatal(err)
	}
	w1, n1 := l.W[1], 200
	var ss float64
	for r := range 40 {
		for c := range 10 {
			for j := 0; j < n1; j += 2 {
				v, u := w1.At(r, c*n1+j), w1.At(r, c*n1+j+1)
				if v != -u {
					t.Fatalf("first layer: component %d units %d, %d from input %d: %v, %v are not a ± pair", c, j, j+1, r, v, u)
				}
				ss += float64(v) * float64(v)
			}
		}
	}
	if v := ss / float64(40*10*n1/2); math.Abs(v*40-1) > 0.1 {
		t.Fatalf("first layer variance %v, want 1/d = %v", v, 1.0/40)
	}
	for i := 2; i <= l.L; i++ {
		w, in, out := l.W[i], l.n[i-1], l.n[i]
		ss, cnt := 0.0, 0
		for r := 0; r < in; r += 2 {
			for j := 0; j < out; j += 2 {
				on, off := w.At(r, j), w.At(r+1, j)
				if on < 0 || off < 0 || (on != 0 && off != 0) {
					t.Fatalf("layer %d block (%d,%d): %v, %v are not relu(w), relu(−w)", i, r, j, on, off)
				}
				if out > 1 && (w.At(r, j+1) != off || w.At(r+1, j+1) != on) {
					t.Fatalf("layer %d block (%d,%d) is not [[relu(w), relu(−w)], [relu(−w), relu(w)]]", i, r, j)
				}
				v := float64(on - off)
				ss += v * v
				cnt++
			}
		}
		if v := ss / float64(cnt); math.Abs(v*float64(in)/4-1) > 0.15 {
			t.Fatalf("layer %d: W⁰ variance %v, want 4/fan_in = %v", i, v, 4/float64(in))
		}
	}
	for i := 1; i < l.L; i++ {
		for c := range 10 {
			row := l.T[i].Row(c)
			for j := 0; j < len(row); j += 2 {
				if (row[j] != 1 && row[j] != -1) || row[j+1] != -row[j] {
					t.Fatalf("gate vectors of layer %d component %d units %d, %d: %v, %v", i, c, j, j+1, row[j], row[j+1])
				}
			}
		}
	}
	for i := 1; i <= l.L; i++ {
		for _, v := range l.B[i].Data {
			if v != 0 {
				t.Fatalf("layer %d bias starts at %v, want 0", i, v)
			}
		}
	}
	o.Weights = WeightsMixed
	m, err := New(engine(t), ModeGEVB, o, shape, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= m.L; i++ {
		want := 2 / float64(m.n[i-1])
		if i == 1 {
			want = 1 / float64(m.n[0])
		}
		var ss float64
		neg := 0
		for _, v := range m.W[i].Data {
			ss += float64(v) * float64(v)
			if v < 0 {
				neg++
			}
		}
		got := ss / float64(len(m.W[i].Data))
		if math.Abs(got/want-1) > 0.15 || neg == 0 {
			t.Fatalf("mixed layer %d: variance %v (want %v), %d negative weights", i, got, want, neg)
		}
	}
}

// The gate is H(Σ_k t_k z_k) with H(0) = 1: with all weights and biases zero every gate is
// open; a unit whose sum is negative is closed and its whole vector zeroed.
func TestGateHeavisideAtZero(t *testing.T) {
	l := newLearner(t, ModeGEVB, smallOptions(WeightsMixed), 4, 1)
	for i := 1; i <= l.L; i++ {
		mat32.Zero(l.W[i])
	}
	b := batch(4, 6, 1)
	l.forward(&l.step, b.X)
	for i := 1; i < l.L; i++ {
		for r := range 4 {
			for j, v := range l.step.mask[i].Row(r) {
				if v != 1 {
					t.Fatalf("layer %d row %d unit %d: gate %v at a zero sum, want H(0) = 1", i, r, j, v)
				}
			}
		}
	}
	// Bias of component 0 only: the pair (t, −t) sees sums s and −s: one opens, one closes.
	mat32.Zero(l.B[1])
	for j := range l.n[1] {
		l.B[1].Set(0, j, 1)
	}
	l.forward(&l.step, b.X)
	for j := range l.n[1] {
		want := float32(0)
		if l.T[1].At(0, j) > 0 {
			want = 1
		}
		if got := l.step.mask[1].At(0, j); got != want {
			t.Fatalf("unit %d: gate %v with t_0 = %v and z_0 = 1, want %v", j, got, l.T[1].At(0, j), want)
		}
		if want == 0 && l.step.a[1].At(0, j) != 0 {
			t.Fatalf("unit %d: closed gate but activity %v", j, l.step.a[1].At(0, j))
		}
	}
}

// Inputs "signed" map x to 2x − 1 (the reference checks the whole forward pass); "raw" and
// "signed" give different logits, so the option is not silently ignored.
func TestInputsOption(t *testing.T) {
	b := batch(3, 6, 2)
	var s [2]mat32.Matrix
	for k, in := range []string{InputsSigned, InputsRaw} {
		o := smallOptions(WeightsMixed)
		o.Inputs = in
		l := newLearner(t, ModeGEVB, o, 3, 4)
		s[k] = mat32.New(3, classes)
		l.Predict(b.X, s[k])
		p := refFrom(l).forward(rows(b.X))
		if !near(float64(s[k].At(1, 1)), p.logits[1][1], 1e-5) {
			t.Fatalf("%s: logit %v, reference %v", in, s[k].At(1, 1), p.logits[1][1])
		}
	}
	if s[0].At(1, 1) == s[1].At(1, 1) {
		t.Fatal("signed and raw inputs gave the same logits")
	}
}

// Seeded runs are reproducible bit for bit, and a run resumed from a checkpoint (weights,
// Adam's moments and step count) continues exactly as the uninterrupted one; Predict is
// deterministic and changes nothing.
func TestDeterministicAndExactResume(t *testing.T) {
	for _, mode := range []Mode{ModeGEVB, ModeBP} {
		o := smallOptions(WeightsNonnegative)
		a := newLearner(t, mode, o, 8, 21)
		c := newLearner(t, mode, o, 8, 21)
		for s := range 3 {
			a.Step(batch(8, 6, uint64(s)), learn.At{})
			c.Step(batch(8, 6, uint64(s)), learn.At{})
		}
		ck := checkpoint.New()
		if err := a.Save(ck); err != nil {
			t.Fatal(err)
		}
		r := newLearner(t, mode, o, 8, 99) // another seed: everything must come from ck
		if err := r.Load(ck); err != nil {
			t.Fatal(err)
		}
		for s := 3; s < 6; s++ {
			la, _ := a.Step(batch(8, 6, uint64(s)), learn.At{})
			lc, _ := c.Step(batch(8, 6, uint64(s)), learn.At{})
			lr, _ := r.Step(batch(8, 6, uint64(s)), learn.At{})
			if la != lc || la != lr {
				t.Fatalf("mode %d step %d: losses %v, %v (same seed), %v (resumed)", mode, s, la, lc, lr)
			}
		}
		for i, p := range a.params {
			for j, v := range p.Data {
				if v != c.params[i].Data[j] || v != r.params[i].Data[j] {
					t.Fatalf("mode %d: parameter %d differs after resume", mode, i)
				}
			}
		}
		x := batch(10, 6, 50).X
		s1, s2 := mat32.New(10, classes), mat32.New(10, classes)
		a.Predict(x, s1)
		a.Predict(x, s2)
		for j := range s1.Data {
			if s1.Data[j] != s2.Data[j] {
				t.Fatal("Predict is not deterministic")
			}
		}
	}
}

// A checkpoint of another network is refused before anything changes.
func TestLoadRefusesOtherShapes(t *testing.T) {
	a := newLearner(t, ModeGEVB, smallOptions(WeightsMixed), 4, 1)
	o := smallOptions(WeightsMixed)
	o.Sizes = []int{6, 10, 4}
	other := newLearner(t, ModeGEVB, o, 4, 1)
	ck := checkpoint.New()
	if err := other.Save(ck); err != nil {
		t.Fatal(err)
	}
	before := a.W[1].Clone()
	if err := a.Load(ck); err == nil {
		t.Fatal("loaded a checkpoint of another network")
	}
	for j, v := range before.Data {
		if a.W[1].Data[j] != v {
			t.Fatal("a refused checkpoint changed the weights")
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, mode := range []Mode{ModeGEVB, ModeBP} {
		l := newLearner(t, mode, smallOptions(WeightsNonnegative), 8, 1)
		b := batch(8, 6, 1)
		l.Step(b, learn.At{})
		if n := testing.AllocsPerRun(10, func() { l.Step(b, learn.At{}) }); n != 0 {
			t.Fatalf("mode %d: Step allocates %v times", mode, n)
		}
		s := mat32.New(8, classes)
		if n := testing.AllocsPerRun(10, func() { l.Predict(b.X, s) }); n != 0 {
			t.Fatalf("Predict allocates %v times", n)
		}
	}
}

// Both rules learn a small separable problem; GEVB's probe reports sign match 1 in a
// nonnegative network on one row and gate activity in (0, 1).
func TestLearnsAndProbes(t *testing.T) {
	for _, mode := range []Mode{ModeGEVB, ModeBP} {
		o := smallOptions(WeightsNonnegative)
		o.Sizes = []int{6, 16, 8}
		l := newLearner(t, mode, o, 30, 3)
		rng := rand.New(rand.NewPCG(5, 5))
		proto := mat32.New(classes, 6)
		for j := range proto.Data {
			proto.Data[j] = float32(rng.Float64())
		}
		make := func(n int, seed uint64) learn.Batch {
			r := rand.New(rand.NewPCG(seed, 1))
			b := learn.Batch{X: mat32.New(n, 6), Labels: make([]uint8, n)}
			for i := range n {
				c := r.IntN(classes)
				b.Labels[i] = uint8(c)
				for j := range 6 {
					b.X.Set(i, j, proto.At(c, j)+0.05*float32(r.NormFloat64()))
				}
			}
			return b
		}
		for s := range 200 {
			l.Step(make(30, uint64(s)), learn.At{})
		}
		test := make(200, 999)
		if ev := l.Evaluate(test.X, test.Labels); ev.Acc < 0.95 {
			t.Fatalf("mode %d: accuracy %v after 200 steps on separable data", mode, ev.Acc)
		}
		one := make(1, 7)
		p := l.Probe(one)
		if v := p.Scalars["sign_match_all"]; v != 1 {
			t.Fatalf("mode %d: sign match %v on one example of a nonnegative network, want 1", mode, v)
		}
		for i, v := range p.Layers["gate_activity"] {
			if v < 0 || v > 1 {
				t.Fatalf("layer %d gate activity %v", i+1, v)
			}
		}
		if len(p.Layers["update_angle_deg"]) != l.L || len(p.Layers["gate_activity"]) != l.L-1 {
			t.Fatalf("probe series lengths %d, %d", len(p.Layers["update_angle_deg"]), len(p.Layers["gate_activity"]))
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.LR = math.NaN() }, "lr"},
		{func(o *Options) { o.LR = 0 }, "lr"},
		{func(o *Options) { o.Beta1 = 1 }, "beta1"},
		{func(o *Options) { o.Beta2 = -0.1 }, "beta2"},
		{func(o *Options) { o.Eps = 0 }, "eps"},
		{func(o *Options) { o.Sizes = []int{784} }, "sizes"},
		{func(o *Options) { o.Sizes = []int{784, 1023} }, "odd"},
		{func(o *Options) { o.Sizes = []int{784, 0} }, "sizes"},
		{func(o *Options) { o.Sizes = []int{784, 1 << 22} }, "sizes"},
		{func(o *Options) { o.Weights = "positive" }, "weights"},
		{func(o *Options) { o.Projection = "relu" }, "projection"},
		{func(o *Options) { o.Inputs = "unit" }, "inputs"},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.set(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want a one-line error naming %q, got %v", c.want, err)
		}
	}
	o := DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(engine(t), ModeGEVB, o, learn.Shape{Inputs: 100, Classes: 10, BatchRows: 1}, 1); err == nil {
		t.Fatal("built a network whose input width differs from the data's")
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{RuleGEVB, RuleBP} {
		r, err := learn.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		o := smallOptions(WeightsMixed)
		l, err := r.New(engine(t), &o, learn.Shape{Inputs: 6, Classes: classes, BatchRows: 2, EvalRows: 2}, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := ModeGEVB
		if name == RuleBP {
			want = ModeBP
		}
		if got := l.(*Learner).Mode(); got != want {
			t.Fatalf("rule %s builds mode %d", name, got)
		}
		if r.Memory(&o, learn.Shape{Inputs: 6, Classes: classes, BatchRows: 2}) <= 0 {
			t.Fatalf("rule %s: no memory estimate", name)
		}
	}
}

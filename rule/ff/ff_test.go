package ff

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// newEngine returns a one-thread engine closed at the end of the test.
func newEngine(t testing.TB, threads int) *mat32.Engine {
	t.Helper()
	e, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// toy is a separable problem: class c is a fixed random prototype in the pixels after
// the label pixels, plus Gaussian noise. The label pixels hold junk the learner must
// overwrite.
type toy struct {
	classes, inputs int
	protos          [][]float32
}

func newToy(classes, dims int, seed uint64) toy {
	rng := rand.New(rand.NewPCG(seed, 7))
	tt := toy{classes: classes, inputs: classes + dims}
	for range classes {
		p := make([]float32, dims)
		for j := range p {
			p[j] = float32(rng.NormFloat64())
		}
		tt.protos = append(tt.protos, p)
	}
	return tt
}

// batch draws n labelled examples.
func (tt toy) batch(rng *rand.Rand, n int) learn.Batch {
	b := learn.Batch{X: mat32.New(n, tt.inputs), Labels: make([]uint8, n)}
	for r := range n {
		c := rng.IntN(tt.classes)
		b.Labels[r] = uint8(c)
		row := b.X.Row(r)
		for j := range tt.classes {
			row[j] = 0.7 // junk in the label pixels
		}
		for j, v := range tt.protos[c] {
			row[tt.classes+j] = v + float32(rng.NormFloat64())
		}
	}
	return b
}

// newLearner builds a learner for the toy with the given hidden widths and options.
func newLearner(t testing.TB, e *mat32.Engine, tt toy, batch int, seed uint64, set func(*Options), hidden ...int) *Learner {
	t.Helper()
	o := DefaultOptions()
	o.Sizes = append([]int{tt.inputs}, hidden...)
	if set != nil {
		set(&o)
	}
	l, err := New(e, o, learn.Shape{Inputs: tt.inputs, Classes: tt.classes, BatchRows: batch, EvalRows: 300}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// sameState reports the first tensor whose bits differ between a and b, or "".
func sameState(a, b *Learner) string {
	pa, pb := a.params(), b.params()
	for k := range pa {
		x, y := pa[k].M.Data, pb[k].M.Data
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(y[j]) {
				return pa[k].Label
			}
		}
	}
	return ""
}

// at returns the position of global step g in a run of many epochs.
func at(g int) learn.At {
	return learn.At{Epoch: g / 100, Epochs: 50, Step: g % 100, StepsPerEpoch: 100, Global: int64(g)}
}

// Property 1: a negative label never equals the true one, whatever the logits (hard) and
// for uniform draws, directly and through Step, also when the classifier is certain.
func TestNegativeNeverTrue(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(10, 20, 1)
	for _, mode := range []string{NegativesHard, NegativesUniform} {
		l := newLearner(t, e, tt, 16, 1, func(o *Options) { o.Negatives = mode }, 32, 32)
		rng := rand.New(rand.NewPCG(3, 3))
		z := make([]float32, 10)
		inf, nan := float32(math.Inf(1)), float32(math.NaN())
		for trial := range 20000 {
			y := rng.IntN(10)
			for c := range z {
				z[c] = float32(rng.NormFloat64() * 5)
			}
			switch trial % 6 {
			case 1:
				z[y] = 1e4 // softmax(z) is exactly one-hot on y in float32 and float64
			case 2:
				z[y] = inf
			case 3:
				z[rng.IntN(10)] = nan
			case 4:
				for c := range z {
					z[c] = float32(math.Inf(-1))
				}
			case 5:
				clear(z)
			}
			l.pcg.Seed(uint64(trial), 1)
			if c := l.negative(z, y); c == y || c < 0 || c >= 10 {
				t.Fatalf("%s: negative %d for true class %d, logits %v", mode, c, y, z)
			}
		}
		// Through Step: train, then make the classifier (nearly) certain and keep going.
		g := 0
		for phase := range 2 {
			if phase == 1 {
				mat32.Scale(1e3, l.V)
			}
			for range 150 {
				b := tt.batch(rng, 16)
				l.Step(b, at(g))
				g++
				for r, y := range b.Labels {
					if l.step.neg[r] == y {
						t.Fatalf("%s: step %d row %d: negative label equals the true one %d", mode, g, r, y)
					}
				}
			}
		}
		if mode == NegativesHard {
			// The certain classifier puts (nearly) all its mass on one class per example.
			b := tt.batch(rng, 16)
			l.passes(b, at(g))
			certain := 0
			for r := range b.X.Rows {
				if p := l.step.probs.Row(r); p[argmax(p)] > 0.999 {
					certain++
				}
			}
			if certain < 12 {
				t.Errorf("only %d of 16 rows with a certain classifier; the test did not test that case", certain)
			}
		}
	}
}

// The hard negatives follow softmax(z) over the wrong classes; uniform ones are uniform.
func TestNegativeDistribution(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(3, 4, 1)
	const draws = 40000
	for _, c := range []struct {
		mode string
		z    []float32
		y    int
		want []float64
	}{
		{NegativesHard, []float32{0, float32(math.Log(2)), 30}, 2, []float64{1. / 3, 2. / 3, 0}},
		{NegativesHard, []float32{-3, 5, float32(5 + math.Log(3))}, 0, []float64{0, 0.25, 0.75}},
		{NegativesUniform, []float32{0, 9, 1}, 1, []float64{0.5, 0, 0.5}},
	} {
		l := newLearner(t, e, tt, 4, 1, func(o *Options) { o.Negatives = c.mode }, 8, 8)
		l.pcg.Seed(5, 5)
		count := make([]float64, 3)
		for range draws {
			count[l.negative(c.z, c.y)]++
		}
		for k := range count {
			if got := count[k] / draws; math.Abs(got-c.want[k]) > 0.012 {
				t.Errorf("%s %v true %d: class %d drawn %.4f of the time, want %.4f", c.mode, c.z, c.y, k, got, c.want[k])
			}
		}
	}
}

// objective64 is a layer's own objective in float64, (Σ_pos log p + Σ_neg log(1−p))/N,
// for inputs x (positive rows first, then as many negative rows), weights w (in×out)
// and bias b.
func objective64(x [][]float64, w [][]float64, b []float64, threshold, temp float64) float64 {
	n := len(x) / 2
	var c float64
	for r, xr := range x {
		var g float64
		for j := range b {
			a := b[j]
			for k, v := range xr {
				a += v * w[k][j]
			}
			a = max(a, 0)
			g += a * a
		}
		// log p = −softplus(−u) and log(1−p) = −softplus(u) for p = σ(u), computed stably.
		u := (g - threshold) / temp
		if r < n {
			u = -u
		}
		c -= max(u, 0) + math.Log1p(math.Exp(-math.Abs(u)))
	}
	return c / float64(n)
}

// Property 2: with the peer term off, each layer's G equals (T/2) times the gradient of its
// own objective (Σ_pos log p + Σ_neg log(1−p))/N, checked by central finite differences
// in float64: the rule's dC/da = (1−p)h drops the factor 2/T of d(Σh²/T)/dh.
func TestLocalUpdateIsLayerObjectiveGradient(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(3, 5, 2)
	const temp = 1.5
	l := newLearner(t, e, tt, 4, 9, func(o *Options) {
		o.PeerLambda, o.Smoothing, o.Temperature, o.InitScale = 0, 0, temp, 1.6
	}, 6, 5)
	b := tt.batch(rand.New(rand.NewPCG(1, 2)), 4)
	n := 4
	if _, _, ok := l.passes(b, at(0)); !ok {
		t.Fatal("non-finite pass")
	}
	l.localGradients(n)
	for i := range l.layers {
		ly := &l.layers[i]
		xin := l.step.t.input(l.layers, i).Slice(n, 3*n, 0, ly.in)
		x := make([][]float64, 2*n)
		for r := range x {
			for _, v := range xin.Row(r) {
				x[r] = append(x[r], float64(v))
			}
		}
		w := make([][]float64, ly.in)
		for k := range w {
			for _, v := range ly.W.Row(k) {
				w[k] = append(w[k], float64(v))
			}
		}
		bias := make([]float64, ly.out)
		for j, v := range ly.b {
			bias[j] = float64(v)
		}
		// Most rows' goodness must be near enough the threshold for p to be informative.
		informative := 0
		for _, p := range l.step.p[i][:2*n] {
			if p > 0.01 && p < 0.99 {
				informative++
			}
		}
		if informative < n {
			t.Errorf("layer %d: only %d of %d rows with p in (0.01, 0.99): %v", i+1, informative, 2*n, l.step.p[i][:2*n])
		}
		const h = 1e-6
		check := func(what string, got float32, v *float64) {
			old := *v
			*v = old + h
			up := objective64(x, w, bias, ly.threshold, temp)
			*v = old - h
			down := objective64(x, w, bias, ly.threshold, temp)
			*v = old
			want := temp / 2 * (up - down) / (2 * h)
			if math.Abs(float64(got)-want) > 2e-3*math.Abs(want)+1e-5 {
				t.Errorf("layer %d %s: G = %.7g, (T/2)·finite difference = %.7g", i+1, what, got, want)
			}
		}
		nonzero := 0
		for k := range ly.in {
			for j := range ly.out {
				if ly.gW.At(k, j) != 0 {
					nonzero++
				}
				check(fmt.Sprintf("W[%d,%d]", k, j), ly.gW.At(k, j), &w[k][j])
			}
		}
		for j := range ly.out {
			check(fmt.Sprintf("b[%d]", j), ly.gb[j], &bias[j])
		}
		if nonzero < ly.in*ly.out/3 {
			t.Errorf("layer %d: only %d of %d gradient entries nonzero; the check is too weak", i+1, nonzero, ly.in*ly.out)
		}
	}
}

// Property 3: the peer term reaches units the ReLU has switched off for the whole batch:
// such a unit's weights and bias change when λ > 0 (and do not when λ = 0).
func TestPeerTermRevivesDeadUnits(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(3, 5, 3)
	b := tt.batch(rand.New(rand.NewPCG(4, 4)), 8)
	const dead = 2
	for _, lambda := range []float64{0.03, 0} {
		l := newLearner(t, e, tt, 8, 4, func(o *Options) { o.PeerLambda = lambda }, 6, 5)
		ly := &l.layers[0]
		for k := range ly.in {
			ly.W.Set(k, dead, 0)
		}
		ly.b[dead] = -1 // a = −1 on every row: the unit is off for every pass
		l.Step(b, at(0))
		for r := range 3 * b.X.Rows {
			if l.step.t.h[0].At(r, dead) != 0 {
				t.Fatalf("unit %d active on row %d", dead, r)
			}
		}
		if m := ly.m; m[dead] == m[0] && m[dead] == m[1] {
			t.Fatalf("peer means all equal (%v): the peer term is 0 anyway", m)
		}
		changed := ly.b[dead] != -1
		for k := range ly.in {
			changed = changed || ly.W.At(k, dead) != 0
		}
		if changed != (lambda > 0) {
			t.Errorf("λ = %g: dead unit's incoming weights changed = %v, want %v", lambda, changed, lambda > 0)
		}
		if lambda > 0 && ly.b[dead] <= -1 {
			t.Errorf("λ = %g: dead unit's bias %g, want it raised above −1 (its mean activity is below the layer's)", lambda, ly.b[dead])
		}
	}
}

// Property 4: no gradient crosses layers. Two learners that differ only in layer 2 (its
// weights and its threshold) give layer 1 the same update, bit for bit, step after step.
func TestNoGradientCrossesLayers(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 8, 5)
	set := func(o *Options) { o.Negatives = NegativesUniform }
	a := newLearner(t, e, tt, 10, 6, set, 16, 12, 8)
	c := newLearner(t, e, tt, 10, 6, set, 16, 12, 8)
	l2 := &c.layers[1]
	for k := range l2.W.Data {
		l2.W.Data[k] = 3*l2.W.Data[k] + 0.1
	}
	l2.threshold = 3
	rng := rand.New(rand.NewPCG(6, 6))
	for g := range 4 {
		b := tt.batch(rng, 10)
		a.Step(b, at(g))
		c.Step(b, at(g))
		for _, w := range [][2][]float32{
			{a.layers[0].W.Data, c.layers[0].W.Data}, {a.layers[0].gW.Data, c.layers[0].gW.Data},
			{a.layers[0].b, c.layers[0].b}, {a.layers[0].m, c.layers[0].m},
		} {
			for k := range w[0] {
				if math.Float32bits(w[0][k]) != math.Float32bits(w[1][k]) {
					t.Fatalf("step %d: layer 1 differs at %d: %g vs %g", g, k, w[0][k], w[1][k])
				}
			}
		}
	}
	if mat32.Dot(a.layers[1].gW, c.layers[1].gW) == mat32.Dot(a.layers[1].gW, a.layers[1].gW) {
		t.Error("layer 2's updates are the same too: the test changed nothing")
	}
}

// Property 5: a learner loaded from a checkpoint (encoded and decoded) continues bit for
// bit like the original.
func TestSaveLoadResumesBitForBit(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 8, 7)
	a := newLearner(t, e, tt, 10, 8, nil, 16, 12)
	rng := rand.New(rand.NewPCG(8, 8))
	for g := range 3 {
		a.Step(tt.batch(rng, 10), at(g))
	}
	ck := checkpoint.New()
	if err := a.Save(ck); err != nil {
		t.Fatal(err)
	}
	for _, name := range ck.Names() {
		if !strings.HasPrefix(name, "ff.") {
			t.Errorf("tensor %q not prefixed ff.", name)
		}
	}
	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, ck); err != nil {
		t.Fatal(err)
	}
	ck2, err := checkpoint.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b := newLearner(t, e, tt, 10, 8, nil, 16, 12)
	if sameState(a, b) == "" {
		t.Fatal("a fresh learner equals the trained one: the test proves nothing")
	}
	if err := b.Load(ck2); err != nil {
		t.Fatal(err)
	}
	for g := 3; g < 5; g++ {
		batch := tt.batch(rng, 10)
		la, ca := a.Step(batch, at(g))
		lb, cb := b.Step(batch, at(g))
		if math.Float64bits(la) != math.Float64bits(lb) || ca != cb {
			t.Errorf("step %d: loss %v/%d vs %v/%d", g, la, ca, lb, cb)
		}
	}
	if d := sameState(a, b); d != "" {
		t.Errorf("after resuming, %s differs", d)
	}
}

// Load checks every shape before it changes anything.
func TestLoadRejectsOtherShapes(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 8, 7)
	a := newLearner(t, e, tt, 10, 8, nil, 16, 12)
	ck := checkpoint.New()
	if err := a.Save(ck); err != nil {
		t.Fatal(err)
	}
	b := newLearner(t, e, tt, 10, 9, nil, 16, 13)
	before := newLearner(t, e, tt, 10, 9, nil, 16, 13)
	err := b.Load(ck)
	if err == nil || !strings.Contains(err.Error(), "ff layer 2 W") {
		t.Errorf("loading 16-12 into 16-13: error %v, want one naming ff layer 2 W", err)
	}
	if d := sameState(b, before); d != "" {
		t.Errorf("a failed Load changed %s", d)
	}
	ck.Delete("ff.softmax.w_grad")
	if err := a.Load(ck); err == nil {
		t.Error("loading without the softmax gradient succeeded")
	}
}

// Property 6: on a separable toy problem both prediction modes learn well above chance in
// a few hundred steps.
func TestLearnsToyProblem(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 16, 11)
	l := newLearner(t, e, tt, 20, 12, nil, 48, 48)
	rng := rand.New(rand.NewPCG(12, 12))
	test := tt.batch(rng, 300)
	for g := range 400 {
		l.Step(tt.batch(rng, 20), learn.At{Epoch: g / 40, Epochs: 10, Step: g % 40, StepsPerEpoch: 40, Global: int64(g)})
	}
	ev := l.Evaluate(test.X, test.Labels)
	t.Logf("goodness %.3f softmax %.3f loss %.3f", ev.Scalars["acc_goodness"], ev.Scalars["acc_softmax"], ev.Loss)
	for _, k := range []string{"acc_goodness", "acc_softmax"} {
		if ev.Scalars[k] < 0.8 {
			t.Errorf("%s = %.3f after 400 steps, want at least 0.8 (chance 0.25)", k, ev.Scalars[k])
		}
	}
	if ev.Acc != ev.Scalars["acc_goodness"] {
		t.Errorf("Acc %g is not the goodness accuracy %g", ev.Acc, ev.Scalars["acc_goodness"])
	}
	if !(ev.Loss < math.Log(4)) {
		t.Errorf("softmax loss %g, want below chance's %g", ev.Loss, math.Log(4))
	}
	// Predict agrees with Evaluate's chosen mode, in both modes.
	scores := mat32.New(test.X.Rows, 4)
	for _, mode := range []string{PredictGoodness, PredictSoftmax} {
		l.opts.Predict = mode
		l.Predict(test.X, scores)
		ok := 0
		for r, y := range test.Labels {
			if argmax(scores.Row(r)) == int(y) {
				ok++
			}
		}
		if got, want := float64(ok)/300, l.Evaluate(test.X, test.Labels).Acc; got != want {
			t.Errorf("predict %s: Predict's accuracy %g, Evaluate's %g", mode, got, want)
		}
	}
}

// Property 7: Step and Predict allocate nothing after the first call.
func TestStepAndPredictAllocateNothing(t *testing.T) {
	e := newEngine(t, 2)
	tt := newToy(5, 30, 13)
	rng := rand.New(rand.NewPCG(13, 13))
	for _, neg := range []string{NegativesHard, NegativesUniform} {
		for _, mode := range []string{PredictGoodness, PredictSoftmax} {
			l := newLearner(t, e, tt, 32, 14, func(o *Options) { o.Negatives, o.Predict = neg, mode }, 64, 64, 64)
			b := tt.batch(rng, 32)
			small := tt.batch(rng, 7)
			x := tt.batch(rng, 300).X // more rows than one evaluation chunk
			scores := mat32.New(300, 5)
			g := 0
			if n := testing.AllocsPerRun(5, func() {
				l.Step(b, at(g))
				l.Step(small, at(g+1))
				g += 2
			}); n != 0 {
				t.Errorf("%s/%s: Step allocates %v times per call", neg, mode, n)
			}
			if n := testing.AllocsPerRun(3, func() { l.Predict(x, scores) }); n != 0 {
				t.Errorf("%s/%s: Predict allocates %v times per call", neg, mode, n)
			}
		}
	}
}

// Property 8: two learners with the same seed end with the same parameters, bit for bit;
// another seed gives others.
func TestSeededReproducibility(t *testing.T) {
	e := newEngine(t, 2)
	tt := newToy(4, 8, 15)
	run := func(seed uint64) *Learner {
		l := newLearner(t, e, tt, 10, seed, nil, 16, 12)
		rng := rand.New(rand.NewPCG(16, 16))
		for g := range 6 {
			l.Step(tt.batch(rng, 10), at(g))
		}
		return l
	}
	a, b, c := run(1), run(1), run(2)
	if d := sameState(a, b); d != "" {
		t.Errorf("same seed: %s differs", d)
	}
	if sameState(a, c) == "" {
		t.Error("seeds 1 and 2 gave the same parameters")
	}
}

// Gain reproduces the released code's epsgain, (1 + 2(E − epoch))/E past the first half
// of the 1-based epochs.
func TestGainMatchesReleasedSchedule(t *testing.T) {
	for epochs := 1; epochs <= 13; epochs++ {
		for e := range epochs {
			epoch := e + 1 // the Matlab counts from 1
			want := 1.0
			if float64(epoch) > float64(epochs)/2 {
				want = float64(1+2*(epochs-epoch)) / float64(epochs)
			}
			got := Gain(true, learn.At{Epoch: e, Epochs: epochs, Step: 5, StepsPerEpoch: 10})
			if math.Abs(got-want) > 1e-15 {
				t.Errorf("%d epochs, epoch %d: gain %g, want %g", epochs, e, got, want)
			}
		}
	}
	if g := Gain(false, learn.At{Epoch: 9, Epochs: 10}); g != 1 {
		t.Errorf("without cooldown: gain %g", g)
	}
	if g := Gain(true, learn.At{Epoch: 12, Epochs: 10}); g != 0 {
		t.Errorf("past the planned epochs: gain %g, want 0", g)
	}
}

// A step that meets a non-finite value returns a NaN loss and changes nothing; NonFinite
// names the first bad tensor.
func TestNonFinite(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 8, 17)
	l := newLearner(t, e, tt, 10, 18, nil, 16, 12)
	ref := newLearner(t, e, tt, 10, 18, nil, 16, 12)
	b := tt.batch(rand.New(rand.NewPCG(1, 1)), 10)
	b.X.Set(3, 6, float32(math.Inf(1)))
	if loss, _ := l.Step(b, at(0)); !math.IsNaN(loss) {
		t.Errorf("loss %v on an infinite input, want NaN", loss)
	}
	if d := sameState(l, ref); d != "" {
		t.Errorf("a failed step changed %s", d)
	}
	if s := l.NonFinite(); s != "" {
		t.Errorf("NonFinite = %q on a finite learner", s)
	}
	l.layers[1].W.Set(2, 3, float32(math.NaN()))
	if s := l.NonFinite(); s != "ff layer 2 W" {
		t.Errorf("NonFinite = %q, want ff layer 2 W", s)
	}
}

// Probe's series have one value per layer and mean what they say.
func TestProbe(t *testing.T) {
	e := newEngine(t, 1)
	tt := newToy(4, 16, 19)
	l := newLearner(t, e, tt, 20, 20, func(o *Options) { o.LR = 0.05 }, 32, 24, 16)
	rng := rand.New(rand.NewPCG(20, 20))
	for g := range 200 {
		l.Step(tt.batch(rng, 20), at(g))
	}
	ly := &l.layers[2]
	for k := range ly.in {
		ly.W.Set(k, 0, -1)
	}
	ly.b[0] = -1 // unit 0 of layer 3 is dead on every row
	train := tt.batch(rng, 300)
	p := l.Probe(train)
	for _, k := range []string{"goodness_pos", "goodness_neg", "acc_goodness_layer", "dead_fraction"} {
		if len(p.Layers[k]) != 3 {
			t.Errorf("%s has %d values, want 3", k, len(p.Layers[k]))
		}
	}
	for i := range 3 {
		if gp, gn := p.Layers["goodness_pos"][i], p.Layers["goodness_neg"][i]; !(gp > gn) {
			t.Errorf("layer %d: positive goodness %g not above negative %g after training", i+1, gp, gn)
		}
		if a := p.Layers["acc_goodness_layer"][i]; a < 0.5 {
			t.Errorf("layer %d: goodness accuracy %g", i+1, a)
		}
	}
	if d := p.Layers["dead_fraction"][2]; d < 1.0/16 {
		t.Errorf("layer 3 dead fraction %g with a unit forced off, want at least 1/16", d)
	}
	ev := l.Evaluate(train.X, train.Labels)
	for _, k := range []string{"acc_goodness", "acc_softmax"} {
		if p.Scalars["train_"+k] != ev.Scalars[k] {
			t.Errorf("Probe train_%s = %g, Evaluate %g", k, p.Scalars["train_"+k], ev.Scalars[k])
		}
	}
	if math.Abs(p.Scalars["train_loss_softmax"]-ev.Loss) > 1e-12 {
		t.Errorf("Probe loss %g, Evaluate %g", p.Scalars["train_loss_softmax"], ev.Loss)
	}
}

// The rule is registered with its defaults and builds through the registry.
func TestRegistry(t *testing.T) {
	r, err := learn.Lookup("ff")
	if err != nil {
		t.Fatal(err)
	}
	o, ok := r.Options().(*Options)
	if !ok || o.LR != 0.01 || o.Negatives != NegativesHard || len(o.Sizes) != 4 {
		t.Fatalf("registered options %#v", r.Options())
	}
	e := newEngine(t, 1)
	s := learn.Shape{Inputs: 784, Classes: 10, BatchRows: 100, EvalRows: 1000}
	l, err := r.New(e, o, s, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := "forward-forward [784 1000 1000 1000] (2.8M weights), negatives hard, predict goodness"
	if got := l.(learn.Describer).Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	var _ learn.Evaluator = l.(*Learner)
	var _ learn.Prober = l.(*Learner)
	if _, err := r.New(e, DefaultOptions(), s, 1); err == nil {
		t.Error("New accepted options by value")
	}
	s.Inputs = 100
	if _, err := r.New(e, o, s, 1); err == nil || !strings.Contains(err.Error(), "sizes") {
		t.Errorf("New with 100 inputs for sizes[0] 784: %v", err)
	}
}

// Validate names the bad option and its range.
func TestValidate(t *testing.T) {
	d := DefaultOptions()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]func(*Options){
		"sizes":               func(o *Options) { o.Sizes = []int{784, 1000} },
		"lr":                  func(o *Options) { o.LR = math.NaN() },
		"weight_cost":         func(o *Options) { o.WeightCost = -1 },
		"smoothing":           func(o *Options) { o.Smoothing = 1 },
		"peer_lambda":         func(o *Options) { o.PeerLambda = math.Inf(1) },
		"peer_decay":          func(o *Options) { o.PeerDecay = -0.1 },
		"temperature":         func(o *Options) { o.Temperature = 0 },
		"softmax_lr":          func(o *Options) { o.SoftmaxLR = 0 },
		"softmax_weight_cost": func(o *Options) { o.SoftmaxWeightCost = 2 },
		"neutral_label":       func(o *Options) { o.NeutralLabel = -0.1 },
		"init_scale":          func(o *Options) { o.InitScale = 0 },
		"negatives":           func(o *Options) { o.Negatives = "random" },
		"predict":             func(o *Options) { o.Predict = "energy" },
	} {
		o := DefaultOptions()
		set(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming the option", name, err)
		}
	}
}

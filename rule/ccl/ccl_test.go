package ccl

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

func newLearner(t testing.TB, o Options, batch int, seed uint64) *Learner {
	l, err := New(engine(t), o, learn.Shape{Inputs: o.Sizes[0], Classes: o.Sizes[len(o.Sizes)-1], BatchRows: batch, EvalRows: 64}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func smallOptions(form string) Options {
	o := DefaultOptions()
	o.Sizes = []int{5, 4, 6, 4, 3}
	o.Form = form
	return o
}

// blobs returns n examples of k classes in d dimensions around separated centres.
func blobs(n, d, k int, seed uint64) learn.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	x, y := mat32.New(n, d), make([]uint8, n)
	for i := range n {
		y[i] = uint8(i % k)
		for j := range d {
			c := 0.0
			if j%k == int(y[i]) {
				c = 1.5
			}
			x.Set(i, j, float32(c+0.5*rng.NormFloat64()))
		}
	}
	return learn.Batch{X: x, Labels: y}
}

// computeGradients fills dF and dG for the batch without updating, returning the loss.
func computeGradients(l *Learner, b learn.Batch) float64 {
	l.feedback()
	t := &l.step
	l.forward(t, b.X)
	l.oneHot(t, b.Labels)
	var loss float64
	for i := 0; i < l.layers; i++ {
		loss += l.localLoss(t, b.X, i, b.X.Rows, true)
	}
	ce, _ := l.crossEntropy(t, b.Labels, true)
	l.gradients(t, b.X, b.X.Rows)
	return loss + ce
}

// ref64 is an independent float64 implementation of both networks and all losses.
type ref64 struct {
	form  string
	scale float64
	F, G  [][][]float64 // [l][i][j], index 0 unused
}

func toRef(l *Learner) *ref64 {
	r := &ref64{form: l.opts.Form, scale: l.opts.LossScale, F: make([][][]float64, l.layers+1), G: make([][][]float64, l.layers+1)}
	conv := func(m mat32.Matrix) [][]float64 {
		out := make([][]float64, m.Rows)
		for i := range out {
			out[i] = make([]float64, m.Cols)
			for j := range out[i] {
				out[i][j] = float64(m.At(i, j))
			}
		}
		return out
	}
	for i := 1; i <= l.layers; i++ {
		r.F[i], r.G[i] = conv(l.F[i]), conv(l.G[i])
	}
	return r
}

func matmul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for k := range b {
			for j := range b[0] {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

func elu64(m [][]float64) {
	for _, row := range m {
		for j, v := range row {
			if v <= 0 {
				row[j] = math.Expm1(v)
			}
		}
	}
}

// losses returns l_0 … l_{L−1} and then CE.
func (r *ref64) losses(x mat32.Matrix, y []uint8) []float64 {
	L := len(r.F) - 1
	h := make([][][]float64, L+1)
	h[0] = make([][]float64, x.Rows)
	for i := range h[0] {
		for _, v := range x.Row(i) {
			h[0][i] = append(h[0][i], float64(v))
		}
	}
	for l := 1; l <= L; l++ {
		h[l] = matmul(h[l-1], r.F[l])
		if l < L {
			elu64(h[l])
		}
	}
	K := len(r.F[L][0])
	C := make([][][]float64, L+1)
	C[L] = make([][]float64, K)
	for k := range K {
		C[L][k] = make([]float64, K)
		C[L][k][k] = 1
	}
	for l := L; l >= 1; l-- {
		C[l-1] = matmul(C[l], r.G[l])
		if l > 1 {
			elu64(C[l-1])
		}
	}
	N := float64(x.Rows)
	out := make([]float64, L+1)
	for l := 0; l < L; l++ {
		nl := float64(len(C[l][0]))
		var s float64
		for i := range h[l] {
			if r.form == FormPaper {
				for j := range h[l][i] {
					d := h[l][i][j] - C[l][y[i]][j]
					s += d * d
				}
				continue
			}
			for k := range K {
				var dot float64
				for j := range h[l][i] {
					dot += h[l][i][j] * C[l][k][j]
				}
				if k == int(y[i]) {
					dot--
				}
				s += dot * dot
			}
		}
		if r.form == FormPaper {
			out[l] = r.scale * s / (N * nl)
		} else {
			out[l] = r.scale * s / (N * float64(K)) / nl
		}
	}
	for i, row := range h[L] {
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		out[L] += (m + math.Log(s) - row[y[i]]) / N
	}
	return out
}

// TestGradientsMatchFiniteDifferences: every entry of every F_l and G_l gets, by hand, the
// derivative of the one loss that trains it (l_l for F_l, l < L; CE for F_L; l_{l−1} for
// G_l), with every other layer's activity held fixed; checked against central differences of
// an independent float64 implementation of the losses, in both forms.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, form := range []string{FormCode, FormPaper} {
		t.Run(form, func(t *testing.T) {
			o := smallOptions(form)
			o.LossScale = 3 // keeps the float32 gradients well above their rounding
			l := newLearner(t, o, 7, 3)
			b := blobs(7, 5, 3, 1)
			computeGradients(l, b)
			ref := toRef(l)
			const h = 1e-6
			check := func(name string, p [][]float64, g mat32.Matrix, loss int) {
				var worst float64
				for i := range p {
					for j := range p[i] {
						v := p[i][j]
						p[i][j] = v + h
						up := ref.losses(b.X, b.Labels)[loss]
						p[i][j] = v - h
						dn := ref.losses(b.X, b.Labels)[loss]
						p[i][j] = v
						fd := (up - dn) / (2 * h)
						got := float64(g.At(i, j))
						err := math.Abs(got-fd) / (math.Abs(fd) + 1e-3)
						worst = max(worst, err)
						if err > 2e-3 {
							t.Errorf("%s[%d][%d]: analytic %g, finite difference %g", name, i, j, got, fd)
						}
					}
				}
				t.Logf("%s: worst relative error %.2g", name, worst)
			}
			L := l.layers
			for i := 1; i <= L; i++ {
				loss := i // F_i is trained by l_i, F_L by CE (index L)
				check("F"+string(rune('0'+i)), ref.F[i], l.dF[i], loss)
				check("G"+string(rune('0'+i)), ref.G[i], l.dG[i], i-1)
			}
		})
	}
}

// TestNoGradientCrossesLayers: perturbing F_3 leaves the updates of F_1, F_2 and G_1 … G_3
// bit for bit unchanged (they see F_3 through nothing), and perturbing G_1 changes no
// update but G_1's own.
func TestNoGradientCrossesLayers(t *testing.T) {
	o := smallOptions(FormCode)
	b := blobs(6, 5, 3, 2)
	a, c := newLearner(t, o, 6, 5), newLearner(t, o, 6, 5)
	computeGradients(a, b)
	for k := range c.F[3].Data {
		c.F[3].Data[k] *= -1.7
	}
	computeGradients(c, b)
	same := func(what string, x, y mat32.Matrix, want bool) {
		eq := true
		for k := range x.Data {
			eq = eq && x.Data[k] == y.Data[k]
		}
		if eq != want {
			t.Errorf("%s: update unchanged = %v, want %v", what, eq, want)
		}
	}
	same("F1 after perturbing F3", a.dF[1], c.dF[1], true)
	same("F2 after perturbing F3", a.dF[2], c.dF[2], true)
	same("F3 after perturbing F3", a.dF[3], c.dF[3], false)
	for i := 1; i <= 3; i++ {
		same("G"+string(rune('0'+i))+" after perturbing F3", a.dG[i], c.dG[i], true)
	}
	same("G4 after perturbing F3", a.dG[4], c.dG[4], false) // through h_3, its paired activity

	d := newLearner(t, o, 6, 5)
	for k := range d.G[1].Data {
		d.G[1].Data[k] *= -1.3
	}
	computeGradients(d, b)
	for i := 1; i <= d.layers; i++ {
		same("F"+string(rune('0'+i))+" after perturbing G1", a.dF[i], d.dF[i], true)
		same("G"+string(rune('0'+i))+" after perturbing G1", a.dG[i], d.dG[i], i != 1)
	}
}

func norm(ms []mat32.Matrix) float64 {
	var s float64
	for _, m := range ms[1:] {
		for _, v := range m.Data {
			s += float64(v) * float64(v)
		}
	}
	return math.Sqrt(s)
}

// TestClippingIsPerGroup: with the clip between the two networks' gradient norms, the
// network with the larger norm is clipped to the bound and the other is not clipped at all
// (one joint clip would shrink both by one factor).
func TestClippingIsPerGroup(t *testing.T) {
	for _, scale := range []float64{1000, 0.01} { // feedback norm above, then below the forward one
		o := smallOptions(FormCode)
		o.LossScale = scale
		b := blobs(8, 5, 3, 4)
		ref := newLearner(t, o, 8, 9)
		computeGradients(ref, b)
		nF, nG := norm(ref.dF), norm(ref.dG)
		o.Clip = math.Sqrt(nF * nG)
		o.LR = 0.5
		l := newLearner(t, o, 8, 9)
		F0, G0 := cloneAll(l.F), cloneAll(l.G)
		l.Step(b, learn.At{})
		dF, dG := diffNorm(l.F, F0)/o.LR, diffNorm(l.G, G0)/o.LR
		big, small, rawSmall := dG, dF, nF
		if nF > nG {
			big, small, rawSmall = dF, dG, nG
		}
		if math.Abs(big-o.Clip) > 1e-3*o.Clip || math.Abs(small-rawSmall) > 1e-3*rawSmall {
			t.Errorf("scale %g: norms forward %g feedback %g, clip %g: steps forward %g feedback %g", scale, nF, nG, o.Clip, dF, dG)
		}
		if max(dF, dG) > o.Clip*(1+1e-4) {
			t.Errorf("a step exceeds the clip %g: %g, %g", o.Clip, dF, dG)
		}
	}
}

func cloneAll(ms []mat32.Matrix) []mat32.Matrix {
	out := make([]mat32.Matrix, len(ms))
	for i, m := range ms[1:] {
		out[i+1] = m.Clone()
	}
	return out
}

func diffNorm(a, b []mat32.Matrix) float64 {
	var s float64
	for i := 1; i < len(a); i++ {
		for k, v := range a[i].Data {
			d := float64(v) - float64(b[i].Data[k])
			s += d * d
		}
	}
	return math.Sqrt(s)
}

func equalAll(a, b []mat32.Matrix) bool {
	for i := 1; i < len(a); i++ {
		for k, v := range a[i].Data {
			if math.Float32bits(v) != math.Float32bits(b[i].Data[k]) {
				return false
			}
		}
	}
	return true
}

// TestSaveLoadContinuesBitForBit: a learner restored from a checkpoint into a learner of
// another seed continues exactly as the original; a checkpoint of another shape is refused
// and leaves the learner intact.
func TestSaveLoadContinuesBitForBit(t *testing.T) {
	o := smallOptions(FormCode)
	b1, b2 := blobs(8, 5, 3, 5), blobs(8, 5, 3, 6)
	a := newLearner(t, o, 8, 1)
	a.Step(b1, learn.At{})
	ck := checkpoint.New()
	if err := a.Save(ck); err != nil {
		t.Fatal(err)
	}
	c := newLearner(t, o, 8, 2)
	if equalAll(a.F, c.F) || equalAll(a.G, c.G) {
		t.Fatal("two seeds gave the same weights")
	}
	if err := c.Load(ck); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.Step(b2, learn.At{})
		c.Step(b2, learn.At{})
	}
	if !equalAll(a.F, c.F) || !equalAll(a.G, c.G) {
		t.Error("the restored learner diverged")
	}
	o2 := o
	o2.Sizes = []int{5, 4, 7, 4, 3}
	d := newLearner(t, o2, 8, 1)
	before := cloneAll(d.F)
	if err := d.Load(ck); err == nil || !strings.Contains(err.Error(), "ccl.F.2") {
		t.Errorf("a checkpoint of another shape: %v", err)
	}
	if !equalAll(before, d.F) {
		t.Error("a refused checkpoint changed the learner")
	}
}

// TestLearnsToyProblem: a few hundred steps on three Gaussian blobs reach well above chance,
// the per-layer probes are in range, and the last hidden layer alone classifies through its
// feedback codes.
func TestLearnsToyProblem(t *testing.T) {
	for _, form := range []string{FormCode, FormPaper} {
		o := DefaultOptions()
		o.Sizes = []int{12, 32, 32, 3}
		o.Form = form
		o.LR = 0.2
		if form == FormPaper {
			o.LossScale = 1
		}
		l := newLearner(t, o, 32, 1)
		test := blobs(300, 12, 3, 99)
		for s := range 300 {
			b := blobs(32, 12, 3, uint64(s)+100)
			if loss, _ := l.Step(b, learn.At{Global: int64(s)}); math.IsNaN(loss) {
				t.Fatalf("%s: NaN loss at step %d", form, s)
			}
		}
		ev := l.Evaluate(test.X, test.Labels)
		if ev.Acc < 0.8 || math.IsNaN(ev.Loss) {
			t.Errorf("%s: test accuracy %.3f, loss %.3f after training (chance 0.33)", form, ev.Acc, ev.Loss)
		}
		pr := l.Probe(test)
		if len(pr.Layers["local_loss"]) != 3 || len(pr.Layers["acc_layer"]) != 3 {
			t.Fatalf("%s: probe %v", form, pr.Layers)
		}
		if acc := pr.Layers["acc_layer"][2]; acc < 0.6 {
			t.Errorf("%s: last hidden layer classifies %.3f through its codes", form, acc)
		}
		if l.NonFinite() != "" {
			t.Errorf("%s: non-finite %s", form, l.NonFinite())
		}
	}
}

// TestStepAndPredictAllocateNothing.
func TestStepAndPredictAllocateNothing(t *testing.T) {
	o := smallOptions(FormCode)
	for _, form := range []string{FormCode, FormPaper} {
		o.Form = form
		l := newLearner(t, o, 8, 1)
		b := blobs(8, 5, 3, 1)
		scores := mat32.New(8, 3)
		l.Step(b, learn.At{})
		l.Predict(b.X, scores)
		if n := testing.AllocsPerRun(20, func() { l.Step(b, learn.At{}) }); n != 0 {
			t.Errorf("%s: Step allocates %v times", form, n)
		}
		if n := testing.AllocsPerRun(20, func() { l.Predict(b.X, scores) }); n != 0 {
			t.Errorf("%s: Predict allocates %v times", form, n)
		}
	}
}

// TestSeededReproducibility: one seed gives the same run bit for bit, another seed other
// weights; the initial weights lie in PyTorch's Linear bounds ±1/√fan_in and fill them.
func TestSeededReproducibility(t *testing.T) {
	o := smallOptions(FormCode)
	a, c, d := newLearner(t, o, 8, 11), newLearner(t, o, 8, 11), newLearner(t, o, 8, 12)
	if equalAll(a.F, d.F) {
		t.Error("seeds 11 and 12 gave the same weights")
	}
	for s := range 5 {
		b := blobs(8, 5, 3, uint64(s))
		la, _ := a.Step(b, learn.At{})
		lc, _ := c.Step(b, learn.At{})
		if la != lc {
			t.Errorf("step %d: losses %v and %v", s, la, lc)
		}
	}
	if !equalAll(a.F, c.F) || !equalAll(a.G, c.G) {
		t.Error("one seed, two runs")
	}
	big := newLearner(t, DefaultOptions(), 1, 1)
	for i := 1; i <= big.layers; i++ {
		for _, m := range []mat32.Matrix{big.F[i], big.G[i]} {
			fanIn := m.Rows
			if m.Rows == big.opts.Sizes[i] { // G_i is n_i × n_{i−1}: fan_in n_i
				fanIn = big.opts.Sizes[i]
			}
			bound := 1 / math.Sqrt(float64(fanIn))
			var mx float64
			for _, v := range m.Data {
				mx = max(mx, math.Abs(float64(v)))
			}
			if mx > bound || mx < 0.95*bound {
				t.Errorf("layer %d: largest |w| %g, bound %g", i, mx, bound)
			}
		}
	}
}

// TestRegistryAndValidate: "ccl" is registered with the authors' defaults, builds through
// the registry, estimates its memory, and every bad option is refused by name.
func TestRegistryAndValidate(t *testing.T) {
	r, err := learn.Lookup("ccl")
	if err != nil {
		t.Fatal(err)
	}
	o := r.Options().(*Options)
	if o.LR != 1 || o.Clip != 1 || o.LossScale != 128 || o.Form != FormCode || len(o.Sizes) != 7 || o.Sizes[1] != 256 {
		t.Errorf("defaults %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	s := learn.Shape{Inputs: 784, Classes: 10, BatchRows: 4, EvalRows: 4}
	if r.Memory(o, s) <= 0 {
		t.Error("no memory estimate")
	}
	lr, err := r.New(engine(t), o, s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := lr.(learn.Describer).Describe(); !strings.Contains(d, "counter-current") || !strings.Contains(d, "form code") {
		t.Errorf("Describe() = %q", d)
	}
	for key, mut := range map[string]func(*Options){
		"lr":         func(o *Options) { o.LR = math.NaN() },
		"clip":       func(o *Options) { o.Clip = -1 },
		"loss_scale": func(o *Options) { o.LossScale = math.Inf(1) },
		"form":       func(o *Options) { o.Form = "papper" },
		"sizes":      func(o *Options) { o.Sizes = []int{784, 0, 10} },
	} {
		b := DefaultOptions()
		mut(&b)
		if err := b.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
	b := DefaultOptions()
	b.Sizes = []int{784, 256, 9}
	if _, err := r.New(engine(t), &b, s, 1); err == nil {
		t.Error("an output width other than the classes was accepted")
	}
}

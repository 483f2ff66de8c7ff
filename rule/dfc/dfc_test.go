package dfc

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

// small returns options for a 6-5-4-3 network with a fast controller.
func small() Options {
	o := DefaultOptions()
	o.Sizes = []int{6, 5, 4, 3}
	o.Forward = Controller{DT: 0.02, Steps: 300, Tau: 0.2, Alpha: 1e-3, KP: 2}
	o.TargetStepsize = 0.05
	o.TargetClassValue = 1
	return o
}

func batch(n, in, k int, seed uint64) learn.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	x := mat32.New(n, in)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	y := make([]uint8, n)
	for i := range y {
		y[i] = uint8(r.IntN(k))
	}
	return learn.Batch{X: x, Labels: y}
}

func newL(t testing.TB, o Options, v Variant, rows int) *Learner {
	l, err := New(engine(t), o, v, learn.Shape{Inputs: o.Sizes[0], Classes: o.Sizes[len(o.Sizes)-1], BatchRows: rows, EvalRows: rows}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTanh32(t *testing.T) {
	var worst float64
	for x := -12.0; x <= 12; x += 1e-4 {
		d := math.Abs(float64(tanh32(float32(x))) - math.Tanh(float64(float32(x))))
		worst = max(worst, d)
	}
	if worst > 5e-7 {
		t.Fatalf("tanh32 off by %g", worst)
	}
}

// referenceSimulate is the plain simulation the authors' code runs, in float64 with the
// whole trajectory stored, and the DFC update computed from it afterwards: the oracle of the
// fused, online [Learner.simulate].
func referenceSimulate(l *Learner, x mat32.Matrix, rstar [][]float64, c Controller) (gW [][][]float64, vEnd [][][]float64) {
	L, K, n := l.L, l.K, x.Rows
	T := c.Steps
	at := func(m mat32.Matrix, i, j int) float64 { return float64(m.At(i, j)) }
	// v[t][l][row][j], vff, r
	v := make([][][][]float64, T)
	vff := make([][][][]float64, T)
	r := make([][][][]float64, T)
	alloc := func() [][][]float64 {
		o := make([][][]float64, L+1)
		for i := 1; i <= L; i++ {
			o[i] = make([][]float64, n)
			for k := range n {
				o[i][k] = make([]float64, l.n[i])
			}
		}
		return o
	}
	prev := func(tt [][][]float64, i, row, j int) float64 {
		if i == 1 {
			return at(x, row, j)
		}
		return tt[i-1][row][j]
	}
	act := func(i int, z float64) float64 {
		if i == l.L {
			return z
		}
		return math.Tanh(z)
	}
	v[0], vff[0], r[0] = alloc(), alloc(), alloc()
	for i := 1; i <= L; i++ {
		for row := range n {
			for j := range l.n[i] {
				z := float64(l.B[i].At(0, j))
				for p := range l.n[i-1] {
					z += prev(r[0], i, row, p) * at(l.W[i], p, j)
				}
				v[0][i][row][j], vff[0][i][row][j], r[0][i][row][j] = z, z, act(i, z)
			}
		}
	}
	u := make([][]float64, n)
	ui := make([][]float64, n)
	for k := range n {
		u[k], ui[k] = make([]float64, K), make([]float64, K)
	}
	for t := 0; t < T-1; t++ {
		for row := range n {
			for k := range K {
				e := rstar[row][k] - r[t][L][row][k]
				ui[row][k] += c.DT * (e - c.Alpha*u[row][k])
				u[row][k] = ui[row][k] + c.KP*e
			}
		}
		v[t+1], vff[t+1], r[t+1] = alloc(), alloc(), alloc()
		for i := 1; i <= L; i++ {
			for row := range n {
				for j := range l.n[i] {
					z := float64(l.B[i].At(0, j))
					for p := range l.n[i-1] {
						z += prev(r[t+1], i, row, p) * at(l.W[i], p, j)
					}
					var fb float64
					for k := range K {
						fb += u[row][k] * at(l.Qt[i], k, j)
					}
					vff[t+1][i][row][j] = z
					v[t+1][i][row][j] = v[t][i][row][j] + c.DT/c.Tau*(fb+z-v[t][i][row][j])
					r[t+1][i][row][j] = act(i, v[t+1][i][row][j])
				}
			}
		}
	}
	gW = make([][][]float64, L+1)
	for i := 1; i <= L; i++ {
		gW[i] = make([][]float64, l.n[i-1])
		for p := range l.n[i-1] {
			gW[i][p] = make([]float64, l.n[i])
			for j := range l.n[i] {
				var s float64
				for t := range T {
					for row := range n {
						d := act(i, v[t][i][row][j]) - act(i, vff[t][i][row][j])
						s += prev(r[t], i, row, p) * d
					}
				}
				gW[i][p][j] = -2 * s / float64(n*T)
			}
		}
	}
	return gW, v[T-1]
}

// alignQ sets Q_l to the batch-mean Jᵀ of b, a feedback under which the controller is
// stable (random Q can make J Q indefinite, and the loop then diverges, as in the paper).
func alignQ(l *Learner, b learn.Batch) {
	n := b.X.Rows
	l.feedforward(l.ws, b.X, n)
	l.jacobian(l.ws, n)
	for i := 1; i <= l.L; i++ {
		mat32.Zero(l.Qt[i])
		for ex := range n {
			mat32.Axpy(1/float32(n), l.ws.jm[i].Slice(ex*l.K, (ex+1)*l.K, 0, l.n[i]), l.Qt[i])
		}
	}
}

func randomBias(l *Learner) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := 1; i <= l.L; i++ {
		for j := range l.B[i].Data {
			l.B[i].Data[j] = float32(0.3 * r.NormFloat64())
		}
	}
}

// prepare runs the feedforward pass and target of a batch in the learner's workspace.
func prepare(l *Learner, b learn.Batch) [][]float64 {
	n := b.X.Rows
	l.feedforward(l.ws, b.X, n)
	l.outputGradient(l.ws, b.Labels, n)
	rs := make([][]float64, n)
	for r := range n {
		for _, v := range l.ws.rstar.Row(r) {
			rs[r] = append(rs[r], float64(v))
		}
	}
	return rs
}

func TestSimulateMatchesReference(t *testing.T) {
	o := small()
	l := newL(t, o, DFC, 5)
	randomBias(l)
	b := batch(5, 6, 3, 1)
	alignQ(l, b)
	rs := prepare(l, b)
	want, vEnd := referenceSimulate(l, b.X, rs, o.Forward)
	l.forwardGradients(l.ws, b.X, 5)
	for i := 1; i <= l.L; i++ {
		var num, den float64
		for p := range l.n[i-1] {
			for j := range l.n[i] {
				d := float64(l.gW[i].At(p, j)) - want[i][p][j]
				num += d * d
				den += want[i][p][j] * want[i][p][j]
			}
		}
		if den == 0 || math.Sqrt(num/den) > 1e-4 {
			t.Errorf("layer %d: DFC update differs from the reference by %g relative (norm %g)", i, math.Sqrt(num/den), math.Sqrt(den))
		}
		for row := range 5 {
			for j := range l.n[i] {
				if d := math.Abs(float64(l.ws.v[i].At(row, j)) - vEnd[i][row][j]); d > 1e-4 {
					t.Fatalf("layer %d row %d unit %d: final voltage off by %g", i, row, j, d)
				}
			}
		}
	}
}

// TestSteadyStateIsSSA checks the simulated controller's steady state against SSA's closed
// form on a small network with small nudges (where the linearisation holds).
func TestSteadyStateIsSSA(t *testing.T) {
	o := small()
	o.TargetStepsize = 0.01
	o.Forward.Steps = 4000
	o.Forward.Alpha = 0.01
	l := newL(t, o, SS, 4)
	randomBias(l)
	b := batch(4, 6, 3, 2)
	alignQ(l, b)
	prepare(l, b)
	l.simulate(l.ws, b.X, 4, o.Forward, accNone, false)
	simV := make([][]float32, l.L+1)
	for i := 1; i <= l.L; i++ {
		simV[i] = append([]float32(nil), rows(l.ws.v[i], 4).Data[:4*l.n[i]]...)
	}
	prepare(l, b)
	ff := make([][]float32, l.L+1)
	for i := 1; i <= l.L; i++ {
		ff[i] = append([]float32(nil), rows(l.ws.v[i], 4).Data[:4*l.n[i]]...)
	}
	l.analytic(l.ws, b.X, 4)
	for i := 1; i <= l.L; i++ {
		var num, den float64
		for k, sv := range simV[i] {
			av := l.ws.v[i].Data[k]
			num += sq(float64(sv - av))
			den += sq(float64(sv - ff[i][k]))
		}
		if den == 0 || math.Sqrt(num/den) > 0.05 {
			t.Errorf("layer %d: simulated Δv and SSA's differ by %.3g relative (|Δv| %g)", i, math.Sqrt(num/den), math.Sqrt(den))
		}
	}
}

func sq(x float64) float64 { return x * x }

// TestSSAGaussNewton: with Q = J̄ᵀ (the batch-mean Jacobian, one row) and tiny α, λ, SSA's
// Δv is the minimum-norm Gauss-Newton step: it moves the output by δ and lies in the row
// space of J.
func TestSSAGaussNewton(t *testing.T) {
	o := small()
	o.TargetStepsize = 1e-3
	o.Forward.Alpha = 1e-6
	l := newL(t, o, SSA, 1)
	randomBias(l)
	b := batch(1, 6, 3, 3)
	prepare(l, b)
	l.jacobian(l.ws, 1)
	for i := 1; i <= l.L; i++ {
		mat32.Copy(l.Qt[i], l.ws.jm[i].Slice(0, l.K, 0, l.n[i]))
	}
	prepare(l, b)
	delta := make([]float64, l.K)
	ffOut := make([]float64, l.K)
	for k := range l.K {
		ffOut[k] = float64(l.ws.r[l.L].At(0, k))
		delta[k] = float64(l.ws.rstar.At(0, k)) - ffOut[k]
	}
	l.analytic(l.ws, b.X, 1)
	var num, den float64
	for k := range l.K {
		moved := float64(l.ws.r[l.L].At(0, k)) - ffOut[k]
		num += sq(moved - delta[k])
		den += sq(delta[k])
	}
	if math.Sqrt(num/den) > 0.02 {
		t.Fatalf("SSA output moved off the target by %.3g relative", math.Sqrt(num/den))
	}
	// Δv = Jᵀu by construction; check GN: Δv equals Jᵀ(JJᵀ)⁻¹δ computed independently.
	m := make([]float64, l.K*(l.K+1))
	for r := range l.K {
		for c := range l.K {
			var s float64
			for i := 1; i <= l.L; i++ {
				for j := range l.n[i] {
					s += float64(l.ws.jm[i].At(r, j)) * float64(l.ws.jm[i].At(c, j))
				}
			}
			m[r*(l.K+1)+c] = s
		}
		m[r*(l.K+1)+l.K] = delta[r]
	}
	solve(m, l.K)
	var dn, dd float64
	for i := 1; i <= l.L; i++ {
		for j := range l.n[i] {
			var gn float64
			for k := range l.K {
				gn += float64(l.ws.jm[i].At(k, j)) * m[k*(l.K+1)+l.K]
			}
			var ssa float64
			for k := range l.K {
				ssa += float64(l.ws.u.At(0, k)) * float64(l.Qt[i].At(k, j))
			}
			dn += sq(ssa - gn)
			dd += sq(gn)
		}
	}
	if dd == 0 || math.Sqrt(dn/dd) > 1e-3 {
		t.Fatalf("SSA Δv is %.3g (relative) from the Gauss-Newton step", math.Sqrt(dn/dd))
	}
}

// qAngle returns the mean over rows of the angle between Qᵀ (all layers) and J.
func qAngle(l *Learner, b learn.Batch) float64 {
	n := b.X.Rows
	l.feedforward(l.ws, b.X, n)
	l.jacobian(l.ws, n)
	var sum float64
	for ex := range n {
		var dot, nj, nq float64
		for i := 1; i <= l.L; i++ {
			for k := range l.K {
				jr, qr := l.ws.jm[i].Row(ex*l.K+k), l.Qt[i].Row(k)
				for j := range jr {
					dot += float64(jr[j]) * float64(qr[j])
					nj += sq(float64(jr[j]))
					nq += sq(float64(qr[j]))
				}
			}
		}
		sum += math.Acos(dot/math.Sqrt(nj*nq)) * 180 / math.Pi
	}
	return sum / float64(n)
}

func TestFeedbackLearningAligns(t *testing.T) {
	o := small()
	o.PretrainEpochs = 5
	o.PretrainLR = 3e-3
	o.Feedback = Controller{DT: 0.005, Steps: 100, Tau: 0.01, Alpha: 0.5, KP: 0.05, ApicalTau: 0.1, Sigma: 0.01}
	l := newL(t, o, DFC, 32)
	b := batch(32, 6, 3, 4)
	before := qAngle(l, b)
	for s := range 300 {
		l.Step(batch(32, 6, 3, uint64(100+s)), learn.At{Epoch: 0, Global: int64(s)})
	}
	after := qAngle(l, b)
	t.Logf("angle(Qᵀ, J): %.1f° → %.1f°", before, after)
	if !(after < before-10) {
		t.Fatalf("feedback learning did not align Q with Jᵀ: %.1f° → %.1f°", before, after)
	}
}

func TestNonConvergedCounted(t *testing.T) {
	o := small()
	o.PretrainEpochs, o.FeedbackBefore = 0, 0
	o.Forward.Steps = 3 // far too short to converge
	l := newL(t, o, DFC, 8)
	l.Step(batch(8, 6, 3, 5), learn.At{})
	p := l.Probe(batch(8, 6, 3, 6))
	if p.Scalars["nonconverged_fraction"] != 1 {
		t.Fatalf("nonconverged_fraction %v, want 1", p.Scalars["nonconverged_fraction"])
	}
	o.DropNonConverged = true
	l = newL(t, o, DFC, 8)
	b := batch(8, 6, 3, 5)
	prepare(l, b)
	l.forwardGradients(l.ws, b.X, 8)
	for i := 1; i <= l.L; i++ {
		if sumSquares(l.gW[i]) != 0 {
			t.Fatalf("layer %d: non-converged rows were used (update %g)", i, sumSquares(l.gW[i]))
		}
	}
	o.Forward.Steps = 2000
	l = newL(t, o, DFC, 8)
	alignQ(l, b)
	prepare(l, b)
	l.forwardGradients(l.ws, b.X, 8)
	if l.pending[0] != 0 || sumSquares(l.gW[1]) == 0 {
		t.Fatalf("a converging controller: %v rows judged non-converged, update %g", l.pending[0], sumSquares(l.gW[1]))
	}
}

func TestResumeMidFeedbackPhase(t *testing.T) {
	o := small()
	o.Forward.Steps = 30
	o.PretrainEpochs, o.FeedbackBefore, o.FeedbackAfter = 1, 1, 1
	o.Feedback = Controller{DT: 0.005, Steps: 20, Tau: 0.01, Alpha: 0.5, KP: 0.05, ApicalTau: 0.1, Sigma: 0.01}
	at := func(g int) learn.At {
		return learn.At{Epoch: g / 4, Step: g % 4, StepsPerEpoch: 4, Global: int64(g), Epochs: 6}
	}
	run := func(l *Learner, from, to int) {
		for g := from; g < to; g++ {
			l.Step(batch(8, 6, 3, uint64(g)), at(g))
		}
	}
	for _, v := range []Variant{DFC, SS, SSA} {
		a := newL(t, o, v, 8)
		run(a, 0, 24)
		b := newL(t, o, v, 8)
		run(b, 0, 6) // stops in epoch 1 (feedback), step 2
		ck := checkpoint.New()
		if err := b.Save(ck); err != nil {
			t.Fatal(err)
		}
		c := newL(t, o, v, 8)
		if err := c.Load(ck); err != nil {
			t.Fatal(err)
		}
		run(c, 6, 24)
		ta, tc := a.tensors(), c.tensors()
		for k := range ta {
			for j := range ta[k].M.Data {
				if ta[k].M.Data[j] != tc[k].M.Data[j] {
					t.Fatalf("%s: resumed %s differs at %d", v, ta[k].Label, j)
				}
			}
		}
		if a.count.Data[0] == 0 || a.count.Data[1] == 0 || a.count.Data[2] == 0 {
			t.Fatalf("%s: schedule did not visit every phase: %v", v, a.count.Data)
		}
	}
}

func TestPhaseAt(t *testing.T) {
	o := DefaultOptions()
	want := map[int]Phase{0: Pretrain, 19: Pretrain, 20: Feedback, 21: Forward, 22: Feedback, 99: Forward}
	for e, p := range want {
		if got := o.PhaseAt(e); got != p {
			t.Errorf("epoch %d: phase %d, want %d", e, got, p)
		}
	}
}

func TestBadOptions(t *testing.T) {
	cases := map[string]func(*Options){
		"forward.dt":               func(o *Options) { o.Forward.DT = 0 },
		"feedback.dt":              func(o *Options) { o.Feedback.DT = -1 },
		"forward.steps":            func(o *Options) { o.Forward.Steps = 0 },
		"forward.tau":              func(o *Options) { o.Forward.Tau = 0.001 },
		"feedback.tau":             func(o *Options) { o.Feedback.Tau = math.NaN() },
		"forward.alpha":            func(o *Options) { o.Forward.Alpha = math.NaN() },
		"target_stepsize":          func(o *Options) { o.TargetStepsize = 0 },
		"optimizer.lr":             func(o *Options) { o.Optimizer.LR = math.Inf(1) },
		"feedback_optimizer.beta1": func(o *Options) { o.FeedbackOptimizer.Beta1 = 1 },
		"sizes":                    func(o *Options) { o.Sizes = []int{784, 0, 10} },
		"output_q":                 func(o *Options) { o.OutputQ = "x" },
		"pretrain_epochs":          func(o *Options) { o.PretrainEpochs = -1 },
		"feedback.sigma":           func(o *Options) { o.Feedback.Sigma = -1 },
		"target_class_value":       func(o *Options) { o.TargetClassValue = 0 },
	}
	for name, f := range cases {
		o := DefaultOptions()
		f(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	o := DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	o := small()
	o.Forward.Steps = 20
	o.Feedback.Steps = 10
	for _, v := range []Variant{DFC, SS, SSA} {
		l := newL(t, o, v, 8)
		b := batch(8, 6, 3, 9)
		for _, e := range []int{0, 2} { // pre-training feedback, forward
			at := learn.At{Epoch: 20 + e - 1}
			if e == 0 {
				at.Epoch = 0
			}
			l.Step(b, at)
			if a := testing.AllocsPerRun(5, func() { l.Step(b, at) }); a != 0 {
				t.Errorf("%s epoch %d: %v allocations per step", v, at.Epoch, a)
			}
		}
	}
}

// TestUpdateFollowsGradient: with Q = Jᵀ the three variants' updates point along the
// backprop gradient (a flipped sign or a transposed feedback would give ≥ 90°).
func TestUpdateFollowsGradient(t *testing.T) {
	o := small()
	o.Forward.Steps = 2000
	for _, v := range []Variant{DFC, SS, SSA} {
		l := newL(t, o, v, 64)
		b := batch(64, 6, 3, 1)
		alignQ(l, b)
		p := l.Probe(b)
		for i, a := range p.Layers["update_angle_deg"] {
			if !(a < 45) {
				t.Errorf("%s layer %d: update at %.1f° from the gradient", v, i+1, a)
			}
		}
	}
}

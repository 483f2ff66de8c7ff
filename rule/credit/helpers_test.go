package credit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// dm is a small float64 matrix for the independent reference computations of these tests.
type dm struct {
	r, c int
	v    []float64
}

func newDM(r, c int) dm              { return dm{r, c, make([]float64, r*c)} }
func (a dm) at(i, j int) float64     { return a.v[i*a.c+j] }
func (a dm) set(i, j int, x float64) { a.v[i*a.c+j] = x }
func (a dm) add(i, j int, x float64) { a.v[i*a.c+j] += x }
func (a dm) clone() dm               { return dm{a.r, a.c, append([]float64(nil), a.v...)} }
func (a dm) row(i int) []float64     { return a.v[i*a.c : (i+1)*a.c] }
func identity(n int) dm {
	d := newDM(n, n)
	for i := 0; i < n; i++ {
		d.set(i, i, 1)
	}
	return d
}
func vec64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

func fromM(m mat32.Matrix) dm {
	d := newDM(m.Rows, m.Cols)
	for i := 0; i < m.Rows; i++ {
		for j := 0; j < m.Cols; j++ {
			d.set(i, j, float64(m.At(i, j)))
		}
	}
	return d
}

// mul returns op(a)·op(b).
func mul(a dm, ta bool, b dm, tb bool) dm {
	get := func(x dm, t bool, i, j int) float64 {
		if t {
			return x.at(j, i)
		}
		return x.at(i, j)
	}
	m, k := a.r, a.c
	if ta {
		m, k = k, m
	}
	k2, n := b.r, b.c
	if tb {
		k2, n = n, k2
	}
	if k != k2 {
		panic("mul shapes")
	}
	c := newDM(m, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += get(a, ta, i, p) * get(b, tb, p, j)
			}
			c.set(i, j, s)
		}
	}
	return c
}

func act64(f mat32.Func, p, v float64) float64 {
	switch f {
	case mat32.Identity:
		return v
	case mat32.ReLU:
		return math.Max(v, 0)
	case mat32.LeakyReLU:
		if v > 0 {
			return v
		}
		return p * v
	case mat32.Tanh:
		return math.Tanh(v)
	case mat32.ELU:
		if v > 0 {
			return v
		}
		return p * math.Expm1(v)
	case mat32.Sigmoid:
		return 1 / (1 + math.Exp(-v))
	}
	panic("act64")
}

// dact64 is f'(v); LeakyReLU's derivative is 1 at v = 0, as in the COPI reference.
func dact64(f mat32.Func, p, v float64) float64 {
	switch f {
	case mat32.Identity:
		return 1
	case mat32.ReLU:
		if v > 0 {
			return 1
		}
		return 0
	case mat32.LeakyReLU:
		if v >= 0 {
			return 1
		}
		return p
	case mat32.Tanh:
		t := math.Tanh(v)
		return 1 - t*t
	case mat32.ELU:
		if v > 0 {
			return 1
		}
		return p * math.Exp(v)
	case mat32.Sigmoid:
		s := 1 / (1 + math.Exp(-v))
		return s * (1 - s)
	}
	panic("dact64")
}

// layer64 is a float64 copy of one layer's parameters.
type layer64 struct {
	W, R dm
	B    []float64
	hasR bool
}

type net64 struct {
	layers []layer64
	hidden mat32.Func
	param  float64
}

func toNet64(n *nn.MLP) net64 {
	o := net64{hidden: n.Config.Hidden, param: float64(n.Config.HiddenParam)}
	for _, l := range n.Layers {
		l64 := layer64{W: fromM(l.W), hasR: l.HasR()}
		if l.HasR() {
			l64.R = fromM(l.R)
		}
		if l.B != nil {
			l64.B = vec64(l.B)
		}
		o.layers = append(o.layers, l64)
	}
	return o
}

func (n net64) act(l int) mat32.Func {
	if l == len(n.layers)-1 {
		return mat32.Identity
	}
	return n.hidden
}

type fwd64 struct{ y, x, a, h []dm }

// forward is the reference forward pass: x = y·Rᵀ, a = x·Wᵀ + b, h = f(a).
func (n net64) forward(y dm) fwd64 {
	var f fwd64
	in := y
	for l, p := range n.layers {
		f.y = append(f.y, in)
		x := in
		if p.hasR {
			x = mul(in, false, p.R, true)
		}
		a := mul(x, false, p.W, true)
		if p.B != nil {
			for i := 0; i < a.r; i++ {
				for j := 0; j < a.c; j++ {
					a.add(i, j, p.B[j])
				}
			}
		}
		h := newDM(a.r, a.c)
		for k, v := range a.v {
			h.v[k] = act64(n.act(l), n.param, v)
		}
		f.x, f.a, f.h = append(f.x, x), append(f.a, a), append(f.h, h)
		in = h
	}
	return f
}

func loss64(loss nn.Loss, out dm, labels []uint8) float64 {
	var s float64
	for i := 0; i < out.r; i++ {
		r := out.row(i)
		switch loss {
		case nn.MSE:
			for j, v := range r {
				d := v
				if j == int(labels[i]) {
					d--
				}
				s += d * d
			}
		case nn.CrossEntropy:
			m := math.Inf(-1)
			for _, v := range r {
				m = math.Max(m, v)
			}
			var e float64
			for _, v := range r {
				e += math.Exp(v - m)
			}
			s += -(r[labels[i]] - m - math.Log(e))
		}
	}
	if loss == nn.MSE {
		return s / float64(out.r*out.c)
	}
	return s / float64(out.r)
}

// outputError is the reference δ_L = m·(t − ŷ) [⊙ f'(a_L)] with ŷ = a (MSE) or softmax(a) (CE).
func outputError(loss nn.Loss, a dm, labels []uint8, m float64, outDeriv bool, hidden mat32.Func, p float64) dm {
	e := newDM(a.r, a.c)
	for i := 0; i < a.r; i++ {
		r := a.row(i)
		switch loss {
		case nn.MSE:
			for j, v := range r {
				e.set(i, j, -v)
			}
		case nn.CrossEntropy:
			mx := math.Inf(-1)
			for _, v := range r {
				mx = math.Max(mx, v)
			}
			var s float64
			for _, v := range r {
				s += math.Exp(v - mx)
			}
			for j, v := range r {
				e.set(i, j, -math.Exp(v-mx)/s)
			}
		}
		e.add(i, int(labels[i]), 1)
		for j := range r {
			v := m * e.at(i, j)
			if outDeriv {
				v *= dact64(hidden, p, r[j])
			}
			e.set(i, j, v)
		}
	}
	return e
}

// bpDeltas is the reference backprop credit δ_l = (δ_{l+1}·W_{l+1}·R_{l+1}) ⊙ f'(a_l).
func (n net64) bpDeltas(f fwd64, eL dm) []dm {
	L := len(n.layers)
	d := make([]dm, L)
	d[L-1] = eL
	for l := L - 2; l >= 0; l-- {
		up := n.layers[l+1]
		b := mul(d[l+1], false, up.W, false)
		if up.hasR {
			b = mul(b, false, up.R, false)
		}
		for k := range b.v {
			b.v[k] *= dact64(n.hidden, n.param, f.a[l].v[k])
		}
		d[l] = b
	}
	return d
}

// copiDelta64 is the reference ΔW_ij = <z_i x_j> − <x_j²>·W_ij with z = a + δ.
func copiDelta64(W, x, a, delta dm) dm {
	N := float64(x.r)
	z := a.clone()
	for k := range z.v {
		z.v[k] += delta.v[k]
	}
	d := mul(z, true, x, false)
	for i := 0; i < d.r; i++ {
		for j := 0; j < d.c; j++ {
			var ms float64
			for n := 0; n < x.r; n++ {
				ms += x.at(n, j) * x.at(n, j)
			}
			d.set(i, j, d.at(i, j)/N-ms/N*W.at(i, j))
		}
	}
	return d
}

// directDeltaR is the decorrelation update computed as written, in O(n³):
// C = <x xᵀ> ⊙ (1 − I); default −C·R, bio −R·C, whiten −[(1−κ)C·R + κ·diag(<x²> − 1)·R].
func directDeltaR(variant string, kappa float64, R, x dm) dm {
	n := x.c
	C := mul(x, true, x, false)
	msq := make([]float64, n)
	for i := range C.v {
		C.v[i] /= float64(x.r)
	}
	for i := 0; i < n; i++ {
		msq[i] = C.at(i, i)
		C.set(i, i, 0)
	}
	var d dm
	switch variant {
	case "default":
		d = mul(C, false, R, false)
	case "bio":
		d = mul(R, false, C, false)
	case "whiten":
		d = mul(C, false, R, false)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				d.set(i, j, (1-kappa)*d.at(i, j)+kappa*(msq[i]-1)*R.at(i, j))
			}
		}
	default:
		panic(variant)
	}
	for k := range d.v {
		d.v[k] = -d.v[k]
	}
	return d
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// relErr returns max|got − want| / max|want|.
func relErr(got, want []float64) float64 {
	if len(got) != len(want) {
		panic("relErr lengths")
	}
	var e float64
	for i := range got {
		e = math.Max(e, math.Abs(got[i]-want[i]))
	}
	return e / math.Max(maxAbs(want), 1e-300)
}

func diff(after, before mat32.Matrix) []float64 {
	a, b := fromM(after), fromM(before)
	o := make([]float64, len(a.v))
	for i := range o {
		o[i] = a.v[i] - b.v[i]
	}
	return o
}

func scaled(d dm, s float64) []float64 {
	o := make([]float64, len(d.v))
	for i, v := range d.v {
		o[i] = s * v
	}
	return o
}

// ---- building learners and data ----

func testEngine(t testing.TB) *mat32.Engine { return testEngineThreads(t, 1) }

func testEngineThreads(t testing.TB, threads int) *mat32.Engine {
	t.Helper()
	e, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// setup describes a test learner; batch is the capacity, which the tests make larger than
// the 7-row batches they feed where a 1/N from the capacity would go unnoticed otherwise.
type setup struct {
	sizes  []int
	bias   bool
	hidden mat32.Func
	param  float32
	seed   uint64
	batch  int
	cfg    func(*Config)
}

// build makes a learner for a named rule: SGD lr 0.1, MSE, m = 1, leaky ReLU 0.1 by default.
func build(t testing.TB, e *mat32.Engine, name string, s setup) *Learner {
	t.Helper()
	if s.sizes == nil {
		s.sizes = []int{6, 5, 4, 3}
	}
	if s.batch == 0 {
		s.batch = 7
	}
	if s.param == 0 && s.hidden == mat32.Identity {
		s.hidden, s.param = mat32.LeakyReLU, 0.1
	}
	var cfg Config
	if err := cfg.ForName(name); err != nil {
		t.Fatal(err)
	}
	cfg.Optimizer = optimSGD(0.1)
	cfg.LossMultiplier = 1
	cfg.Seed = s.seed
	if s.cfg != nil {
		s.cfg(&cfg)
	}
	rng := rand.New(rand.NewPCG(s.seed, 7))
	net, err := nn.New(nn.Config{Sizes: s.sizes, Hidden: s.hidden, HiddenParam: s.param, Bias: s.bias,
		Decorrelate: cfg.Decorrelates()}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if s.bias {
		for _, l := range net.Layers {
			for j := range l.B {
				l.B[j] = float32(0.2 * rng.NormFloat64())
			}
		}
	}
	l, err := NewLearner(e, net, cfg, s.batch, rng)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// randomizeR sets every R to I + scale·(non-symmetric Gaussian noise).
func randomizeR(net *nn.MLP, rng *rand.Rand, scale float64) {
	for _, l := range net.Layers {
		if !l.HasR() {
			continue
		}
		mat32.SetIdentity(l.R)
		for i := 0; i < l.R.Rows; i++ {
			for j := 0; j < l.R.Cols; j++ {
				l.R.Set(i, j, l.R.At(i, j)+float32(scale*rng.NormFloat64()))
			}
		}
	}
}

// batch returns n rows of inputs uniform in [−1, 1) and labels in [0, k).
func batch(rng *rand.Rand, n, in, k int) (mat32.Matrix, []uint8) {
	x := mat32.New(n, in)
	for i := range x.Data {
		x.Data[i] = float32(2*rng.Float64() - 1)
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(k))
	}
	return x, labels
}

type snapshot struct {
	W, R []mat32.Matrix
	B    [][]float32
}

func snap(net *nn.MLP) snapshot {
	var s snapshot
	for _, l := range net.Layers {
		s.W = append(s.W, l.W.Clone())
		var r mat32.Matrix
		if l.HasR() {
			r = l.R.Clone()
		}
		s.R = append(s.R, r)
		s.B = append(s.B, append([]float32(nil), l.B...))
	}
	return s
}

// deltaUsed returns the credit δ_i the learner used in its last step: for COPI the buffer
// holds z = a + δ, so a is subtracted.
func (l *Learner) deltaUsed(i int) dm {
	d := fromM(l.deltaView[i])
	if l.Cfg.Update == COPI {
		a := fromM(l.trace.A[i])
		for k := range d.v {
			d.v[k] -= a.v[k]
		}
	}
	return d
}

func optimSGD(lr float64) optim.Config { return optim.Config{Name: "sgd", LR: lr} }

// closeTo reports whether max|got − want| ≤ rel·max|want| + abs, and the ratio of the error to
// that bound.
func closeTo(got, want []float64, rel, abs float64) (bool, float64) {
	var e float64
	for i := range got {
		e = math.Max(e, math.Abs(got[i]-want[i]))
	}
	bound := rel*maxAbs(want) + abs
	return e <= bound, e / bound
}

// ulps is an absolute tolerance of k float32 roundings of numbers as large as m's.
func ulps(k float64, m mat32.Matrix) float64 { return k * maxAbs(fromM(m).v) * 0x1p-24 }

package credit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// squareSizes gives hidden layers of equal width, so FA's B_{l+1} is square and using B in
// place of Bᵀ would not be caught by a shape check.
var squareSizes = []int{6, 5, 5, 5, 3}

func hiddenDeriv(d dm, a dm, n net64) {
	for k := range d.v {
		d.v[k] *= dact64(n.hidden, n.param, a.v[k])
	}
}

// TestFeedbackAlignmentCredit: the hidden δ that FA used is (δ_{l+1}·B_{l+1}ᵀ) ⊙ f'(a_l),
// computed explicitly with non-symmetric square B, and not the BP δ. Catches FA credit that
// goes through Wᵀ or R, uses B instead of Bᵀ, or uses another layer's B.
func TestFeedbackAlignmentCredit(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"fa", "copi-fa"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{sizes: squareSizes, seed: 5})
			rng := rand.New(rand.NewPCG(3, 3))
			if l.Net.Config.Decorrelate {
				randomizeR(l.Net, rng, 0.3)
			}
			x, labels := batch(rng, 7, 6, 3)
			ref := toNet64(l.Net)
			f := ref.forward(fromM(x))
			L := len(ref.layers)
			var B []dm
			for i, b := range l.Feedback {
				if i == 0 {
					if b.Data != nil {
						t.Errorf("FA drew a B for the input layer, which never carries credit")
					}
					B = append(B, dm{})
					continue
				}
				if b.Rows != l.Net.Layers[i].In || b.Cols != l.Net.Layers[i].Out {
					t.Fatalf("B_%d is %dx%d, want n_in×n_out = %dx%d", i, b.Rows, b.Cols, l.Net.Layers[i].In, l.Net.Layers[i].Out)
				}
				B = append(B, fromM(b))
				if i < L-1 && relErr(B[i].v, mul(B[i], true, identity(B[i].r), false).v) < 0.1 {
					t.Fatalf("B_%d is (nearly) symmetric; the test needs a non-symmetric B", i)
				}
			}
			eL := outputError(nn.MSE, f.a[L-1], labels, 1, false, ref.hidden, ref.param)
			bp := ref.bpDeltas(f, eL)
			want := make([]dm, L)
			want[L-1] = eL
			for i := L - 2; i >= 0; i-- {
				want[i] = mul(want[i+1], false, B[i+1], true)
				hiddenDeriv(want[i], f.a[i], ref)
			}
			fb := snapFeedback(l)
			l.Step(x, labels, Phase{UpdateW: true, UpdateR: true})
			for i := 0; i < L; i++ {
				got := l.deltaUsed(i)
				if err := relErr(got.v, want[i].v); err > 1e-4 {
					t.Errorf("layer %d: FA δ off by %.3g relative\n got %v\nwant %v", i, err, got.v, want[i].v)
				}
				if i < L-1 && relErr(got.v, bp[i].v) < 0.1 {
					t.Errorf("layer %d: FA δ is (close to) the BP δ", i)
				}
			}
			for i, b := range l.Feedback {
				if b.Data != nil && maxAbs(diff(b, fb[i])) != 0 {
					t.Errorf("B_%d changed during a step", i)
				}
			}
		})
	}
}

func snapFeedback(l *Learner) []mat32.Matrix {
	var s []mat32.Matrix
	for _, b := range l.Feedback {
		if b.Data != nil {
			b = b.Clone()
		}
		s = append(s, b)
	}
	return s
}

// TestFeedbackMatricesDistinct: each layer has its own B, in its own storage, different in
// value from the others and from every W, Xavier-scaled. Catches one B shared by all layers
// (or aliasing W) and B drawn with the wrong scale.
func TestFeedbackMatricesDistinct(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"fa", "dfa", "copi-fa", "copi-dfa"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{sizes: []int{6, 5, 5, 5, 3}, seed: 2})
			var seen []mat32.Matrix
			for i, b := range l.Feedback {
				if b.Data == nil {
					continue
				}
				for j, s := range seen {
					if &s.Data[0] == &b.Data[0] {
						t.Errorf("B_%d shares storage with another B (%d)", i, j)
					}
					if mat32.SameShape(s, b) && relErr(fromM(s).v, fromM(b).v) < 0.5 {
						t.Errorf("B_%d equals another B", i)
					}
				}
				for j, layer := range l.Net.Layers {
					if &layer.W.Data[0] == &b.Data[0] {
						t.Errorf("B_%d aliases W_%d", i, j)
					}
				}
				seen = append(seen, b)
				std := math.Sqrt(2 / float64(b.Rows+b.Cols))
				if rms := mat32.FrobeniusNorm(b) / math.Sqrt(float64(b.Rows*b.Cols)); rms < std/3 || rms > 3*std {
					t.Errorf("B_%d rms %.3g, Xavier std %.3g", i, rms, std)
				}
			}
			want := len(l.Net.Layers) - 1
			if len(seen) != want {
				t.Errorf("%d feedback matrices, want %d", len(seen), want)
			}
		})
	}
}

// TestEveryLayerLearns: for every named rule one step changes W of every layer and every
// layer gets non-zero credit. Catches credit that stops at some layer (e.g. a loop bound off
// by one) or an update skipped for the first or last layer.
func TestEveryLayerLearns(t *testing.T) {
	e := testEngine(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{seed: 9})
			rng := rand.New(rand.NewPCG(4, 4))
			x, labels := batch(rng, 7, 6, 3)
			before := snap(l.Net)
			l.Step(x, labels, Phase{UpdateW: true})
			for i, layer := range l.Net.Layers {
				if d := maxAbs(diff(layer.W, before.W[i])); !(d > 1e-6) {
					t.Errorf("layer %d: W changed by at most %v", i, d)
				}
				if d := maxAbs(l.deltaUsed(i).v); !(d > 1e-4) {
					t.Errorf("layer %d: credit δ is at most %v", i, d)
				}
			}
		})
	}
	if len(Names()) != 10 {
		t.Errorf("rules %v, want the 10 of the package doc", Names())
	}
}

// TestDirectFeedbackAlignmentCredit: DFA's hidden δ_l is (e·B_lᵀ) ⊙ f'(a_l) with e the output
// error, and does not depend on the weights of the layers above. With the output layer's W
// zeroed the output is 0 whatever the hidden weights are, so e = t is fixed; then replacing
// the upper hidden layer's W must leave the lowest layer's δ bit-for-bit unchanged (a_0 does
// not depend on it either). Catches DFA credit that is chained layer to layer (through W or B)
// instead of coming straight from the output.
func TestDirectFeedbackAlignmentCredit(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"dfa", "copi-dfa"} {
		t.Run(name, func(t *testing.T) {
			run := func(perturb bool) (*Learner, []dm) {
				l := build(t, e, name, setup{sizes: squareSizes, seed: 6})
				rng := rand.New(rand.NewPCG(6, 6))
				if l.Net.Config.Decorrelate {
					randomizeR(l.Net, rng, 0.3)
				}
				x, labels := batch(rng, 7, 6, 3)
				L := len(l.Net.Layers)
				mat32.Zero(l.Net.Layers[L-1].W)
				if perturb {
					for i := 1; i < L-1; i++ {
						w := l.Net.Layers[i].W
						for k := range w.Data {
							w.Data[k] = float32(rng.NormFloat64())
						}
					}
				}
				ref := toNet64(l.Net)
				f := ref.forward(fromM(x))
				eL := outputError(nn.MSE, f.a[L-1], labels, 1, false, ref.hidden, ref.param)
				l.Step(x, labels, Phase{UpdateW: true})
				var got []dm
				for i := 0; i < L; i++ {
					got = append(got, l.deltaUsed(i))
				}
				for i := 0; i < L-1; i++ {
					B := fromM(l.Feedback[i])
					if B.r != l.Net.Layers[i].Out || B.c != l.Net.OutputSize() {
						t.Fatalf("DFA B_%d is %dx%d, want n_l×n_out", i, B.r, B.c)
					}
					want := mul(eL, false, B, true)
					hiddenDeriv(want, f.a[i], ref)
					if err := relErr(got[i].v, want.v); err > 1e-4 {
						t.Errorf("perturbed=%v layer %d: DFA δ off by %.3g relative", perturb, i, err)
					}
				}
				return l, got
			}
			_, d0 := run(false)
			_, d1 := run(true)
			if maxAbs(d0[0].v) == 0 {
				t.Fatal("no credit at the first layer")
			}
			if relErr(d1[0].v, d0[0].v) != 0 {
				t.Errorf("the first layer's DFA δ changed with the upper layers' W")
			}
		})
	}
}

// TestBackpropCredit: BP's hidden δ is (δ_{l+1}·W_{l+1}·R_{l+1}) ⊙ f'(a_l) with non-symmetric
// R, for the gradient and the COPI update. Catches credit that skips R, uses Rᵀ, or uses
// weights already updated in this step.
func TestBackpropCredit(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"bp", "decor-bp", "copi-bp"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{sizes: squareSizes, seed: 7, cfg: func(c *Config) { c.LossMultiplier = 3 }})
			rng := rand.New(rand.NewPCG(7, 7))
			if l.Net.Config.Decorrelate {
				randomizeR(l.Net, rng, 0.3)
			}
			x, labels := batch(rng, 7, 6, 3)
			ref := toNet64(l.Net)
			f := ref.forward(fromM(x))
			L := len(ref.layers)
			want := ref.bpDeltas(f, outputError(nn.MSE, f.a[L-1], labels, 3, false, ref.hidden, ref.param))
			l.Step(x, labels, Phase{UpdateW: true, UpdateR: true})
			for i := 0; i < L; i++ {
				if err := relErr(l.deltaUsed(i).v, want[i].v); err > 1e-4 {
					t.Errorf("layer %d: BP δ off by %.3g relative", i, err)
				}
			}
		})
	}
}

// TestOutputDerivativeQuirk: with OutputDerivative the output error is m(t − a) ⊙ f'(a_L)
// with the hidden nonlinearity's f' (leaky ReLU: 0.1 below 0, 1 at and above 0, as in the
// reference) although the output is linear; without it, f' is not applied. One output unit
// is held at exactly 0 to pin the derivative at the kink.
func TestOutputDerivativeQuirk(t *testing.T) {
	e := testEngine(t)
	for _, quirk := range []bool{false, true} {
		const m = 4
		l := build(t, e, "bp", setup{seed: 8, cfg: func(c *Config) {
			c.LossMultiplier = m
			c.OutputDerivative = quirk
		}})
		rng := rand.New(rand.NewPCG(8, 8))
		x, labels := batch(rng, 7, 6, 3)
		L := len(l.Net.Layers)
		last := l.Net.Layers[L-1]
		for j := 0; j < last.In; j++ {
			last.W.Set(last.Out-1, j, 0)
		}
		l.Step(x, labels, Phase{UpdateW: true})
		a := fromM(l.trace.A[L-1])
		got := l.deltaUsed(L - 1)
		var neg, zero int
		for r := 0; r < a.r; r++ {
			for j := 0; j < a.c; j++ {
				tj := 0.0
				if int(labels[r]) == j {
					tj = 1
				}
				want := m * (tj - a.at(r, j))
				if quirk && a.at(r, j) < 0 {
					want *= 0.1
					neg++
				}
				if a.at(r, j) == 0 {
					zero++
				}
				if math.Abs(got.at(r, j)-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Errorf("quirk=%v: δ_L[%d][%d] = %v, want %v (a = %v)", quirk, r, j, got.at(r, j), want, a.at(r, j))
				}
			}
		}
		if quirk && (neg == 0 || zero == 0) {
			t.Fatalf("test needs negative and zero outputs: %d negative, %d zero", neg, zero)
		}
	}
}

// TestFeedbackInitUniform: FeedbackInit "uniform" draws B in ±1/√n_lower (Nøkland's DFA), with
// values spread over the range.
func TestFeedbackInitUniform(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"fa", "dfa"} {
		l := build(t, e, name, setup{sizes: []int{6, 20, 20, 3}, seed: 2, cfg: func(c *Config) { c.FeedbackInit = "uniform" }})
		for i, b := range l.Feedback {
			if b.Data == nil {
				continue
			}
			lim := 1 / math.Sqrt(float64(b.Rows))
			m := maxAbs(fromM(b).v)
			if m > lim || m < 0.8*lim {
				t.Errorf("%s B_%d: max |b| %.3g, want just under %.3g", name, i, m, lim)
			}
		}
	}
}

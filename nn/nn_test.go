package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

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
	panic(f)
}

func engine(t *testing.T) *mat32.Engine {
	e, err := mat32.NewEngine(mat32.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestForwardMatchesReference runs a 6-5-4-3 network with non-identity R, non-zero biases and
// each activation against a float64 forward pass written out element by element:
// x = y·Rᵀ, a = x·Wᵀ + b, h = f(a), linear output. Catches R or W used untransposed, the bias
// missing or added to the wrong axis, the nonlinearity on the output layer, a wrong slope, and
// trace views pointing at the wrong rows for a batch smaller than the capacity.
func TestForwardMatchesReference(t *testing.T) {
	e := engine(t)
	for _, f := range []mat32.Func{mat32.Identity, mat32.ReLU, mat32.LeakyReLU, mat32.Tanh, mat32.ELU, mat32.Sigmoid} {
		for _, decor := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(f), 1))
			cfg := Config{Sizes: []int{6, 5, 4, 3}, Hidden: f, HiddenParam: 0.2, Bias: true, Decorrelate: decor}
			net, err := New(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range net.Layers {
				for j := range l.B {
					l.B[j] = float32(rng.NormFloat64())
				}
				if decor {
					for k := range l.R.Data {
						l.R.Data[k] += float32(0.3 * rng.NormFloat64())
					}
				}
			}
			const N = 5
			y := mat32.New(N, 6)
			for k := range y.Data {
				y.Data[k] = float32(2*rng.Float64() - 1)
			}
			tr := net.NewTrace(9)
			// poison the buffers: a previous, larger batch
			big := mat32.New(9, 6)
			mat32.Fill(big, 1e3)
			net.Forward(e, big, tr)
			net.Forward(e, y, tr)
			in := make([][]float64, N)
			for n := range in {
				for _, v := range y.Row(n) {
					in[n] = append(in[n], float64(v))
				}
			}
			for li, l := range net.Layers {
				if tr.Y[li].Rows != N || tr.X[li].Rows != N || tr.A[li].Rows != N || tr.H[li].Rows != N {
					t.Fatalf("trace views of layer %d do not have the batch's %d rows", li, N)
				}
				out := make([][]float64, N)
				for n := 0; n < N; n++ {
					x := in[n]
					if decor {
						x = make([]float64, l.In)
						for i := 0; i < l.In; i++ {
							for j := 0; j < l.In; j++ {
								x[i] += float64(l.R.At(i, j)) * in[n][j]
							}
						}
					}
					for i := 0; i < l.In; i++ {
						if g := float64(tr.X[li].At(n, i)); math.Abs(g-x[i]) > 1e-5*(1+math.Abs(x[i])) {
							t.Fatalf("%v decor=%v layer %d x[%d][%d] = %v, want %v", f, decor, li, n, i, g, x[i])
						}
					}
					for o := 0; o < l.Out; o++ {
						a := float64(l.B[o])
						for i := 0; i < l.In; i++ {
							a += float64(l.W.At(o, i)) * x[i]
						}
						h := a
						if li < len(net.Layers)-1 {
							h = act64(f, 0.2, a)
						}
						if g := float64(tr.A[li].At(n, o)); math.Abs(g-a) > 1e-5*(1+math.Abs(a)) {
							t.Fatalf("%v decor=%v layer %d a[%d][%d] = %v, want %v", f, decor, li, n, o, g, a)
						}
						if g := float64(tr.H[li].At(n, o)); math.Abs(g-h) > 1e-5*(1+math.Abs(h)) {
							t.Fatalf("%v decor=%v layer %d h[%d][%d] = %v, want %v", f, decor, li, n, o, g, h)
						}
						out[n] = append(out[n], h)
					}
				}
				in = out
			}
			if o := tr.Output(); o.Rows != N || &o.Data[0] != &tr.H[len(net.Layers)-1].Data[0] {
				t.Errorf("Output is not the last layer's H")
			}
		}
	}
}

// TestNew checks shapes, R = I, zero biases, parameter counts and validation.
func TestNew(t *testing.T) {
	net, err := New(Config{Sizes: []int{6, 5, 3}, Hidden: mat32.LeakyReLU, HiddenParam: 0.1, Bias: true, Decorrelate: true},
		rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Layers) != 2 || net.InputSize() != 6 || net.OutputSize() != 3 {
		t.Fatalf("layers %d, in %d, out %d", len(net.Layers), net.InputSize(), net.OutputSize())
	}
	for i, l := range net.Layers {
		if l.W.Rows != l.Out || l.W.Cols != l.In || len(l.B) != l.Out || l.R.Rows != l.In || l.R.Cols != l.In {
			t.Errorf("layer %d shapes W %dx%d, b %d, R %dx%d", i, l.W.Rows, l.W.Cols, len(l.B), l.R.Rows, l.R.Cols)
		}
		for r := 0; r < l.In; r++ {
			for c := 0; c < l.In; c++ {
				want := float32(0)
				if r == c {
					want = 1
				}
				if l.R.At(r, c) != want {
					t.Fatalf("layer %d: R is not the identity", i)
				}
			}
		}
		for _, b := range l.B {
			if b != 0 {
				t.Fatalf("layer %d: non-zero initial bias", i)
			}
		}
	}
	if net.Activation(0) != mat32.LeakyReLU || net.Activation(1) != mat32.Identity {
		t.Errorf("activations %v, %v", net.Activation(0), net.Activation(1))
	}
	w, r := net.NumParams()
	if w != 6*5+5+5*3+3 || r != 36+25 {
		t.Errorf("NumParams = %d, %d", w, r)
	}
	for _, bad := range [][]int{nil, {5}, {5, 0, 3}, {-1, 3}} {
		if _, err := New(Config{Sizes: bad}, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("accepted sizes %v", bad)
		}
	}
	plain, _ := New(Config{Sizes: []int{4, 2}}, rand.New(rand.NewPCG(1, 1)))
	if plain.Layers[0].HasR() || plain.Layers[0].B != nil {
		t.Error("a network without Decorrelate/Bias has R or b")
	}
}

// TestXavierNormal: on a large matrix the values have mean ≈ 0 and std ≈ √(2/(in+out)).
// Catches std √(1/fan_in), a uniform draw, or rows and columns swapped in a non-square draw.
func TestXavierNormal(t *testing.T) {
	w := mat32.New(300, 700)
	XavierNormal(w, rand.New(rand.NewPCG(2, 2)))
	var s, s2, s4 float64
	for _, v := range w.Data {
		x := float64(v)
		s += x
		s2 += x * x
		s4 += x * x * x * x
	}
	n := float64(len(w.Data))
	mean, vr := s/n, s2/n
	std, want := math.Sqrt(vr), math.Sqrt(2.0/1000)
	if math.Abs(mean) > 4*want/math.Sqrt(n) {
		t.Errorf("mean %v", mean)
	}
	if math.Abs(std/want-1) > 0.01 {
		t.Errorf("std %v, want %v", std, want)
	}
	if k := s4 / n / (vr * vr); math.Abs(k-3) > 0.1 {
		t.Errorf("kurtosis %v, want 3 (normal)", k)
	}
}

// TestLosses checks MSE and cross-entropy values against float64 formulas and their
// NegGradient against central differences of the value (MSE: t − a = −(N·K/2)·dL/da;
// CE: t − softmax(a) = −N·dL/da). Catches a mean over the wrong count, a sign error, an
// unstable softmax and a gradient that does not belong to the loss.
func TestLosses(t *testing.T) {
	const N, K = 4, 3
	rng := rand.New(rand.NewPCG(3, 3))
	out := mat32.New(N, K)
	for k := range out.Data {
		out.Data[k] = float32(2 * rng.NormFloat64())
	}
	labels := []uint8{0, 2, 1, 2}
	var mse, ce float64
	for n := 0; n < N; n++ {
		var lse float64
		for k := 0; k < K; k++ {
			a := float64(out.At(n, k))
			d := a
			if int(labels[n]) == k {
				d--
			}
			mse += d * d
			lse += math.Exp(a)
		}
		ce += math.Log(lse) - float64(out.At(n, int(labels[n])))
	}
	mse /= N * K
	ce /= N
	if got := MSE.Value(out, labels); math.Abs(got-mse) > 1e-12 {
		t.Errorf("MSE %v, want %v", got, mse)
	}
	if got := CrossEntropy.Value(out, labels); math.Abs(got-ce) > 1e-9 {
		t.Errorf("CE %v, want %v", got, ce)
	}
	for _, c := range []struct {
		loss  Loss
		scale float64
	}{{MSE, N * K / 2}, {CrossEntropy, N}} {
		g := mat32.New(N, K)
		c.loss.NegGradient(g, out, labels)
		// central differences in float64 through a float32 output: use a wide step.
		for n := 0; n < N; n++ {
			for k := 0; k < K; k++ {
				o := out.At(n, k)
				const h = 1e-2
				out.Set(n, k, o+h)
				up := c.loss.Value(out, labels)
				out.Set(n, k, o-h)
				dn := c.loss.Value(out, labels)
				out.Set(n, k, o)
				fd := -(up - dn) / float64(float32(o+h)-float32(o-h)) * c.scale
				if got := float64(g.At(n, k)); math.Abs(got-fd) > 2e-4*(1+math.Abs(fd)) {
					t.Errorf("%v: NegGradient[%d][%d] = %v, finite differences %v", c.loss, n, k, got, fd)
				}
			}
		}
	}
}

// TestCrossEntropyStable: huge logits give finite, correct values and gradients.
func TestCrossEntropyStable(t *testing.T) {
	out := mat32.FromSlice(2, 3, []float32{1e4, 1e4 - 2, -1e4, -5e3, 3e4, 3e4})
	labels := []uint8{1, 2}
	want := 2 + math.Log(1+math.Exp(-2)) // row 0: −log softmax = 2 + log(1 + e⁻²)
	want += math.Log(2)                  // row 1: two equal maxima
	want /= 2
	if got := CrossEntropy.Value(out, labels); math.Abs(got-want) > 1e-9 {
		t.Errorf("CE of large logits %v, want %v", got, want)
	}
	g := mat32.New(2, 3)
	CrossEntropy.NegGradient(g, out, labels)
	if !mat32.AllFinite(g) {
		t.Fatalf("non-finite gradient %v", g.Data)
	}
	p := 1 / (1 + math.Exp(-2))
	want2 := []float64{-p, 1 - (1 - p), 0, 0, -0.5, 0.5}
	for i, w := range want2 {
		if math.Abs(float64(g.Data[i])-w) > 1e-6 {
			t.Errorf("gradient %v, want %v", g.Data, want2)
			break
		}
	}
	var rs [2]float64
	for i, v := range g.Data {
		rs[i/3] += float64(v)
	}
	if math.Abs(rs[0]) > 1e-6 || math.Abs(rs[1]) > 1e-6 {
		t.Errorf("rows of t − softmax do not sum to 0: %v", rs)
	}
}

func TestParseLoss(t *testing.T) {
	for name, want := range map[string]Loss{"mse": MSE, "ce": CrossEntropy, "cross-entropy": CrossEntropy} {
		if got, err := ParseLoss(name); err != nil || got != want {
			t.Errorf("ParseLoss(%q) = %v, %v", name, got, err)
		}
		if got, _ := ParseLoss(want.String()); got != want {
			t.Errorf("%v does not round-trip", want)
		}
	}
	if _, err := ParseLoss("hinge"); err == nil {
		t.Error("accepted hinge")
	}
}

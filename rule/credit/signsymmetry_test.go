package credit

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

var signRules = []string{"usf", "brsf", "frsf"}

func sign64(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// checkSignsFollowW fails unless sign(B_l) = sign(W_lᵀ) element by element for every layer
// that carries credit (W the weights the step's credit saw).
func checkSignsFollowW(t *testing.T, step int, l *Learner, ws []mat32.Matrix) {
	t.Helper()
	for i := 1; i < len(l.Net.Layers); i++ {
		b, w := l.Feedback[i], ws[i]
		if b.Rows != w.Cols || b.Cols != w.Rows {
			t.Fatalf("step %d: B_%d is %dx%d, want Wᵀ's %dx%d", step, i, b.Rows, b.Cols, w.Cols, w.Rows)
		}
		bad := 0
		for r := 0; r < b.Rows; r++ {
			for c := 0; c < b.Cols; c++ {
				if sign64(float64(b.At(r, c))) != sign64(float64(w.At(c, r))) {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("step %d: %d of %d signs of B_%d differ from W_%dᵀ", step, bad, b.Rows*b.Cols, i, i)
		}
	}
}

func absMatrix(m mat32.Matrix) []float64 {
	v := fromM(m).v
	for k := range v {
		v[k] = math.Abs(v[k])
	}
	return v
}

// TestSignSymmetryFeedback: over twenty Adam steps on a network with square hidden layers,
// sign(B_l) equals sign(W_lᵀ) of the weights the step used, element by element; uSF's |B| is
// σ_l = √(2/(n_in+n_out)) everywhere, frSF's |B| never changes, brSF's |B| changes every step
// and averages σ_l·√(2/π) (a half-normal); the credit used is (δ_{l+1}·B_{l+1}ᵀ) ⊙ f'(a_l)
// with that B. Catches B built from W instead of Wᵀ (square layers), B that keeps the
// signs of the initial W, a frozen or a drifting magnitude, the wrong scale, and credit that
// ignores B.
func TestSignSymmetryFeedback(t *testing.T) {
	e := testEngine(t)
	for _, name := range signRules {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{sizes: []int{12, 40, 40, 40, 5}, seed: 3, batch: 16, bias: true,
				cfg: func(c *Config) { c.Optimizer = optim.Config{Name: "adam", LR: 3e-2} }})
			rng := rand.New(rand.NewPCG(8, 8))
			var prevAbs [][]float64
			flipped := 0
			for s := 0; s < 20; s++ {
				if s == 10 {
					// Flip one forward weight's sign by hand: the next B must follow.
					w := l.Net.Layers[2].W
					w.Set(3, 7, -w.At(3, 7))
				}
				x, labels := batch(rng, 16, 12, 5)
				before := snap(l.Net)
				ref := toNet64(l.Net)
				f := ref.forward(fromM(x))
				l.Step(x, labels, Phase{UpdateW: true})
				checkSignsFollowW(t, s, l, before.W)
				L := len(l.Net.Layers)
				// The credit of the step went through exactly this B.
				eL := outputError(nn.MSE, f.a[L-1], labels, 1, false, ref.hidden, ref.param)
				want := eL
				for i := L - 2; i >= 0; i-- {
					want = mul(want, false, fromM(l.Feedback[i+1]), true)
					hiddenDeriv(want, f.a[i], ref)
					if err := relErr(l.deltaUsed(i).v, want.v); err > 1e-4 {
						t.Errorf("step %d layer %d: δ off by %.3g relative to (δ·Bᵀ)⊙f'", s, i, err)
					}
				}
				var abs [][]float64
				for i := 1; i < L; i++ {
					a := absMatrix(l.Feedback[i])
					abs = append(abs, a)
					sigma := math.Sqrt(2 / float64(l.Net.Layers[i].In+l.Net.Layers[i].Out))
					var mean float64
					for _, v := range a {
						mean += v / float64(len(a))
					}
					switch name {
					case "usf":
						for _, v := range a {
							if v != 0 && math.Abs(v-sigma) > 1e-7 {
								t.Fatalf("step %d: uSF |B_%d| = %v, want σ = %v", s, i, v, sigma)
							}
						}
					case "brsf", "frsf":
						if i < L-1 { // 1600 entries: the mean is close to its expectation
							if want := sigma * math.Sqrt(2/math.Pi); math.Abs(mean-want) > 0.1*want {
								t.Errorf("step %d: mean |B_%d| = %.4g, want σ√(2/π) = %.4g", s, i, mean, want)
							}
						}
					}
				}
				if prevAbs != nil {
					for i := range abs {
						same := relErr(abs[i], prevAbs[i]) == 0
						switch name {
						case "usf", "frsf":
							if !same {
								t.Errorf("step %d: |B_%d| changed", s, i+1)
							}
						case "brsf":
							if same {
								t.Errorf("step %d: brSF's |B_%d| was not redrawn", s, i+1)
							}
						}
					}
				}
				prevAbs = abs
				for i, layer := range l.Net.Layers {
					d := diff(layer.W, before.W[i])
					if maxAbs(d) == 0 {
						t.Errorf("step %d: layer %d did not learn", s, i)
					}
					for k, v := range d {
						if v != 0 && sign64(float64(layer.W.Data[k])) != sign64(float64(before.W[i].Data[k])) {
							flipped++
						}
					}
				}
			}
			if flipped == 0 {
				t.Error("no weight changed sign during training; the test did not exercise sign tracking")
			}
		})
	}
}

// TestBatchRandomSignSymmetryStream: brSF's magnitudes for step t depend only on the seed and
// t: two learners with the same seed draw the same B at every step, a learner whose step
// counter is set to t (as after resuming from a checkpoint) draws step t+1's B, and another
// seed draws other magnitudes. Catches a draw from a global or continuing stream (which
// breaks exact resume) and a seed that is ignored.
func TestBatchRandomSignSymmetryStream(t *testing.T) {
	e := testEngine(t)
	mk := func(seed uint64) *Learner { return build(t, e, "brsf", setup{seed: seed, bias: true}) }
	a, b, c := mk(5), mk(5), mk(6)
	rng := rand.New(rand.NewPCG(1, 2))
	var bs [][]byte
	for s := 0; s < 5; s++ {
		x, labels := batch(rng, 7, 6, 3)
		a.Step(x, labels, Phase{UpdateW: true})
		b.Step(x, labels, Phase{UpdateW: true})
		c.Step(x, labels, Phase{UpdateW: true})
		pa, pb := paramBytes(t, a), paramBytes(t, b)
		if !bytes.Equal(pa, pb) {
			t.Fatalf("step %d: same seed, different B or W", s)
		}
		if relErr(absMatrix(a.Feedback[1]), absMatrix(c.Feedback[1])) == 0 {
			t.Errorf("step %d: seeds 5 and 6 drew the same magnitudes", s)
		}
		var buf []byte
		for _, f := range a.Feedback[1:] {
			buf = append(buf, f32bytes(absMatrix(f))...)
		}
		bs = append(bs, buf)
	}
	// A fresh learner, restored to a's parameters and step count, draws a's next magnitudes.
	d := mk(5)
	for i, layer := range d.Net.Layers {
		mat32.Copy(layer.W, a.Net.Layers[i].W)
		copy(layer.B, a.Net.Layers[i].B)
	}
	d.SetSteps(a.Steps())
	x, labels := batch(rng, 7, 6, 3)
	a.Step(x, labels, Phase{UpdateW: true})
	d.Step(x, labels, Phase{UpdateW: true})
	for i := 1; i < len(a.Feedback); i++ {
		if relErr(fromM(d.Feedback[i]).v, fromM(a.Feedback[i]).v) != 0 {
			t.Errorf("B_%d after a restored step count differs from the uninterrupted learner's", i)
		}
	}
	if bytes.Equal(bs[0], bs[1]) {
		t.Error("the magnitudes of steps 1 and 2 are equal")
	}
}

func f32bytes(v []float64) []byte {
	var b bytes.Buffer
	for _, x := range v {
		bits := math.Float32bits(float32(x))
		b.Write([]byte{byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)})
	}
	return b.Bytes()
}

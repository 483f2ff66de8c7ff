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

func weightShaped(l *Learner) []mat32.Matrix {
	var g []mat32.Matrix
	for _, layer := range l.Net.Layers {
		g = append(g, mat32.New(layer.Out, layer.In))
	}
	return g
}

// TestRuleGradientsMatchStep: for every rule, with plain SGD (the fused path that writes
// into W) and with momentum SGD (the optimiser path), RuleGradients changes nothing, and the
// step that follows on the same batch changes every W by exactly −η·g. Catches the metric's
// "update the rule would apply" drifting from what Step applies (another credit, a missing
// decay term, brSF drawing other magnitudes, a stale sign-symmetry B).
func TestRuleGradientsMatchStep(t *testing.T) {
	e := testEngine(t)
	opts := map[string]optim.Config{
		"sgd":      optimSGD(0.05),
		"momentum": {Name: "sgd", LR: 0.05, Momentum: 0.9},
	}
	for _, name := range Names() {
		for on, oc := range opts {
			t.Run(name+"/"+on, func(t *testing.T) {
				l := build(t, e, name, setup{seed: 4, bias: true, cfg: func(c *Config) { c.Optimizer = oc }})
				rng := rand.New(rand.NewPCG(2, 2))
				if l.Net.Config.Decorrelate {
					randomizeR(l.Net, rng, 0.2)
				}
				for s := 0; s < 3; s++ { // move away from the initial state, for brSF's step count too
					x, labels := batch(rng, 7, 6, 3)
					l.Step(x, labels, Phase{UpdateW: true, UpdateR: true})
				}
				if on == "momentum" { // a fresh momentum buffer makes the next change −η·g exactly
					for _, m := range l.Optimizer().State() {
						mat32.Zero(m)
					}
				}
				x, labels := batch(rng, 7, 6, 3)
				g := weightShaped(l)
				before := paramBytes(t, l)
				snapW := snap(l.Net)
				steps := l.Steps()
				l.RuleGradients(x, labels, g)
				if l.Cfg.Credit != SignSymmetry && !bytes.Equal(before, paramBytes(t, l)) {
					t.Fatal("RuleGradients changed the parameters or the optimiser state")
				}
				if l.Steps() != steps {
					t.Fatal("RuleGradients counted a step")
				}
				l.Step(x, labels, Phase{UpdateW: true})
				for i, layer := range l.Net.Layers {
					want := scaled(fromM(g[i]), -oc.LR)
					got := diff(layer.W, snapW.W[i])
					if ok, r := closeTo(got, want, 1e-4, ulps(8, layer.W)); !ok {
						t.Errorf("layer %d: the step changed W by something else than −η·g (%.3g of tolerance)", i, r)
					}
				}
			})
		}
	}
}

// TestTrueGradients: TrueGradients is −<δ xᵀ> with δ the exact backprop credit (through W
// and R) of the loss itself, computed independently in float64, whatever the rule's credit,
// loss multiplier and output-derivative quirk. Catches a true gradient that follows the
// rule's feedback, skips R, or carries the multiplier or the quirk.
func TestTrueGradients(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"bp", "copi-bp", "copi-fa", "dfa", "usf"} {
		for _, loss := range []nn.Loss{nn.MSE, nn.CrossEntropy} {
			t.Run(name+"/"+loss.String(), func(t *testing.T) {
				l := build(t, e, name, setup{seed: 6, bias: true, cfg: func(c *Config) {
					c.Loss, c.LossMultiplier, c.OutputDerivative = loss, 1000, true
				}})
				rng := rand.New(rand.NewPCG(5, 5))
				if l.Net.Config.Decorrelate {
					randomizeR(l.Net, rng, 0.3)
				}
				x, labels := batch(rng, 7, 6, 3)
				ref := toNet64(l.Net)
				f := ref.forward(fromM(x))
				L := len(ref.layers)
				d := ref.bpDeltas(f, outputError(loss, f.a[L-1], labels, 1, false, ref.hidden, ref.param))
				g := weightShaped(l)
				l.TrueGradients(x, labels, g)
				for i := range g {
					want := scaled(mul(d[i], true, f.x[i], false), -1/float64(x.Rows))
					if err := relErr(fromM(g[i]).v, want); err > 1e-4 {
						t.Errorf("layer %d: ∇W off by %.3g relative", i, err)
					}
				}
			})
		}
	}
}

// TestAlignmentOfExactRules: bp's and decor-bp's update angles are 0 (to float rounding) and
// they report no feedback metrics; FA's output layer, whose update is the true gradient, has
// angle 0 while its hidden layers do not; COPI's angles are defined and finite. Catches an
// angle computed between mismatched layers or buffers, and a true gradient that is not
// backprop's.
func TestAlignmentOfExactRules(t *testing.T) {
	e := testEngine(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{seed: 7, bias: true, sizes: []int{6, 8, 8, 3}})
			rng := rand.New(rand.NewPCG(5, 5))
			if l.Net.Config.Decorrelate {
				randomizeR(l.Net, rng, 0.3)
			}
			x, labels := batch(rng, 7, 6, 3)
			a := NewAlignmentProbe(l).Measure(x, labels)
			L := len(l.Net.Layers)
			if len(a.UpdateAngleDeg) != L {
				t.Fatalf("%d update angles for %d layers", len(a.UpdateAngleDeg), L)
			}
			for i, v := range a.UpdateAngleDeg {
				if math.IsNaN(v) || v < 0 || v > 180 {
					t.Errorf("layer %d: angle %v", i, v)
				}
			}
			switch l.Cfg.Credit {
			case Backprop:
				if l.Cfg.Update == Gradient {
					for i, v := range a.UpdateAngleDeg {
						if v > 1e-2 {
							t.Errorf("layer %d: %s update angle %v°, want 0", i, name, v)
						}
					}
				}
				if a.FeedbackAngleDeg != nil || a.FeedbackNormRatio != nil {
					t.Errorf("feedback metrics for a rule without feedback")
				}
			default:
				if len(a.FeedbackAngleDeg) != L-1 || len(a.FeedbackNormRatio) != L-1 {
					t.Fatalf("%d feedback angles, %d ratios for %d hidden layers", len(a.FeedbackAngleDeg), len(a.FeedbackNormRatio), L-1)
				}
				if l.Cfg.Update == Gradient {
					if v := a.UpdateAngleDeg[L-1]; v > 1e-2 {
						t.Errorf("output layer's update angle %v°, want 0 (its update is the true gradient)", v)
					}
					for i := 0; i < L-1; i++ {
						if v := a.UpdateAngleDeg[i]; v < 1 {
							t.Errorf("layer %d: update angle %v°, want the misalignment of random feedback", i, v)
						}
					}
				}
				for i, r := range a.FeedbackNormRatio {
					if !(r > 0) {
						t.Errorf("hidden layer %d: norm ratio %v", i, r)
					}
				}
			}
			if l.Cfg.Credit == SignSymmetry {
				for i, v := range a.FeedbackAngleDeg {
					if v >= 90 { // sign-concordant B has a positive inner product with Wᵀ
						t.Errorf("hidden layer %d: sign-symmetric B at %v° from Wᵀ", i, v)
					}
				}
			}
		})
	}
}

// teacherBatch returns n inputs uniform in [−1, 1) labelled by the argmax of a fixed random
// linear teacher: a learnable toy task.
func teacherBatch(rng *rand.Rand, teacher dm, n int) (mat32.Matrix, []uint8) {
	x, labels := batch(rng, n, teacher.c, teacher.r)
	for i := 0; i < n; i++ {
		best, arg := math.Inf(-1), 0
		for k := 0; k < teacher.r; k++ {
			var s float64
			for j := 0; j < teacher.c; j++ {
				s += teacher.at(k, j) * float64(x.At(i, j))
			}
			if s > best {
				best, arg = s, k
			}
		}
		labels[i] = uint8(arg)
	}
	return x, labels
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x / float64(len(v))
	}
	return s
}

// TestFeedbackAlignmentAligns: during a short FA training on a toy task the hidden layers'
// update angle stays below 90° and falls, and the angle between B and Wᵀ falls (the forward
// weights come to align with the fixed feedback); for DFA the angle between B_l and the
// forward path (W_L⋯W_{l+1})ᵀ falls. Catches alignment metrics measured on the wrong matrices
// (B against W instead of Wᵀ, the wrong layer) and feedback that the forward weights cannot
// align with.
func TestFeedbackAlignmentAligns(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"fa", "dfa"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{seed: 1, bias: true, sizes: []int{20, 40, 40, 5}, batch: 32, hidden: mat32.ReLU,
				cfg: func(c *Config) {
					c.Loss = nn.CrossEntropy
					c.Optimizer = optim.Config{Name: "adam", LR: 3e-3}
				}})
			rng := rand.New(rand.NewPCG(11, 11))
			teacher := newDM(5, 20)
			for k := range teacher.v {
				teacher.v[k] = rng.NormFloat64()
			}
			px, py := teacherBatch(rng, teacher, 32)
			probe := NewAlignmentProbe(l)
			first := probe.Measure(px, py)
			var last Alignment
			for s := 0; s <= 600; s++ {
				x, labels := teacherBatch(rng, teacher, 32)
				l.Step(x, labels, Phase{UpdateW: true})
				if s%150 == 0 {
					last = probe.Measure(px, py)
					t.Logf("step %4d: update angles %.1f  feedback angles %.1f  norm ratios %.2f",
						s, last.UpdateAngleDeg, last.FeedbackAngleDeg, last.FeedbackNormRatio)
				}
			}
			L := len(l.Net.Layers)
			if f, g := meanOf(first.FeedbackAngleDeg), meanOf(last.FeedbackAngleDeg); !(g < f-10) {
				t.Errorf("feedback angle went from %.1f° to %.1f°, want a fall of more than 10°", f, g)
			}
			hidden := func(a Alignment) []float64 { return a.UpdateAngleDeg[:L-1] }
			if f, g := meanOf(hidden(first)), meanOf(hidden(last)); !(g < f-5) || g >= 90 {
				t.Errorf("hidden update angle went from %.1f° to %.1f°, want a fall of more than 5° to below 90°", f, g)
			}
			for i, v := range hidden(last) {
				if v >= 90 {
					t.Errorf("layer %d: update angle %.1f° after training", i, v)
				}
			}
		})
	}
}

// TestGradientsDoNotAllocate: RuleGradients and TrueGradients allocate nothing (they run
// at every evaluation, through the buffers of Step). Catches per-call buffers.
func TestGradientsDoNotAllocate(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"copi-bp", "fa", "dfa", "brsf"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{seed: 1, bias: true, batch: 16})
			x, labels := batch(rand.New(rand.NewPCG(1, 1)), 16, 6, 3)
			g := weightShaped(l)
			l.RuleGradients(x, labels, g)
			l.TrueGradients(x, labels, g)
			if a := testing.AllocsPerRun(10, func() {
				l.RuleGradients(x, labels, g)
				l.TrueGradients(x, labels, g)
			}); a != 0 {
				t.Errorf("%v allocations per run", a)
			}
		})
	}
}

package credit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
)

// TestStepDoesNotAllocate: after a warm-up a training step allocates nothing, for each kind
// of rule and optimiser path (fused SGD, Adam, momentum, biases, row-subsampled whitening).
// Catches per-step make/append/closures and interface boxing in the hot loop (and, with 3
// threads, allocations in the engine's work distribution).
func TestStepDoesNotAllocate(t *testing.T) {
	for _, threads := range []int{1, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) { testStepDoesNotAllocate(t, threads) })
	}
}

func testStepDoesNotAllocate(t *testing.T, threads int) {
	e := testEngineThreads(t, threads)
	type tc struct {
		name string
		rule string
		cfg  func(*Config)
		bias bool
	}
	adam := func(c *Config) { c.Optimizer = optim.Config{Name: "adam", LR: 1e-4} }
	cases := []tc{
		{"copi-bp", "copi-bp", nil, false},
		{"copi-bp/bias", "copi-bp", nil, true},
		{"copi-bp/adam/bias", "copi-bp", adam, true},
		{"bp/adam", "bp", adam, false},
		{"bp/adam/bias/fixed", "bp", func(c *Config) {
			c.Optimizer = optim.Config{Name: "adam", LR: 1e-4, BiasCorrection: "fixed", WeightDecay: 1e-4}
		}, true},
		{"bp/momentum", "bp", func(c *Config) { c.Optimizer = optim.Config{Name: "sgd", LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4} }, false},
		{"decor-bp", "decor-bp", nil, false},
		{"decor-bp/whiten/fraction", "decor-bp", func(c *Config) {
			c.Optimizer = optim.Config{Name: "adam", LR: 1e-4}
			c.Decorrelation = DecorrelationConfig{Variant: "whiten", LR: 1e-4, Kappa: 0.01, Fraction: 0.1}
		}, false},
		{"decor-bp/bio", "decor-bp", func(c *Config) { c.Decorrelation.Variant = "bio" }, false},
		{"copi-fa", "copi-fa", nil, false},
		{"copi-dfa", "copi-dfa", func(c *Config) { c.OutputDerivative = true; c.LossMultiplier = 1000; c.Optimizer.LR = 1e-6 }, false},
		{"fa", "fa", nil, true},
		{"dfa", "dfa", nil, false},
		{"usf/adam/bias", "usf", adam, true},
		{"brsf", "brsf", nil, false},
		{"brsf/adam/bias", "brsf", adam, true},
		{"frsf/momentum", "frsf", func(c *Config) { c.Optimizer = optim.Config{Name: "sgd", LR: 0.01, Momentum: 0.9} }, true},
		{"bp/sgd/clip/bias", "bp", func(c *Config) { c.Optimizer = optim.Config{Name: "sgd", LR: 1, ClipNorm: 1e-3} }, true},
	}
	const N = 32
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := func(cf *Config) {
				cf.Optimizer.LR = 1e-3
				if c.cfg != nil {
					c.cfg(cf)
				}
			}
			l := build(t, e, c.rule, setup{sizes: []int{40, 32, 32, 10}, batch: N, bias: c.bias, seed: 1, cfg: cfg})
			rng := rand.New(rand.NewPCG(1, 1))
			x, labels := batch(rng, N, 40, 10)
			small := x.Slice(0, 20, 0, 40) // a short last batch
			ph := Phase{UpdateW: true, UpdateR: true}
			l.Step(x, labels, ph)
			l.Step(small, labels[:20], ph)
			allocs := testing.AllocsPerRun(20, func() {
				l.Step(x, labels, ph)
				l.Step(small, labels[:20], ph)
				l.Step(x, labels, Phase{UpdateR: true})
			})
			if allocs != 0 {
				t.Errorf("%v allocations per run", allocs)
			}
			if s := l.FirstNonFinite(); s != "" {
				t.Errorf("non-finite %s", s)
			}
		})
	}
}

func paramBytes(t *testing.T, l *Learner) []byte {
	var b bytes.Buffer
	w := func(v []float32) {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, layer := range l.Net.Layers {
		w(layer.W.Data)
		w(layer.R.Data)
		w(layer.B)
	}
	for _, f := range l.Feedback {
		w(f.Data)
	}
	st := l.opt.State()
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w(st[k].Data)
	}
	return b.Bytes()
}

// TestReproducible: two learners built from the same seed and fed the same batches end with
// bit-identical parameters, for rules with random feedback, row subsampling and Adam.
// Catches randomness from a global source, the clock or map order, also with several
// engine threads.
func TestReproducible(t *testing.T) {
	e := testEngineThreads(t, 3)
	cfgs := map[string]func(*Config){
		"copi-fa": func(c *Config) { c.Decorrelation.Fraction = 0.5 },
		"copi-dfa": func(c *Config) {
			c.Decorrelation = DecorrelationConfig{Variant: "whiten", Kappa: 0.1, Fraction: 0.3}
		},
		"bp":       func(c *Config) { c.Optimizer = optim.Config{Name: "adam", LR: 1e-3} },
		"decor-bp": func(c *Config) { c.Optimizer = optim.Config{Name: "sgd", LR: 0.05, Momentum: 0.9} },
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			run := func(seed uint64) []byte {
				l := build(t, e, name, setup{seed: seed, bias: true, cfg: cfg})
				rng := rand.New(rand.NewPCG(42, 42))
				for s := 0; s < 10; s++ {
					x, labels := batch(rng, 7, 6, 3)
					l.Step(x, labels, Phase{UpdateW: s > 2, UpdateR: true})
				}
				return paramBytes(t, l)
			}
			a, b := run(3), run(3)
			if !bytes.Equal(a, b) {
				t.Error("same seed, same batches, different parameters")
			}
			if bytes.Equal(a, run(4)) {
				t.Error("another seed gave the same parameters")
			}
		})
	}
}

// TestDivergingStep: with a huge learning rate the loss becomes non-finite within a few
// steps; that step returns the non-finite loss, changes no parameter and does not count,
// and FirstNonFinite names a layer. Catches an update applied from NaN credit and a silent
// NaN loss.
func TestDivergingStep(t *testing.T) {
	e := testEngine(t)
	for _, name := range []string{"copi-bp", "bp"} {
		t.Run(name, func(t *testing.T) {
			l := build(t, e, name, setup{seed: 1, cfg: func(c *Config) {
				c.Optimizer.LR = 1e3
				c.LossMultiplier = 1e3
			}})
			rng := rand.New(rand.NewPCG(1, 1))
			x, labels := batch(rng, 7, 6, 3)
			if s := l.FirstNonFinite(); s != "" {
				t.Fatalf("fresh learner reports non-finite %s", s)
			}
			for s := 0; s < 100; s++ {
				before := paramBytes(t, l)
				steps := l.Steps()
				loss := l.Step(x, labels, Phase{UpdateW: true, UpdateR: true})
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					if !bytes.Equal(before, paramBytes(t, l)) {
						t.Error("a step with a non-finite loss changed the parameters")
					}
					if l.Steps() != steps {
						t.Error("a step with a non-finite loss was counted")
					}
					where := l.FirstNonFinite()
					if !strings.HasPrefix(where, "layer ") {
						t.Errorf("FirstNonFinite = %q, want a layer", where)
					}
					t.Logf("step %d: loss %v, first non-finite: %s", s, loss, where)
					return
				}
			}
			t.Fatal("the loss stayed finite with a learning rate of 1e3")
		})
	}
	// An infinite (not NaN) loss: one output weight is +Inf and the inputs are positive.
	t.Run("inf", func(t *testing.T) {
		l := build(t, e, "copi-bp", setup{seed: 1})
		rng := rand.New(rand.NewPCG(1, 1))
		x, labels := batch(rng, 7, 6, 3)
		for k := range x.Data {
			x.Data[k] = 0.5 + x.Data[k]*x.Data[k]
		}
		l.Net.Forward(e, x, l.trace)
		L := len(l.Net.Layers)
		last := l.Net.Layers[L-1]
		h := l.trace.H[L-2]
		for j := 0; j < last.In; j++ {
			last.W.Set(0, j, 0)
			if h.At(0, j) > 0 {
				last.W.Set(0, j, float32(math.Inf(1))) // a single +Inf term: output +Inf, not NaN
				break
			}
		}
		before := paramBytes(t, l)
		if loss := l.Step(x, labels, Phase{UpdateW: true, UpdateR: true}); !math.IsInf(loss, 1) {
			t.Fatalf("loss %v, want +Inf", loss)
		}
		if !bytes.Equal(before, paramBytes(t, l)) || l.Steps() != 0 {
			t.Error("a step with an infinite loss changed the parameters or was counted")
		}
		if where := l.FirstNonFinite(); where != fmt.Sprintf("layer %d W", L) {
			t.Errorf("FirstNonFinite = %q", where)
		}
	})
}

// TestNewLearnerRejects: configurations that cannot work are errors, not panics.
func TestNewLearnerRejects(t *testing.T) {
	e := testEngine(t)
	var c Config
	if err := c.ForName("nope"); err == nil {
		t.Error("unknown rule accepted")
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Decorrelation.Variant = "zca" },
		func(c *Config) { c.Decorrelation.Fraction = 1.5 },
		func(c *Config) { c.Decorrelation.Kappa = 2; c.Decorrelation.Variant = "whiten" },
		func(c *Config) { c.Optimizer.Name = "rmsprop" },
		func(c *Config) { c.FeedbackInit = "orthogonal" },
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic instead of an error: %v", r)
				}
			}()
			var cfg Config
			if err := cfg.ForName("copi-fa"); err != nil {
				t.Fatal(err)
			}
			cfg.Optimizer = optimSGD(0.1)
			bad(&cfg)
			net := build(t, e, "copi-fa", setup{}).Net
			if _, err := NewLearner(e, net, cfg, 7, rand.New(rand.NewPCG(1, 1))); err == nil {
				t.Errorf("accepted %+v", cfg)
			}
		}()
	}
	// a decorrelating rule needs a network with R, and vice versa
	net := build(t, e, "bp", setup{}).Net
	var cfg Config
	_ = cfg.ForName("copi-bp")
	if _, err := NewLearner(e, net, cfg, 7, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("copi-bp accepted a network without decorrelators")
	}
}

// TestLanesMatchOneThread: with several engine threads the layers' updates run side by side
// in lanes (each product on one thread, each thread taking the next layer); the parameters
// after a few steps are bit-identical to those of a one-thread engine, which runs the layers
// one after another, and every layer is in the update order exactly once. Catches scratch shared between layers (a race shows as a
// difference, and under -race as a report) and a layer updated twice or not at all.
func TestLanesMatchOneThread(t *testing.T) {
	one, three := testEngineThreads(t, 1), testEngineThreads(t, 3)
	cases := map[string]func(*Config){
		"copi-bp":  nil,
		"copi-bio": func(c *Config) { c.Decorrelation.Variant = "bio" },
		"copi-fa/whiten/fraction": func(c *Config) {
			c.Decorrelation = DecorrelationConfig{Variant: "whiten", Kappa: 0.05, Fraction: 0.3}
		},
		"decor-bp": nil,
		"bp":       nil,
	}
	for name, cfg := range cases {
		rule := strings.Split(name, "/")[0]
		if rule == "copi-bio" {
			rule = "copi-bp"
		}
		t.Run(name, func(t *testing.T) {
			// Wide enough that every product is split over the threads of the 3-thread engine.
			s := setup{sizes: []int{120, 96, 96, 80, 10}, batch: 50, bias: true, seed: 5, cfg: func(c *Config) {
				c.Optimizer.LR = 1e-3
				if cfg != nil {
					cfg(c)
				}
			}}
			run := func(e *mat32.Engine) *Learner {
				l := build(t, e, rule, s)
				rng := rand.New(rand.NewPCG(9, 9))
				for step := 0; step < 6; step++ {
					x, labels := batch(rng, 50, 120, 10)
					l.Step(x, labels, Phase{UpdateW: step > 1, UpdateR: true})
				}
				return l
			}
			a, b := run(one), run(three)
			if a.lanes != nil {
				t.Fatal("a one-thread engine planned lanes")
			}
			if len(b.lanes) != 3 {
				t.Fatalf("%d lanes for 3 threads, want 3", len(b.lanes))
			}
			seen := make([]int, len(b.Net.Layers))
			for _, i := range b.UpdateOrder(Phase{UpdateW: true, UpdateR: true}) {
				seen[i]++
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("layer %d is %d times in the update order", i+1, n)
				}
			}
			if !bytes.Equal(paramBytes(t, a), paramBytes(t, b)) {
				t.Error("3 threads with lanes and 1 thread end with different parameters")
			}
		})
	}
}

// TestClipNormBoundsTheStep: with plain SGD at learning rate 1 and ClipNorm c, a step
// changes the weights and biases of all layers together by a global L2 norm of exactly c
// when the gradient is larger (and by the unclipped gradient when c is above its norm),
// whichever rule computes the gradient.
func TestClipNormBoundsTheStep(t *testing.T) {
	e := testEngineThreads(t, 2)
	rng := rand.New(rand.NewPCG(3, 3))
	x, labels := batch(rng, 16, 12, 4)
	delta := func(rule string, clip float64) float64 {
		l := build(t, e, rule, setup{sizes: []int{12, 9, 4}, batch: 16, bias: true, seed: 2, cfg: func(c *Config) {
			c.Optimizer = optim.Config{Name: "sgd", LR: 1, ClipNorm: clip}
			c.LossMultiplier = 1
		}})
		var before []float32
		for _, layer := range l.Net.Layers {
			before = append(append(before, layer.W.Data...), layer.B...)
		}
		l.Step(x, labels, Phase{UpdateW: true})
		var sq float64
		k := 0
		for _, layer := range l.Net.Layers {
			for _, v := range append(append([]float32(nil), layer.W.Data...), layer.B...) {
				d := float64(v - before[k])
				sq += d * d
				k++
			}
		}
		return math.Sqrt(sq)
	}
	for _, rule := range []string{"bp", "fa"} {
		free := delta(rule, 0)
		if free < 1e-3 {
			t.Fatalf("%s: unclipped step of norm %g is too small to test clipping", rule, free)
		}
		if got := delta(rule, free/4); math.Abs(got-free/4) > 1e-4*free {
			t.Errorf("%s: clipped to %g, the step's norm is %g", rule, free/4, got)
		}
		if got := delta(rule, 10*free); math.Abs(got-free) > 1e-5*free {
			t.Errorf("%s: clip above the norm changed the step: %g, unclipped %g", rule, got, free)
		}
	}
}

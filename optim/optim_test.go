package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

var grads = [][]float64{{0.5, -2, 1e-3, 0}, {0.1, -1, -4e-3, 3}, {-0.3, -0.5, 2e-3, -1}}

func param(v []float64) mat32.Matrix {
	m := mat32.New(2, 2)
	for i, x := range v {
		m.Data[i] = float32(x)
	}
	return m
}

func near(t *testing.T, what string, got mat32.Matrix, want []float64, rel float64) {
	t.Helper()
	for i, w := range want {
		g := float64(got.Data[i])
		if math.Abs(g-w) > rel*math.Max(math.Abs(w), 1e-3) {
			t.Errorf("%s[%d] = %.9g, want %.9g", what, i, g, w)
		}
	}
}

// unchanged checks that Apply left the gradient alone (the caller owns it).
func unchanged(t *testing.T, got mat32.Matrix, g []float64) {
	t.Helper()
	if w := param(g); string(fmt.Append(nil, got.Data)) != string(fmt.Append(nil, w.Data)) {
		t.Errorf("Apply changed the gradient: %v, was %v", got.Data, w.Data)
	}
}

// adamRef is Adam in float64, for 3 steps from p0 with the gradients above.
func adamRef(p0 []float64, lr, b1, b2, eps, wd float64, fixed bool) [][]float64 {
	p := append([]float64(nil), p0...)
	m, v := make([]float64, len(p)), make([]float64, len(p))
	var out [][]float64
	for t, g := range grads {
		step := float64(t + 1)
		c1, c2 := 1-math.Pow(b1, step), 1-math.Pow(b2, step)
		if fixed {
			c1, c2 = 1-b1, 1-b2
		}
		for i := range p {
			gi := g[i] + wd*p[i]
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			p[i] -= lr * (m[i] / c1) / (math.Sqrt(v[i]/c2) + eps)
		}
		out = append(out, append([]float64(nil), p...))
	}
	return out
}

// TestAdam checks 3 steps of Adam against a float64 computation: standard bias correction
// (the first step is lr·sign(g)), the reference's "fixed" correction by (1−β₁), (1−β₂), and L2
// weight decay. Catches a wrong bias correction, β's swapped, √ missing, ε inside the root,
// the step counter not advancing, and states shared between parameters.
func TestAdam(t *testing.T) {
	p0 := []float64{0.3, -0.7, 1.1, 0.05}
	other := []float64{1, 2, 3, 4}
	for _, c := range []struct {
		name  string
		cfg   Config
		fixed bool
	}{
		{"standard", Config{Name: "adam", LR: 1e-2}, false},
		{"fixed", Config{Name: "adam", LR: 1e-2, BiasCorrection: "fixed"}, true},
		{"betas/eps", Config{Name: "adam", LR: 0.1, Beta1: 0.5, Beta2: 0.8, Eps: 1e-3}, false},
		{"weight-decay", Config{Name: "adam", LR: 1e-2, WeightDecay: 0.1, BiasCorrection: "standard"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			b1, b2, eps := c.cfg.Beta1, c.cfg.Beta2, c.cfg.Eps
			if b1 == 0 {
				b1, b2, eps = 0.9, 0.999, 1e-8
			}
			want := adamRef(p0, c.cfg.LR, b1, b2, eps, c.cfg.WeightDecay, c.fixed)
			p, q := param(p0), param(other)
			o.Init([]mat32.Matrix{q, p}) // p is parameter 1: its state must be its own
			for s, g := range grads {
				o.Begin()
				o.Apply(0, q, param([]float64{9, 9, 9, 9}))
				gm := param(g)
				o.Apply(1, p, gm)
				near(t, "p", p, want[s], 2e-5)
				unchanged(t, gm, g)
			}
			if o.Steps() != 3 {
				t.Errorf("Steps() = %d", o.Steps())
			}
			if c.name == "standard" {
				for i, g := range grads[0] {
					if g != 0 && math.Abs((want[0][i]-p0[i])+c.cfg.LR*math.Copysign(1, g)) > 1e-6 {
						t.Errorf("reference: first standard-Adam step is not −lr·sign(g)")
					}
				}
			}
		})
	}
}

// TestAdamFixedDiffersFromStandard: the two bias corrections give different steps (so the
// option is wired through New).
func TestAdamFixedDiffersFromStandard(t *testing.T) {
	run := func(bc string) float32 {
		o, _ := New(Config{Name: "adam", LR: 1e-2, BiasCorrection: bc})
		p := param([]float64{1, 1, 1, 1})
		o.Init([]mat32.Matrix{p})
		for _, g := range grads {
			o.Begin()
			o.Apply(0, p, param(g))
		}
		return p.Data[0]
	}
	if run("fixed") == run("standard") {
		t.Error("fixed and standard bias correction agree")
	}
}

// TestSGD checks plain SGD, heavy-ball momentum v ← μv + g + λp, p ← p − ηv, and weight decay
// over 3 steps against float64. Catches momentum applied as μ·g, decay with the wrong sign,
// and velocities shared between parameters.
func TestSGD(t *testing.T) {
	p0 := []float64{0.3, -0.7, 1.1, 0.05}
	for _, c := range []Config{
		{Name: "sgd", LR: 0.1},
		{Name: "", LR: 0.1, WeightDecay: 0.01},
		{Name: "sgd", LR: 0.1, Momentum: 0.9},
		{Name: "sgd", LR: 0.1, Momentum: 0.5, WeightDecay: 0.2},
	} {
		o, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		p, q := param(p0), param(p0)
		o.Init([]mat32.Matrix{q, p})
		ref := append([]float64(nil), p0...)
		vel := make([]float64, 4)
		for _, g := range grads {
			o.Begin()
			o.Apply(0, q, param([]float64{5, 5, 5, 5}))
			gm := param(g)
			o.Apply(1, p, gm)
			for i := range ref {
				vel[i] = c.Momentum*vel[i] + g[i] + c.WeightDecay*ref[i]
				ref[i] -= c.LR * vel[i]
			}
			near(t, "p", p, ref, 1e-5)
			unchanged(t, gm, g)
		}
		if o.Steps() != 3 {
			t.Errorf("%+v: Steps() = %d", c, o.Steps())
		}
		o.SetSteps(17)
		if o.Steps() != 17 {
			t.Errorf("SetSteps")
		}
	}
}

// TestNew checks defaults and rejections.
func TestNew(t *testing.T) {
	o, err := New(Config{Name: "adam", LR: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	a := o.(*Adam)
	if a.Beta1 != 0.9 || a.Beta2 != 0.999 || a.Eps != 1e-8 || a.FixedBiasCorrection {
		t.Errorf("adam defaults %+v", a)
	}
	for _, bad := range []Config{
		{Name: "sgd", LR: -1},
		{Name: "sgd", LR: math.NaN()},
		{Name: "sgd", LR: 1, Momentum: 1},
		{Name: "adam", LR: 1, Beta1: 1},
		{Name: "adam", LR: 1, BiasCorrection: "none"},
		{Name: "rmsprop", LR: 1},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if o, _ := New(Config{Name: "sgd", LR: 1, Momentum: 0.9}); len(o.State()) != 0 {
		t.Errorf("state before Init: %v", o.State())
	}
}

// TestAdamSecondMomentIsExactAfterOneStep pins v after the first step to (1−β₂)·g² within one
// float32 rounding: computing 1−β₂ in float32 (1 − float32(0.999)) is 1.3e-5 off and fails.
func TestAdamSecondMomentIsExactAfterOneStep(t *testing.T) {
	a := &Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	p := mat32.FromSlice(1, 3, []float32{1, 2, 3})
	g := mat32.FromSlice(1, 3, []float32{0.5, -3, 7})
	a.Init([]mat32.Matrix{p})
	a.Begin()
	a.Apply(0, p, g)
	v := a.State()["v.0"]
	for j, gj := range g.Data {
		want := 0.001 * float64(gj) * float64(gj)
		if rel := math.Abs(float64(v.Data[j])-want) / want; rel > 2e-7 {
			t.Errorf("v[%d] = %g, want %g (relative error %.2g)", j, v.Data[j], want, rel)
		}
	}
}

// TestAdamOnEngineIsBitIdentical runs Adam on parameters of the MNIST network's sizes with
// and without an engine (every kernel, one and two threads) and demands the same bits.
func TestAdamOnEngineIsBitIdentical(t *testing.T) {
	shapes := [][2]int{{500, 784}, {1, 500}, {10, 500}, {1, 10}, {3, 37}}
	run := func(e *mat32.Engine, wd float32) []mat32.Matrix {
		opt, err := New(Config{Name: "adam", LR: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		a := opt.(*Adam)
		a.WeightDecay = wd
		if e != nil {
			a.SetEngine(e)
		}
		var ps []mat32.Matrix
		for _, s := range shapes {
			ps = append(ps, mat32.New(s[0], s[1]))
		}
		a.Init(ps)
		g := make([]mat32.Matrix, len(ps))
		for i, p := range ps {
			g[i] = mat32.New(p.Rows, p.Cols)
			for j := range p.Data {
				p.Data[j] = float32(math.Sin(float64(j)))
			}
		}
		for step := 0; step < 4; step++ {
			a.Begin()
			for i, p := range ps {
				for j := range g[i].Data {
					g[i].Data[j] = float32(math.Cos(float64(j*(step+1)))) * float32(math.Pow(10, float64(j%9-5)))
				}
				a.Apply(i, p, g[i])
			}
		}
		return ps
	}
	for _, wd := range []float32{0, 1e-2} {
		want := run(nil, wd)
		for _, k := range mat32.AvailableKernels() {
			for _, threads := range []int{1, 2} {
				e, err := mat32.NewEngine(mat32.Options{Threads: threads, Kernel: k})
				if err != nil {
					t.Fatal(err)
				}
				got := run(e, wd)
				e.Close()
				for i := range got {
					for j := range got[i].Data {
						if math.Float32bits(got[i].Data[j]) != math.Float32bits(want[i].Data[j]) {
							t.Fatalf("%s, %d threads, wd %g: param %d[%d] = %g, scalar %g", k, threads, wd, i, j, got[i].Data[j], want[i].Data[j])
						}
					}
				}
			}
		}
	}
}

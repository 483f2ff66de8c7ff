package credit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// TestBackpropMatchesFiniteDifferences checks the weight (and bias) change of one step of
// backprop with lr 1 against central differences of an independent float64 loss:
// ΔW = −g with g = (K/2)·dLoss/dW for MSE (the loss averages over N·K and δ = t − a) and
// g = dLoss/dW for cross-entropy. With decor-bp a fixed non-identity R sits in front of every
// layer and the credit must flow back through W and R. Catches wrong transposes, a missing
// f' or R factor, a wrong sign, batch-size or loss-scaling bugs, and bias-gradient bugs, on
// both the fused SGD path and the optimiser path (momentum and weight decay over three
// steps, which also catches the fused path being taken when it must not be).
func TestBackpropMatchesFiniteDifferences(t *testing.T) {
	e := testEngine(t)
	type tc struct {
		rule   string
		loss   nn.Loss
		bias   bool
		hidden mat32.Func
		param  float32
		opt    optim.Config
	}
	var cases []tc
	for _, rule := range []string{"bp", "decor-bp"} {
		for _, loss := range []nn.Loss{nn.MSE, nn.CrossEntropy} {
			for _, bias := range []bool{false, true} {
				cases = append(cases, tc{rule, loss, bias, mat32.LeakyReLU, 0.1, optimSGD(1)})
			}
		}
		// the optimiser path: SGD with momentum takes exactly −lr·g on its first step.
		cases = append(cases, tc{rule, nn.MSE, true, mat32.Tanh, 0, optim.Config{Name: "sgd", LR: 1, Momentum: 0.9}},
			tc{rule, nn.CrossEntropy, true, mat32.LeakyReLU, 0.1, optim.Config{Name: "sgd", LR: 0.5, Momentum: 0.5, WeightDecay: 0.1}},
			tc{rule, nn.MSE, false, mat32.LeakyReLU, 0.1, optim.Config{Name: "sgd", LR: 0.5, WeightDecay: 0.1}})
	}
	for ci, c := range cases {
		name := fmt.Sprintf("%s/%v/bias=%v/%v/%s-mom%v", c.rule, c.loss, c.bias, c.hidden, c.opt.Name, c.opt.Momentum)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 99))
			l := build(t, e, c.rule, setup{batch: 9, bias: c.bias, hidden: c.hidden, param: c.param, seed: uint64(ci + 1),
				cfg: func(cfg *Config) {
					cfg.Loss = c.loss
					cfg.Optimizer = c.opt
				}})
			if c.rule == "decor-bp" {
				randomizeR(l.Net, rng, 0.3)
			}
			x, labels := batch(rng, 7, 6, 3)
			K := float64(l.Net.OutputSize())
			scale := 1.0 // g = scale · dLoss/dW
			if c.loss == nn.MSE {
				scale = K / 2
			}
			mu, lambda := c.opt.Momentum, c.opt.WeightDecay
			// velocity of the optimiser path, in float64: v ← μv + g + λp, Δp = −lr·v
			velW := make([][]float64, len(l.Net.Layers))
			velB := make([][]float64, len(l.Net.Layers))
			steps := 1
			if mu != 0 || lambda != 0 {
				steps = 3
			}
			for step := 0; step < steps; step++ {
				ref := toNet64(l.Net)
				before := snap(l.Net)
				y := fromM(x)
				lossAt := func() float64 { return loss64(c.loss, ref.forward(y).h[len(ref.layers)-1], labels) }
				got := l.Step(x, labels, Phase{UpdateW: true})
				if want := lossAt(); relErr([]float64{got}, []float64{want}) > 1e-5 {
					t.Fatalf("Step returned loss %v, reference %v", got, want)
				}
				const h = 1e-5
				fd := func(p *float64) float64 {
					old := *p
					*p = old + h
					up := lossAt()
					*p = old - h
					dn := lossAt()
					*p = old
					return (up - dn) / (2 * h)
				}
				// want returns Δp = −lr·(μv + g + λp) for every element of p, updating v.
				want := func(vel *[]float64, p []float64) []float64 {
					if *vel == nil {
						*vel = make([]float64, len(p))
					}
					v := *vel
					w := make([]float64, len(p))
					for k := range p {
						g := scale*fd(&p[k]) + lambda*p[k]
						v[k] = mu*v[k] + g
						w[k] = -c.opt.LR * v[k]
					}
					return w
				}
				for i, layer := range l.Net.Layers {
					p := ref.layers[i]
					wantW := want(&velW[i], p.W.v)
					if err := relErr(diff(layer.W, before.W[i]), wantW); err > 1e-3 {
						t.Errorf("step %d layer %d: ΔW differs from −lr·g by %.3g relative\n got %v\nwant %v", step, i, err,
							diff(layer.W, before.W[i]), wantW)
					}
					if c.bias {
						wantB := want(&velB[i], p.B)
						gotB := make([]float64, len(p.B))
						for k := range p.B {
							gotB[k] = float64(layer.B[k]) - float64(before.B[i][k])
						}
						if err := relErr(gotB, wantB); err > 1e-3 {
							t.Errorf("step %d layer %d: Δb %v, want %v", step, i, gotB, wantB)
						}
					}
					if layer.HasR() {
						if d := diff(layer.R, before.R[i]); maxAbs(d) != 0 {
							t.Errorf("layer %d: R changed although Phase.UpdateR is false", i)
						}
					}
				}
			}
		})
	}
}

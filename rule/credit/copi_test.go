package credit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
)

// hadamard returns the n×n Sylvester Hadamard matrix (n a power of 2): orthogonal columns.
func hadamard(n int) dm {
	h := newDM(1, 1)
	h.set(0, 0, 1)
	for h.r < n {
		g := newDM(2*h.r, 2*h.r)
		for i := 0; i < h.r; i++ {
			for j := 0; j < h.r; j++ {
				v := h.at(i, j)
				g.set(i, j, v)
				g.set(i, j+h.r, v)
				g.set(i+h.r, j, v)
				g.set(i+h.r, j+h.r, -v)
			}
		}
		h = g
	}
	return h
}

// TestCOPIFixedPoint: on inputs with exactly orthogonal columns (<x_i x_j> = 0 for i ≠ j),
// a single layer with R = I, MSE and m = 1 has z = a + δ = t, so COPI steps must converge to
// W = <t xᵀ>·diag(<x²>)⁻¹. Catches a wrong decay term (e.g. diag(<x²>) on the wrong side,
// a missing 1/N, <x> instead of <x²>), a sign error in δ, or z ≠ a + δ.
func TestCOPIFixedPoint(t *testing.T) {
	e := testEngine(t)
	const N, n, K = 8, 4, 3
	for _, bias := range []bool{false, true} {
		for _, opt := range []optim.Config{optimSGD(0.5), {Name: "sgd", LR: 0.2, Momentum: 0.5}} {
			t.Run(fmt.Sprintf("bias=%v/momentum=%v", bias, opt.Momentum), func(t *testing.T) {
				l := build(t, e, "copi-bp", setup{sizes: []int{n, K}, batch: N, bias: bias, seed: 3,
					cfg: func(c *Config) { c.Optimizer = opt }})
				H := hadamard(N)
				scales := []float64{1, 0.7, 1.3, 0.9}
				x := mat32.New(N, n)
				for i := 0; i < N; i++ {
					for j := 0; j < n; j++ {
						// columns 1..4 of H: orthogonal, and orthogonal to the constant column 0
						// (the bias input), each with its own scale.
						x.Set(i, j, float32(scales[j]*H.at(i, j+1)))
					}
				}
				rng := rand.New(rand.NewPCG(5, 5))
				labels := make([]uint8, N)
				for i := range labels {
					labels[i] = uint8(rng.IntN(K))
				}
				for s := 0; s < 300; s++ {
					l.Step(x, labels, Phase{UpdateW: true})
				}
				W := l.Net.Layers[0].W
				for i := 0; i < K; i++ {
					for j := 0; j < n; j++ {
						var tx float64
						for r := 0; r < N; r++ {
							if int(labels[r]) == i {
								tx += float64(x.At(r, j))
							}
						}
						want := (tx / N) / (scales[j] * scales[j])
						if got := float64(W.At(i, j)); math.Abs(got-want) > 1e-4 {
							t.Errorf("W[%d][%d] = %v, fixed point %v", i, j, got, want)
						}
					}
					if bias {
						var tb float64
						for r := 0; r < N; r++ {
							if int(labels[r]) == i {
								tb++
							}
						}
						if got, want := float64(l.Net.Layers[0].B[i]), tb/N; math.Abs(got-want) > 1e-4 {
							t.Errorf("b[%d] = %v, fixed point <t> = %v", i, got, want)
						}
					}
				}
				if !mat32.AllFinite(W) {
					t.Fatal("non-finite W")
				}
				R := fromM(l.Net.Layers[0].R)
				if relErr(R.v, identity(n).v) != 0 {
					t.Errorf("R changed without Phase.UpdateR")
				}
			})
		}
	}
}

// TestCOPIStepPerElement checks one COPI step on a 4-layer network with BP credit through
// non-identity R, the loss multiplier and the output-derivative quirk against the explicit
// ΔW_ij = <z_i x_j> − <x_j²>·W_ij, z = a + δ, with every δ computed from the weights before
// the step; for the fused SGD path and for the optimiser path (SGD with momentum, whose first
// step is exactly −lr·g, and Adam, whose first step is lr·sign(ΔW)). The R update of the
// same step is checked against the direct form. Catches credit computed after some layer
// was updated, a sign flip of −ΔW into the optimiser, a wrong decay term, and biases.
func TestCOPIStepPerElement(t *testing.T) {
	e := testEngine(t)
	for _, bias := range []bool{false, true} {
		for _, opt := range []optim.Config{optimSGD(0.05), {Name: "sgd", LR: 0.05, Momentum: 0.9}, {Name: "adam", LR: 1e-3}} {
			t.Run(fmt.Sprintf("bias=%v/%s/mom=%v", bias, opt.Name, opt.Momentum), func(t *testing.T) {
				const m = 2.5
				l := build(t, e, "copi-bp", setup{batch: 9, bias: bias, seed: 11, cfg: func(c *Config) {
					c.Optimizer = opt
					c.LossMultiplier = m
					c.OutputDerivative = true
					c.Decorrelation.LR = 0.03
				}})
				rng := rand.New(rand.NewPCG(1, 2))
				randomizeR(l.Net, rng, 0.3)
				x, labels := batch(rng, 7, 6, 3)
				ref := toNet64(l.Net)
				f := ref.forward(fromM(x))
				L := len(ref.layers)
				eL := outputError(l.Cfg.Loss, f.a[L-1], labels, m, true, ref.hidden, ref.param)
				deltas := ref.bpDeltas(f, eL)
				before := snap(l.Net)
				l.Step(x, labels, Phase{UpdateW: true, UpdateR: true})
				for i, layer := range l.Net.Layers {
					dW := copiDelta64(ref.layers[i].W, f.x[i], f.a[i], deltas[i])
					got := diff(layer.W, before.W[i])
					if opt.Name == "adam" {
						for k, g := range got {
							if w := dW.v[k]; math.Abs(w) > 1e-4 && math.Abs(g-opt.LR*math.Copysign(1, w)) > 1e-2*opt.LR {
								t.Errorf("layer %d elem %d: Adam's first step %v, want lr·sign(ΔW) = %v", i, k, g, opt.LR*math.Copysign(1, w))
							}
						}
					} else if err := relErr(got, scaled(dW, opt.LR)); err > 1e-4 {
						t.Errorf("layer %d: ΔW off by %.3g relative\n got %v\nwant %v", i, err, got, scaled(dW, opt.LR))
					}
					if bias && opt.Name != "adam" {
						gotB, wantB := make([]float64, layer.Out), make([]float64, layer.Out)
						for j := range gotB {
							var mz float64
							for r := 0; r < f.a[i].r; r++ {
								mz += f.a[i].at(r, j) + deltas[i].at(r, j)
							}
							mz /= float64(f.a[i].r)
							wantB[j] = opt.LR * (mz - ref.layers[i].B[j])
							gotB[j] = float64(layer.B[j]) - float64(before.B[i][j])
						}
						if err := relErr(gotB, wantB); err > 1e-4 {
							t.Errorf("layer %d: Δb %v, want η(<z> − b) = %v", i, gotB, wantB)
						}
					}
					dR := directDeltaR("default", 0, ref.layers[i].R, f.x[i])
					if ok, r := closeTo(diff(layer.R, before.R[i]), scaled(dR, 0.03), 1e-4, ulps(4, layer.R)); !ok {
						t.Errorf("layer %d: ΔR off by %.3g × tolerance", i, r)
					}
				}
			})
		}
	}
}

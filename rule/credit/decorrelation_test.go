package credit

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

// TestDecorrelationFastFormMatchesDirect: the O(N·n²) update of R equals the direct O(n³)
// form ΔR = −C·R (default), −R·C (bio), −[(1−κ)C·R + κ·diag(<x²>−1)·R] (whiten) with
// C = <x xᵀ> ⊙ (1 − I), for every layer, from a non-identity, non-symmetric R. Catches C·R
// swapped with R·C, a transposed R, a missing or wrong diagonal correction, κ misapplied,
// and R updated with the wrong learning rate. Also checks that a decorrelation-only phase
// leaves W alone.
func TestDecorrelationFastFormMatchesDirect(t *testing.T) {
	e := testEngine(t)
	const eta, kappa = 0.05, 0.3
	for _, variant := range []string{"default", "bio", "whiten", "default/lr-from-weights"} {
		t.Run(variant, func(t *testing.T) {
			variant, inherit := strings.CutSuffix(variant, "/lr-from-weights")
			l := build(t, e, "copi-bp", setup{batch: 9, seed: 4, cfg: func(c *Config) {
				c.Decorrelation.Variant = variant
				c.Decorrelation.LR = eta
				c.Decorrelation.Kappa = kappa
				if inherit { // LR 0: R learns at the weights' rate, as in the COPI reference
					c.Decorrelation.LR = 0
					c.Optimizer.LR = eta
				}
			}})
			rng := rand.New(rand.NewPCG(8, 8))
			randomizeR(l.Net, rng, 0.4)
			x, labels := batch(rng, 7, 6, 3)
			ref := toNet64(l.Net)
			f := ref.forward(fromM(x))
			before := snap(l.Net)
			l.Step(x, labels, Phase{UpdateR: true})
			for i, layer := range l.Net.Layers {
				want := scaled(directDeltaR(variant, kappa, ref.layers[i].R, f.x[i]), eta)
				if ok, r := closeTo(diff(layer.R, before.R[i]), want, 1e-4, ulps(4, layer.R)); !ok {
					t.Errorf("layer %d: ΔR off by %.3g × tolerance\n got %v\nwant %v", i, r, diff(layer.R, before.R[i]), want)
				}
				if maxAbs(diff(layer.W, before.W[i])) != 0 {
					t.Errorf("layer %d: W changed in a decorrelation-only phase", i)
				}
			}
		})
	}
}

func rBytes(t *testing.T, l *Learner) []byte {
	var b bytes.Buffer
	for _, layer := range l.Net.Layers {
		if err := binary.Write(&b, binary.LittleEndian, layer.R.Data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestDecorrelationFraction: with Fraction 0.5 the R update of each layer equals the direct
// form applied to some half of the batch's rows (all subsets are tried), differs from the
// full-batch update, is reproducible for a seed and changes with the seed. Catches a sample
// whose <x²> or 1/N comes from the whole batch, rows sampled with replacement, and
// non-reproducible sampling.
func TestDecorrelationFraction(t *testing.T) {
	e := testEngine(t)
	const N, eta = 8, 0.05
	for _, variant := range []string{"default", "bio", "whiten"} {
		t.Run(variant, func(t *testing.T) {
			mk := func(seed uint64, frac float64) (*Learner, snapshot, fwd64, net64) {
				l := build(t, e, "copi-fa", setup{seed: 4, batch: N, cfg: func(c *Config) {
					c.Decorrelation = DecorrelationConfig{Variant: variant, LR: eta, Kappa: 0.2, Fraction: frac}
					c.Seed = seed
				}})
				rng := rand.New(rand.NewPCG(8, 8))
				randomizeR(l.Net, rng, 0.4)
				x, labels := batch(rng, N, 6, 3)
				ref := toNet64(l.Net)
				f := ref.forward(fromM(x))
				s := snap(l.Net)
				l.Step(x, labels, Phase{UpdateR: true})
				return l, s, f, ref
			}
			l, before, f, ref := mk(1, 0.5)
			full, _, _, _ := mk(1, 1)
			for i, layer := range l.Net.Layers {
				got := diff(layer.R, before.R[i])
				best, bestSet := math.Inf(1), 0
				for set := 0; set < 1<<N; set++ {
					if popcount(set) != N/2 {
						continue
					}
					sub := newDM(N/2, f.x[i].c)
					k := 0
					for r := 0; r < N; r++ {
						if set&(1<<r) != 0 {
							copy(sub.row(k), f.x[i].row(r))
							k++
						}
					}
					want := scaled(directDeltaR(variant, 0.2, ref.layers[i].R, sub), eta)
					if ok, r := closeTo(got, want, 1e-4, ulps(4, layer.R)); ok || r < best {
						best, bestSet = r, set
					}
				}
				if best > 1 {
					t.Errorf("layer %d: the R update matches no half of the batch (best %.3g × tolerance, rows %b)", i, best, bestSet)
				}
				if maxAbs(diff(layer.R, full.Net.Layers[i].R)) < 1e-6 {
					t.Errorf("layer %d: the subsampled update equals the full-batch one", i)
				}
			}
			again, _, _, _ := mk(1, 0.5)
			if !bytes.Equal(rBytes(t, l), rBytes(t, again)) {
				t.Error("the same seed gave a different R")
			}
			other, _, _, _ := mk(2, 0.5)
			if bytes.Equal(rBytes(t, l), rBytes(t, other)) {
				t.Error("another seed gave the same R")
			}
		})
	}
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// TestDecorrelationReducesCorrelation: on strongly correlated inputs x = y·M, repeated
// decorrelation-only steps make DecorrelationMeasure of the decorrelated input fall at least
// 5×. Catches an update with the wrong sign (it would amplify correlations) or one that does
// nothing.
func TestDecorrelationReducesCorrelation(t *testing.T) {
	e := testEngine(t)
	const n, N = 6, 32
	rng := rand.New(rand.NewPCG(21, 21))
	M := mat32.New(n, n)
	for i := range M.Data {
		M.Data[i] = float32(0.6 + 0.4*rng.NormFloat64())
	}
	draw := func(N int) mat32.Matrix {
		y := mat32.New(N, n)
		for i := range y.Data {
			y.Data[i] = float32(rng.NormFloat64())
		}
		x := mat32.New(N, n)
		e.MatMul(x, mat32.NoTrans, y, mat32.NoTrans, M)
		return x
	}
	test := draw(2048) // large, so the measure is not dominated by sampling noise
	labels := make([]uint8, N)
	for _, variant := range []string{"default", "bio", "whiten"} {
		t.Run(variant, func(t *testing.T) {
			l := build(t, e, "copi-bp", setup{sizes: []int{n, 4, 3}, batch: N, seed: 1, cfg: func(c *Config) {
				c.Decorrelation = DecorrelationConfig{Variant: variant, LR: 0.02, Kappa: 0.01}
			}})
			scratch := mat32.New(n, n)
			measure := func() float64 {
				tr := l.Net.NewTrace(test.Rows)
				l.Net.Forward(e, test, tr)
				return DecorrelationMeasure(e, tr.X[0], scratch)
			}
			m0 := measure()
			for s := 0; s < 400; s++ {
				if loss := l.Step(draw(N), labels, Phase{UpdateR: true}); math.IsNaN(loss) {
					t.Fatal("NaN loss")
				}
			}
			m1 := measure()
			t.Logf("decorrelation measure %.4f → %.4f", m0, m1)
			if m0 < 0.3 {
				t.Fatalf("test data not correlated enough: %v", m0)
			}
			if !(m1 < m0/5) {
				t.Errorf("decorrelation measure fell from %.4f only to %.4f", m0, m1)
			}
		})
	}
}

// TestDecorrelationMeasure checks the measure on exact cases: orthogonal columns give 0,
// identical columns give 1, zero columns are left out.
func TestDecorrelationMeasure(t *testing.T) {
	e := testEngine(t)
	H := hadamard(4)
	x := mat32.New(4, 3)
	for i := 0; i < 4; i++ {
		x.Set(i, 0, float32(H.at(i, 1)))
		x.Set(i, 1, float32(3*H.at(i, 2)))
	}
	s := mat32.New(3, 3)
	if got := DecorrelationMeasure(e, x, s); got != 0 {
		t.Errorf("orthogonal columns: %v, want 0", got)
	}
	for i := 0; i < 4; i++ {
		x.Set(i, 1, -2*x.At(i, 0))
	}
	if got := DecorrelationMeasure(e, x, s); math.Abs(got-1) > 1e-6 {
		t.Errorf("proportional columns: %v, want 1", got)
	}
}

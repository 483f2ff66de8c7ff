package credit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/mat32"
)

// Sign symmetry (Liao, Leibo & Poggio 2016, with the conventions of biotorch) is feedback
// alignment whose feedback matrix shares the signs of the forward weights but not their
// magnitudes. For the layer l that carries credit from its output back to its input
// (B_l is n_in×n_out, the shape of W_lᵀ):
//
//	uSF   B_l = σ_l · sign(W_lᵀ)                 σ_l = √(2/(n_in+n_out)), the std of W_l's Xavier init
//	brSF  B_l = |R_l| ⊙ sign(W_lᵀ)               R_l drawn afresh for every batch
//	frSF  B_l = |R_l| ⊙ sign(W_lᵀ)               R_l drawn once, at initialisation
//
// with R_l drawn like FA's B (Xavier-normal, std σ_l, or uniform with --feedback-init
// uniform) and sign(0) = 0. The credit is FA's,
//
//	δ_l = (δ_{l+1} · B_{l+1}ᵀ) ⊙ f'(a_l)
//
// and B is rebuilt from the current W before every credit pass, so its signs follow W step
// by step. brSF's R for learning step t comes from a random stream that depends only on the
// seed and t, so a run resumed from a checkpoint draws the same R as an uninterrupted one.

// Magnitude says how sign symmetry scales sign(Wᵀ) into the feedback matrix B.
type Magnitude int

// The magnitudes of sign symmetry's B.
const (
	// UniformMagnitude (uSF): every |B_ij| is σ_l, the std of the layer's Xavier init.
	UniformMagnitude Magnitude = iota
	// BatchRandomMagnitude (brSF): |B| = |R| with R redrawn for every batch.
	BatchRandomMagnitude
	// FixedRandomMagnitude (frSF): |B| = |R| with R drawn once at initialisation.
	FixedRandomMagnitude
)

// String names the magnitude as its rule.
func (m Magnitude) String() string {
	switch m {
	case UniformMagnitude:
		return "usf"
	case BatchRandomMagnitude:
		return "brsf"
	case FixedRandomMagnitude:
		return "frsf"
	}
	return fmt.Sprintf("Magnitude(%d)", int(m))
}

// brsfStream tags brSF's random stream, so that it differs from the decorrelator's.
const brsfStream = 0x6272534620524e47 // "brSF RNG"

// signSymmetry holds what sign symmetry needs besides B itself.
type signSymmetry struct {
	sigma []float32      // per layer: σ_l, uSF's magnitude
	fixed []mat32.Matrix // per layer: frSF's R_l (n_in×n_out), drawn once
	seed  uint64
	pcg   *rand.PCG // brSF's stream, reseeded for every step
	rng   *rand.Rand
}

// initSignSymmetry allocates the B of every layer that carries credit (all but the input
// layer), draws frSF's fixed R and prepares brSF's stream.
func (l *Learner) initSignSymmetry(rng *rand.Rand) error {
	net := l.Net
	init := l.Cfg.FeedbackInit
	s := &l.sign
	s.seed = l.Cfg.Seed
	s.pcg = rand.NewPCG(0, 0)
	s.rng = rand.New(s.pcg)
	s.sigma = make([]float32, len(net.Layers))
	s.fixed = make([]mat32.Matrix, len(net.Layers))
	for i := 1; i < len(net.Layers); i++ {
		layer := net.Layers[i]
		l.Feedback[i] = mat32.New(layer.In, layer.Out)
		s.sigma[i] = float32(math.Sqrt(2 / float64(layer.In+layer.Out)))
		// Validate the init for every variant; only frSF keeps the draw.
		r := mat32.New(layer.In, layer.Out)
		if err := fillFeedback(r, init, rng); err != nil {
			return err
		}
		if l.Cfg.Magnitude == FixedRandomMagnitude {
			s.fixed[i] = r
		}
	}
	switch l.Cfg.Magnitude {
	case UniformMagnitude, BatchRandomMagnitude, FixedRandomMagnitude:
	default:
		return fmt.Errorf("rule %s: unknown sign-symmetry magnitude %v", l.Cfg.Name, l.Cfg.Magnitude)
	}
	l.signFeedback(0)
	return nil
}

// signFeedback rebuilds every B from the current W for learning step `step`:
// B_l = M_l ⊙ sign(W_lᵀ) with M_l = σ_l (uSF), |R_l| drawn for this step (brSF) or |R_l|
// fixed (frSF).
func (l *Learner) signFeedback(step int64) {
	s := &l.sign
	if l.Cfg.Magnitude == BatchRandomMagnitude {
		s.pcg.Seed(s.seed^brsfStream, uint64(step))
	}
	for i := 1; i < len(l.Net.Layers); i++ {
		b, w := l.Feedback[i], l.Net.Layers[i].W
		switch l.Cfg.Magnitude {
		case UniformMagnitude:
			signTransposed(b, w, mat32.Matrix{}, s.sigma[i])
		case BatchRandomMagnitude:
			// The init was validated in initSignSymmetry, so the draw cannot fail; R is
			// drawn into B and replaced by |R| ⊙ sign(Wᵀ) in place.
			_ = fillFeedback(b, l.Cfg.FeedbackInit, s.rng)
			signTransposed(b, w, b, 0)
		case FixedRandomMagnitude:
			signTransposed(b, w, s.fixed[i], 0)
		}
	}
}

// signTransposed sets b (n×m) to |mag| ⊙ sign(wᵀ) for w (m×n), or to scale·sign(wᵀ) when
// mag has no data; mag may be b itself. It walks w in square tiles so that both matrices are
// read and written in cache-sized pieces.
func signTransposed(b, w, mag mat32.Matrix, scale float32) {
	const tile = 32
	for i0 := 0; i0 < w.Rows; i0 += tile {
		i1 := min(i0+tile, w.Rows)
		for j0 := 0; j0 < w.Cols; j0 += tile {
			j1 := min(j0+tile, w.Cols)
			for j := j0; j < j1; j++ {
				brow := b.Row(j)
				var mrow []float32
				if mag.Data != nil {
					mrow = mag.Row(j)
				}
				for i := i0; i < i1; i++ {
					m := scale
					if mrow != nil {
						m = float32(math.Abs(float64(mrow[i])))
					}
					switch v := w.Data[i*w.Stride+j]; {
					case v > 0:
						brow[i] = m
					case v < 0:
						brow[i] = -m
					default:
						brow[i] = 0
					}
				}
			}
		}
	}
}

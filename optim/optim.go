// Package optim holds the optimisers that turn a gradient into a parameter change:
// SGD (with optional momentum and weight decay) and Adam.
//
// An optimiser sees parameters by index. Each training step calls Begin once, then Apply for
// every parameter. Apply descends: it moves p against g. Learning rules that produce an
// ascent direction (COPI's ΔW) pass its negation.
package optim

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/mat32"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Init allocates the state for parameters shaped like params. It must be called once
	// before the first Begin.
	Init(params []mat32.Matrix)
	// Begin starts a training step: it advances the step counter.
	Begin()
	// Apply updates parameter i in place from its gradient g (same shape as p).
	Apply(i int, p, g mat32.Matrix)
	// State returns the optimiser's state tensors by name, as live views, for checkpoints.
	// Restoring a checkpoint copies into these views.
	State() map[string]mat32.Matrix
	// Steps returns how many steps have begun.
	Steps() int64
	// SetSteps restores the step counter (from a checkpoint).
	SetSteps(t int64)
}

// EngineUser is implemented by optimisers that can run Apply on an engine's workers (with
// the same results as without); learners hand them their engine.
type EngineUser interface {
	SetEngine(e *mat32.Engine)
}

// Config describes an optimiser; its zero value is plain SGD with learning rate 0.
type Config struct {
	// Name is "sgd" or "adam".
	Name string `json:"name" yaml:"name"`
	// LR is the learning rate.
	LR float64 `json:"lr" yaml:"lr"`
	// Momentum is SGD's momentum coefficient (0 for none).
	Momentum float64 `json:"momentum,omitempty" yaml:"momentum,omitempty"`
	// WeightDecay adds WeightDecay·p to every gradient (L2 regularisation).
	WeightDecay float64 `json:"weight_decay,omitempty" yaml:"weight_decay,omitempty"`
	// Beta1, Beta2 and Eps are Adam's; zero values mean 0.9, 0.999 and 1e-8.
	Beta1 float64 `json:"beta1,omitempty" yaml:"beta1,omitempty"`
	Beta2 float64 `json:"beta2,omitempty" yaml:"beta2,omitempty"`
	Eps   float64 `json:"eps,omitempty" yaml:"eps,omitempty"`
	// BiasCorrection is Adam's: "standard" divides the moments by (1−βᵗ); "fixed" divides
	// them by the constant (1−β), as the COPI reference code does.
	BiasCorrection string `json:"bias_correction,omitempty" yaml:"bias_correction,omitempty"`
	// ClipNorm, when positive, scales each step's gradients, all parameters together, so
	// that their global L2 norm is at most ClipNorm, as PyTorch's clip_grad_norm_ does
	// (factor ClipNorm/(‖g‖ + 1e-6) when that is below 1). The learner applies it (see
	// ClipFactor); 0 leaves the gradients alone.
	ClipNorm float64 `json:"clip_norm,omitempty" yaml:"clip_norm,omitempty"`
	// Milestones, when set, divide the learning rate in steps (PyTorch's MultiStepLR): from
	// epoch Milestones[i] on (epochs from 0) it is multiplied by Gamma once more (see
	// [Config.LRAt]). Empty: a constant learning rate.
	Milestones []int `json:"milestones,omitempty" yaml:"milestones,omitempty"`
	// Gamma is the factor at each milestone; 0 means 0.1.
	Gamma float64 `json:"gamma,omitempty" yaml:"gamma,omitempty"`
}

// ClipFactor returns the factor that brings gradients of global L2 norm norm within
// clip, as PyTorch's clip_grad_norm_: min(1, clip/(norm + 1e-6)); 1 when clip is 0.
func ClipFactor(clip, norm float64) float64 {
	if clip <= 0 {
		return 1
	}
	return min(1, clip/(norm+1e-6))
}

// New builds the optimiser that c describes.
func New(c Config) (Optimizer, error) {
	if c.LR < 0 || math.IsNaN(c.LR) || math.IsInf(c.LR, 0) {
		return nil, fmt.Errorf("optimizer: learning rate %v must be finite and non-negative", c.LR)
	}
	if err := c.checkSchedule(); err != nil {
		return nil, err
	}
	switch c.Name {
	case "sgd", "":
		if c.Momentum < 0 || c.Momentum >= 1 {
			return nil, fmt.Errorf("optimizer: momentum %v outside [0, 1)", c.Momentum)
		}
		return &SGD{LR: float32(c.LR), Momentum: float32(c.Momentum), WeightDecay: float32(c.WeightDecay)}, nil
	case "adam":
		a := &Adam{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: float32(c.WeightDecay)}
		if a.Beta1 == 0 {
			a.Beta1 = 0.9
		}
		if a.Beta2 == 0 {
			a.Beta2 = 0.999
		}
		if a.Eps == 0 {
			a.Eps = 1e-8
		}
		switch c.BiasCorrection {
		case "", "standard":
		case "fixed":
			a.FixedBiasCorrection = true
		default:
			return nil, fmt.Errorf("optimizer: adam bias correction %q (want standard or fixed)", c.BiasCorrection)
		}
		if a.Beta1 < 0 || a.Beta1 >= 1 || a.Beta2 < 0 || a.Beta2 >= 1 {
			return nil, fmt.Errorf("optimizer: adam betas %v, %v outside [0, 1)", a.Beta1, a.Beta2)
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (want sgd or adam)", c.Name)
}

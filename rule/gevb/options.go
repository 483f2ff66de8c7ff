package gevb

import (
	"fmt"

	"github.com/copi-learn/copi/learn"
)

// The sign structures of the network ([Options.Weights]).
const (
	// WeightsNonnegative is the "+" network (a vectorized nonnegative network, VNN): the
	// first layer's weights have either sign, every later weight is kept ≥ 0 by a projection
	// after each step, and the weights start from the ON/OFF paired initialisation.
	WeightsNonnegative = "nonnegative"
	// WeightsMixed is the "mixed" network: weights of either sign everywhere, He
	// initialisation.
	WeightsMixed = "mixed"
)

// The projections that keep a nonnegative network's weights ≥ 0 ([Options.Projection]).
const (
	// ProjectClamp sets negative weights to 0 after each step (the authors' released code).
	ProjectClamp = "clamp"
	// ProjectAbs replaces each weight by its absolute value after each step (an earlier
	// version of the authors' code).
	ProjectAbs = "abs"
)

// The maps applied to the input pixels ([Options.Inputs]).
const (
	// InputsSigned maps x to (x − 0.5)/0.5 = 2x − 1, so [0, 1] pixels become [−1, 1], as the
	// authors' Normalize((0.5,), (0.5,)) does.
	InputsSigned = "signed"
	// InputsRaw uses the inputs as given.
	InputsRaw = "raw"
)

// Options are the settings of a vectorized network and its training by GEVB or backprop.
// [DefaultOptions] is the authors' MNIST fully connected nonnegative setting.
type Options struct {
	// Sizes lists the input width and the hidden widths n_1 … n_{L−1}. Every unit is a
	// K-vector (K = the number of classes); the output is one vector unit whose K
	// components are the logits, so it is not listed. Hidden widths must be even (units
	// come in ± pairs).
	Sizes []int `json:"sizes" yaml:"sizes"`
	// Weights is the network's sign structure: "nonnegative" (the "+" VNN) or "mixed".
	Weights string `json:"weights" yaml:"weights"`
	// Projection is how a nonnegative network's weights beyond the first layer are kept
	// ≥ 0 after each step: "clamp" (the authors' code) or "abs". Ignored when mixed.
	Projection string `json:"projection" yaml:"projection"`
	// Inputs maps the input pixels: "signed" (2x − 1, the authors' [−1, 1]) or "raw".
	Inputs string `json:"inputs" yaml:"inputs"`
	// LR, Beta1, Beta2 and Eps are Adam's settings (PyTorch's Adam with standard bias
	// correction), for every weight and bias.
	LR    float64 `json:"lr" yaml:"lr"`
	Beta1 float64 `json:"beta1" yaml:"beta1"`
	Beta2 float64 `json:"beta2" yaml:"beta2"`
	Eps   float64 `json:"eps" yaml:"eps"`
}

// DefaultOptions returns the authors' MNIST setting: 784K-1024-512-1, nonnegative,
// clamped, inputs in [−1, 1], Adam lr 3e-4 with PyTorch's defaults otherwise.
func DefaultOptions() Options {
	return Options{
		Sizes:      []int{784, 1024, 512},
		Weights:    WeightsNonnegative,
		Projection: ProjectClamp,
		Inputs:     InputsSigned,
		LR:         3e-4,
		Beta1:      0.9,
		Beta2:      0.999,
		Eps:        1e-8,
	}
}

// maxWidth bounds a layer's width.
const maxWidth = 1 << 20

// check checks one option value against an interval (see learn.CheckRange).
func check(name string, v, lo, hi float64, openLo, openHi bool) error {
	return learn.CheckRange("gevb", name, v, lo, hi, openLo, openHi)
}

// Validate checks every option and returns one error naming the first bad option and the
// values it accepts.
func (o *Options) Validate() error {
	if len(o.Sizes) < 2 {
		return fmt.Errorf("gevb option sizes = %v: want the input width and at least one hidden width", o.Sizes)
	}
	for i, n := range o.Sizes {
		if n < 1 || n > maxWidth {
			return fmt.Errorf("gevb option sizes = %v: width %d at position %d is not in [1, %d]", o.Sizes, n, i, maxWidth)
		}
		if i > 0 && n%2 != 0 {
			return fmt.Errorf("gevb option sizes = %v: hidden width %d at position %d is odd (units come in ± pairs: want an even width)", o.Sizes, n, i)
		}
	}
	switch o.Weights {
	case WeightsNonnegative, WeightsMixed:
	default:
		return fmt.Errorf("gevb option weights = %q: want %q or %q", o.Weights, WeightsNonnegative, WeightsMixed)
	}
	switch o.Projection {
	case ProjectClamp, ProjectAbs:
	default:
		return fmt.Errorf("gevb option projection = %q: want %q or %q", o.Projection, ProjectClamp, ProjectAbs)
	}
	switch o.Inputs {
	case InputsSigned, InputsRaw:
	default:
		return fmt.Errorf("gevb option inputs = %q: want %q or %q", o.Inputs, InputsSigned, InputsRaw)
	}
	if err := check("lr", o.LR, 0, 10, true, false); err != nil {
		return err
	}
	if err := check("beta1", o.Beta1, 0, 1, false, true); err != nil {
		return err
	}
	if err := check("beta2", o.Beta2, 0, 1, false, true); err != nil {
		return err
	}
	return check("eps", o.Eps, 0, 1, true, false)
}

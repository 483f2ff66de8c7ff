package credit

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// Options are the options of every rule of the credit family: the network, its loss, the
// optimiser, the decorrelators and the family's own schedule. All rules of the family share
// this type, so a configuration can switch between them and keep its values.
type Options struct {
	// Sizes lists the layer widths, input first, output last.
	Sizes []int `json:"sizes" yaml:"sizes"`
	// Activation is the hidden nonlinearity: leaky-relu, relu, tanh, elu, sigmoid.
	Activation string `json:"activation" yaml:"activation"`
	// ActivationParam is leaky ReLU's slope (0.1 in the paper) or ELU's α.
	ActivationParam float64 `json:"activation_param" yaml:"activation_param"`
	// Bias gives every layer a bias (the paper's networks have none).
	Bias bool `json:"bias" yaml:"bias"`
	// Loss is mse (against the one-hot target, the paper's) or cross-entropy.
	Loss string `json:"loss" yaml:"loss"`
	// LossMultiplier m scales the output error (1000 in the COPI presets).
	LossMultiplier float64 `json:"loss_multiplier" yaml:"loss_multiplier"`
	// OutputDerivative applies the hidden nonlinearity's derivative to the output error
	// although the output is linear: a quirk of the COPI reference code.
	OutputDerivative bool `json:"output_derivative" yaml:"output_derivative"`
	// Optimizer applies the weight updates.
	Optimizer optim.Config `json:"optimizer" yaml:"optimizer"`
	// Decorrelation configures the learned R (variant "none" for rules without R).
	Decorrelation DecorrelationConfig `json:"decorrelation" yaml:"decorrelation"`
	// FeedbackInit draws FA/DFA feedback matrices: xavier-normal or uniform.
	FeedbackInit string `json:"feedback_init,omitempty" yaml:"feedback_init,omitempty"`
	// DecorOnlyEpochs is the number of initial epochs that update only R, W frozen (the
	// COPI reference: 1). It belongs to the family, not to the loop: the learner reads the
	// epoch from each step's position.
	DecorOnlyEpochs int `json:"decor_only_epochs" yaml:"decor_only_epochs"`
	// Network, when set, trains a convolutional network of this description instead of the
	// MLP of sizes (see conv.go and nn.ParseNetwork: e.g. "lenet", "cifar-small" or
	// "c6k5p2-m2-c16k5-m2-c120k5-f84l-f10"); bp, fa, dfa, usf, brsf and frsf only.
	Network string `json:"network,omitempty" yaml:"network,omitempty"`
	// InputShape is one example's shape [channels, height, width] for a network; unset, it
	// follows from the data's width (784: 1×28×28, 3072: 3×32×32).
	InputShape []int `json:"input_shape,omitempty" yaml:"input_shape,omitempty"`
	// AugmentCrop pads every training image by this many zeros on each side and crops it
	// back at a random offset; AugmentFlip mirrors it horizontally with probability ½ (the
	// usual CIFAR augmentation; a network only; never at test time).
	AugmentCrop int  `json:"augment_crop,omitempty" yaml:"augment_crop,omitempty"`
	AugmentFlip bool `json:"augment_flip,omitempty" yaml:"augment_flip,omitempty"`
}

// DefaultOptions returns the paper's MNIST setting of COPI with backprop perturbations: the
// 784-500×6-10 network with leaky ReLU (0.1), no biases, MSE against one-hot targets with
// the reference's output-derivative quirk, loss multiplier 1000, plain SGD with η = 1e-3,
// the default decorrelation rule, and one decorrelation-only epoch.
func DefaultOptions() Options {
	return Options{
		Sizes:      []int{784, 500, 500, 500, 500, 500, 500, 10},
		Activation: "leaky-relu", ActivationParam: 0.1, Loss: "mse",
		LossMultiplier: 1000, OutputDerivative: true, DecorOnlyEpochs: 1,
		Optimizer:     optim.Config{Name: "sgd", LR: 1e-3},
		Decorrelation: DecorrelationConfig{Variant: "default"},
	}
}

// adapt switches the decorrelation on (variant "default" unless one is set) or off as rule
// name requires.
func (o *Options) adapt(name string) {
	d := defs[name]
	switch {
	case !d.decorrelate:
		o.Decorrelation.Variant = "none"
	case o.Decorrelation.Variant == "" || o.Decorrelation.Variant == "none":
		o.Decorrelation.Variant = "default"
	}
}

// finite reports an option that is NaN or infinite, or outside [lo, hi].
func finite(name string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return fmt.Errorf("option %s = %v must be a finite number in [%g, %g]", name, v, lo, hi)
	}
	return nil
}

// Validate checks every option for a value that cannot run: unknown names, NaN or infinite
// numbers, numbers out of range.
func (o *Options) Validate() error {
	if _, err := o.netConfig(true); err != nil {
		return err
	}
	if err := o.validateConv(); err != nil {
		return err
	}
	if _, err := nn.ParseLoss(o.Loss); err != nil {
		return err
	}
	checks := []struct {
		name      string
		v, lo, hi float64
	}{
		{"activation_param", o.ActivationParam, -1e6, 1e6},
		{"loss_multiplier", o.LossMultiplier, 0, 1e12},
		{"optimizer.lr", o.Optimizer.LR, 0, 1e6},
		{"optimizer.momentum", o.Optimizer.Momentum, 0, 0.999999},
		{"optimizer.weight_decay", o.Optimizer.WeightDecay, 0, 1e6},
		{"optimizer.beta1", o.Optimizer.Beta1, 0, 0.999999},
		{"optimizer.beta2", o.Optimizer.Beta2, 0, 0.999999999},
		{"optimizer.eps", o.Optimizer.Eps, 0, 1},
		{"optimizer.clip_norm", o.Optimizer.ClipNorm, 0, 1e12},
		{"decorrelation.lr", o.Decorrelation.LR, 0, 1e6},
		{"decorrelation.kappa", o.Decorrelation.Kappa, 0, 1},
		{"decorrelation.fraction", o.Decorrelation.Fraction, 0, 1},
	}
	for _, c := range checks {
		if err := finite(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if o.DecorOnlyEpochs < 0 {
		return fmt.Errorf("option decor_only_epochs = %d must not be negative", o.DecorOnlyEpochs)
	}
	switch o.FeedbackInit {
	case "", "xavier-normal", "uniform":
	default:
		return fmt.Errorf("option feedback_init = %q: want xavier-normal or uniform", o.FeedbackInit)
	}
	switch o.Decorrelation.Variant {
	case "", "none", "default", "bio", "whiten":
	default:
		return fmt.Errorf("option decorrelation.variant = %q: want none, default, bio or whiten", o.Decorrelation.Variant)
	}
	if _, err := optim.New(o.Optimizer); err != nil {
		return err
	}
	return nil
}

// netConfig returns the network the options describe; checkSizes refuses networks without
// an input and an output or with a non-positive width.
func (o *Options) netConfig(checkSizes bool) (nn.Config, error) {
	f, err := mat32.ParseFunc(o.Activation)
	if err != nil {
		return nn.Config{}, err
	}
	nc := nn.Config{Sizes: o.Sizes, Hidden: f, HiddenParam: float32(o.ActivationParam), Bias: o.Bias,
		Decorrelate: o.decorrelates()}
	if checkSizes {
		return nc, nc.Validate()
	}
	return nc, nil
}

// decorrelates reports whether the options give the network R matrices.
func (o *Options) decorrelates() bool {
	return o.Decorrelation.Variant != "" && o.Decorrelation.Variant != "none"
}

// RuleConfig returns the rule configuration of rule name under these options (seed 0).
func (o *Options) RuleConfig(name string) (Config, error) {
	loss, err := nn.ParseLoss(o.Loss)
	if err != nil {
		return Config{}, err
	}
	rc := Config{Decorrelation: o.Decorrelation, Optimizer: o.Optimizer, Loss: loss,
		LossMultiplier: o.LossMultiplier, OutputDerivative: o.OutputDerivative,
		FeedbackInit: o.FeedbackInit}
	if err := rc.ForName(name); err != nil {
		return Config{}, err
	}
	return rc, nil
}

// memory estimates the bytes a model of rule name allocates for shape s: per layer the
// weights, their gradient and optimiser state, the feedback matrix, the decorrelator with its
// scratch, and the activity buffers of a training batch and an evaluation chunk.
func (o *Options) memory(name string, s learn.Shape) int64 {
	var floats float64
	perWeight := 1.0 // W
	switch o.Optimizer.Name {
	case "adam":
		perWeight += 3 // gradient, first and second moments
	default:
		if o.Optimizer.Momentum != 0 || o.Optimizer.WeightDecay != 0 {
			perWeight += 2 // gradient, velocity
		}
	}
	if d := defs[name]; d.credit != Backprop {
		perWeight++ // feedback matrix
	}
	rows := float64(max(s.BatchRows, 1) + max(s.EvalRows, 1))
	maxIn := 0.0
	for l := 0; l+1 < len(o.Sizes); l++ {
		in, out := float64(o.Sizes[l]), float64(o.Sizes[l+1])
		floats += perWeight*in*out + rows*(in+3*out)
		if o.decorrelates() {
			floats += 3 * in * in // R and its update's scratch
		}
		maxIn = max(maxIn, in)
	}
	floats += maxIn * maxIn // the decorrelation measure's scratch
	return int64(4 * floats)
}

func init() {
	for _, name := range Names() {
		name := name
		learn.Register(learn.Rule{
			Name:  name,
			About: About(name),
			Options: func() any {
				o := DefaultOptions()
				o.adapt(name)
				return &o
			},
			Resumable: []string{"optimizer.lr", "decorrelation.lr"},
			Memory: func(opts any, s learn.Shape) int64 {
				if o, ok := opts.(*Options); ok {
					c := *o
					c.adapt(name)
					if c.Network != "" {
						return c.convMemory(name, s)
					}
					return c.memory(name, s)
				}
				return 0
			},
			Adapt: func(opts any) {
				if o, ok := opts.(*Options); ok {
					o.adapt(name)
				}
			},
			New: func(e *mat32.Engine, opts any, s learn.Shape, seed uint64) (learn.Learner, error) {
				o, ok := opts.(*Options)
				if !ok {
					return nil, fmt.Errorf("rule %s: options of type %T, want *credit.Options", name, opts)
				}
				if o.Network != "" {
					return NewConvModel(e, name, *o, s, seed)
				}
				return NewModel(e, name, *o, s, seed)
			},
		})
	}
}

// Package train runs copi's training loop: presets, configuration, epochs with evaluation,
// metrics as JSON lines, checkpoints with exact resume, cancellation, and a guard that stops a
// diverging run with a message naming the layer and step.
//
// The loop follows the COPI reference schedule where the configuration asks for it: epoch 0
// may update only the decorrelators (W frozen), the first epoch may run in file order, and the
// data are reshuffled before every later epoch. Shuffles are drawn from a stream that depends
// only on the seed and the epoch, so a run resumed from a checkpoint continues exactly as
// an uninterrupted one would.
package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
	"github.com/copi-learn/copi/rule"
)

// Config is everything that defines a training run, apart from the data and the thread
// count. It is stored in every checkpoint.
type Config struct {
	// Preset names the preset this configuration started from (informational).
	Preset string `json:"preset,omitempty" yaml:"preset,omitempty"`
	// Rule is the learning rule's name (see rule.Names).
	Rule string `json:"rule" yaml:"rule"`

	// Sizes lists the layer widths, input first.
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
	// Decorrelation configures the learned R (ignored by rules without R).
	Decorrelation rule.DecorrelationConfig `json:"decorrelation" yaml:"decorrelation"`
	// FeedbackInit draws FA/DFA feedback matrices: xavier-normal or uniform.
	FeedbackInit string `json:"feedback_init,omitempty" yaml:"feedback_init,omitempty"`

	// BatchSize is the number of examples per step.
	BatchSize int `json:"batch_size" yaml:"batch_size"`
	// Epochs is the number of passes over the training data, counting the
	// decorrelation-only ones.
	Epochs int `json:"epochs" yaml:"epochs"`
	// DecorOnlyEpochs is the number of initial epochs that update only R (the reference: 1).
	DecorOnlyEpochs int `json:"decor_only_epochs" yaml:"decor_only_epochs"`
	// ShuffleFirstEpoch shuffles before epoch 0 too; the reference runs it in file order.
	ShuffleFirstEpoch bool `json:"shuffle_first_epoch" yaml:"shuffle_first_epoch"`
	// EvalEvery is the evaluation interval as a fraction of an epoch (1 = every epoch,
	// 0.1 = ten times per epoch, as the reference's high-density measures).
	EvalEvery float64 `json:"eval_every" yaml:"eval_every"`
	// Validation holds out the last Validation training examples and evaluates on them
	// instead of the test set (the reference's validation mode uses 10000).
	Validation int `json:"validation,omitempty" yaml:"validation,omitempty"`
	// Seed drives initialisation, shuffling and every other random choice.
	Seed uint64 `json:"seed" yaml:"seed"`
}

// Presets lists the names of the built-in configurations.
func Presets() []string {
	var names []string
	for _, ds := range []string{"mnist", "cifar10"} {
		for _, r := range presetRules {
			names = append(names, ds+"/"+r)
		}
	}
	return names
}

var presetRules = []string{"copi-bp", "copi-fa", "copi-dfa", "copi-bio", "decor-bp", "bp-adam", "bp-sgd"}

// Preset returns a built-in configuration. The mnist/… presets use the paper's
// 784-500×6-10 network, the cifar10/… presets its 3072-1000×4-10 network; both use batch 50,
// leaky ReLU (slope 0.1), no biases, MSE against one-hot targets and the reference schedule
// (epoch 0 decorrelation only, first epoch in file order). COPI and decorrelated BP use plain
// SGD with η = 1e-3 and loss multiplier 1000; BP-Adam uses Adam with lr 1e-4, multiplier 1
// and the reference's fixed bias correction, R = I.
func Preset(name string) (Config, error) {
	ds, r, ok := strings.Cut(name, "/")
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(Presets(), ", "))
	}
	c := Config{
		Preset: name, Activation: "leaky-relu", ActivationParam: 0.1, Loss: "mse",
		LossMultiplier: 1000, OutputDerivative: true, BatchSize: 50, Epochs: 100,
		DecorOnlyEpochs: 1, EvalEvery: 1, Seed: 1,
		Optimizer:     optim.Config{Name: "sgd", LR: 1e-3},
		Decorrelation: rule.DecorrelationConfig{Variant: "default"},
	}
	switch ds {
	case "mnist":
		c.Sizes = []int{784, 500, 500, 500, 500, 500, 500, 10}
	case "cifar10":
		c.Sizes = []int{3072, 1000, 1000, 1000, 1000, 10}
	default:
		return Config{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(Presets(), ", "))
	}
	switch r {
	case "copi-bp", "copi-fa", "copi-dfa", "decor-bp":
		c.Rule = r
	case "copi-bio":
		c.Rule = "copi-bp"
		c.Decorrelation.Variant = "bio"
	case "bp-adam":
		c.Rule = "bp"
		c.LossMultiplier = 1
		c.Optimizer = optim.Config{Name: "adam", LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorrection: "fixed"}
		c.Decorrelation.Variant = "none"
	case "bp-sgd":
		c.Rule = "bp"
		c.LossMultiplier = 1
		c.Optimizer = optim.Config{Name: "sgd", LR: 1e-2}
		c.Decorrelation.Variant = "none"
	default:
		return Config{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(Presets(), ", "))
	}
	return c, nil
}

// LoadConfigFile reads a YAML or JSON configuration file over base: keys present in the file
// replace base's values, the others stay. Unknown keys are an error.
func LoadConfigFile(path string, base Config) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("config: %w", err)
	}
	c := base
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(&c)
	default:
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		err = dec.Decode(&c)
	}
	if err != nil {
		// yaml.v3 lists several problems on separate lines; keep the error to one line.
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
		return base, fmt.Errorf("config %s: %s", path, msg)
	}
	return c, nil
}

// Validate checks the configuration for values that cannot run.
func (c Config) Validate() error {
	if _, err := c.netConfig(); err != nil {
		return err
	}
	if _, err := c.ruleConfig(); err != nil {
		return err
	}
	if c.BatchSize <= 0 {
		return fmt.Errorf("batch size %d must be positive", c.BatchSize)
	}
	if c.Epochs < 0 || c.DecorOnlyEpochs < 0 {
		return fmt.Errorf("epochs %d and decorrelation-only epochs %d must not be negative", c.Epochs, c.DecorOnlyEpochs)
	}
	if c.EvalEvery <= 0 || c.EvalEvery > 1 {
		return fmt.Errorf("eval-every %v must be in (0, 1] epochs", c.EvalEvery)
	}
	if c.Validation < 0 {
		return fmt.Errorf("validation size %d must not be negative", c.Validation)
	}
	return nil
}

func (c Config) netConfig() (nn.Config, error) {
	f, err := mat32.ParseFunc(c.Activation)
	if err != nil {
		return nn.Config{}, err
	}
	rc := rule.Config{Decorrelation: c.Decorrelation}
	if err := rc.ForName(c.Rule); err != nil {
		return nn.Config{}, err
	}
	nc := nn.Config{Sizes: c.Sizes, Hidden: f, HiddenParam: float32(c.ActivationParam), Bias: c.Bias,
		Decorrelate: rc.Decorrelates()}
	return nc, nc.Validate()
}

func (c Config) ruleConfig() (rule.Config, error) {
	loss, err := nn.ParseLoss(c.Loss)
	if err != nil {
		return rule.Config{}, err
	}
	rc := rule.Config{Decorrelation: c.Decorrelation, Optimizer: c.Optimizer, Loss: loss,
		LossMultiplier: c.LossMultiplier, OutputDerivative: c.OutputDerivative,
		FeedbackInit: c.FeedbackInit, Seed: c.Seed}
	if err := rc.ForName(c.Rule); err != nil {
		return rule.Config{}, err
	}
	if _, err := optim.New(c.Optimizer); err != nil {
		return rule.Config{}, err
	}
	return rc, nil
}

package ff

import (
	"fmt"
	"math"
)

// The negative-label sources ([Options.Negatives]).
const (
	// NegativesHard draws each example's negative label from the softmax classifier's
	// prediction on the neutral pass, the true class excluded (Hinton's released code).
	NegativesHard = "hard"
	// NegativesUniform draws a uniformly random wrong label (what popular ports do).
	NegativesUniform = "uniform"
)

// The prediction modes ([Options.Predict]).
const (
	// PredictGoodness runs one pass per candidate label and scores it by the goodness
	// Σ_j h_j² summed over the hidden layers from the second on.
	PredictGoodness = "goodness"
	// PredictSoftmax scores the classes by the softmax classifier's logits on the neutral
	// pass.
	PredictSoftmax = "softmax"
)

// Options are the settings of forward-forward. [DefaultOptions] is the setting of Hinton's
// released Matlab code.
type Options struct {
	// Sizes lists the input width and then the hidden widths, e.g. [784 1000 1000 1000].
	// There is no output layer: the number of classes comes from the data, and the label
	// is written into the first Classes input pixels. At least two hidden layers are
	// needed, since both prediction modes read the hidden layers from the second on.
	Sizes []int `json:"sizes" yaml:"sizes"`
	// LR is ε, the learning rate of the forward weights and biases.
	LR float64 `json:"lr" yaml:"lr"`
	// WeightCost is wc, the weight decay of the forward weights (not of the biases):
	// W += ε·gain·(g − wc·W).
	WeightCost float64 `json:"weight_cost" yaml:"weight_cost"`
	// Smoothing is the factor of the gradients' running average over minibatches,
	// g ← s·g + (1−s)·G, for the forward weights, their biases and the softmax classifier.
	Smoothing float64 `json:"smoothing" yaml:"smoothing"`
	// PeerLambda is λ, the strength of peer normalisation: the positive pass adds
	// λ·(mean(m) − m) to dC/da, which pulls every unit's mean activity m towards the
	// layer's average, including units the ReLU has switched off.
	PeerLambda float64 `json:"peer_lambda" yaml:"peer_lambda"`
	// PeerDecay is the factor of the peer running mean, m ← d·m + (1−d)·mean_batch(h).
	PeerDecay float64 `json:"peer_decay" yaml:"peer_decay"`
	// Temperature divides the goodness logit: p = σ((Σ_j h_j² − n_l)/Temperature).
	Temperature float64 `json:"temperature" yaml:"temperature"`
	// Cooldown keeps the learning rates for the first half of the planned epochs and then
	// lowers them linearly towards 0 over the second half, once per epoch.
	Cooldown bool `json:"cooldown" yaml:"cooldown"`
	// Negatives is where negative labels come from: "hard" or "uniform".
	Negatives string `json:"negatives" yaml:"negatives"`
	// SoftmaxLR is the learning rate of the softmax classifier.
	SoftmaxLR float64 `json:"softmax_lr" yaml:"softmax_lr"`
	// SoftmaxWeightCost is the weight decay of the softmax classifier.
	SoftmaxWeightCost float64 `json:"softmax_weight_cost" yaml:"softmax_weight_cost"`
	// NeutralLabel is the value written into every label pixel for the neutral pass
	// (1/Classes in the released code, where a true label pixel is 1).
	NeutralLabel float64 `json:"neutral_label" yaml:"neutral_label"`
	// Predict is what Predict returns: "goodness" or "softmax". Evaluate reports both.
	Predict string `json:"predict" yaml:"predict"`
	// InitScale scales the initial weights: W ~ N(0, InitScale²/fan_in); 1 is the
	// released code's initialisation.
	InitScale float64 `json:"init_scale" yaml:"init_scale"`
}

// DefaultOptions returns the setting of Hinton's released Matlab code: 784-1000-1000-1000,
// ε 0.01, wc 1e-3, smoothing 0.9, λ 0.03, temperature 1, hard negatives, a softmax with
// learning rate 0.1 and weight cost 3e-3, neutral label 0.1, goodness prediction.
func DefaultOptions() Options {
	return Options{
		Sizes:             []int{784, 1000, 1000, 1000},
		LR:                0.01,
		WeightCost:        1e-3,
		Smoothing:         0.9,
		PeerLambda:        0.03,
		PeerDecay:         0.9,
		Temperature:       1,
		Cooldown:          true,
		Negatives:         NegativesHard,
		SoftmaxLR:         0.1,
		SoftmaxWeightCost: 3e-3,
		NeutralLabel:      0.1,
		Predict:           PredictGoodness,
		InitScale:         1,
	}
}

// maxWidth bounds a layer's width.
const maxWidth = 1 << 20

// floatRange is an option's accepted interval; open ends exclude the bound.
type floatRange struct {
	name     string
	v        float64
	lo, hi   float64
	openLo   bool
	openHigh bool
}

func (r floatRange) check() error {
	ok := !math.IsNaN(r.v) && !math.IsInf(r.v, 0) &&
		(r.v > r.lo || (!r.openLo && r.v == r.lo)) &&
		(r.v < r.hi || (!r.openHigh && r.v == r.hi))
	if ok {
		return nil
	}
	lb, rb := "[", "]"
	if r.openLo {
		lb = "("
	}
	if r.openHigh {
		rb = ")"
	}
	return fmt.Errorf("ff option %s = %v: want a finite number in %s%g, %g%s", r.name, r.v, lb, r.lo, r.hi, rb)
}

// Validate checks every option: each number finite and in its range, each name known.
// It returns one error naming the first bad option and the values it accepts.
func (o *Options) Validate() error {
	if len(o.Sizes) < 3 {
		return fmt.Errorf("ff option sizes = %v: want the input width and at least two hidden widths", o.Sizes)
	}
	for i, n := range o.Sizes {
		if n < 1 || n > maxWidth {
			return fmt.Errorf("ff option sizes = %v: width %d at position %d is not in [1, %d]", o.Sizes, n, i, maxWidth)
		}
	}
	for _, r := range []floatRange{
		{name: "lr", v: o.LR, lo: 0, hi: 100, openLo: true},
		{name: "weight_cost", v: o.WeightCost, lo: 0, hi: 1},
		{name: "smoothing", v: o.Smoothing, lo: 0, hi: 1, openHigh: true},
		{name: "peer_lambda", v: o.PeerLambda, lo: 0, hi: 100},
		{name: "peer_decay", v: o.PeerDecay, lo: 0, hi: 1, openHigh: true},
		{name: "temperature", v: o.Temperature, lo: 0, hi: 1e6, openLo: true},
		{name: "softmax_lr", v: o.SoftmaxLR, lo: 0, hi: 100, openLo: true},
		{name: "softmax_weight_cost", v: o.SoftmaxWeightCost, lo: 0, hi: 1},
		{name: "neutral_label", v: o.NeutralLabel, lo: 0, hi: 1},
		{name: "init_scale", v: o.InitScale, lo: 0, hi: 100, openLo: true},
	} {
		if err := r.check(); err != nil {
			return err
		}
	}
	if o.LR*o.WeightCost >= 1 {
		return fmt.Errorf("ff options lr·weight_cost = %g: want below 1 (the decay would flip the weights' sign)", o.LR*o.WeightCost)
	}
	if o.SoftmaxLR*o.SoftmaxWeightCost >= 1 {
		return fmt.Errorf("ff options softmax_lr·softmax_weight_cost = %g: want below 1 (the decay would flip the weights' sign)", o.SoftmaxLR*o.SoftmaxWeightCost)
	}
	switch o.Negatives {
	case NegativesHard, NegativesUniform:
	default:
		return fmt.Errorf("ff option negatives = %q: want %q or %q", o.Negatives, NegativesHard, NegativesUniform)
	}
	switch o.Predict {
	case PredictGoodness, PredictSoftmax:
	default:
		return fmt.Errorf("ff option predict = %q: want %q or %q", o.Predict, PredictGoodness, PredictSoftmax)
	}
	return nil
}

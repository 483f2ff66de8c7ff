package dfc

import (
	"fmt"

	"github.com/copi-learn/copi/learn"
)

// Controller holds the settings of one simulated controller: the forward phase's (which
// trains the forward weights) or the feedback phase's (which trains Q).
type Controller struct {
	// DT is the Euler time step Δt (in units of the controller's time constant τ_u = 1).
	DT float64 `json:"dt" yaml:"dt"`
	// Steps is the number of time points of the simulation, the initial one included, so
	// that Steps−1 Euler steps are taken (the authors' tmax_di).
	Steps int `json:"steps" yaml:"steps"`
	// Tau is the neurons' time constant relative to the controller's, τ_v/τ_u (the authors'
	// time_constant_ratio). It must not be smaller than DT.
	Tau float64 `json:"tau" yaml:"tau"`
	// Alpha is the controller's leak α; KP its proportional gain k_p.
	Alpha float64 `json:"alpha" yaml:"alpha"`
	KP    float64 `json:"k_p" yaml:"k_p"`
	// ApicalTau is the apical compartment's time constant τ_A; 0 means DT, i.e. the apical
	// voltage follows Q u instantly (the authors' apical_time_constant = −1).
	ApicalTau float64 `json:"apical_tau" yaml:"apical_tau"`
	// Sigma is the standard deviation σ of the white noise in the apical compartments
	// (feedback phase only; the forward phase of every preset is noiseless).
	Sigma float64 `json:"sigma" yaml:"sigma"`
}

// Adam holds one Adam optimiser's settings (PyTorch's Adam: L2 weight decay added to the
// gradient, standard bias correction).
type Adam struct {
	LR          float64 `json:"lr" yaml:"lr"`
	Beta1       float64 `json:"beta1" yaml:"beta1"`
	Beta2       float64 `json:"beta2" yaml:"beta2"`
	Eps         float64 `json:"eps" yaml:"eps"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
}

// Options are the settings of deep feedback control. [DefaultOptions] is the follow-up
// repository's (strong_dfc) Fashion-MNIST DFC command, the one behind the published 88.70 %.
type Options struct {
	// Sizes lists the widths n_0 (input), n_1 … n_{L−1} (tanh hidden layers) and n_L (the
	// linear output, one unit per class).
	Sizes []int `json:"sizes" yaml:"sizes"`
	// Bias gives every layer a bias (initialised to 0).
	Bias bool `json:"bias" yaml:"bias"`
	// TargetStepsize is λ, the nudge of the output target r_L* = r_L⁻ − λ ∂L/∂r_L.
	TargetStepsize float64 `json:"target_stepsize" yaml:"target_stepsize"`
	// TargetClassValue is the soft target of the true class in the cross-entropy loss (the
	// other classes share 1 − it); 1 is one-hot.
	TargetClassValue float64 `json:"target_class_value" yaml:"target_class_value"`
	// Proactive makes the neurons see this step's control signal u[k+1] rather than u[k].
	Proactive bool `json:"proactive" yaml:"proactive"`
	// Forward is the controller of the forward phase, Feedback that of the feedback phase.
	Forward  Controller `json:"forward" yaml:"forward"`
	Feedback Controller `json:"feedback" yaml:"feedback"`
	// Optimizer trains the forward weights; FeedbackOptimizer trains Q in the interleaved
	// feedback epochs, PretrainLR replacing its learning rate (with its own Adam state, as
	// the authors' separate optimiser) in the feedback-only pre-training epochs.
	Optimizer         Adam    `json:"optimizer" yaml:"optimizer"`
	FeedbackOptimizer Adam    `json:"feedback_optimizer" yaml:"feedback_optimizer"`
	PretrainLR        float64 `json:"pretrain_lr" yaml:"pretrain_lr"`
	// Clip bounds the norm of each layer's update (W and b together; each Q alone) before
	// Adam, as the authors' per-layer clip_grad_norm_; 0 turns it off.
	Clip float64 `json:"clip" yaml:"clip"`
	// PretrainEpochs is the number of feedback-only epochs at the start; then every cycle
	// is FeedbackBefore feedback epochs, one forward epoch and FeedbackAfter feedback
	// epochs. The loop's epochs count all of them.
	PretrainEpochs int `json:"pretrain_epochs" yaml:"pretrain_epochs"`
	FeedbackBefore int `json:"feedback_before" yaml:"feedback_before"`
	FeedbackAfter  int `json:"feedback_after" yaml:"feedback_after"`
	// FixedQ keeps the feedback weights at their initial values: feedback epochs then only
	// pass over the data.
	FixedQ bool `json:"fixed_q" yaml:"fixed_q"`
	// OutputQ is the output layer's feedback Q_L: "learned" (Xavier-normal, trained like the
	// others, strong_dfc) or "identity" (fixed I).
	OutputQ string `json:"output_q" yaml:"output_q"`
	// Quirks of the authors' code, each off by default unless a preset says otherwise.
	//
	// NudgeMean divides the nudge by the batch size N (the NeurIPS repository takes the
	// gradient of the batch-mean loss; strong_dfc multiplies the loss by N first).
	NudgeMean bool `json:"nudge_mean" yaml:"nudge_mean"`
	// NormalizeLR divides the forward learning rate by λ (the NeurIPS repository's
	// normalize_lr).
	NormalizeLR bool `json:"normalize_lr" yaml:"normalize_lr"`
	// DropNonConverged gives no update to examples whose controller did not converge
	// (include_only_converged_samples); they are counted either way.
	DropNonConverged bool `json:"drop_nonconverged" yaml:"drop_nonconverged"`
	// ConvergenceEps is ε of the convergence test ‖e(T)‖ < ε²‖e(0)‖ (the code's epsilon_di).
	ConvergenceEps float64 `json:"convergence_eps" yaml:"convergence_eps"`
}

// OutputQ values.
const (
	OutputLearned  = "learned"
	OutputIdentity = "identity"
)

// DefaultOptions returns strong_dfc's Fashion-MNIST DFC command (EXPERIMENTS.rst):
// 784-256-256-256-10 tanh, biases, batch 128, 20 feedback pre-training epochs, then one
// feedback epoch before each forward epoch.
func DefaultOptions() Options {
	return Options{
		Sizes:            []int{784, 256, 256, 256, 10},
		Bias:             true,
		TargetStepsize:   0.019957011262493028,
		TargetClassValue: 0.999,
		Proactive:        true,
		Forward: Controller{DT: 0.02, Steps: 500, Tau: 0.2, Alpha: 0.000451125353657906,
			KP: 2, ApicalTau: 0, Sigma: 0},
		Feedback: Controller{DT: 0.004294669581123954, Steps: 54, Tau: 0.009266592158186437,
			Alpha: 0.611510021981854, KP: 0.010409666247193437, ApicalTau: 0.4318893018524684,
			Sigma: 0.001281308789330547},
		Optimizer: Adam{LR: 0.0010672718162774038, Beta1: 0.99, Beta2: 0.999,
			Eps: 3.210886729268312e-07},
		FeedbackOptimizer: Adam{LR: 4.3780877225194805e-05, Beta1: 0.99, Beta2: 0.99,
			Eps: 1.0433715362737473e-08, WeightDecay: 0.001},
		PretrainLR:     0.00034156927968192547,
		Clip:           1,
		PretrainEpochs: 20,
		FeedbackBefore: 1,
		OutputQ:        OutputLearned,
		ConvergenceEps: 0.5,
	}
}

const (
	maxWidth = 1 << 16
	maxSteps = 1 << 20
)

// check checks one option value against [lo, hi], open at lo when openLo (see
// learn.CheckRange).
func check(name string, v, lo, hi float64, openLo bool) error {
	return learn.CheckRange("dfc", name, v, lo, hi, openLo, false)
}

func (c Controller) validate(p string) error {
	if err := check(p+".dt", c.DT, 0, 1, true); err != nil {
		return err
	}
	if c.Steps < 2 || c.Steps > maxSteps {
		return fmt.Errorf("dfc option %s.steps = %d: want an integer in [2, %d] (time points, the initial one included)", p, c.Steps, maxSteps)
	}
	if err := check(p+".tau", c.Tau, 0, 1e3, true); err != nil {
		return err
	}
	if c.Tau < c.DT {
		return fmt.Errorf("dfc option %s.tau = %v: want at least %s.dt = %v (forward Euler overshoots otherwise)", p, c.Tau, p, c.DT)
	}
	if err := check(p+".alpha", c.Alpha, 0, 1e3, false); err != nil {
		return err
	}
	if err := check(p+".k_p", c.KP, 0, 1e3, false); err != nil {
		return err
	}
	if err := check(p+".apical_tau", c.ApicalTau, 0, 1e3, false); err != nil {
		return err
	}
	if c.ApicalTau != 0 && c.ApicalTau < c.DT {
		return fmt.Errorf("dfc option %s.apical_tau = %v: want 0 (instant) or at least %s.dt = %v", p, c.ApicalTau, p, c.DT)
	}
	return check(p+".sigma", c.Sigma, 0, 1e3, false)
}

func (a Adam) validate(p string) error {
	if err := check(p+".lr", a.LR, 0, 10, false); err != nil {
		return err
	}
	if err := check(p+".beta1", a.Beta1, 0, 1, false); err != nil || a.Beta1 == 1 {
		return fmt.Errorf("dfc option %s.beta1 = %v: want a finite number in [0, 1)", p, a.Beta1)
	}
	if err := check(p+".beta2", a.Beta2, 0, 1, false); err != nil || a.Beta2 == 1 {
		return fmt.Errorf("dfc option %s.beta2 = %v: want a finite number in [0, 1)", p, a.Beta2)
	}
	if err := check(p+".eps", a.Eps, 0, 1, true); err != nil {
		return err
	}
	return check(p+".weight_decay", a.WeightDecay, 0, 1e3, false)
}

// Validate checks every option: each number finite and in its range, each name known. It
// returns one error naming the first bad option and the values it accepts.
func (o *Options) Validate() error {
	if len(o.Sizes) < 2 {
		return fmt.Errorf("dfc option sizes = %v: want the input width, any hidden widths and the number of classes", o.Sizes)
	}
	for i, n := range o.Sizes {
		if n < 1 || n > maxWidth {
			return fmt.Errorf("dfc option sizes = %v: width %d at position %d is not in [1, %d]", o.Sizes, n, i, maxWidth)
		}
	}
	if err := check("target_stepsize", o.TargetStepsize, 0, 1e3, true); err != nil {
		return err
	}
	if err := check("target_class_value", o.TargetClassValue, 0, 1, true); err != nil {
		return err
	}
	if err := o.Forward.validate("forward"); err != nil {
		return err
	}
	if err := o.Feedback.validate("feedback"); err != nil {
		return err
	}
	if err := o.Optimizer.validate("optimizer"); err != nil {
		return err
	}
	if err := o.FeedbackOptimizer.validate("feedback_optimizer"); err != nil {
		return err
	}
	if err := check("pretrain_lr", o.PretrainLR, 0, 10, false); err != nil {
		return err
	}
	if err := check("clip", o.Clip, 0, 1e12, false); err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		v    int
	}{{"pretrain_epochs", o.PretrainEpochs}, {"feedback_before", o.FeedbackBefore}, {"feedback_after", o.FeedbackAfter}} {
		if e.v < 0 || e.v > 1e6 {
			return fmt.Errorf("dfc option %s = %d: want an integer in [0, 1000000]", e.name, e.v)
		}
	}
	switch o.OutputQ {
	case OutputLearned, OutputIdentity:
	default:
		return fmt.Errorf("dfc option output_q = %q: want %q or %q", o.OutputQ, OutputLearned, OutputIdentity)
	}
	return check("convergence_eps", o.ConvergenceEps, 0, 1e6, true)
}

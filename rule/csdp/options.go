package csdp

import (
	"fmt"

	"github.com/copi-learn/copi/learn"
)

// The training modes ([Options.Mode]).
const (
	// ModeSupervised clamps the label onto the context units (top-down synapses V2y, V3y);
	// a negative is the same image with a uniformly drawn wrong label.
	ModeSupervised = "supervised"
	// ModeUnsupervised has no context units; a negative is the image blended with another
	// image of the batch, x_neg = α·x + (1−α)·x_other (the released code's csdp_deform
	// without rotation).
	ModeUnsupervised = "unsupervised"
)

// The kernel choices ([Options.Kernels]).
const (
	// KernelsAuto picks, for every synaptic product of every step, the event-driven kernel
	// when the presynaptic spike rate is below [Options.SparseBelow] and the dense GEMM
	// otherwise.
	KernelsAuto = "auto"
	// KernelsSparse always uses the event-driven kernels.
	KernelsSparse = "sparse"
	// KernelsDense always uses dense GEMM products (what a dense simulator does).
	KernelsDense = "dense"
)

// The reconstruction averages ([Options.ReconAverage]).
const (
	// ReconSteps divides the summed reconstruction traces by the number of steps T.
	ReconSteps = "steps"
	// ReconStepsPlusOne divides them by T+1, as the released code does (its loop runs
	// T steps but divides by T+1).
	ReconStepsPlusOne = "steps+1"
)

// Options are the settings of a CSDP spiking circuit. [DefaultOptions] is the authors'
// released setting (ngc-museum exhibit csdp_snn, batch size ≥ 200).
type Options struct {
	// Hidden lists the two hidden layers' widths, e.g. [3000 600].
	Hidden []int `json:"hidden" yaml:"hidden"`
	// Steps is T, the number of simulation steps per stimulus.
	Steps int `json:"steps" yaml:"steps"`
	// DT is the integration step in ms.
	DT float64 `json:"dt" yaml:"dt"`
	// TauM is the membrane time constant in ms.
	TauM float64 `json:"tau_m" yaml:"tau_m"`
	// Threshold is the base spike threshold; each unit's starts at Threshold plus a uniform
	// draw in ±ThresholdJitter (fixed at initialisation).
	Threshold       float64 `json:"threshold" yaml:"threshold"`
	ThresholdJitter float64 `json:"threshold_jitter" yaml:"threshold_jitter"`
	// ThresholdRate is ρ_b of the adaptive threshold, θ ← max(θ + ρ_b(Σ_j s_j − 1), 0.025)
	// per example and step (hidden and output layers; reset at every stimulus).
	ThresholdRate float64 `json:"threshold_rate" yaml:"threshold_rate"`
	// TauTrace is the time constant of the linear-decay spike traces in ms.
	TauTrace float64 `json:"tau_trace" yaml:"tau_trace"`
	// Resistance scales the excitatory synapses' currents and their CSDP updates;
	// InhibitoryResistance the lateral (inhibitory) ones'.
	Resistance           float64 `json:"resistance" yaml:"resistance"`
	InhibitoryResistance float64 `json:"inhibitory_resistance" yaml:"inhibitory_resistance"`
	// Goodness is θ, the goodness threshold of each layer's contrastive loss.
	Goodness float64 `json:"goodness_threshold" yaml:"goodness_threshold"`
	// LR is η, Adam's step size for every synapse.
	LR float64 `json:"lr" yaml:"lr"`
	// WeightDecay is the CSDP synapses' decay per silent-pre/spiking-post pair and step.
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	// WeightBound clips every synapse to [−b, b] (lateral ones to [0, b]).
	WeightBound float64 `json:"weight_bound" yaml:"weight_bound"`
	// Reconstruction adds the reconstruction layer (R1 from layer 1 to the pixels).
	Reconstruction bool `json:"reconstruction" yaml:"reconstruction"`
	// ReconAverage is what the summed reconstruction traces are divided by: "steps" or
	// "steps+1" (the released code).
	ReconAverage string `json:"recon_average" yaml:"recon_average"`
	// Mode is "supervised" or "unsupervised".
	Mode string `json:"mode" yaml:"mode"`
	// BlendAlpha is α of the unsupervised negatives.
	BlendAlpha float64 `json:"blend_alpha" yaml:"blend_alpha"`
	// Kernels is "auto", "sparse" or "dense" (see the constants).
	Kernels string `json:"kernels" yaml:"kernels"`
	// SparseBelow is the presynaptic spike rate below which "auto" uses the event-driven
	// kernels (measured: BenchmarkCurrent).
	SparseBelow float64 `json:"sparse_below" yaml:"sparse_below"`
}

// DefaultOptions returns the released setting: 3000-600 hidden SLIF units, T = 50 steps of
// 3 ms, τ_m 100 ms, threshold 0.055 ± 0.025, ρ_b 0.001, τ_tr 13 ms, resistances 0.1 and
// 0.01, goodness threshold 10, Adam η 0.002, decay 5e-5, bound 1, with reconstruction.
func DefaultOptions() Options {
	return Options{
		Hidden: []int{3000, 600}, Steps: 50, DT: 3, TauM: 100,
		Threshold: 0.055, ThresholdJitter: 0.025, ThresholdRate: 0.001, TauTrace: 13,
		Resistance: 0.1, InhibitoryResistance: 0.01, Goodness: 10,
		LR: 0.002, WeightDecay: 5e-5, WeightBound: 1,
		Reconstruction: true, ReconAverage: ReconStepsPlusOne,
		Mode: ModeSupervised, BlendAlpha: 0.5,
		Kernels: KernelsAuto, SparseBelow: 0.04,
	}
}

const maxWidth = 1 << 16

// checkRange checks one option value against [lo, hi], open at lo when openLo (see
// learn.CheckRange).
func checkRange(name string, v, lo, hi float64, openLo bool) error {
	return learn.CheckRange("csdp", name, v, lo, hi, openLo, false)
}

// Validate checks every option and returns one error naming the first bad one and what it
// accepts.
func (o *Options) Validate() error {
	if len(o.Hidden) != 2 {
		return fmt.Errorf("csdp option hidden = %v: want two hidden widths, e.g. [3000, 600]", o.Hidden)
	}
	for i, n := range o.Hidden {
		if n < 1 || n > maxWidth {
			return fmt.Errorf("csdp option hidden = %v: width %d at position %d is not in [1, %d]", o.Hidden, n, i, maxWidth)
		}
	}
	if o.Steps < 1 || o.Steps > 10000 {
		return fmt.Errorf("csdp option steps = %d: want an integer in [1, 10000]", o.Steps)
	}
	for _, c := range []struct {
		name   string
		v      float64
		lo, hi float64
		openLo bool
	}{
		{"dt", o.DT, 0, 1000, true},
		{"tau_m", o.TauM, 0, 1e6, true},
		{"threshold", o.Threshold, 0, 100, true},
		{"threshold_jitter", o.ThresholdJitter, 0, 100, false},
		{"threshold_rate", o.ThresholdRate, 0, 1, false},
		{"tau_trace", o.TauTrace, 0, 1e6, true},
		{"resistance", o.Resistance, 0, 100, true},
		{"inhibitory_resistance", o.InhibitoryResistance, 0, 100, false},
		{"goodness_threshold", o.Goodness, 0, 1e6, false},
		{"lr", o.LR, 0, 10, true},
		{"weight_decay", o.WeightDecay, 0, 1, false},
		{"weight_bound", o.WeightBound, 0, 1e3, true},
		{"blend_alpha", o.BlendAlpha, 0, 1, false},
		{"sparse_below", o.SparseBelow, 0, 1, false},
	} {
		if err := checkRange(c.name, c.v, c.lo, c.hi, c.openLo); err != nil {
			return err
		}
	}
	if o.DT > o.TauTrace {
		return fmt.Errorf("csdp options dt = %v > tau_trace = %v: the linear trace decay 1 − dt/τ_tr would be negative", o.DT, o.TauTrace)
	}
	if o.DT > o.TauM {
		return fmt.Errorf("csdp options dt = %v > tau_m = %v: the Euler step would overshoot", o.DT, o.TauM)
	}
	switch o.Mode {
	case ModeSupervised, ModeUnsupervised:
	default:
		return fmt.Errorf("csdp option mode = %q: want %q or %q", o.Mode, ModeSupervised, ModeUnsupervised)
	}
	switch o.Kernels {
	case KernelsAuto, KernelsSparse, KernelsDense:
	default:
		return fmt.Errorf("csdp option kernels = %q: want %q, %q or %q", o.Kernels, KernelsAuto, KernelsSparse, KernelsDense)
	}
	switch o.ReconAverage {
	case ReconSteps, ReconStepsPlusOne:
	default:
		return fmt.Errorf("csdp option recon_average = %q: want %q or %q", o.ReconAverage, ReconSteps, ReconStepsPlusOne)
	}
	return nil
}

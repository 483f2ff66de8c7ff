package ccl

import (
	"fmt"

	"github.com/copi-learn/copi/learn"
)

// The forms of the local losses ([Options.Form]).
const (
	// FormCode is what the authors' released MLP code computes: each layer's activity h_l
	// is scored against the feedback codes of all classes, l_l = s·mean[(h_l C_lᵀ − Y)²]/n_l.
	FormCode = "code"
	// FormPaper is the paper's text: each layer's activity is matched directly to its
	// paired feedback activity for the example's own label, c_l = C_l[y] (the feedback net
	// is row-wise, so running it on onehot(y) selects row y of C_l), with
	// l_l = s·mean[(h_l − c_l)²], the mean over the N·n_l entries. The paper's exact
	// scaling is unverified; with the code's s = 128 this form collapsed on a toy problem
	// (both networks' activities meet at a constant), with s = 1 it learns.
	FormPaper = "paper"
)

// Options are the settings of counter-current learning. [DefaultOptions] is the authors'
// (Fashion-)MNIST setting.
type Options struct {
	// Sizes lists the widths n_0 (the input), n_1 … n_{L−1} (hidden) and n_L (the classes).
	// The feedback network mirrors it: G_l maps n_l to n_{l−1}.
	Sizes []int `json:"sizes" yaml:"sizes"`
	// LR is the learning rate of plain SGD (no momentum, no weight decay), for both networks.
	LR float64 `json:"lr" yaml:"lr"`
	// Clip is the bound on the gradient's norm, applied separately to the forward
	// parameters (all F together) and to the feedback parameters (all G together), as
	// PyTorch's clip_grad_norm_ does it; 0 turns clipping off.
	Clip float64 `json:"clip" yaml:"clip"`
	// LossScale is s, the factor of every local loss (128 in the authors' code).
	LossScale float64 `json:"loss_scale" yaml:"loss_scale"`
	// Form is the form of the local losses: "code" (default) or "paper".
	Form string `json:"form" yaml:"form"`
}

// DefaultOptions returns the authors' (Fashion-)MNIST setting: 784-256×5-10, SGD lr 1,
// gradient-norm clipping at 1 per network, loss scale 128, the code's form of the losses.
func DefaultOptions() Options {
	return Options{
		Sizes:     []int{784, 256, 256, 256, 256, 256, 10},
		LR:        1,
		Clip:      1,
		LossScale: 128,
		Form:      FormCode,
	}
}

// maxWidth bounds a layer's width.
const maxWidth = 1 << 20

// check checks one option value against [lo, hi], open at lo when openLo (see
// learn.CheckRange).
func check(name string, v, lo, hi float64, openLo bool) error {
	return learn.CheckRange("ccl", name, v, lo, hi, openLo, false)
}

// Validate checks every option: each number finite and in its range, the form known. It
// returns one error naming the first bad option and the values it accepts.
func (o *Options) Validate() error {
	if len(o.Sizes) < 2 {
		return fmt.Errorf("ccl option sizes = %v: want the input width, any hidden widths and the number of classes", o.Sizes)
	}
	for i, n := range o.Sizes {
		if n < 1 || n > maxWidth {
			return fmt.Errorf("ccl option sizes = %v: width %d at position %d is not in [1, %d]", o.Sizes, n, i, maxWidth)
		}
	}
	if err := check("lr", o.LR, 0, 100, true); err != nil {
		return err
	}
	if err := check("clip", o.Clip, 0, 1e6, false); err != nil {
		return err
	}
	if err := check("loss_scale", o.LossScale, 0, 1e6, false); err != nil {
		return err
	}
	switch o.Form {
	case FormCode, FormPaper:
	default:
		return fmt.Errorf("ccl option form = %q: want %q or %q", o.Form, FormCode, FormPaper)
	}
	return nil
}

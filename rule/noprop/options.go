package noprop

import (
	"fmt"

	"github.com/copi-learn/copi/learn"
)

// The label embeddings ([Options.Embedding]).
const (
	// EmbedOneHot is W_embed = I (K × K), fixed: the class one-hots.
	EmbedOneHot = "onehot"
	// EmbedLearned is a K × EmbedDim matrix drawn N(0, 1) and trained with every block.
	EmbedLearned = "learned"
	// EmbedPrototype is a K × Inputs matrix whose row k is an image of class k (at the
	// first training step, the example of class k in the batch nearest that batch's class
	// mean), trained with every block.
	EmbedPrototype = "prototype"
)

// ImageFC is the only image path built: the image through one fully connected ReLU layer
// of Sizes[1] units, in place of the paper's convolutional module followed by a fully
// connected layer ([Options.Image]).
const ImageFC = "fc"

// Options are the settings of NoProp-DT and of its backprop baseline on the same stack.
// [DefaultOptions] is the paper's MNIST setting with the fully connected image path.
type Options struct {
	// Blocks is T, the number of denoising blocks (= time steps).
	Blocks int `json:"blocks" yaml:"blocks"`
	// Eta is η, the weight of the denoising loss: block t's squared error is weighted by
	// (T η / 2)(SNR(t) − SNR(t−1)).
	Eta float64 `json:"eta" yaml:"eta"`
	// Embedding is the label embedding: "onehot", "learned" or "prototype".
	Embedding string `json:"embedding" yaml:"embedding"`
	// EmbedDim is the embedding's width for "learned" (the paper's 20); "onehot" uses the
	// number of classes and "prototype" the image size whatever it says.
	EmbedDim int `json:"embed_dim" yaml:"embed_dim"`
	// Sizes is [inputs, H, classes]: the image width, the width H of the blocks' layers (the
	// last hidden layer of a block has H/2) and the number of classes.
	Sizes []int `json:"sizes" yaml:"sizes"`
	// Image is the blocks' image path: "fc" (the only one built; see [ImageFC]).
	Image string `json:"image" yaml:"image"`
	// LR and WeightDecay are AdamW's (decoupled weight decay, PyTorch's AdamW: each step
	// first scales every parameter by 1 − LR·WeightDecay). β = (0.9, 0.999), ε = 1e-8.
	LR          float64 `json:"lr" yaml:"lr"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	// ScheduleOffset is the cosine schedule's s (0.008, Nichol & Dhariwal).
	ScheduleOffset float64 `json:"schedule_offset" yaml:"schedule_offset"`
	// InferenceNoise adds the √c_t ε term at inference (Predict and the headline accuracy);
	// Evaluate reports both modes whatever it says.
	InferenceNoise bool `json:"inference_noise" yaml:"inference_noise"`
	// TrainNoise, for bp-noprop only, adds the √c_t ε term in the end-to-end training pass.
	TrainNoise bool `json:"train_noise" yaml:"train_noise"`
}

// DefaultOptions returns the paper's setting (T = 10, η = 0.1, AdamW 1e-3 with weight
// decay 1e-3, one-hot embedding) with the fully connected image path, blocks of width 256.
func DefaultOptions() Options {
	return Options{
		Blocks:         10,
		Eta:            0.1,
		Embedding:      EmbedOneHot,
		EmbedDim:       20,
		Sizes:          []int{784, 256, 10},
		Image:          ImageFC,
		LR:             1e-3,
		WeightDecay:    1e-3,
		ScheduleOffset: 0.008,
		InferenceNoise: false,
		TrainNoise:     false,
	}
}

const (
	maxBlocks = 1000
	maxWidth  = 1 << 16
)

// check checks one option value against [lo, hi], open at lo when openLo (see
// learn.CheckRange).
func check(name string, v, lo, hi float64, openLo bool) error {
	return learn.CheckRange("noprop", name, v, lo, hi, openLo, false)
}

// Validate checks every option and returns one error naming the first bad one and the
// values it accepts.
func (o *Options) Validate() error {
	if o.Blocks < 1 || o.Blocks > maxBlocks {
		return fmt.Errorf("noprop option blocks = %d: want an integer in [1, %d]", o.Blocks, maxBlocks)
	}
	if err := check("eta", o.Eta, 0, 1e6, true); err != nil {
		return err
	}
	switch o.Embedding {
	case EmbedOneHot, EmbedLearned, EmbedPrototype:
	default:
		return fmt.Errorf("noprop option embedding = %q: want %q, %q or %q", o.Embedding, EmbedOneHot, EmbedLearned, EmbedPrototype)
	}
	if o.Embedding == EmbedLearned && (o.EmbedDim < 1 || o.EmbedDim > maxWidth) {
		return fmt.Errorf("noprop option embed_dim = %d: want an integer in [1, %d]", o.EmbedDim, maxWidth)
	}
	if len(o.Sizes) != 3 || o.Sizes[0] < 1 || o.Sizes[0] > 1<<24 || o.Sizes[1] < 2 || o.Sizes[1] > maxWidth || o.Sizes[2] < 2 || o.Sizes[2] > maxWidth {
		return fmt.Errorf("noprop option sizes = %v: want [inputs, block width ≥ 2, classes ≥ 2], e.g. [784, 256, 10]", o.Sizes)
	}
	if o.Image != ImageFC {
		return fmt.Errorf("noprop option image = %q: want %q (the convolutional path is not built yet)", o.Image, ImageFC)
	}
	if err := check("lr", o.LR, 0, 10, true); err != nil {
		return err
	}
	if err := check("weight_decay", o.WeightDecay, 0, 1, false); err != nil {
		return err
	}
	if o.LR*o.WeightDecay >= 1 {
		return fmt.Errorf("noprop options lr·weight_decay = %g: want below 1 (AdamW scales the weights by 1 − lr·weight_decay)", o.LR*o.WeightDecay)
	}
	return check("schedule_offset", o.ScheduleOffset, 0, 1, false)
}

// Package nn holds the multilayer perceptron that copi's learning rules train: dense layers,
// each with an optional learned decorrelating matrix R in front of it, element-wise
// nonlinearities, Xavier-normal initialisation, and the two losses (MSE against a one-hot
// target, softmax cross-entropy).
//
// Row-vector convention: a batch is an N×n matrix whose rows are examples. For layer l with
// input y (N×n_in):
//
//	x = y·Rᵀ        (decorrelated input; x = y when the layer has no R)
//	a = x·Wᵀ + b    (pre-activation; W is n_out×n_in)
//	h = f(a)        (f is the hidden nonlinearity; the last layer is linear)
//
// The package only computes; learning rules (package rule) decide what to change.
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/mat32"
)

// Config describes an MLP.
type Config struct {
	// Sizes lists the layer widths from input to output, e.g. [784 500 10].
	Sizes []int `json:"sizes" yaml:"sizes"`
	// Hidden is the nonlinearity of every hidden layer.
	Hidden mat32.Func `json:"-" yaml:"-"`
	// HiddenParam is the slope of LeakyReLU or the α of ELU.
	HiddenParam float32 `json:"hidden_param" yaml:"hidden_param"`
	// Bias adds a bias vector to every layer (the COPI paper uses none).
	Bias bool `json:"bias" yaml:"bias"`
	// Decorrelate puts a learned decorrelating matrix R (initialised to I) in front of every
	// layer, the input layer included.
	Decorrelate bool `json:"decorrelate" yaml:"decorrelate"`
}

// Validate reports whether the configuration describes a network that can be built.
func (c Config) Validate() error {
	if len(c.Sizes) < 2 {
		return fmt.Errorf("network needs at least an input and an output size, got %v", c.Sizes)
	}
	for i, s := range c.Sizes {
		if s <= 0 {
			return fmt.Errorf("layer size %d at position %d must be positive", s, i)
		}
	}
	return nil
}

// Layer is one dense layer with its optional decorrelator.
type Layer struct {
	In, Out int
	// W holds the forward weights, Out×In.
	W mat32.Matrix
	// B is the bias (length Out), nil when the network has no biases.
	B []float32
	// R is the decorrelating matrix, In×In; it has no data when the layer has none.
	R mat32.Matrix
}

// HasR reports whether the layer has a decorrelating matrix.
func (l *Layer) HasR() bool { return l.R.Data != nil }

// MLP is a multilayer perceptron; the output layer is linear.
type MLP struct {
	Config Config
	Layers []*Layer
}

// New builds an MLP with Xavier-normal weights (std √(2/(fan_in+fan_out))), zero biases and
// R = I, drawing from rng.
func New(cfg Config, rng *rand.Rand) (*MLP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	net := &MLP{Config: cfg}
	for l := 0; l+1 < len(cfg.Sizes); l++ {
		in, out := cfg.Sizes[l], cfg.Sizes[l+1]
		layer := &Layer{In: in, Out: out, W: mat32.New(out, in)}
		XavierNormal(layer.W, rng)
		if cfg.Bias {
			layer.B = make([]float32, out)
		}
		if cfg.Decorrelate {
			layer.R = mat32.New(in, in)
			mat32.SetIdentity(layer.R)
		}
		net.Layers = append(net.Layers, layer)
	}
	return net, nil
}

// XavierNormal fills w (fan_out×fan_in) with normal values of std √(2/(fan_in+fan_out)).
func XavierNormal(w mat32.Matrix, rng *rand.Rand) {
	std := math.Sqrt(2 / float64(w.Rows+w.Cols))
	for i := 0; i < w.Rows; i++ {
		r := w.Row(i)
		for j := range r {
			r[j] = float32(rng.NormFloat64() * std)
		}
	}
}

// InputSize is the width of the network's input.
func (n *MLP) InputSize() int { return n.Config.Sizes[0] }

// OutputSize is the width of the network's output.
func (n *MLP) OutputSize() int { return n.Config.Sizes[len(n.Config.Sizes)-1] }

// NumParams counts the trainable numbers: weights, biases and decorrelators.
func (n *MLP) NumParams() (weights, decorrelators int) {
	for _, l := range n.Layers {
		weights += l.In*l.Out + len(l.B)
		if l.HasR() {
			decorrelators += l.In * l.In
		}
	}
	return weights, decorrelators
}

// Activation returns the nonlinearity applied after layer l: the hidden one, or the identity
// for the output layer.
func (n *MLP) Activation(l int) mat32.Func {
	if l == len(n.Layers)-1 {
		return mat32.Identity
	}
	return n.Config.Hidden
}

// Trace holds one batch's forward pass through the network: for every layer its input y,
// decorrelated input x, pre-activation a and output h = f(a). Buffers are sized for up to
// Cap rows and reused from batch to batch; the views below have the current batch's rows.
type Trace struct {
	Cap int
	// Y[l] is layer l's input (Y[0] is the batch itself, Y[l] = H[l-1]).
	Y []mat32.Matrix
	// X[l] = Y[l]·R_lᵀ, or Y[l] itself when layer l has no R.
	X []mat32.Matrix
	// A[l] = X[l]·W_lᵀ + b_l.
	A []mat32.Matrix
	// H[l] = f(A[l]); the last one is the network output (equal to A for the linear output).
	H []mat32.Matrix

	xFull, aFull, hFull []mat32.Matrix
}

// NewTrace allocates the buffers for batches of up to capRows rows.
func (n *MLP) NewTrace(capRows int) *Trace {
	t := &Trace{Cap: capRows}
	for _, l := range n.Layers {
		var x mat32.Matrix
		if l.HasR() {
			x = mat32.New(capRows, l.In)
		}
		t.xFull = append(t.xFull, x)
		t.aFull = append(t.aFull, mat32.New(capRows, l.Out))
		t.hFull = append(t.hFull, mat32.New(capRows, l.Out))
	}
	L := len(n.Layers)
	t.Y = make([]mat32.Matrix, L)
	t.X = make([]mat32.Matrix, L)
	t.A = make([]mat32.Matrix, L)
	t.H = make([]mat32.Matrix, L)
	return t
}

// Output is the network output of the last forward pass.
func (t *Trace) Output() mat32.Matrix { return t.H[len(t.H)-1] }

// Forward runs the batch y (N×InputSize, N ≤ t.Cap) through the network, filling t.
func (n *MLP) Forward(e *mat32.Engine, y mat32.Matrix, t *Trace) {
	if y.Cols != n.InputSize() {
		panic(fmt.Sprintf("nn: forward: batch has %d columns, network input is %d", y.Cols, n.InputSize()))
	}
	if y.Rows > t.Cap {
		panic(fmt.Sprintf("nn: forward: batch of %d rows exceeds trace capacity %d", y.Rows, t.Cap))
	}
	rows := y.Rows
	in := y
	for l, layer := range n.Layers {
		t.Y[l] = in
		x := in
		if layer.HasR() {
			x = t.xFull[l].Slice(0, rows, 0, layer.In)
			e.MatMul(x, mat32.NoTrans, in, mat32.Trans, layer.R)
		}
		t.X[l] = x
		a := t.aFull[l].Slice(0, rows, 0, layer.Out)
		e.MatMul(a, mat32.NoTrans, x, mat32.Trans, layer.W)
		if layer.B != nil {
			mat32.AddRowVector(a, layer.B)
		}
		t.A[l] = a
		h := t.hFull[l].Slice(0, rows, 0, layer.Out)
		mat32.Apply(h, a, n.Activation(l), n.Config.HiddenParam)
		t.H[l] = h
		in = h
	}
}

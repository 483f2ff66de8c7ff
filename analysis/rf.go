package analysis

import (
	"fmt"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// RFFloor is the floor of the input mean square in the receptive-field formula (the paper's 0.1).
const RFFloor = 0.1

// ReceptiveFields returns the receptive fields of every unit of the given layers (numbered
// from 1; layer l's units are the outputs of weight layer l), computed with COPI's inference
// formula across layers over the rows of x (the training inputs):
//
//	RF_{l,j} = <x_0 a_{l,j}> / max(<x_0²>, 0.1)
//
// where x_0 = R_1 y_0 is the decorrelated input and a_{l,j} the pre-activation of unit j of
// layer l. Result i is an n_l × n_0 matrix whose row j is unit j's receptive field, in the
// input's layout (one 28×28 image per row for MNIST).
//
// Each chunk of rows costs one forward pass through the first max(layers) layers and one
// GEMM X_0ᵀ·A_l per requested layer.
func ReceptiveFields(e *mat32.Engine, net *nn.MLP, x mat32.Matrix, layers []int, opt Options) ([]mat32.Matrix, error) {
	if err := checkNet(net, x, opt); err != nil {
		return nil, fmt.Errorf("receptive fields: %w", err)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("receptive fields: no layers requested")
	}
	deepest := 0
	for _, l := range layers {
		if l < 1 || l > len(net.Layers) {
			return nil, fmt.Errorf("receptive fields: layer %d does not exist (the network has layers 1..%d)", l, len(net.Layers))
		}
		deepest = max(deepest, l)
	}
	x = opt.rows(x)
	sub := truncated(net, deepest)
	n0 := net.InputSize()
	acc := make([][]float64, len(layers))
	prods := make([]mat32.Matrix, len(layers))
	for i, l := range layers {
		acc[i] = make([]float64, net.Layers[l-1].Out*n0)
		prods[i] = mat32.New(net.Layers[l-1].Out, n0)
	}
	sq := make([]float64, n0)
	tr := sub.NewTrace(min(opt.chunk(), x.Rows))
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		sub.Forward(e, x.Slice(i, j, 0, x.Cols), tr)
		x0 := tr.X[0]
		addSquares(sq, x0)
		for k, l := range layers {
			e.MatMul(prods[k], mat32.Trans, tr.A[l-1], mat32.NoTrans, x0)
			accumulate(acc[k], prods[k])
		}
	}
	n := float64(x.Rows)
	den := make([]float64, n0)
	for c := range den {
		den[c] = n * max(sq[c]/n, RFFloor)
	}
	out := make([]mat32.Matrix, len(layers))
	for k := range layers {
		m := prods[k] // reuse: same shape
		for r := 0; r < m.Rows; r++ {
			row := m.Row(r)
			a := acc[k][r*n0 : (r+1)*n0]
			for c := range row {
				row[c] = float32(a[c] / den[c])
			}
		}
		out[k] = m
	}
	return out, nil
}

// InputMeanSquares returns <x_0²>, the mean square of each decorrelated input x_0 = R_1 y_0
// over the rows of x (with R_1 = I when the network has none and opt allows it). Pixels where
// it is (near) zero carry no information; their receptive-field values are 0.
func InputMeanSquares(e *mat32.Engine, net *nn.MLP, x mat32.Matrix, opt Options) ([]float64, error) {
	if err := checkNet(net, x, opt); err != nil {
		return nil, fmt.Errorf("input mean squares: %w", err)
	}
	x = opt.rows(x)
	sub := truncated(net, 1)
	tr := sub.NewTrace(min(opt.chunk(), x.Rows))
	sq := make([]float64, net.InputSize())
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		sub.Forward(e, x.Slice(i, j, 0, x.Cols), tr)
		addSquares(sq, tr.X[0])
	}
	for c := range sq {
		sq[c] /= float64(x.Rows)
	}
	return sq, nil
}

// DecorrelatedInputs returns x_0 = R_1 y_0 for every row y_0 of y (rows in, rows out), or a
// copy of y when the first layer has no R and opt allows that.
func DecorrelatedInputs(e *mat32.Engine, net *nn.MLP, y mat32.Matrix, opt Options) (mat32.Matrix, error) {
	if err := checkNet(net, y, opt); err != nil {
		return mat32.Matrix{}, fmt.Errorf("decorrelated inputs: %w", err)
	}
	out := mat32.New(y.Rows, y.Cols)
	if r := net.Layers[0]; r.HasR() {
		e.MatMul(out, mat32.NoTrans, y, mat32.Trans, r.R)
	} else {
		mat32.Copy(out, y)
	}
	return out, nil
}

// Package analysis implements the two applications of constrained parameter inference that
// the COPI paper (Ahmad, Schrader & van Gerven, TMLR 2023) shows besides training:
//
//   - receptive fields: COPI's inference formula applied across several layers,
//     RF_j = <x_0 a_{l,j}> / max(<x_0²>, 0.1) over the training set, where x_0 = R_1 y_0 is the
//     decorrelated input and a_{l,j} the pre-activation of unit j of layer l ([ReceptiveFields]);
//     rendered as image grids ([RenderGrid], [WritePNG]) and checked for spatial structure with
//     a lag-1 autocorrelation ([SpatialAutocorrelation]). The decorrelated inputs R_1 y_0 can be
//     shown next to ZCA-whitened ones ([FitZCA]).
//   - compression: the last k+1 weight layers are replaced by the one map inferred from the
//     decorrelated input x_s of layer s = L−k to the output,
//     W~ = <a_L x_sᵀ> diag(<x_s²>)⁻¹, with no retraining ([Compress]).
//
// Both need decorrelated layer inputs: a network without decorrelating matrices R is refused
// with [ErrNoDecorrelators] unless [Options.AllowCorrelated] asks to treat R as the identity
// (useful to compare with a backprop-trained network, where the inferred map has no
// decorrelated inputs to rely on and is correspondingly poor).
//
// Layers are numbered from 1 in the public API, as in the paper; statistics are accumulated
// in float64 over chunks of rows, each chunk's products computed by one GEMM on the engine.
package analysis

import (
	"errors"
	"fmt"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// ErrNoDecorrelators is returned for a network whose layers have no decorrelating matrix R
// when [Options.AllowCorrelated] is not set.
var ErrNoDecorrelators = errors.New("the model has no decorrelating matrices R (trained with a rule without decorrelation, e.g. bp)")

// DefaultChunk is the number of rows per forward pass when [Options.Chunk] is 0.
const DefaultChunk = 1000

// Options are the settings shared by the analyses.
type Options struct {
	// Chunk is the number of examples per forward pass (0: DefaultChunk).
	Chunk int
	// MaxExamples limits the statistics to the first MaxExamples rows of the data (0: all).
	MaxExamples int
	// AllowCorrelated treats a layer without R as having R = I instead of failing with
	// ErrNoDecorrelators. The inference formulas then assume decorrelation that is not there.
	AllowCorrelated bool
}

func (o Options) chunk() int {
	if o.Chunk <= 0 {
		return DefaultChunk
	}
	return o.Chunk
}

// rows returns the part of x the statistics run over.
func (o Options) rows(x mat32.Matrix) mat32.Matrix {
	if o.MaxExamples > 0 && o.MaxExamples < x.Rows {
		return x.Slice(0, o.MaxExamples, 0, x.Cols)
	}
	return x
}

// checkNet validates the network and the data against each other and the decorrelators.
func checkNet(net *nn.MLP, x mat32.Matrix, opt Options) error {
	if net == nil || len(net.Layers) == 0 {
		return errors.New("empty network")
	}
	if x.Cols != net.InputSize() {
		return fmt.Errorf("data have %d inputs per example, the network expects %d", x.Cols, net.InputSize())
	}
	if x.Rows == 0 {
		return errors.New("no examples to compute statistics on")
	}
	if !opt.AllowCorrelated {
		for _, l := range net.Layers {
			if !l.HasR() {
				return ErrNoDecorrelators
			}
		}
	}
	return nil
}

// truncated returns a view of net's first n layers (their pre-activations are the same as in
// the whole network; only the last one's output is left linear, which callers do not use).
func truncated(net *nn.MLP, n int) *nn.MLP {
	if n == len(net.Layers) {
		return net
	}
	cfg := net.Config
	cfg.Sizes = append([]int(nil), net.Config.Sizes[:n+1]...)
	return &nn.MLP{Config: cfg, Layers: net.Layers[:n]}
}

// accumulate adds the float32 matrix src to the float64 accumulator dst (same shape, packed).
func accumulate(dst []float64, src mat32.Matrix) {
	for i := 0; i < src.Rows; i++ {
		d := dst[i*src.Cols : (i+1)*src.Cols]
		for j, v := range src.Row(i) {
			d[j] += float64(v)
		}
	}
}

// addSquares adds the column sums of squares of x to dst.
func addSquares(dst []float64, x mat32.Matrix) {
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			dst[j] += float64(v) * float64(v)
		}
	}
}

// addSums adds the column sums of x to dst.
func addSums(dst []float64, x mat32.Matrix) {
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			dst[j] += float64(v)
		}
	}
}

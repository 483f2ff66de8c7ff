package train

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/mat32"
)

// inputNorm is the affine map x → (x − mean_c)/std_c of Config.InputMean and
// Config.InputStd, expanded to one shift and one factor per input column.
type inputNorm struct {
	shift, scale []float32
}

// checkInputNorm validates the normalisation's numbers (the width is checked against the
// data by newInputNorm).
func checkInputNorm(mean, std []float64) error {
	if len(mean) != len(std) {
		return fmt.Errorf("input_mean has %d values and input_std %d: give one per channel in each (or one for all inputs)", len(mean), len(std))
	}
	for i := range mean {
		if math.IsNaN(mean[i]) || math.IsInf(mean[i], 0) {
			return fmt.Errorf("input_mean[%d] = %v: want a finite number", i, mean[i])
		}
		if !(std[i] > 0) || math.IsInf(std[i], 0) {
			return fmt.Errorf("input_std[%d] = %v: want a finite number > 0", i, std[i])
		}
	}
	return nil
}

// newInputNorm expands the per-channel normalisation to cols input columns: one value
// applies to every column; C values to C equal blocks of contiguous columns (channels
// first, as the CIFAR-10 reader lays images out). It returns nil without a normalisation.
func newInputNorm(mean, std []float64, cols int) (*inputNorm, error) {
	if len(mean) == 0 {
		return nil, nil
	}
	if err := checkInputNorm(mean, std); err != nil {
		return nil, err
	}
	c := len(mean)
	if cols%c != 0 {
		return nil, fmt.Errorf("input_mean and input_std have %d values, which do not divide the %d inputs into equal channels", c, cols)
	}
	per := cols / c
	n := &inputNorm{shift: make([]float32, cols), scale: make([]float32, cols)}
	for j := 0; j < cols; j++ {
		n.shift[j] = float32(mean[j/per])
		n.scale[j] = float32(1 / std[j/per])
	}
	return n, nil
}

// row normalises one row in place.
func (n *inputNorm) row(x []float32) {
	for j, v := range x {
		x[j] = (v - n.shift[j]) * n.scale[j]
	}
}

// apply normalises every row of m in place.
func (n *inputNorm) apply(m mat32.Matrix) {
	for i := 0; i < m.Rows; i++ {
		n.row(m.Row(i))
	}
}

// copyOf returns a normalised copy of m (m itself when n is nil).
func (n *inputNorm) copyOf(m mat32.Matrix) mat32.Matrix {
	if n == nil {
		return m
	}
	c := mat32.New(m.Rows, m.Cols)
	for i := 0; i < m.Rows; i++ {
		copy(c.Row(i), m.Row(i))
	}
	n.apply(c)
	return c
}

// NormalizeInputs returns x as the learner of a run with this configuration sees it:
// normalised by InputMean and InputStd (a copy), or x itself without a normalisation.
func (c Config) NormalizeInputs(x mat32.Matrix) (mat32.Matrix, error) {
	n, err := newInputNorm(c.InputMean, c.InputStd, x.Cols)
	if err != nil {
		return x, err
	}
	return n.copyOf(x), nil
}

package nn

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/mat32"
)

// Loss names a loss function between the network output and the labels.
type Loss int

// The losses.
const (
	// MSE is the mean over batch and outputs of (a − t)², t the one-hot target (the COPI
	// paper's loss).
	MSE Loss = iota
	// CrossEntropy is the batch mean of −log softmax(a)_label.
	CrossEntropy
)

// String returns the loss's command-line name.
func (l Loss) String() string {
	switch l {
	case MSE:
		return "mse"
	case CrossEntropy:
		return "cross-entropy"
	}
	return fmt.Sprintf("Loss(%d)", int(l))
}

// ParseLoss returns the loss with the given name ("mse" or "cross-entropy"/"ce").
func ParseLoss(name string) (Loss, error) {
	switch name {
	case "mse":
		return MSE, nil
	case "cross-entropy", "ce", "xent":
		return CrossEntropy, nil
	}
	return 0, fmt.Errorf("unknown loss %q (want mse or cross-entropy)", name)
}

// Value returns the loss of output (N×K) against labels, averaged as the loss defines.
func (l Loss) Value(output mat32.Matrix, labels []uint8) float64 {
	if output.Rows != len(labels) {
		panic(fmt.Sprintf("nn: loss of %d outputs with %d labels", output.Rows, len(labels)))
	}
	if output.Rows == 0 {
		return 0
	}
	var s float64
	for i := 0; i < output.Rows; i++ {
		r := output.Row(i)
		switch l {
		case MSE:
			for j, v := range r {
				d := float64(v)
				if j == int(labels[i]) {
					d--
				}
				s += d * d
			}
		case CrossEntropy:
			s += -logSoftmaxAt(r, int(labels[i]))
		}
	}
	if l == MSE {
		return s / float64(output.Rows*output.Cols)
	}
	return s / float64(output.Rows)
}

// NegGradient writes into dst (N×K) the direction that decreases the loss per example,
// up to the constant factors that the learning rate absorbs:
//
//	MSE:           t − a         (the COPI reference's output error, before its multiplier)
//	CrossEntropy:  t − softmax(a)
//
// with t the one-hot target.
func (l Loss) NegGradient(dst, output mat32.Matrix, labels []uint8) {
	if !mat32.SameShape(dst, output) || output.Rows != len(labels) {
		panic(fmt.Sprintf("nn: NegGradient shapes: dst %dx%d, output %dx%d, %d labels",
			dst.Rows, dst.Cols, output.Rows, output.Cols, len(labels)))
	}
	for i := 0; i < output.Rows; i++ {
		d, a := dst.Row(i), output.Row(i)
		switch l {
		case MSE:
			for j, v := range a {
				d[j] = -v
			}
		case CrossEntropy:
			softmax(d, a)
			for j := range d {
				d[j] = -d[j]
			}
		}
		d[labels[i]]++
	}
}

// softmax writes softmax(a) into d, stably.
func softmax(d, a []float32) {
	m := float32(math.Inf(-1))
	for _, v := range a {
		m = max(m, v)
	}
	var s float64
	for j, v := range a {
		e := math.Exp(float64(v - m))
		d[j] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for j := range d {
		d[j] *= inv
	}
}

func logSoftmaxAt(a []float32, k int) float64 {
	m := math.Inf(-1)
	for _, v := range a {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range a {
		s += math.Exp(float64(v) - m)
	}
	return float64(a[k]) - m - math.Log(s)
}

package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/copi-learn/copi/mat32"
)

// DefaultZCAEpsilon is the regulariser added to the covariance eigenvalues in [FitZCA] when
// none is given (inputs scaled to [0, 1]).
const DefaultZCAEpsilon = 1e-2

// ZCA is a zero-phase component analysis whitening transform: x ↦ (x − μ)·W with
// W = U diag(1/√(λ + ε)) Uᵀ from the eigendecomposition C = U diag(λ) Uᵀ of the inputs'
// covariance. Of all whitening transforms it stays closest to the input, so whitened images
// still look like images (edges enhanced).
type ZCA struct {
	// Mean is μ, the inputs' mean.
	Mean []float32
	// W is the symmetric whitening matrix.
	W mat32.Matrix
	// Epsilon is the regulariser ε.
	Epsilon float64
}

// FitZCA estimates the ZCA transform of the rows of x (the training inputs): the covariance
// is accumulated with the engine in chunks (float64 sums) and decomposed with gonum's
// EigenSym. eps ≤ 0 selects DefaultZCAEpsilon; maxRows > 0 uses only the first maxRows rows.
func FitZCA(e *mat32.Engine, x mat32.Matrix, eps float64, maxRows int) (*ZCA, error) {
	if eps <= 0 {
		eps = DefaultZCAEpsilon
	}
	if maxRows > 0 && maxRows < x.Rows {
		x = x.Slice(0, maxRows, 0, x.Cols)
	}
	if x.Rows < 2 {
		return nil, fmt.Errorf("zca: need at least 2 examples, have %d", x.Rows)
	}
	d := x.Cols
	sum := make([]float64, d)
	addSums(sum, x)
	mean := make([]float32, d)
	for j := range mean {
		mean[j] = float32(sum[j] / float64(x.Rows))
	}
	cov := make([]float64, d*d)
	chunk := min(DefaultChunk, x.Rows)
	buf := mat32.New(chunk, d)
	prod := mat32.New(d, d)
	for i := 0; i < x.Rows; i += chunk {
		j := min(i+chunk, x.Rows)
		c := buf.Slice(0, j-i, 0, d)
		for r := 0; r < j-i; r++ {
			dst, src := c.Row(r), x.Row(i+r)
			for k := range dst {
				dst[k] = src[k] - mean[k]
			}
		}
		e.MatMul(prod, mat32.Trans, c, mat32.NoTrans, c)
		accumulate(cov, prod)
	}
	sym := mat.NewSymDense(d, nil)
	n := float64(x.Rows)
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			sym.SetSym(a, b, (cov[a*d+b]+cov[b*d+a])/(2*n))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, fmt.Errorf("zca: eigendecomposition of the %d×%d covariance did not converge", d, d)
	}
	vals := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	scaled := mat.NewDense(d, d, nil)
	for a := 0; a < d; a++ {
		for b := 0; b < d; b++ {
			scaled.Set(a, b, u.At(a, b)/math.Sqrt(max(vals[b], 0)+eps))
		}
	}
	var w mat.Dense
	w.Mul(scaled, u.T())
	z := &ZCA{Mean: mean, W: mat32.New(d, d), Epsilon: eps}
	for a := 0; a < d; a++ {
		row := z.W.Row(a)
		for b := range row {
			row[b] = float32(w.At(a, b))
		}
	}
	return z, nil
}

// Apply returns the whitened rows (x − μ)·W of x.
func (z *ZCA) Apply(e *mat32.Engine, x mat32.Matrix) (mat32.Matrix, error) {
	if x.Cols != len(z.Mean) {
		return mat32.Matrix{}, fmt.Errorf("zca: inputs have %d values, the transform %d", x.Cols, len(z.Mean))
	}
	c := mat32.New(x.Rows, x.Cols)
	for r := 0; r < x.Rows; r++ {
		dst, src := c.Row(r), x.Row(r)
		for k := range dst {
			dst[k] = src[k] - z.Mean[k]
		}
	}
	out := mat32.New(x.Rows, x.Cols)
	e.MatMul(out, mat32.NoTrans, c, mat32.NoTrans, z.W)
	return out, nil
}

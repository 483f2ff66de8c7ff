package mat32

import (
	"fmt"
	"math"
)

// Zero sets every element of m to 0.
func Zero(m Matrix) {
	for i := 0; i < m.Rows; i++ {
		clear(m.Row(i))
	}
}

// Fill sets every element of m to v.
func Fill(m Matrix, v float32) {
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		for j := range r {
			r[j] = v
		}
	}
}

// SetIdentity sets the square matrix m to the identity.
func SetIdentity(m Matrix) {
	if m.Rows != m.Cols {
		panic(fmt.Sprintf("mat32: SetIdentity of non-square %dx%d", m.Rows, m.Cols))
	}
	Zero(m)
	for i := 0; i < m.Rows; i++ {
		m.Data[i*m.Stride+i] = 1
	}
}

// Copy copies src into dst; the shapes must match.
func Copy(dst, src Matrix) {
	mustSameShape("Copy", dst, src)
	for i := 0; i < dst.Rows; i++ {
		copy(dst.Row(i), src.Row(i))
	}
}

// Scale multiplies every element of m by alpha.
func Scale(alpha float32, m Matrix) {
	if d, ok := flat(m); ok {
		scaleBy(d, alpha)
		return
	}
	for i := 0; i < m.Rows; i++ {
		scaleBy(m.Row(i), alpha)
	}
}

// Axpy computes y += alpha*x element-wise.
func Axpy(alpha float32, x, y Matrix) {
	mustSameShape("Axpy", x, y)
	if yd, ok := flat(y); ok {
		if xd, ok := flat(x); ok {
			axpyTo(yd, alpha, xd)
			return
		}
	}
	for i := 0; i < y.Rows; i++ {
		axpyTo(y.Row(i), alpha, x.Row(i))
	}
}

// Add computes dst = a + b element-wise; dst may alias a or b.
func Add(dst, a, b Matrix) {
	mustSameShape("Add", dst, a)
	mustSameShape("Add", dst, b)
	binary(dst, a, b, opAdd)
}

// Sub computes dst = a - b element-wise; dst may alias a or b.
func Sub(dst, a, b Matrix) {
	mustSameShape("Sub", dst, a)
	mustSameShape("Sub", dst, b)
	binary(dst, a, b, opSub)
}

// Hadamard computes dst = a ⊙ b (element-wise product); dst may alias a or b.
func Hadamard(dst, a, b Matrix) {
	mustSameShape("Hadamard", dst, a)
	mustSameShape("Hadamard", dst, b)
	binary(dst, a, b, opMul)
}

// AddRowVector adds v (length m.Cols) to every row of m: broadcasting a row.
func AddRowVector(m Matrix, v []float32) {
	if len(v) != m.Cols {
		panic(fmt.Sprintf("mat32: AddRowVector: vector of %d for %d columns", len(v), m.Cols))
	}
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		binaryTo(r, r, v, opAdd)
	}
}

// ScaleColumns multiplies column j of m by s[j] for every j (m ← m·diag(s)).
func ScaleColumns(m Matrix, s []float32) {
	if len(s) != m.Cols {
		panic(fmt.Sprintf("mat32: ScaleColumns: vector of %d for %d columns", len(s), m.Cols))
	}
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		binaryTo(r, r, s, opMul)
	}
}

// ScaleRows multiplies row i of m by s[i] for every i (m ← diag(s)·m).
func ScaleRows(m Matrix, s []float32) {
	if len(s) != m.Rows {
		panic(fmt.Sprintf("mat32: ScaleRows: vector of %d for %d rows", len(s), m.Rows))
	}
	for i := 0; i < m.Rows; i++ {
		scaleBy(m.Row(i), s[i])
	}
}

// ColMeans writes the mean of each column of m into dst (length m.Cols).
func ColMeans(dst []float32, m Matrix) {
	colReduce(dst, m, false)
}

// ColMeanSquares writes the mean of the squares of each column of m into dst (length m.Cols).
func ColMeanSquares(dst []float32, m Matrix) {
	colReduce(dst, m, true)
}

func colReduce(dst []float32, m Matrix, square bool) {
	if len(dst) != m.Cols {
		panic(fmt.Sprintf("mat32: column reduction into %d for %d columns", len(dst), m.Cols))
	}
	clear(dst)
	if m.Rows == 0 {
		return
	}
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		if square {
			for j, v := range r {
				dst[j] += v * v
			}
		} else {
			for j, v := range r {
				dst[j] += v
			}
		}
	}
	inv := 1 / float32(m.Rows)
	for j := range dst {
		dst[j] *= inv
	}
}

// RowSums writes the sum of each row of m into dst (length m.Rows).
func RowSums(dst []float32, m Matrix) {
	if len(dst) != m.Rows {
		panic(fmt.Sprintf("mat32: RowSums into %d for %d rows", len(dst), m.Rows))
	}
	for i := 0; i < m.Rows; i++ {
		var s float32
		for _, v := range m.Row(i) {
			s += v
		}
		dst[i] = s
	}
}

// ArgmaxRows writes the column index of each row's largest element into dst (length m.Rows).
// Ties resolve to the lowest index; NaN never wins over a number.
func ArgmaxRows(dst []int, m Matrix) {
	if len(dst) != m.Rows {
		panic(fmt.Sprintf("mat32: ArgmaxRows into %d for %d rows", len(dst), m.Rows))
	}
	for i := 0; i < m.Rows; i++ {
		r := m.Row(i)
		best, arg := float32(math.Inf(-1)), 0
		for j, v := range r {
			if v > best {
				best, arg = v, j
			}
		}
		dst[i] = arg
	}
}

// AddOuter accumulates the outer product c += alpha·x·yᵀ (c is len(x)×len(y)).
func AddOuter(alpha float32, x, y []float32, c Matrix) {
	if c.Rows != len(x) || c.Cols != len(y) {
		panic(fmt.Sprintf("mat32: AddOuter %d×%d into %dx%d", len(x), len(y), c.Rows, c.Cols))
	}
	for i, xi := range x {
		a := alpha * xi
		if a == 0 {
			continue
		}
		axpyTo(c.Row(i), a, y)
	}
}

// AllFinite reports whether every element of m is finite (no NaN or ±Inf).
func AllFinite(m Matrix) bool {
	for i := 0; i < m.Rows; i++ {
		for _, v := range m.Row(i) {
			// v-v is NaN exactly when v is NaN or ±Inf.
			if v-v != 0 {
				return false
			}
		}
	}
	return true
}

// FrobeniusNorm returns sqrt(Σ m_ij²), accumulated in float64.
func FrobeniusNorm(m Matrix) float64 {
	var s float64
	for i := 0; i < m.Rows; i++ {
		for _, v := range m.Row(i) {
			s += float64(v) * float64(v)
		}
	}
	return math.Sqrt(s)
}

// Dot returns Σ a_ij·b_ij, accumulated in float64.
func Dot(a, b Matrix) float64 {
	mustSameShape("Dot", a, b)
	var s float64
	for i := 0; i < a.Rows; i++ {
		ar, br := a.Row(i), b.Row(i)
		for j := range ar {
			s += float64(ar[j]) * float64(br[j])
		}
	}
	return s
}

// binary computes dst = a op b element-wise, over whole matrices when all are contiguous.
func binary(dst, a, b Matrix, op binaryOp) {
	if d, ok := flat(dst); ok {
		if ad, ok := flat(a); ok {
			if bd, ok := flat(b); ok {
				binaryTo(d, ad, bd, op)
				return
			}
		}
	}
	for i := 0; i < dst.Rows; i++ {
		binaryTo(dst.Row(i), a.Row(i), b.Row(i), op)
	}
}

package mat32

import "fmt"

// Matrix is a row-major view of float32 values: element (i, j) is Data[i*Stride+j].
// A Matrix is a small value; copying it copies the view, not the data. Views made by
// [Matrix.Slice] share Data with their parent.
type Matrix struct {
	Rows, Cols int
	// Stride is the distance in Data between the starts of consecutive rows (>= Cols).
	Stride int
	Data   []float32
}

// New returns a zeroed rows×cols matrix with its own storage.
func New(rows, cols int) Matrix {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("mat32: negative dimensions %dx%d", rows, cols))
	}
	return Matrix{Rows: rows, Cols: cols, Stride: cols, Data: make([]float32, rows*cols)}
}

// FromSlice wraps data (len rows*cols, row-major) as a matrix without copying.
func FromSlice(rows, cols int, data []float32) Matrix {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		panic(fmt.Sprintf("mat32: FromSlice %dx%d with %d values", rows, cols, len(data)))
	}
	return Matrix{Rows: rows, Cols: cols, Stride: cols, Data: data}
}

// At returns element (i, j).
func (m Matrix) At(i, j int) float32 { return m.Data[i*m.Stride+j] }

// Set sets element (i, j) to v.
func (m Matrix) Set(i, j int, v float32) { m.Data[i*m.Stride+j] = v }

// Row returns row i as a slice of length Cols that aliases the matrix.
func (m Matrix) Row(i int) []float32 {
	if m.Cols == 0 {
		return nil
	}
	return m.Data[i*m.Stride : i*m.Stride+m.Cols]
}

// Slice returns the view of rows [i0, i1) and columns [j0, j1); it shares storage.
func (m Matrix) Slice(i0, i1, j0, j1 int) Matrix {
	if i0 < 0 || i1 < i0 || i1 > m.Rows || j0 < 0 || j1 < j0 || j1 > m.Cols {
		panic(fmt.Sprintf("mat32: slice [%d:%d, %d:%d] of %dx%d", i0, i1, j0, j1, m.Rows, m.Cols))
	}
	if i1 == i0 || j1 == j0 {
		return Matrix{Rows: i1 - i0, Cols: j1 - j0, Stride: max(m.Stride, 1)}
	}
	start := i0*m.Stride + j0
	end := (i1-1)*m.Stride + j1
	return Matrix{Rows: i1 - i0, Cols: j1 - j0, Stride: m.Stride, Data: m.Data[start:end]}
}

// Contiguous reports whether the view's rows are packed back to back (Stride == Cols).
func (m Matrix) Contiguous() bool { return m.Stride == m.Cols || m.Rows <= 1 }

// Clone returns a contiguous copy of m with its own storage.
func (m Matrix) Clone() Matrix {
	c := New(m.Rows, m.Cols)
	Copy(c, m)
	return c
}

// SameShape reports whether a and b have the same number of rows and columns.
func SameShape(a, b Matrix) bool { return a.Rows == b.Rows && a.Cols == b.Cols }

func mustSameShape(op string, a, b Matrix) {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("mat32: %s: shape %dx%d vs %dx%d", op, a.Rows, a.Cols, b.Rows, b.Cols))
	}
}

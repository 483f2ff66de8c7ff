package mat32

// Slice kernels behind the element-wise operations. Each re-slices its inputs to the
// destination's length so that the compiler drops the bounds checks, and unrolls by four.

// axpyTo computes y[i] += alpha*x[i].
func axpyTo(y []float32, alpha float32, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		yy, xx := y[i:i+4:i+4], x[i:i+4:i+4]
		yy[0] += alpha * xx[0]
		yy[1] += alpha * xx[1]
		yy[2] += alpha * xx[2]
		yy[3] += alpha * xx[3]
	}
	for ; i < len(y); i++ {
		y[i] += alpha * x[i]
	}
}

// scaleBy computes y[i] *= alpha.
func scaleBy(y []float32, alpha float32) {
	i := 0
	for ; i+4 <= len(y); i += 4 {
		yy := y[i : i+4 : i+4]
		yy[0] *= alpha
		yy[1] *= alpha
		yy[2] *= alpha
		yy[3] *= alpha
	}
	for ; i < len(y); i++ {
		y[i] *= alpha
	}
}

// binaryOp selects the operation of binaryTo.
type binaryOp int

const (
	opAdd binaryOp = iota
	opSub
	opMul
)

// binaryTo computes d[i] = a[i] op b[i]; d may alias a or b.
func binaryTo(d, a, b []float32, op binaryOp) {
	a, b = a[:len(d)], b[:len(d)]
	i := 0
	switch op {
	case opAdd:
		for ; i+4 <= len(d); i += 4 {
			dd, aa, bb := d[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
			dd[0], dd[1], dd[2], dd[3] = aa[0]+bb[0], aa[1]+bb[1], aa[2]+bb[2], aa[3]+bb[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] + b[i]
		}
	case opSub:
		for ; i+4 <= len(d); i += 4 {
			dd, aa, bb := d[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
			dd[0], dd[1], dd[2], dd[3] = aa[0]-bb[0], aa[1]-bb[1], aa[2]-bb[2], aa[3]-bb[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] - b[i]
		}
	case opMul:
		for ; i+4 <= len(d); i += 4 {
			dd, aa, bb := d[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
			dd[0], dd[1], dd[2], dd[3] = aa[0]*bb[0], aa[1]*bb[1], aa[2]*bb[2], aa[3]*bb[3]
		}
		for ; i < len(d); i++ {
			d[i] = a[i] * b[i]
		}
	}
}

// flat returns m's elements as one slice when its rows are stored back to back, so that
// element-wise loops run once over the whole matrix instead of row by row.
func flat(m Matrix) ([]float32, bool) {
	if m.Rows == 0 || m.Cols == 0 || !m.Contiguous() {
		return nil, false
	}
	return m.Data[:m.Rows*m.Cols], true
}

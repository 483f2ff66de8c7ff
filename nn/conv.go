package nn

import (
	"fmt"

	"github.com/copi-learn/copi/mat32"
)

// Convolution and pooling on the GEMM engine.
//
// Layout. An example is channels-first, C×H×W, flattened as c·H·W + y·W + x (PyTorch's
// order; a CIFAR-10 record is already in it). Inside the network a batch of N examples is
// held channel-major, as a C × (N·H·W) matrix whose row c holds channel c of every example,
// example after example: the layout in which a convolution is one matrix product,
//
//	A = W · col(X)        W: C_out × (C_in·K·K),  col(X): (C_in·K·K) × (N·H_out·W_out)
//
// whose result is already the next layer's input. col (im2col) gathers, for every output
// position, the K·K input values of every input channel under the kernel (zero outside the
// padded border). The backward products are
//
//	∂L/∂W = ∂L/∂A · col(X)ᵀ       ∂L/∂col = Mᵀ · ∂L/∂A,  then col2im adds it back onto ∂L/∂X
//
// with M = W for backprop, or a feedback matrix of W's shape for feedback alignment and sign
// symmetry. Pooling works plane by plane (one channel of one example).

// Shape3 is the shape of one example's activity: channels, height, width.
type Shape3 struct{ C, H, W int }

// Size is C·H·W.
func (s Shape3) Size() int { return s.C * s.H * s.W }

// Plane is H·W.
func (s Shape3) Plane() int { return s.H * s.W }

// String prints the shape as C×H×W.
func (s Shape3) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// convOut is the output length of a window of size k moved by stride s over n values padded
// by p on both sides (PyTorch's floor rule); it is ≤ 0 when the window does not fit.
func convOut(n, k, s, p int) int {
	if n+2*p < k {
		return 0
	}
	return (n+2*p-k)/s + 1
}

// strideOneRange returns the output columns [lo, hi) of a stride-1 window row whose kernel
// column kj reads inside an image row of width w padded by pad: lo ≤ hi, both in [0, ow].
func strideOneRange(ow, w, kj, pad int) (lo, hi int) {
	lo = min(ow, max(0, pad-kj))
	hi = max(lo, min(ow, w+pad-kj))
	return lo, hi
}

// ToChannelMajor copies the batch x (N × C·P, example-major) into dst (C × N·P,
// channel-major), with P = plane, applying (v − mean[c])·invStd[c] when mean is not nil.
func ToChannelMajor(dst, x mat32.Matrix, c, plane int, mean, invStd []float32) {
	n := x.Rows
	for i := 0; i < n; i++ {
		row := x.Row(i)
		for ch := 0; ch < c; ch++ {
			src := row[ch*plane : (ch+1)*plane]
			d := dst.Row(ch)[i*plane : (i+1)*plane]
			if mean == nil {
				copy(d, src)
				continue
			}
			m, s := mean[ch], invStd[ch]
			for j, v := range src {
				d[j] = (v - m) * s
			}
		}
	}
}

// FromChannelMajor copies src (C × N·P) into dst (N × C·P): the inverse of
// [ToChannelMajor] without normalisation (the flattening in front of a dense layer).
func FromChannelMajor(dst, src mat32.Matrix, c, plane int) {
	for i := 0; i < dst.Rows; i++ {
		row := dst.Row(i)
		for ch := 0; ch < c; ch++ {
			copy(row[ch*plane:(ch+1)*plane], src.Row(ch)[i*plane:(i+1)*plane])
		}
	}
}

// Im2Col fills col ((C·K·K) × (N·OH·OW)) from x (C × N·H·W) for a K×K kernel with the
// given stride and zero padding: col[(c·K+ki)·K+kj][n·OH·OW + oy·OW + ox] =
// x[c][n][oy·stride+ki−pad][ox·stride+kj−pad], 0 outside the image.
func Im2Col(col, x mat32.Matrix, in Shape3, n, k, stride, pad int) {
	oh, ow := convOut(in.H, k, stride, pad), convOut(in.W, k, stride, pad)
	op, ip := oh*ow, in.Plane()
	for c := 0; c < in.C; c++ {
		xrow := x.Row(c)
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				crow := col.Row((c*k+ki)*k + kj)
				lo, hi := strideOneRange(ow, in.W, kj, pad)
				for e := 0; e < n; e++ {
					img := xrow[e*ip : (e+1)*ip]
					out := crow[e*op : (e+1)*op]
					for oy := 0; oy < oh; oy++ {
						y := oy*stride + ki - pad
						o := out[oy*ow : (oy+1)*ow]
						if y < 0 || y >= in.H {
							clear(o)
							continue
						}
						irow := img[y*in.W : (y+1)*in.W]
						if stride == 1 {
							// x = ox + kj − pad runs over a contiguous stretch of the row.
							clear(o[:lo])
							copy(o[lo:hi], irow[lo+kj-pad:hi+kj-pad])
							clear(o[hi:])
							continue
						}
						for ox := range o {
							xx := ox*stride + kj - pad
							if xx < 0 || xx >= in.W {
								o[ox] = 0
							} else {
								o[ox] = irow[xx]
							}
						}
					}
				}
			}
		}
	}
}

// Col2Im adds col ((C·K·K) × (N·OH·OW)) back onto dx (C × N·H·W): the transpose of
// [Im2Col] (dx is not cleared first).
func Col2Im(dx, col mat32.Matrix, in Shape3, n, k, stride, pad int) {
	oh, ow := convOut(in.H, k, stride, pad), convOut(in.W, k, stride, pad)
	op, ip := oh*ow, in.Plane()
	for c := 0; c < in.C; c++ {
		xrow := dx.Row(c)
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				crow := col.Row((c*k+ki)*k + kj)
				lo, hi := strideOneRange(ow, in.W, kj, pad)
				for e := 0; e < n; e++ {
					img := xrow[e*ip : (e+1)*ip]
					out := crow[e*op : (e+1)*op]
					for oy := 0; oy < oh; oy++ {
						y := oy*stride + ki - pad
						if y < 0 || y >= in.H {
							continue
						}
						irow := img[y*in.W : (y+1)*in.W]
						o := out[oy*ow : (oy+1)*ow]
						if stride == 1 {
							dst := irow[lo+kj-pad : hi+kj-pad]
							for j, v := range o[lo:hi] {
								dst[j] += v
							}
							continue
						}
						for ox, v := range o {
							xx := ox*stride + kj - pad
							if xx >= 0 && xx < in.W {
								irow[xx] += v
							}
						}
					}
				}
			}
		}
	}
}

// MaxPool sets y (C × N·OH·OW) to the maximum of every k×k window (moved by stride) of x
// (C × N·H·W), and arg to the column of x each maximum came from (the first one on ties).
func MaxPool(y, x mat32.Matrix, arg []int32, in Shape3, n, k, stride int) {
	oh, ow := convOut(in.H, k, stride, 0), convOut(in.W, k, stride, 0)
	op, ip := oh*ow, in.Plane()
	if k == 2 && stride == 2 {
		maxPool2(y, x, arg, in, n, oh, ow)
		return
	}
	for c := 0; c < in.C; c++ {
		xrow, yrow := x.Row(c), y.Row(c)
		abase := c * n * op
		for e := 0; e < n; e++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					best := e*ip + oy*stride*in.W + ox*stride
					bv := xrow[best]
					for ki := 0; ki < k; ki++ {
						r := e*ip + (oy*stride+ki)*in.W + ox*stride
						for kj, v := range xrow[r : r+k] {
							if v > bv {
								bv, best = v, r+kj
							}
						}
					}
					o := e*op + oy*ow + ox
					yrow[o] = bv
					arg[abase+o] = int32(best)
				}
			}
		}
	}
}

// maxPool2 is [MaxPool] for 2×2 windows with stride 2 (the same results, ties included:
// the first maximum in row-major window order).
func maxPool2(y, x mat32.Matrix, arg []int32, in Shape3, n, oh, ow int) {
	op, ip, w := oh*ow, in.Plane(), in.W
	for c := 0; c < in.C; c++ {
		xrow, yrow := x.Row(c), y.Row(c)
		a := arg[c*n*op : (c+1)*n*op]
		for e := 0; e < n; e++ {
			for oy := 0; oy < oh; oy++ {
				r0 := e*ip + 2*oy*w
				r1 := r0 + w
				o := e*op + oy*ow
				yo, ao := yrow[o:o+ow], a[o:o+ow]
				top, bot := xrow[r0:r0+2*ow], xrow[r1:r1+2*ow]
				for ox := range yo {
					j := 2 * ox
					best, bv := r0+j, top[j]
					if v := top[j+1]; v > bv {
						best, bv = r0+j+1, v
					}
					if v := bot[j]; v > bv {
						best, bv = r1+j, v
					}
					if v := bot[j+1]; v > bv {
						best, bv = r1+j+1, v
					}
					yo[ox], ao[ox] = bv, int32(best)
				}
			}
		}
	}
}

// MaxPoolBack sets dx (C × N·H·W) to the gradient of [MaxPool]: dy routed to the argmax.
func MaxPoolBack(dx, dy mat32.Matrix, arg []int32, c, n, outPlane int) {
	for ch := 0; ch < c; ch++ {
		xrow, yrow := dx.Row(ch), dy.Row(ch)
		clear(xrow)
		a := arg[ch*n*outPlane : (ch+1)*n*outPlane]
		for o, v := range yrow[:n*outPlane] {
			xrow[a[o]] += v
		}
	}
}

// AvgPool sets y (C × N·OH·OW) to the mean of every k×k window (moved by stride) of x.
func AvgPool(y, x mat32.Matrix, in Shape3, n, k, stride int) {
	oh, ow := convOut(in.H, k, stride, 0), convOut(in.W, k, stride, 0)
	op, ip := oh*ow, in.Plane()
	inv := 1 / float32(k*k)
	for c := 0; c < in.C; c++ {
		xrow, yrow := x.Row(c), y.Row(c)
		for e := 0; e < n; e++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float32
					for ki := 0; ki < k; ki++ {
						r := e*ip + (oy*stride+ki)*in.W + ox*stride
						for _, v := range xrow[r : r+k] {
							s += v
						}
					}
					yrow[e*op+oy*ow+ox] = s * inv
				}
			}
		}
	}
}

// AvgPoolBack sets dx (C × N·H·W) to the gradient of [AvgPool]: each dy spread evenly over
// its window.
func AvgPoolBack(dx, dy mat32.Matrix, in Shape3, n, k, stride int) {
	oh, ow := convOut(in.H, k, stride, 0), convOut(in.W, k, stride, 0)
	op, ip := oh*ow, in.Plane()
	inv := 1 / float32(k*k)
	for c := 0; c < in.C; c++ {
		xrow, yrow := dx.Row(c), dy.Row(c)
		clear(xrow[:n*ip])
		for e := 0; e < n; e++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := yrow[e*op+oy*ow+ox] * inv
					for ki := 0; ki < k; ki++ {
						r := e*ip + (oy*stride+ki)*in.W + ox*stride
						d := xrow[r : r+k]
						for j := range d {
							d[j] += g
						}
					}
				}
			}
		}
	}
}

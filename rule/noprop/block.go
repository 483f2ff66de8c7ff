package noprop

import (
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/mat32"
)

// param is one parameter tensor with its gradient buffer.
type param struct {
	name string
	w, g mat32.Matrix
}

func newParam(name string, rows, cols int) *param {
	return &param{name: name, w: mat32.New(rows, cols), g: mat32.New(rows, cols)}
}

// initUniform draws p's values from PyTorch's default Linear initialisation,
// U(−1/√fanIn, 1/√fanIn), for weights and biases alike.
func (p *param) initUniform(rng *rand.Rand, fanIn int) {
	b := 1 / math.Sqrt(float64(fanIn))
	for k := range p.w.Data {
		p.w.Data[k] = float32((2*rng.Float64() - 1) * b)
	}
}

// imagePath is a block's image path: it maps the rows of x to features of its width. The
// only one built is [fcImage]; a convolutional path (the paper's) implements the same
// methods and slots in without any other change to the block.
type imagePath interface {
	// width is the number of features per example.
	width() int
	// forward writes the features of the rows of x into out (x.Rows × width).
	forward(e *mat32.Engine, x, out mat32.Matrix)
	// backward takes dOut, the loss's gradient with respect to out (which it may
	// overwrite), and writes the gradients of the path's parameters. The image is data:
	// no gradient is returned for it.
	backward(e *mat32.Engine, x, out, dOut mat32.Matrix)
	// params lists the path's parameters.
	params() []*param
}

// fcImage is the fully connected image path: out = relu(x W + b).
type fcImage struct{ W, b *param }

func newFCImage(in, width int, rng *rand.Rand) *fcImage {
	f := &fcImage{W: newParam("image.W", in, width), b: newParam("image.b", 1, width)}
	f.W.initUniform(rng, in)
	f.b.initUniform(rng, in)
	return f
}

func (f *fcImage) width() int       { return f.W.w.Cols }
func (f *fcImage) params() []*param { return []*param{f.W, f.b} }

func (f *fcImage) forward(e *mat32.Engine, x, out mat32.Matrix) {
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, x, f.W.w, 0, out)
	mat32.AddRowVector(out, f.b.w.Row(0))
	mat32.Apply(out, out, mat32.ReLU, 0)
}

func (f *fcImage) backward(e *mat32.Engine, x, out, dOut mat32.Matrix) {
	reluBack(dOut, out)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, x, dOut, 0, f.W.g)
	colSums(f.b.g.Row(0), dOut)
}

// block is one NoProp denoising block û_t = softmax(logits_t(x, z)) W_embed, as the
// paper's figure draws it with a fully connected image path and without batch
// normalisation (row vectors, H = Sizes[1]):
//
//	h_x  = image(x)                                 (fc: relu(x W_x + b_x), H wide)
//	h_z1 = relu(z W_z1 + b_z1)                      (H)
//	h_z  = relu(h_z1 W_z2 + b_z2) + h_z1            (H, a skip connection)
//	h_1  = relu(h_x W_ca + h_z W_cb + b_c1)         (H; [h_x, h_z] W_c1 with W_c1 split)
//	h_2  = relu(h_1 W_c2 + b_c2)                    (H/2)
//	logits = h_2 W_o + b_o                          (K)
type block struct {
	img                                         imagePath
	Wz1, bz1, Wz2, bz2, Wca, Wcb, bc1, Wc2, bc2 *param
	Wo, bo                                      *param
	all                                         []*param
}

func newBlock(inputs, d, hidden, classes int, rng *rand.Rand) *block {
	h2 := hidden / 2
	b := &block{
		img: newFCImage(inputs, hidden, rng),
		Wz1: newParam("z1.W", d, hidden), bz1: newParam("z1.b", 1, hidden),
		Wz2: newParam("z2.W", hidden, hidden), bz2: newParam("z2.b", 1, hidden),
		Wca: newParam("c1.W_image", hidden, hidden), Wcb: newParam("c1.W_label", hidden, hidden), bc1: newParam("c1.b", 1, hidden),
		Wc2: newParam("c2.W", hidden, h2), bc2: newParam("c2.b", 1, h2),
		Wo: newParam("out.W", h2, classes), bo: newParam("out.b", 1, classes),
	}
	b.Wz1.initUniform(rng, d)
	b.bz1.initUniform(rng, d)
	b.Wz2.initUniform(rng, hidden)
	b.bz2.initUniform(rng, hidden)
	b.Wca.initUniform(rng, 2*hidden)
	b.Wcb.initUniform(rng, 2*hidden)
	b.bc1.initUniform(rng, 2*hidden)
	b.Wc2.initUniform(rng, hidden)
	b.bc2.initUniform(rng, hidden)
	b.Wo.initUniform(rng, h2)
	b.bo.initUniform(rng, h2)
	b.all = append(b.img.params(), b.Wz1, b.bz1, b.Wz2, b.bz2, b.Wca, b.Wcb, b.bc1, b.Wc2, b.bc2, b.Wo, b.bo)
	return b
}

// activity holds one block's activities for up to rows rows.
type activity struct {
	hx, hz1, hz2, hz, h1, h2, logits, p mat32.Matrix
}

func newActivity(rows, hidden, classes int) activity {
	return activity{
		hx: mat32.New(rows, hidden), hz1: mat32.New(rows, hidden), hz2: mat32.New(rows, hidden),
		hz: mat32.New(rows, hidden), h1: mat32.New(rows, hidden), h2: mat32.New(rows, hidden/2),
		logits: mat32.New(rows, classes), p: mat32.New(rows, classes),
	}
}

// grads is the scratch of a block's backward pass for up to rows rows.
type grads struct{ dhx, dhz1, dhz2, dhz, dh1, dh2 mat32.Matrix }

func newGrads(rows, hidden int) grads {
	return grads{
		dhx: mat32.New(rows, hidden), dhz1: mat32.New(rows, hidden), dhz2: mat32.New(rows, hidden),
		dhz: mat32.New(rows, hidden), dh1: mat32.New(rows, hidden), dh2: mat32.New(rows, hidden/2),
	}
}

// top returns the first n rows of m.
func top(m mat32.Matrix, n int) mat32.Matrix { return m.Slice(0, n, 0, m.Cols) }

// forward runs the block on the rows of x and z (n rows) into a: the logits and their
// softmax p.
func (b *block) forward(e *mat32.Engine, a *activity, x, z mat32.Matrix) {
	n := x.Rows
	hx, hz1, hz2, hz, h1, h2 := top(a.hx, n), top(a.hz1, n), top(a.hz2, n), top(a.hz, n), top(a.h1, n), top(a.h2, n)
	b.img.forward(e, x, hx)
	linearReLU(e, z, b.Wz1, b.bz1, hz1)
	linearReLU(e, hz1, b.Wz2, b.bz2, hz2)
	mat32.Add(hz, hz2, hz1)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, hx, b.Wca.w, 0, h1)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, hz, b.Wcb.w, 1, h1)
	mat32.AddRowVector(h1, b.bc1.w.Row(0))
	mat32.Apply(h1, h1, mat32.ReLU, 0)
	linearReLU(e, h1, b.Wc2, b.bc2, h2)
	lg := top(a.logits, n)
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, h2, b.Wo.w, 0, lg)
	mat32.AddRowVector(lg, b.bo.w.Row(0))
	softmaxRows(top(a.p, n), lg)
}

// backward takes dlogits (n × K, the loss's gradient with respect to the logits of the
// forward pass in a) and writes every parameter's gradient into its g. When dz has rows it
// also writes the gradient with respect to the block's input z there (backprop through
// the stack only; NoProp never asks for it).
func (b *block) backward(e *mat32.Engine, a *activity, s *grads, x, z, dlogits, dz mat32.Matrix) {
	n := x.Rows
	hx, hz1, hz2, hz, h1, h2 := top(a.hx, n), top(a.hz1, n), top(a.hz2, n), top(a.hz, n), top(a.h1, n), top(a.h2, n)
	dhx, dhz1, dhz2, dhz, dh1, dh2 := top(s.dhx, n), top(s.dhz1, n), top(s.dhz2, n), top(s.dhz, n), top(s.dh1, n), top(s.dh2, n)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, h2, dlogits, 0, b.Wo.g)
	colSums(b.bo.g.Row(0), dlogits)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dlogits, b.Wo.w, 0, dh2)
	reluBack(dh2, h2)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, h1, dh2, 0, b.Wc2.g)
	colSums(b.bc2.g.Row(0), dh2)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dh2, b.Wc2.w, 0, dh1)
	reluBack(dh1, h1)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, hx, dh1, 0, b.Wca.g)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, hz, dh1, 0, b.Wcb.g)
	colSums(b.bc1.g.Row(0), dh1)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dh1, b.Wca.w, 0, dhx)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dh1, b.Wcb.w, 0, dhz)
	b.img.backward(e, x, hx, dhx)
	// h_z = relu(a_2) + h_z1: the skip passes dh_z to h_z1 unchanged.
	mat32.Copy(dhz2, dhz)
	reluBack(dhz2, hz2)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, hz1, dhz2, 0, b.Wz2.g)
	colSums(b.bz2.g.Row(0), dhz2)
	mat32.Copy(dhz1, dhz)
	e.Gemm(mat32.NoTrans, mat32.Trans, 1, dhz2, b.Wz2.w, 1, dhz1)
	reluBack(dhz1, hz1)
	e.Gemm(mat32.Trans, mat32.NoTrans, 1, z, dhz1, 0, b.Wz1.g)
	colSums(b.bz1.g.Row(0), dhz1)
	if dz.Rows > 0 {
		e.Gemm(mat32.NoTrans, mat32.Trans, 1, dhz1, b.Wz1.w, 0, dz)
	}
}

// linearReLU writes out = relu(in W + b).
func linearReLU(e *mat32.Engine, in mat32.Matrix, w, b *param, out mat32.Matrix) {
	e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, in, w.w, 0, out)
	mat32.AddRowVector(out, b.w.Row(0))
	mat32.Apply(out, out, mat32.ReLU, 0)
}

// reluBack zeroes d where the ReLU's output h is not positive (its derivative is 0 at 0).
func reluBack(d, h mat32.Matrix) {
	for r := range d.Rows {
		dr, hr := d.Row(r), h.Row(r)
		hr = hr[:len(dr)]
		for j, v := range hr {
			if v <= 0 {
				dr[j] = 0
			}
		}
	}
}

// colSums writes the column sums of m into dst.
func colSums(dst []float32, m mat32.Matrix) {
	clear(dst)
	for r := range m.Rows {
		row := m.Row(r)
		dst = dst[:len(row)]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// softmaxRows writes the softmax of each row of lg into p.
func softmaxRows(p, lg mat32.Matrix) {
	for r := range lg.Rows {
		row, pr := lg.Row(r), p.Row(r)
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for k, v := range row {
			ev := math.Exp(float64(v - m))
			pr[k] = float32(ev)
			s += ev
		}
		inv := float32(1 / s)
		for k := range pr {
			pr[k] *= inv
		}
	}
}

package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

func newTestEngine(t *testing.T) *mat32.Engine {
	t.Helper()
	e, err := mat32.NewEngine(mat32.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// hadamard returns the n×n Sylvester Hadamard matrix (n a power of two): entries ±1,
// mutually orthogonal columns.
func hadamard(n int) mat32.Matrix {
	h := mat32.New(n, n)
	h.Set(0, 0, 1)
	for s := 1; s < n; s *= 2 {
		for i := 0; i < s; i++ {
			for j := 0; j < s; j++ {
				v := h.At(i, j)
				h.Set(i, j+s, v)
				h.Set(i+s, j, v)
				h.Set(i+s, j+s, -v)
			}
		}
	}
	return h
}

// orthogonalInputs returns rows×cols inputs whose columns are exactly orthogonal (<x xᵀ> is
// diagonal), with a different scale per column.
func orthogonalInputs(rows, cols int) mat32.Matrix {
	h := hadamard(rows)
	x := mat32.New(rows, cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x.Set(i, j, h.At(i, j+1)*float32(j%3+1)/2)
		}
	}
	return x
}

// linearNet builds an identity-activation network with R = I in front of every layer.
func linearNet(t *testing.T, sizes []int, seed uint64) *nn.MLP {
	t.Helper()
	net, err := nn.New(nn.Config{Sizes: sizes, Hidden: mat32.Identity, Decorrelate: true}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func outputs(e *mat32.Engine, net *nn.MLP, x mat32.Matrix) mat32.Matrix {
	tr := net.NewTrace(x.Rows)
	net.Forward(e, x, tr)
	return tr.Output().Clone()
}

func maxAbsDiff(a, b mat32.Matrix) float64 {
	var d float64
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < a.Cols; j++ {
			d = max(d, math.Abs(float64(a.At(i, j)-b.At(i, j))))
		}
	}
	return d
}

func argmaxAgree(a, b mat32.Matrix) bool {
	am, bm := make([]int, a.Rows), make([]int, b.Rows)
	mat32.ArgmaxRows(am, a)
	mat32.ArgmaxRows(bm, b)
	for i := range am {
		if am[i] != bm[i] {
			return false
		}
	}
	return true
}

// With linear layers and exactly decorrelated inputs x_0, the map inferred from x_0 to the
// output is the product of all the layers: compressing to one layer is exact.
func TestCompressLinearDecorrelatedIsExact(t *testing.T) {
	e := newTestEngine(t)
	x := orthogonalInputs(32, 12)
	net := linearNet(t, []int{12, 9, 7, 5, 4}, 3)
	want := outputs(e, net, x)
	// Small chunks exercise the accumulation over several forward passes.
	c, err := Compress(e, net, x, 3, CompressOptions{Options: Options{Chunk: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Layers) != 1 || c.Layers[0].In != 12 || c.Layers[0].Out != 4 || !c.Layers[0].HasR() {
		t.Fatalf("compressed network: sizes %v", c.Config.Sizes)
	}
	got := outputs(e, c, x)
	if d := maxAbsDiff(got, want); d > 1e-5 {
		t.Errorf("outputs differ by %g", d)
	}
	if !argmaxAgree(got, want) {
		t.Error("predicted classes differ")
	}
	// The original is untouched.
	if again := outputs(e, net, x); maxAbsDiff(again, want) != 0 {
		t.Error("Compress modified its input network")
	}
}

// When every layer's input stays decorrelated (weights that are scaled permutations keep the
// columns orthogonal), compression from any layer s is exact.
func TestCompressEveryKExactWhenAllLayersDecorrelated(t *testing.T) {
	e := newTestEngine(t)
	const n = 8
	x := orthogonalInputs(16, n)
	net := linearNet(t, []int{n, n, n, n, 3}, 5)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, l := range net.Layers[:3] {
		mat32.Zero(l.W)
		for i, p := range rng.Perm(n) {
			l.W.Set(i, p, float32(rng.IntN(4)+1)/2)
		}
	}
	want := outputs(e, net, x)
	for k := 0; k < len(net.Layers); k++ {
		c, err := Compress(e, net, x, k, CompressOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.Layers); got != len(net.Layers)-k {
			t.Fatalf("k=%d: %d layers", k, got)
		}
		if d := maxAbsDiff(outputs(e, c, x), want); d > 1e-5 {
			t.Errorf("k=%d: outputs differ by %g", k, d)
		}
	}
}

// The inferred map against a float64 computation of <a_L x_sᵀ> diag(<x_s²>)⁻¹ on a nonlinear
// network with non-trivial R, where compression is not exact.
func TestCompressMatchesFormula(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(2, 2))
	net, err := nn.New(nn.Config{Sizes: []int{6, 5, 4, 3}, Hidden: mat32.LeakyReLU, HiddenParam: 0.1, Decorrelate: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		for i := range l.R.Data {
			l.R.Data[i] += float32(rng.NormFloat64() * 0.2)
		}
	}
	x := mat32.New(40, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	const k = 1
	c, err := Compress(e, net, x, k, CompressOptions{Options: Options{Chunk: 7}})
	if err != nil {
		t.Fatal(err)
	}
	tr := net.NewTrace(x.Rows)
	net.Forward(e, x, tr)
	xs, aL := tr.X[1], tr.Output()
	w := c.Layers[1].W
	for i := 0; i < aL.Cols; i++ {
		for j := 0; j < xs.Cols; j++ {
			var num, den float64
			for r := 0; r < x.Rows; r++ {
				num += float64(aL.At(r, i)) * float64(xs.At(r, j))
				den += float64(xs.At(r, j)) * float64(xs.At(r, j))
			}
			want := num / den
			if got := float64(w.At(i, j)); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("W~[%d,%d] = %g, want %g", i, j, got, want)
			}
		}
	}
	if maxAbsDiff(c.Layers[0].W, net.Layers[0].W) != 0 || maxAbsDiff(c.Layers[1].R, net.Layers[1].R) != 0 {
		t.Error("kept layers or R_s changed")
	}
}

func TestCompressErrors(t *testing.T) {
	e := newTestEngine(t)
	x := orthogonalInputs(16, 4)
	net := linearNet(t, []int{4, 3, 2}, 1)
	for _, k := range []int{-1, 2, 5} {
		if _, err := Compress(e, net, x, k, CompressOptions{}); err == nil || !strings.Contains(err.Error(), "k must be in 0..1") {
			t.Errorf("k=%d: err %v", k, err)
		}
	}
	plain, err := nn.New(nn.Config{Sizes: []int{4, 3, 2}, Hidden: mat32.Identity}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compress(e, plain, x, 1, CompressOptions{}); !errors.Is(err, ErrNoDecorrelators) || strings.Contains(err.Error(), "\n") {
		t.Errorf("network without R: %v", err)
	}
	// Allowed explicitly, R is taken as I; with orthogonal inputs and linear layers it is exact.
	c, err := Compress(e, plain, x, 1, CompressOptions{Options: Options{AllowCorrelated: true}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers[0].HasR() || maxAbsDiff(outputs(e, c, x), outputs(e, plain, x)) > 1e-5 {
		t.Error("compression with R = I")
	}
	if _, err := Compress(e, net, mat32.New(3, 5), 0, CompressOptions{}); err == nil {
		t.Error("wrong input width accepted")
	}
}

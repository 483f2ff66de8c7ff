package analysis

import (
	"fmt"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// DefaultFloor is the value below which a mean square <x_s²> is floored in [Compress].
const DefaultFloor = 1e-6

// CompressOptions configure [Compress].
type CompressOptions struct {
	Options
	// Floor is the smallest mean square <x_s²> divided by (0: DefaultFloor); inputs that are
	// (nearly) always zero would otherwise divide by zero.
	Floor float64
}

// Compress replaces the last k+1 weight layers of net by the one map inferred from the
// decorrelated input x_s of layer s = L−k (layers counted from 1) to the network output a_L:
//
//	W~ = <a_L x_sᵀ> diag(<x_s²>)⁻¹
//
// with the averages over the rows of x (the training inputs), and no retraining. The result
// is an ordinary network of s layers: layers 1..s−1 are copies of net's, layer s keeps its
// decorrelator R_s and gets W~ as weights, and its output is linear. k = 0 re-infers the last
// layer alone; k = L−1 leaves a single linear map from the decorrelated input x_0 = R_1 y_0.
//
// When the layers' inputs are exactly decorrelated (<x_s x_sᵀ> diagonal) and a_L is a linear
// function of x_s, W~ reproduces a_L exactly. For a network with biases, layer s gets the
// bias <a_L> − W~<x_s>, so that the mean output is kept (the paper's networks have none).
// net is not modified.
func Compress(e *mat32.Engine, net *nn.MLP, x mat32.Matrix, k int, opt CompressOptions) (*nn.MLP, error) {
	nets, err := CompressAll(e, net, x, []int{k}, opt)
	if err != nil {
		return nil, err
	}
	return nets[0], nil
}

// CompressAll is [Compress] for several k at once: the statistics of all of them are
// gathered in one pass over x, so a sweep over k costs little more than one compression.
func CompressAll(e *mat32.Engine, net *nn.MLP, x mat32.Matrix, ks []int, opt CompressOptions) ([]*nn.MLP, error) {
	if net == nil || len(net.Layers) == 0 {
		return nil, fmt.Errorf("compress: empty network")
	}
	L := len(net.Layers)
	for _, k := range ks {
		if k < 0 || k >= L {
			return nil, fmt.Errorf("compress: cannot remove %d layers from a network of %d weight layers (k must be in 0..%d)", k, L, L-1)
		}
	}
	if err := checkNet(net, x, opt.Options); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	floor := opt.Floor
	if floor <= 0 {
		floor = DefaultFloor
	}
	x = opt.rows(x)
	nOut := net.OutputSize()

	// Statistics per k: G = Σ a_Lᵀ x_s (nOut×n_s), Σ x_s² and Σ x_s; and Σ a_L.
	type stats struct {
		si          int // 0-based index of layer s
		g, sq, sumX []float64
		prod        mat32.Matrix
	}
	st := make([]*stats, len(ks))
	for i, k := range ks {
		si := L - k - 1
		nIn := net.Layers[si].In
		st[i] = &stats{si: si, g: make([]float64, nOut*nIn), sq: make([]float64, nIn), sumX: make([]float64, nIn),
			prod: mat32.New(nOut, nIn)}
	}
	sumA := make([]float64, nOut)
	tr := net.NewTrace(min(opt.chunk(), x.Rows))
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		net.Forward(e, x.Slice(i, j, 0, x.Cols), tr)
		aL := tr.Output()
		addSums(sumA, aL)
		for _, s := range st {
			xs := tr.X[s.si]
			e.MatMul(s.prod, mat32.Trans, aL, mat32.NoTrans, xs)
			accumulate(s.g, s.prod)
			addSquares(s.sq, xs)
			addSums(s.sumX, xs)
		}
	}
	n := float64(x.Rows)
	out := make([]*nn.MLP, len(ks))
	for i, s := range st {
		nIn := len(s.sq)
		w := s.prod // reuse: same shape
		for c := range s.sq {
			s.sq[c] = max(s.sq[c]/n, floor)
		}
		for r := 0; r < nOut; r++ {
			row := w.Row(r)
			for c := range row {
				row[c] = float32(s.g[r*nIn+c] / n / s.sq[c])
			}
		}
		cfg := net.Config
		cfg.Sizes = append(append([]int(nil), net.Config.Sizes[:s.si+1]...), nOut)
		c := &nn.MLP{Config: cfg}
		for l := 0; l < s.si; l++ {
			c.Layers = append(c.Layers, cloneLayer(net.Layers[l]))
		}
		last := &nn.Layer{In: nIn, Out: nOut, W: w}
		if src := net.Layers[s.si]; src.HasR() {
			last.R = src.R.Clone()
		}
		if cfg.Bias {
			last.B = make([]float32, nOut)
			for r := range last.B {
				var wx float64
				for c, v := range w.Row(r) {
					wx += float64(v) * s.sumX[c] / n
				}
				last.B[r] = float32(sumA[r]/n - wx)
			}
		}
		c.Layers = append(c.Layers, last)
		out[i] = c
	}
	return out, nil
}

// cloneLayer returns a deep copy of l.
func cloneLayer(l *nn.Layer) *nn.Layer {
	c := &nn.Layer{In: l.In, Out: l.Out, W: l.W.Clone()}
	if l.B != nil {
		c.B = append([]float32(nil), l.B...)
	}
	if l.HasR() {
		c.R = l.R.Clone()
	}
	return c
}

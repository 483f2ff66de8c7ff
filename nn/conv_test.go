package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

func randMatrix(rng *rand.Rand, r, c int) mat32.Matrix {
	m := mat32.New(r, c)
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return m
}

// TestIm2ColDirect checks the convolution as W·im2col against the definition, summed
// directly, for odd sizes, strides and paddings.
func TestIm2ColDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ C, H, W, K, S, P, O, N int }{
		{1, 5, 5, 3, 1, 0, 2, 2}, {2, 7, 9, 3, 2, 1, 3, 3}, {3, 6, 5, 5, 1, 2, 4, 1},
		{2, 9, 7, 4, 3, 2, 2, 2}, {1, 4, 4, 1, 1, 0, 1, 3}, {2, 5, 3, 3, 2, 2, 1, 2},
	} {
		in := Shape3{c.C, c.H, c.W}
		oh, ow := convOut(c.H, c.K, c.S, c.P), convOut(c.W, c.K, c.S, c.P)
		x := randMatrix(rng, c.C, c.N*in.Plane())
		w := randMatrix(rng, c.O, c.C*c.K*c.K)
		col := mat32.New(c.C*c.K*c.K, c.N*oh*ow)
		for i := range col.Data {
			col.Data[i] = float32(math.NaN()) // every entry must be written
		}
		Im2Col(col, x, in, c.N, c.K, c.S, c.P)
		y := mat32.New(c.O, c.N*oh*ow)
		for o := 0; o < c.O; o++ {
			for j := range y.Row(o) {
				var s float64
				for p, v := range w.Row(o) {
					s += float64(v) * float64(col.At(p, j))
				}
				y.Set(o, j, float32(s))
			}
		}
		for n := 0; n < c.N; n++ {
			for o := 0; o < c.O; o++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						var s float64
						for ch := 0; ch < c.C; ch++ {
							for ki := 0; ki < c.K; ki++ {
								for kj := 0; kj < c.K; kj++ {
									yy, xx := oy*c.S+ki-c.P, ox*c.S+kj-c.P
									if yy < 0 || yy >= c.H || xx < 0 || xx >= c.W {
										continue
									}
									s += float64(w.At(o, (ch*c.K+ki)*c.K+kj)) * float64(x.At(ch, n*in.Plane()+yy*c.W+xx))
								}
							}
						}
						if got := y.At(o, n*oh*ow+oy*ow+ox); math.Abs(float64(got)-s) > 1e-4*(1+math.Abs(s)) {
							t.Fatalf("%+v: out %d,%d,%d,%d = %v, direct %v", c, n, o, oy, ox, got, s)
						}
					}
				}
			}
		}
		// Col2Im is Im2Col's transpose: <im2col(x), r> = <x, col2im(r)>.
		r := randMatrix(rng, col.Rows, col.Cols)
		back := mat32.New(c.C, c.N*in.Plane())
		Col2Im(back, r, in, c.N, c.K, c.S, c.P)
		if a, b := mat32.Dot(col, r), mat32.Dot(x, back); math.Abs(a-b) > 1e-3*(1+math.Abs(a)) {
			t.Fatalf("%+v: <im2col x, r> = %v, <x, col2im r> = %v", c, a, b)
		}
	}
}

// TestConvNetGradientFiniteDifference checks every layer's weight and bias gradient of
// networks with odd sizes, strides, paddings and both poolings against central finite
// differences of L = Σ r ⊙ output.
func TestConvNetGradientFiniteDifference(t *testing.T) {
	e, err := mat32.NewEngine(mat32.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct {
		desc string
		in   Shape3
		act  mat32.Func
	}{
		{"c3k3s2p1-m2-c4k2p1-a2s1-f5-f3", Shape3{2, 9, 7}, mat32.Tanh},
		{"c2k3-m3s2-c3k1-f4l-f3", Shape3{1, 7, 7}, mat32.Sigmoid},
		{"a2-c3k5s3p2-f6-f2", Shape3{3, 8, 11}, mat32.Tanh},
		{"f5-f4-f3", Shape3{2, 3, 3}, mat32.Tanh},
	} {
		specs, err := ParseNetwork(c.desc)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		net, err := NewConvNet(ConvConfig{Input: c.in, Stages: specs, Hidden: c.act,
			Mean: fill(c.in.C, 0.1), Std: fill(c.in.C, 0.7)}, rng)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		for _, l := range net.Layers {
			for j := range net.Stages[l].B {
				net.Stages[l].B[j] = float32(rng.NormFloat64() * 0.3)
			}
		}
		const N = 3
		x := randMatrix(rng, N, net.InputSize())
		r := randMatrix(rng, N, net.OutputSize())
		tr := net.NewTrace(N + 2)
		bk := net.NewBackward(N + 2)
		lossAt := func() float64 {
			net.Forward(e, x, tr)
			return mat32.Dot(tr.Output(), r)
		}
		lossAt()
		L := len(net.Layers)
		d := net.Delta(bk, L-1, N)
		mat32.Copy(d, r)
		mat32.Scale(-1, d) // δ is the negative gradient at the output
		for l := L - 1; l > 0; l-- {
			net.BackLayer(e, tr, bk, l, net.Layer(l).W)
		}
		for l := 0; l < L; l++ {
			st := net.Layer(l)
			g := mat32.New(st.W.Rows, st.W.Cols)
			gb := make([]float32, len(st.B))
			net.WeightGrad(e, tr, bk, l, -1, g, gb)
			check := func(what string, p []float32, j int, analytic float32) {
				const h = 2e-3
				old := p[j]
				p[j] = old + h
				up := lossAt()
				p[j] = old - h
				down := lossAt()
				p[j] = old
				fd := (up - down) / (2 * h)
				if math.Abs(fd-float64(analytic)) > 2e-2*(1+math.Abs(fd)) {
					t.Errorf("%s: layer %d %s[%d]: analytic %v, finite difference %v", c.desc, l+1, what, j, analytic, fd)
				}
			}
			for k := 0; k < 12; k++ {
				j := rng.IntN(len(st.W.Data))
				check("W", st.W.Data, j, g.Data[j])
			}
			for j := range st.B {
				check("b", st.B, j, gb[j])
			}
		}
	}
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestParseNetwork checks the description syntax, named networks and the errors.
func TestParseNetwork(t *testing.T) {
	s, err := ParseNetwork("lenet")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, st := range s {
		parts = append(parts, st.String())
	}
	if got := joinDash(parts); got != "c6k5p2-m2-c16k5-m2-c120k5-f84l-f10l" {
		t.Errorf("lenet = %s", got)
	}
	net, err := NewConvNet(ConvConfig{Input: Shape3{1, 28, 28}, Stages: s, Hidden: mat32.ReLU}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := net.Describe(), "1×28×28 c6k5p2→6×28×28 m2→6×14×14 c16k5→16×10×10 m2→16×5×5 c120k5→120×1×1 f84l→84×1×1 f10l→10×1×1"; got != want {
		t.Errorf("lenet: %s\nwant   %s", got, want)
	}
	if net.NumParams() != 156+2416+48120+10164+850 {
		t.Errorf("lenet has %d parameters", net.NumParams())
	}
	for _, bad := range []string{"", "c6", "c6k5-m2", "x3-f10", "c6k5p5-f10", "f10-c3k3-f2", "c0k3-f2", "m2l-f3", "c3k3q1-f2"} {
		specs, err := ParseNetwork(bad)
		if err == nil {
			_, err = NewConvNet(ConvConfig{Input: Shape3{1, 8, 8}, Stages: specs}, rand.New(rand.NewPCG(1, 1)))
		}
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	specs, _ := ParseNetwork("c3k9-f2")
	if _, err := NewConvNet(ConvConfig{Input: Shape3{1, 8, 8}, Stages: specs}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("a 9×9 kernel on 8×8 input: no error")
	}
}

func joinDash(p []string) string {
	s := ""
	for i, v := range p {
		if i > 0 {
			s += "-"
		}
		s += v
	}
	return s
}

// TestConvForwardAllocs checks that a forward and backward pass allocate nothing.
func TestConvForwardAllocs(t *testing.T) {
	e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer e.Close()
	specs, _ := ParseNetwork("lenet")
	net, _ := NewConvNet(ConvConfig{Input: Shape3{1, 28, 28}, Stages: specs, Hidden: mat32.ReLU}, rand.New(rand.NewPCG(1, 1)))
	rng := rand.New(rand.NewPCG(2, 2))
	x := randMatrix(rng, 8, 784)
	tr, bk := net.NewTrace(8), net.NewBackward(8)
	g := make([]mat32.Matrix, len(net.Layers))
	for l := range g {
		g[l] = mat32.New(net.Layer(l).W.Rows, net.Layer(l).W.Cols)
	}
	allocs := testing.AllocsPerRun(5, func() {
		net.Forward(e, x, tr)
		mat32.Copy(net.Delta(bk, len(net.Layers)-1, 8), tr.Output())
		for l := len(net.Layers) - 1; l > 0; l-- {
			net.BackLayer(e, tr, bk, l, net.Layer(l).W)
		}
		for l := range g {
			net.WeightGrad(e, tr, bk, l, -1, g[l], nil)
		}
	})
	if allocs != 0 {
		t.Errorf("forward+backward allocates %v times", allocs)
	}
}

// TestMaxPool2MatchesGeneral checks the 2×2 fast path against the general loop, ties
// included, on odd sizes.
func TestMaxPool2MatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	in := Shape3{3, 7, 9}
	n := 2
	x := mat32.New(3, n*in.Plane())
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(4)) // many ties
	}
	oh, ow := convOut(7, 2, 2, 0), convOut(9, 2, 2, 0)
	y1, y2 := mat32.New(3, n*oh*ow), mat32.New(3, n*oh*ow)
	a1, a2 := make([]int32, 3*n*oh*ow), make([]int32, 3*n*oh*ow)
	MaxPool(y1, x, a1, in, n, 2, 2)
	// the general loop: window 2 with stride 2 given as separate calls cannot reach it, so
	// compute it directly
	for c := 0; c < 3; c++ {
		for e := 0; e < n; e++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					best := e*in.Plane() + 2*oy*9 + 2*ox
					bv := x.At(c, best)
					for ki := 0; ki < 2; ki++ {
						for kj := 0; kj < 2; kj++ {
							p := e*in.Plane() + (2*oy+ki)*9 + 2*ox + kj
							if v := x.At(c, p); v > bv {
								bv, best = v, p
							}
						}
					}
					o := e*oh*ow + oy*ow + ox
					y2.Set(c, o, bv)
					a2[c*n*oh*ow+o] = int32(best)
				}
			}
		}
	}
	for i := range y1.Data {
		if y1.Data[i] != y2.Data[i] || a1[i] != a2[i] {
			t.Fatalf("value %d: fast %v@%d, general %v@%d", i, y1.Data[i], a1[i], y2.Data[i], a2[i])
		}
	}
}

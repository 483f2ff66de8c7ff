package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/copi-learn/copi/mat32"
)

// StageKind says what a stage of a [ConvNet] computes.
type StageKind int

// The stage kinds.
const (
	// ConvStage is a convolution (C_out filters of K×K over every input channel, stride, zero
	// padding, a bias per filter) followed by the hidden nonlinearity unless linear.
	ConvStage StageKind = iota
	// MaxPoolStage takes the maximum of every K×K window (stride defaults to K).
	MaxPoolStage
	// AvgPoolStage takes the mean of every K×K window (stride defaults to K).
	AvgPoolStage
	// DenseStage is a fully connected layer on the flattened input (C·H·W, channels first),
	// followed by the hidden nonlinearity unless linear or the network's output.
	DenseStage
)

// StageSpec is one stage of a network description.
type StageSpec struct {
	Kind StageKind
	// Out is the number of filters (convolution) or units (dense).
	Out int
	// K is the kernel or window size; Stride and Pad its stride and zero padding.
	K, Stride, Pad int
	// Linear leaves out the nonlinearity after a convolution or dense stage.
	Linear bool
}

// String writes the stage in the description syntax of [ParseNetwork].
func (s StageSpec) String() string {
	var b strings.Builder
	switch s.Kind {
	case ConvStage:
		fmt.Fprintf(&b, "c%dk%d", s.Out, s.K)
		if s.Stride != 1 {
			fmt.Fprintf(&b, "s%d", s.Stride)
		}
		if s.Pad != 0 {
			fmt.Fprintf(&b, "p%d", s.Pad)
		}
	case MaxPoolStage, AvgPoolStage:
		if s.Kind == MaxPoolStage {
			b.WriteString("m")
		} else {
			b.WriteString("a")
		}
		fmt.Fprintf(&b, "%d", s.K)
		if s.Stride != s.K {
			fmt.Fprintf(&b, "s%d", s.Stride)
		}
	case DenseStage:
		fmt.Fprintf(&b, "f%d", s.Out)
	}
	if s.Linear {
		b.WriteString("l")
	}
	return b.String()
}

// NamedNetworks are descriptions by name (see [ParseNetwork]).
//
//   - lenet: biotorch's LeNet for MNIST (conv 6@5×5, max-pool 2, conv 16@5×5, max-pool 2,
//     conv 120@5×5, dense 84, dense 10, ReLU after each convolution and none after the
//     dense 84, as the authors' code has it), on 28×28 input with the first convolution
//     padded by 2, which gives the 32×32 geometry of the original (biotorch resizes the
//     images to 32×32 instead).
//   - lenet-relu: lenet with a nonlinearity after the dense 84 as well.
//   - cifar-small: biotorch's small CIFAR network (conv 32, 64, 128 of 5×5 with max-pool 2
//     after the first two, dense 84 without nonlinearity, dense 10) on 3×32×32 input.
var NamedNetworks = map[string]string{
	"lenet":       "c6k5p2-m2-c16k5-m2-c120k5-f84l-f10",
	"lenet-relu":  "c6k5p2-m2-c16k5-m2-c120k5-f84-f10",
	"cifar-small": "c32k5-m2-c64k5-m2-c128k5-f84l-f10",
}

// ParseNetwork reads a compact network description: stages separated by '-', each one of
//
//	c<out>k<k>[s<stride>][p<pad>][l]   convolution (stride 1, padding 0 unless given)
//	m<k>[s<stride>]                    max pooling (stride k unless given)
//	a<k>[s<stride>]                    average pooling
//	f<out>[l]                          dense
//
// where a trailing l means linear (no nonlinearity). The last stage must be dense: it is the
// linear output. A name of [NamedNetworks] stands for its description.
func ParseNetwork(desc string) ([]StageSpec, error) {
	if d, ok := NamedNetworks[desc]; ok {
		desc = d
	}
	if strings.TrimSpace(desc) == "" {
		return nil, fmt.Errorf("network description is empty")
	}
	var out []StageSpec
	for _, tok := range strings.Split(desc, "-") {
		tok = strings.TrimSpace(tok)
		s, err := parseStage(tok)
		if err != nil {
			return nil, fmt.Errorf("network %q: stage %q: %w", desc, tok, err)
		}
		out = append(out, s)
	}
	if last := out[len(out)-1]; last.Kind != DenseStage {
		return nil, fmt.Errorf("network %q: the last stage must be dense (f<classes>), got %v", desc, last)
	}
	out[len(out)-1].Linear = true
	return out, nil
}

// leadingInt splits the decimal number at the start of str from the rest.
func leadingInt(str string) (int, string, error) {
	i := 0
	for i < len(str) && str[i] >= '0' && str[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, str, fmt.Errorf("expected a number at %q", str)
	}
	v, err := strconv.Atoi(str[:i])
	if err != nil || v > 1<<16 {
		return 0, str, fmt.Errorf("number %q must be at most 65536", str[:i])
	}
	return v, str[i:], nil
}

func parseStage(tok string) (StageSpec, error) {
	if tok == "" {
		return StageSpec{}, fmt.Errorf("empty stage")
	}
	var s StageSpec
	rest := tok[1:]
	if strings.HasSuffix(rest, "l") {
		s.Linear = true
		rest = rest[:len(rest)-1]
	}
	first, rest, err := leadingInt(rest)
	if err != nil {
		return s, err
	}
	if first == 0 {
		return s, fmt.Errorf("size must be positive")
	}
	fields := map[byte]int{}
	for rest != "" {
		key := rest[0]
		var v int
		if v, rest, err = leadingInt(rest[1:]); err != nil {
			return s, fmt.Errorf("%c: %w", key, err)
		}
		if _, dup := fields[key]; dup {
			return s, fmt.Errorf("%c given twice", key)
		}
		if v == 0 && key != 'p' {
			return s, fmt.Errorf("%c must be positive", key)
		}
		fields[key] = v
	}
	allow := func(keys string) error {
		for k := range fields {
			if !strings.ContainsRune(keys, rune(k)) {
				return fmt.Errorf("unexpected %q (want %q)", string(k), keys)
			}
		}
		return nil
	}
	switch tok[0] {
	case 'c':
		s.Kind, s.Out, s.Stride, s.Pad = ConvStage, first, 1, fields['p']
		k, ok := fields['k']
		if !ok {
			return s, fmt.Errorf("a convolution needs a kernel size k, e.g. c6k5")
		}
		s.K = k
		if v, ok := fields['s']; ok {
			s.Stride = v
		}
		if s.Pad >= s.K {
			return s, fmt.Errorf("padding %d must be below the kernel size %d", s.Pad, s.K)
		}
		return s, allow("ksp")
	case 'm', 'a':
		s.Kind, s.K, s.Stride = MaxPoolStage, first, first
		if tok[0] == 'a' {
			s.Kind = AvgPoolStage
		}
		if v, ok := fields['s']; ok {
			s.Stride = v
		}
		if s.Linear {
			return s, fmt.Errorf("pooling has no nonlinearity to leave out")
		}
		return s, allow("s")
	case 'f':
		s.Kind, s.Out = DenseStage, first
		return s, allow("")
	}
	return s, fmt.Errorf("unknown stage kind %q (want c, m, a or f)", tok[:1])
}

// ConvConfig describes a [ConvNet].
type ConvConfig struct {
	// Input is one example's shape (channels first).
	Input Shape3
	// Stages are the network's stages, input side first (see [ParseNetwork]).
	Stages []StageSpec
	// Hidden is the nonlinearity after every non-linear convolution and dense stage but the last.
	Hidden      mat32.Func
	HiddenParam float32
	// Mean and Std, when set (one value per input channel), normalise the input:
	// x ← (x − Mean[c])/Std[c].
	Mean, Std []float32
}

// Stage is one stage of a [ConvNet] with its parameters.
type Stage struct {
	Spec StageSpec
	// In and Out are one example's input and output shapes; a dense stage's are n×1×1
	// (its input is the flattened output of the stage before).
	In, Out Shape3
	// Spatial says whether the stage's input is held channel-major (conv and pooling);
	// Flatten whether a dense stage's input is the flattened output of a spatial stage.
	Spatial, Flatten bool
	// W is C_out × (C_in·K·K) for a convolution (PyTorch's weight, flattened), Out×In for a
	// dense stage; B the bias. Pooling stages have neither.
	W mat32.Matrix
	B []float32
}

// Weighted reports whether the stage has weights.
func (s *Stage) Weighted() bool { return s.Spec.Kind == ConvStage || s.Spec.Kind == DenseStage }

// ConvNet is a feed-forward network of convolution, pooling and dense stages.
type ConvNet struct {
	Config ConvConfig
	Stages []*Stage
	// Layers lists the indices of the weighted stages (the network's layers, numbered from 1
	// in checkpoints and metrics).
	Layers []int

	invStd []float32
}

// NewConvNet builds the network with Xavier-normal weights (std √(2/(fan_in+fan_out)),
// with fan_in = C_in·K·K and fan_out = C_out·K·K for a convolution, as PyTorch's
// xavier_normal_) and zero biases, drawing from rng.
func NewConvNet(cfg ConvConfig, rng *rand.Rand) (*ConvNet, error) {
	if cfg.Input.C <= 0 || cfg.Input.H <= 0 || cfg.Input.W <= 0 {
		return nil, fmt.Errorf("network input shape %v must be positive", cfg.Input)
	}
	if len(cfg.Stages) == 0 {
		return nil, fmt.Errorf("network has no stages")
	}
	if cfg.Mean != nil || cfg.Std != nil {
		if len(cfg.Mean) != cfg.Input.C || len(cfg.Std) != cfg.Input.C {
			return nil, fmt.Errorf("normalisation has %d means and %d stds for %d input channels", len(cfg.Mean), len(cfg.Std), cfg.Input.C)
		}
	}
	n := &ConvNet{Config: cfg}
	for _, s := range cfg.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("normalisation std %v must be positive and finite", s)
		}
		n.invStd = append(n.invStd, 1/s)
	}
	shape, spatial := cfg.Input, true
	for i, sp := range cfg.Stages {
		st := &Stage{Spec: sp, In: shape}
		switch sp.Kind {
		case ConvStage, MaxPoolStage, AvgPoolStage:
			if !spatial {
				return nil, fmt.Errorf("stage %d (%v): a convolution or pooling cannot follow a dense stage", i+1, sp)
			}
			pad := 0
			if sp.Kind == ConvStage {
				pad = sp.Pad
			}
			oh, ow := convOut(shape.H, sp.K, sp.Stride, pad), convOut(shape.W, sp.K, sp.Stride, pad)
			if oh <= 0 || ow <= 0 {
				return nil, fmt.Errorf("stage %d (%v): a %d×%d window does not fit its %v input", i+1, sp, sp.K, sp.K, shape)
			}
			out := Shape3{shape.C, oh, ow}
			st.Spatial = true
			if sp.Kind == ConvStage {
				out.C = sp.Out
				st.W = mat32.New(sp.Out, shape.C*sp.K*sp.K)
				fillXavier(st.W, float64(shape.C*sp.K*sp.K), float64(sp.Out*sp.K*sp.K), rng)
				st.B = make([]float32, sp.Out)
			}
			st.Out = out
		case DenseStage:
			st.Flatten = spatial && i > 0
			st.In = Shape3{shape.Size(), 1, 1}
			st.Out = Shape3{sp.Out, 1, 1}
			st.W = mat32.New(sp.Out, shape.Size())
			fillXavier(st.W, float64(shape.Size()), float64(sp.Out), rng)
			st.B = make([]float32, sp.Out)
			spatial = false
		}
		if st.Weighted() {
			n.Layers = append(n.Layers, i)
		}
		shape = st.Out
		n.Stages = append(n.Stages, st)
	}
	return n, nil
}

func fillXavier(w mat32.Matrix, fanIn, fanOut float64, rng *rand.Rand) {
	std := math.Sqrt(2 / (fanIn + fanOut))
	for i := 0; i < w.Rows; i++ {
		r := w.Row(i)
		for j := range r {
			r[j] = float32(rng.NormFloat64() * std)
		}
	}
}

// XavierStd returns the std of layer l's Xavier-normal initialisation.
func (n *ConvNet) XavierStd(l int) float64 {
	st := n.Layer(l)
	if st.Spec.Kind == ConvStage {
		kk := float64(st.Spec.K * st.Spec.K)
		return math.Sqrt(2 / (float64(st.In.C)*kk + float64(st.Out.C)*kk))
	}
	return math.Sqrt(2 / float64(st.W.Rows+st.W.Cols))
}

// InputSize is the width of an example, C·H·W.
func (n *ConvNet) InputSize() int { return n.Config.Input.Size() }

// OutputSize is the number of outputs.
func (n *ConvNet) OutputSize() int { return n.Stages[len(n.Stages)-1].Out.C }

// Layer returns the weighted stage l (from 0).
func (n *ConvNet) Layer(l int) *Stage { return n.Stages[n.Layers[l]] }

// NumParams counts the weights and biases.
func (n *ConvNet) NumParams() int {
	c := 0
	for _, i := range n.Layers {
		c += len(n.Stages[i].W.Data) + len(n.Stages[i].B)
	}
	return c
}

// Describe writes the stages with their output shapes, e.g. "1×28×28 c6k5p2→6×28×28 …".
func (n *ConvNet) Describe() string {
	parts := []string{n.Config.Input.String()}
	for _, st := range n.Stages {
		parts = append(parts, fmt.Sprintf("%v→%v", st.Spec, st.Out))
	}
	return strings.Join(parts, " ")
}

// Activation returns the nonlinearity after stage i: the hidden one for a non-linear
// weighted stage, the identity otherwise.
func (n *ConvNet) Activation(i int) mat32.Func {
	st := n.Stages[i]
	if !st.Weighted() || st.Spec.Linear {
		return mat32.Identity
	}
	return n.Config.Hidden
}

// ConvTrace holds one batch's forward pass: per stage its output, and the pre-activation of
// weighted stages, with the im2col matrices and pooling argmaxes the backward pass reuses.
// Spatial activity is channel-major (C × N·H·W); dense activity N × units. Buffers are sized
// for up to Cap rows; the views are the current batch's.
type ConvTrace struct {
	Cap, N int
	// Input is the normalised input in the first stage's layout.
	Input mat32.Matrix
	// A[i] is stage i's pre-activation (weighted stages; the output itself for the others),
	// H[i] its output.
	A, H []mat32.Matrix
	// Flat[i] is a flattening dense stage's input, N × C·H·W.
	Flat []mat32.Matrix
	// Col[i] is a convolution's im2col of its input.
	Col []mat32.Matrix
	// Arg[i] is a max pooling's argmax per output value.
	Arg [][]int32

	inFull                          mat32.Matrix
	colFull, flatFull, aFull, hFull []mat32.Matrix
}

// full allocates a stage activity buffer of shape s for cap rows in the given layout.
func full(s Shape3, capRows int, spatial bool) mat32.Matrix {
	if spatial {
		return mat32.New(s.C, capRows*s.Plane())
	}
	return mat32.New(capRows, s.Size())
}

// view is the current batch's n rows of a buffer made by full.
func view(m mat32.Matrix, s Shape3, n int, spatial bool) mat32.Matrix {
	if spatial {
		return m.Slice(0, s.C, 0, n*s.Plane())
	}
	return m.Slice(0, n, 0, s.Size())
}

// spatialOut reports whether stage i's output is held channel-major.
func (n *ConvNet) spatialOut(i int) bool { return n.Stages[i].Spec.Kind != DenseStage }

// NewTrace allocates a trace for batches of up to capRows rows.
func (n *ConvNet) NewTrace(capRows int) *ConvTrace {
	t := &ConvTrace{Cap: capRows}
	t.inFull = full(n.Config.Input, capRows, n.Stages[0].Spatial)
	L := len(n.Stages)
	t.colFull, t.flatFull = make([]mat32.Matrix, L), make([]mat32.Matrix, L)
	t.aFull, t.hFull = make([]mat32.Matrix, L), make([]mat32.Matrix, L)
	t.Arg = make([][]int32, L)
	for i, st := range n.Stages {
		sp := n.spatialOut(i)
		t.hFull[i] = full(st.Out, capRows, sp)
		if n.Activation(i) != mat32.Identity {
			t.aFull[i] = full(st.Out, capRows, sp)
		} else {
			t.aFull[i] = t.hFull[i]
		}
		switch st.Spec.Kind {
		case ConvStage:
			t.colFull[i] = mat32.New(st.In.C*st.Spec.K*st.Spec.K, capRows*st.Out.Plane())
		case MaxPoolStage:
			t.Arg[i] = make([]int32, st.Out.C*capRows*st.Out.Plane())
		case DenseStage:
			if st.Flatten {
				t.flatFull[i] = mat32.New(capRows, st.In.Size())
			}
		}
	}
	t.A, t.H = make([]mat32.Matrix, L), make([]mat32.Matrix, L)
	t.Flat, t.Col = make([]mat32.Matrix, L), make([]mat32.Matrix, L)
	return t
}

// Output is the network output of the last forward pass (N × outputs).
func (t *ConvTrace) Output() mat32.Matrix { return t.H[len(t.H)-1] }

// In returns stage i's input in its own layout for the last forward pass.
func (n *ConvNet) In(t *ConvTrace, i int) mat32.Matrix {
	if n.Stages[i].Flatten {
		return t.Flat[i]
	}
	if i == 0 {
		return t.Input
	}
	return t.H[i-1]
}

// Forward runs the batch x (N × C·H·W, N ≤ t.Cap) through the network, filling t.
func (n *ConvNet) Forward(e *mat32.Engine, x mat32.Matrix, t *ConvTrace) {
	if x.Cols != n.InputSize() {
		panic(fmt.Sprintf("nn: forward: batch has %d columns, network input is %d", x.Cols, n.InputSize()))
	}
	if x.Rows > t.Cap {
		panic(fmt.Sprintf("nn: forward: batch of %d rows exceeds trace capacity %d", x.Rows, t.Cap))
	}
	N := x.Rows
	t.N = N
	in := n.Config.Input
	first := n.Stages[0]
	t.Input = view(t.inFull, in, N, first.Spatial)
	if first.Spatial {
		ToChannelMajor(t.Input, x, in.C, in.Plane(), n.Config.Mean, n.invStd)
	} else {
		normalizeRows(t.Input, x, in.C, in.Plane(), n.Config.Mean, n.invStd)
	}
	for i, st := range n.Stages {
		sp := n.spatialOut(i)
		a := view(t.aFull[i], st.Out, N, sp)
		h := view(t.hFull[i], st.Out, N, sp)
		if st.Flatten {
			prev := n.Stages[i-1]
			t.Flat[i] = t.flatFull[i].Slice(0, N, 0, st.In.Size())
			FromChannelMajor(t.Flat[i], t.H[i-1], prev.Out.C, prev.Out.Plane())
		}
		x := n.In(t, i)
		switch st.Spec.Kind {
		case ConvStage:
			col := t.colFull[i].Slice(0, st.In.C*st.Spec.K*st.Spec.K, 0, N*st.Out.Plane())
			Im2Col(col, x, st.In, N, st.Spec.K, st.Spec.Stride, st.Spec.Pad)
			t.Col[i] = col
			e.MatMul(a, mat32.NoTrans, st.W, mat32.NoTrans, col)
			addRowBias(a, st.B)
		case DenseStage:
			e.MatMul(a, mat32.NoTrans, x, mat32.Trans, st.W)
			mat32.AddRowVector(a, st.B)
		case MaxPoolStage:
			MaxPool(a, x, t.Arg[i], st.In, N, st.Spec.K, st.Spec.Stride)
		case AvgPoolStage:
			AvgPool(a, x, st.In, N, st.Spec.K, st.Spec.Stride)
		}
		if f := n.Activation(i); f != mat32.Identity {
			mat32.Apply(h, a, f, n.Config.HiddenParam)
		}
		t.A[i], t.H[i] = a, h
	}
}

// normalizeRows copies x into dst (both N × C·P), normalising each channel when mean is set.
func normalizeRows(dst, x mat32.Matrix, c, plane int, mean, invStd []float32) {
	for i := 0; i < x.Rows; i++ {
		d, s := dst.Row(i), x.Row(i)
		if mean == nil {
			copy(d, s)
			continue
		}
		for ch := 0; ch < c; ch++ {
			m, inv := mean[ch], invStd[ch]
			for j := ch * plane; j < (ch+1)*plane; j++ {
				d[j] = (s[j] - m) * inv
			}
		}
	}
}

// addRowBias adds b[c] to every value of row c.
func addRowBias(a mat32.Matrix, b []float32) {
	for c, v := range b {
		r := a.Row(c)
		for j := range r {
			r[j] += v
		}
	}
}

// ConvBackward holds the buffers that carry credit down a [ConvNet]: per stage the credit
// at its output (for weighted stages, once carried through the nonlinearity, the credit δ at
// the pre-activation), and the scratch of the transposed products.
type ConvBackward struct {
	gFull []mat32.Matrix
	dCol  []float32 // the largest (C_in·K·K) × (Cap·OH·OW)
	dFlat []float32 // the largest Cap × C·H·W (dense input credit, DFA projections)
}

// NewBackward allocates the credit buffers for batches of up to capRows rows.
func (n *ConvNet) NewBackward(capRows int) *ConvBackward {
	b := &ConvBackward{gFull: make([]mat32.Matrix, len(n.Stages))}
	maxCol, maxFlat := 0, 0
	for i, st := range n.Stages {
		b.gFull[i] = full(st.Out, capRows, n.spatialOut(i))
		if st.Spec.Kind == ConvStage {
			maxCol = max(maxCol, st.In.C*st.Spec.K*st.Spec.K*st.Out.Plane())
		}
		maxFlat = max(maxFlat, st.In.Size(), st.Out.Size())
	}
	b.dCol = make([]float32, maxCol*capRows)
	b.dFlat = make([]float32, maxFlat*capRows)
	return b
}

// Delta returns the credit buffer of layer l (a weighted stage) for the given number of
// rows, in the stage's layout (N × outputs for the output layer).
func (n *ConvNet) Delta(b *ConvBackward, l, rows int) mat32.Matrix {
	i := n.Layers[l]
	return view(b.gFull[i], n.Stages[i].Out, rows, n.spatialOut(i))
}

// BackLayer carries the credit δ_l of layer l (> 0) down to layer l−1: through layer l's
// input with the matrix m (W_l for backprop; a feedback matrix of W_l's shape for feedback
// alignment or sign symmetry), back through the pooling stages in between, and through
// layer l−1's nonlinearity:
//
//	δ_{l−1} = pool-backward(Mᵀ-product of δ_l) ⊙ f'(a_{l−1})
//
// The result is in [ConvNet.Delta](l−1). It allocates nothing.
func (n *ConvNet) BackLayer(e *mat32.Engine, t *ConvTrace, b *ConvBackward, l int, m mat32.Matrix) {
	N := t.N
	s := n.Layers[l]
	st := n.Stages[s]
	delta := n.Delta(b, l, N)
	prev := s - 1
	g := view(b.gFull[prev], n.Stages[prev].Out, N, n.spatialOut(prev))
	switch st.Spec.Kind {
	case ConvStage:
		kk := st.In.C * st.Spec.K * st.Spec.K
		dcol := mat32.FromSlice(kk, N*st.Out.Plane(), b.dCol[:kk*N*st.Out.Plane()])
		e.MatMul(dcol, mat32.Trans, m, mat32.NoTrans, delta)
		mat32.Zero(g)
		Col2Im(g, dcol, st.In, N, st.Spec.K, st.Spec.Stride, st.Spec.Pad)
	case DenseStage:
		if st.Flatten {
			fl := mat32.FromSlice(N, st.In.Size(), b.dFlat[:N*st.In.Size()])
			e.MatMul(fl, mat32.NoTrans, delta, mat32.NoTrans, m)
			ps := n.Stages[prev]
			ToChannelMajor(g, fl, ps.Out.C, ps.Out.Plane(), nil, nil)
		} else {
			e.MatMul(g, mat32.NoTrans, delta, mat32.NoTrans, m)
		}
	}
	for i := prev; i > n.Layers[l-1]; i-- {
		ps := n.Stages[i]
		below := view(b.gFull[i-1], n.Stages[i-1].Out, N, n.spatialOut(i-1))
		dy := view(b.gFull[i], ps.Out, N, true)
		switch ps.Spec.Kind {
		case MaxPoolStage:
			MaxPoolBack(below, dy, t.Arg[i], ps.Out.C, N, ps.Out.Plane())
		case AvgPoolStage:
			AvgPoolBack(below, dy, ps.In, N, ps.Spec.K, ps.Spec.Stride)
		}
	}
	n.throughActivation(t, b, l-1)
}

// throughActivation multiplies layer l's credit in place by f'(a_l).
func (n *ConvNet) throughActivation(t *ConvTrace, b *ConvBackward, l int) {
	i := n.Layers[l]
	if f := n.Activation(i); f != mat32.Identity {
		d := n.Delta(b, l, t.N)
		mat32.MulDeriv(d, d, t.A[i], f, n.Config.HiddenParam)
	}
}

// DirectLayer sets layer l's credit from the output error e (N × outputs) through a direct
// feedback matrix bm ((size of layer l's output) × outputs), as direct feedback alignment:
//
//	δ_l = (e · Bᵀ) ⊙ f'(a_l)
//
// with e·Bᵀ (N × C·H·W, channels first) rearranged into the layer's layout.
func (n *ConvNet) DirectLayer(eng *mat32.Engine, t *ConvTrace, b *ConvBackward, l int, e, bm mat32.Matrix) {
	N := t.N
	i := n.Layers[l]
	st := n.Stages[i]
	d := n.Delta(b, l, N)
	if n.spatialOut(i) {
		fl := mat32.FromSlice(N, st.Out.Size(), b.dFlat[:N*st.Out.Size()])
		eng.MatMul(fl, mat32.NoTrans, e, mat32.Trans, bm)
		ToChannelMajor(d, fl, st.Out.C, st.Out.Plane(), nil, nil)
	} else {
		eng.MatMul(d, mat32.NoTrans, e, mat32.Trans, bm)
	}
	n.throughActivation(t, b, l)
}

// WeightGrad sets g = alpha·δ_l·(layer l's input)ᵀ, the weight change δ_l asks for summed
// over the batch (for a convolution also over positions), and, when gb is not nil,
// gb = alpha·Σ δ_l per output unit or channel. With δ the negative loss gradient at the
// pre-activation and alpha = −1/N this is the gradient of the batch-mean loss.
func (n *ConvNet) WeightGrad(e *mat32.Engine, t *ConvTrace, b *ConvBackward, l int, alpha float32, g mat32.Matrix, gb []float32) {
	i := n.Layers[l]
	st := n.Stages[i]
	d := n.Delta(b, l, t.N)
	if st.Spec.Kind == ConvStage {
		e.Gemm(mat32.NoTrans, mat32.Trans, alpha, d, t.Col[i], 0, g)
		for c := range gb {
			var s float32
			for _, v := range d.Row(c) {
				s += v
			}
			gb[c] = alpha * s
		}
		return
	}
	e.Gemm(mat32.Trans, mat32.NoTrans, alpha, d, n.In(t, i), 0, g)
	if gb != nil {
		clear(gb)
		for r := 0; r < d.Rows; r++ {
			for j, v := range d.Row(r) {
				gb[j] += v
			}
		}
		for j := range gb {
			gb[j] *= alpha
		}
	}
}

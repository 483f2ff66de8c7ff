package credit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// The credit family on a convolutional network (option network; package nn's [nn.ConvNet]).
// A layer is a convolution or a dense stage; pooling stages between layers have no weights
// and pass credit back as their gradient (max: to the window's maximum; average: spread
// evenly). With δ_l the credit at layer l's pre-activation (the output error m·(t − ŷ) at the
// output, as for the MLP):
//
//	bp:               δ_{l−1} = P_{l−1}(W_lᵀ ⋆ δ_l) ⊙ f'(a_{l−1})
//	fa:               δ_{l−1} = P_{l−1}(B_lᵀ ⋆ δ_l) ⊙ f'(a_{l−1})     B_l fixed random, W_l's shape
//	usf, brsf, frsf:  as fa with B_l = M_l ⊙ sign(W_l)                 (magnitudes as for the MLP)
//	dfa:              δ_l     = (e · B_lᵀ) ⊙ f'(a_l)                   B_l: (C·H·W of layer l's output) × classes
//
// where Mᵀ ⋆ δ is the backward pass of layer l's input with M in place of W (for a
// convolution: col2im(Mᵀ·δ), the transposed convolution) and P the backward pass of the
// pooling stages in between. Every layer then follows the gradient that its credit asks for,
// ΔW_l = <δ_l ⊗ x_l> (for a convolution summed over positions), through the optimiser (SGD
// with momentum and weight decay, or Adam), with the learning rate scheduled by epoch when
// optimizer.milestones is set. COPI and decorrelation are defined for the MLP only.
//
// The feedback matrices of FA and sign symmetry have the forward weights' shape
// (C_out × C_in·K·K for a convolution), as in biotorch; FA and DFA draw them like the MLP's
// (feedback_init: Xavier-normal with the layer's fan-in and fan-out, or uniform ±1/√fan-in).

// ConvModel is a credit-family rule together with the convolutional network it trains.
type ConvModel struct {
	// Net is the network.
	Net *nn.ConvNet
	// Opts are the options the model was built from, Name its rule, Cfg the rule's
	// configuration (credit source, sign-symmetry magnitude, loss).
	Opts Options
	Name string
	Cfg  Config
	// Feedback holds the fixed or sign-built matrices: for fa and sign symmetry B_l (W_l's
	// shape) for every layer l ≥ 1 (index l); for dfa B_l ((size of layer l's output) ×
	// classes) for every layer below the output.
	Feedback []mat32.Matrix

	eng      *mat32.Engine
	opt      optim.Optimizer
	tr, evTr *nn.ConvTrace
	bk       *nn.ConvBackward
	grad     []mat32.Matrix
	gradB    [][]float32
	params   []mat32.Matrix // W_1, b_1, W_2, … as the optimiser sees them
	sigma    []float32      // uSF magnitude per layer
	fixed    []mat32.Matrix // frSF magnitudes per layer
	seed     uint64
	ssPCG    *rand.PCG // brSF's stream, reseeded every step
	ssRNG    *rand.Rand
	aug      data.Augment
	augX     mat32.Matrix
	augPCG   *rand.PCG
	augRNG   *rand.Rand
	argmax   []int
	probeG   [2][]mat32.Matrix // rule and true gradients, per layer
	steps    int64
	lossMult float32
	batch    int
}

// augStream tags the augmentation's random stream.
const augStream = 0x6175676d656e7421 // "augment!"

// inputShape returns one example's shape: the option, or one inferred from the data's width
// (784 → 1×28×28, 3072 → 3×32×32).
func (o *Options) inputShape(width int) (nn.Shape3, error) {
	if len(o.InputShape) > 0 {
		if len(o.InputShape) != 3 {
			return nn.Shape3{}, fmt.Errorf("option input_shape %v: want [channels, height, width]", o.InputShape)
		}
		s := nn.Shape3{C: o.InputShape[0], H: o.InputShape[1], W: o.InputShape[2]}
		if s.C <= 0 || s.H <= 0 || s.W <= 0 || s.C > 1<<16 || s.H > 1<<16 || s.W > 1<<16 {
			return s, fmt.Errorf("option input_shape %v: every size must be in [1, 65536]", o.InputShape)
		}
		if width > 0 && s.Size() != width {
			return s, fmt.Errorf("option input_shape %v has %d values per example, the data %d", o.InputShape, s.Size(), width)
		}
		return s, nil
	}
	switch width {
	case 784:
		return nn.Shape3{C: 1, H: 28, W: 28}, nil
	case 3072:
		return nn.Shape3{C: 3, H: 32, W: 32}, nil
	}
	return nn.Shape3{}, fmt.Errorf("option input_shape is needed for data of %d values per example (known: 784 as 1×28×28, 3072 as 3×32×32)", width)
}

// convConfig returns the network the options describe for data of the given width (0: check
// the description alone, with the input shape if set).
func (o *Options) convConfig(width int) (nn.ConvConfig, error) {
	specs, err := nn.ParseNetwork(o.Network)
	if err != nil {
		return nn.ConvConfig{}, fmt.Errorf("option network: %w", err)
	}
	f, err := mat32.ParseFunc(o.Activation)
	if err != nil {
		return nn.ConvConfig{}, err
	}
	cc := nn.ConvConfig{Stages: specs, Hidden: f, HiddenParam: float32(o.ActivationParam)}
	if width == 0 && len(o.InputShape) == 0 {
		return cc, nil
	}
	if cc.Input, err = o.inputShape(width); err != nil {
		return cc, err
	}
	if _, err := nn.NewConvNet(cc, rand.New(rand.NewPCG(0, 0))); err != nil {
		return cc, fmt.Errorf("option network: %w", err)
	}
	return cc, nil
}

// validateConv checks the options that only a convolutional network reads, and refuses
// what it cannot do.
func (o *Options) validateConv() error {
	if o.Network == "" {
		if len(o.InputShape) > 0 || o.AugmentCrop != 0 || o.AugmentFlip {
			return fmt.Errorf("options input_shape, augment_crop and augment_flip need a convolutional network (option network)")
		}
		return nil
	}
	if o.decorrelates() {
		return fmt.Errorf("option network: the decorrelating rules (copi-*, decor-bp) run on an MLP only; on a network use bp, fa, dfa, usf, brsf or frsf")
	}
	if o.AugmentCrop < 0 || o.AugmentCrop > 64 {
		return fmt.Errorf("option augment_crop = %d must be in [0, 64] pixels", o.AugmentCrop)
	}
	_, err := o.convConfig(0)
	return err
}

// NewConvModel builds rule name's convolutional network and learner from opts for shape s,
// initialised from seed: the weights from the stream (seed, 1), the feedback matrices from
// (seed, 2).
func NewConvModel(e *mat32.Engine, name string, opts Options, s learn.Shape, seed uint64) (*ConvModel, error) {
	opts.adapt(name)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	if defs[name].update != Gradient || defs[name].decorrelate {
		return nil, fmt.Errorf("rule %s runs on an MLP only (option network is for bp, fa, dfa, usf, brsf, frsf)", name)
	}
	cc, err := opts.convConfig(s.Inputs)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	rc, err := opts.RuleConfig(name)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	net, err := nn.NewConvNet(cc, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	if s.Classes > net.OutputSize() {
		return nil, fmt.Errorf("rule %s: the data have %d classes, the network has %d outputs (set network)", name, s.Classes, net.OutputSize())
	}
	opt, err := optim.New(rc.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	batch := max(s.BatchRows, 1)
	evalCap := min(max(s.EvalRows, 1), max(batch, 256))
	m := &ConvModel{Net: net, Opts: opts, Name: name, Cfg: rc, eng: e, opt: opt, seed: seed,
		tr: net.NewTrace(batch), evTr: net.NewTrace(evalCap), bk: net.NewBackward(batch),
		argmax: make([]int, max(batch, evalCap)), lossMult: float32(rc.LossMultiplier), batch: batch}
	if m.lossMult == 0 {
		m.lossMult = 1
	}
	L := len(net.Layers)
	for l := 0; l < L; l++ {
		st := net.Layer(l)
		m.grad = append(m.grad, mat32.New(st.W.Rows, st.W.Cols))
		m.gradB = append(m.gradB, make([]float32, len(st.B)))
		m.params = append(m.params, st.W, mat32.FromSlice(1, len(st.B), st.B))
		m.probeG[0] = append(m.probeG[0], mat32.New(st.W.Rows, st.W.Cols))
		m.probeG[1] = append(m.probeG[1], mat32.New(st.W.Rows, st.W.Cols))
	}
	opt.Init(m.params)
	if err := m.initFeedback(rand.New(rand.NewPCG(seed, 2))); err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	m.aug = data.Augment{C: cc.Input.C, H: cc.Input.H, W: cc.Input.W, Pad: opts.AugmentCrop, Flip: opts.AugmentFlip}
	if m.aug.Active() {
		if err := m.aug.Validate(); err != nil {
			return nil, fmt.Errorf("rule %s: %w", name, err)
		}
		m.augX = mat32.New(batch, cc.Input.Size())
		m.augPCG = rand.NewPCG(0, 0)
		m.augRNG = rand.New(m.augPCG)
	}
	return m, nil
}

// initFeedback draws the feedback matrices the credit source needs.
func (m *ConvModel) initFeedback(rng *rand.Rand) error {
	net := m.Net
	L := len(net.Layers)
	m.Feedback = make([]mat32.Matrix, L)
	init := m.Cfg.FeedbackInit
	switch m.Cfg.Credit {
	case FeedbackAlignment, SignSymmetry:
		m.sigma = make([]float32, L)
		m.fixed = make([]mat32.Matrix, L)
		for l := 1; l < L; l++ {
			w := net.Layer(l).W
			b := mat32.New(w.Rows, w.Cols)
			if err := drawFeedback(b, init, net.XavierStd(l), fanIn(net.Layer(l)), rng); err != nil {
				return err
			}
			m.Feedback[l] = b
			m.sigma[l] = float32(net.XavierStd(l))
			if m.Cfg.Credit == SignSymmetry {
				if m.Cfg.Magnitude == FixedRandomMagnitude {
					m.fixed[l] = b.Clone()
				}
			}
		}
		if m.Cfg.Credit == SignSymmetry {
			m.ssPCG = rand.NewPCG(0, 0)
			m.ssRNG = rand.New(m.ssPCG)
			m.signFeedback(0)
		}
	case DirectFeedbackAlignment:
		out := net.OutputSize()
		for l := 0; l < L-1; l++ {
			size := net.Layer(l).Out.Size()
			b := mat32.New(size, out)
			std := math.Sqrt(2 / float64(size+out))
			if err := drawFeedback(b, init, std, size, rng); err != nil {
				return err
			}
			m.Feedback[l] = b
		}
	}
	return nil
}

// fanIn is a layer's number of inputs per output value: C_in·K·K or the dense input width.
func fanIn(st *nn.Stage) int { return st.W.Cols }

// drawFeedback fills b with normal values of the given std (xavier-normal) or uniform ones in
// ±1/√fanIn (uniform).
func drawFeedback(b mat32.Matrix, init string, std float64, fanIn int, rng *rand.Rand) error {
	switch init {
	case "", "xavier-normal":
		for i := range b.Data {
			b.Data[i] = float32(rng.NormFloat64() * std)
		}
	case "uniform":
		lim := 1 / math.Sqrt(float64(fanIn))
		for i := range b.Data {
			b.Data[i] = float32((2*rng.Float64() - 1) * lim)
		}
	default:
		return fmt.Errorf("unknown feedback init %q (want xavier-normal or uniform)", init)
	}
	return nil
}

// signFeedback rebuilds sign symmetry's B_l = M_l ⊙ sign(W_l) for learning step `step`
// (brSF draws its magnitudes from a stream that depends only on the seed and the step).
func (m *ConvModel) signFeedback(step int64) {
	if m.Cfg.Magnitude == BatchRandomMagnitude {
		m.ssPCG.Seed(m.seed^brsfStream, uint64(step))
	}
	for l := 1; l < len(m.Net.Layers); l++ {
		b, w := m.Feedback[l], m.Net.Layer(l).W
		if m.Cfg.Magnitude == BatchRandomMagnitude {
			// validated at construction, so the draw cannot fail
			_ = drawFeedback(b, m.Cfg.FeedbackInit, m.Net.XavierStd(l), fanIn(m.Net.Layer(l)), m.ssRNG)
		}
		for i, v := range w.Data {
			var mag float32
			switch m.Cfg.Magnitude {
			case UniformMagnitude:
				mag = m.sigma[l]
			case BatchRandomMagnitude:
				mag = float32(math.Abs(float64(b.Data[i])))
			case FixedRandomMagnitude:
				mag = float32(math.Abs(float64(m.fixed[l].Data[i])))
			}
			switch {
			case v > 0:
				b.Data[i] = mag
			case v < 0:
				b.Data[i] = -mag
			default:
				b.Data[i] = 0
			}
		}
	}
}

// Describe summarises the model in one line.
func (m *ConvModel) Describe() string {
	return fmt.Sprintf("rule %s, network %s (%d parameters)", m.Name, m.Net.Describe(), m.Net.NumParams())
}

// forward runs x through the network into trace tr and returns the loss on labels.
func (m *ConvModel) forward(tr *nn.ConvTrace, x mat32.Matrix, labels []uint8) float64 {
	m.Net.Forward(m.eng, x, tr)
	return m.Cfg.Loss.Value(tr.Output(), labels)
}

// outputError fills the output layer's credit with m·(t − ŷ) (the loss's negative gradient,
// times the multiplier, [⊙ f'(a_L) with the output-derivative quirk]) and returns it.
func (m *ConvModel) outputError(labels []uint8, mult float32, quirk bool) mat32.Matrix {
	L := len(m.Net.Layers)
	e := m.Net.Delta(m.bk, L-1, m.tr.N)
	m.Cfg.Loss.NegGradient(e, m.tr.Output(), labels)
	mat32.Scale(mult, e)
	if quirk {
		mat32.MulDeriv(e, e, m.tr.A[m.Net.Layers[L-1]], m.Net.Config.Hidden, m.Net.Config.HiddenParam)
	}
	return e
}

// credit fills every hidden layer's δ from the output error by the credit source src (all
// before any parameter changes); step is the learning step it serves (brSF).
func (m *ConvModel) credit(src Credit, e mat32.Matrix, step int64) {
	L := len(m.Net.Layers)
	if src == SignSymmetry {
		m.signFeedback(step)
	}
	for l := L - 1; l > 0; l-- {
		switch src {
		case Backprop:
			m.Net.BackLayer(m.eng, m.tr, m.bk, l, m.Net.Layer(l).W)
		case FeedbackAlignment, SignSymmetry:
			m.Net.BackLayer(m.eng, m.tr, m.bk, l, m.Feedback[l])
		case DirectFeedbackAlignment:
			m.Net.DirectLayer(m.eng, m.tr, m.bk, l-1, e, m.Feedback[l-1])
		}
	}
}

// gradients sets g[l] = −ΔW_l = −<δ_l ⊗ x_l> for every layer (and the bias gradients when
// gb is not nil), from the credit in the backward buffers.
func (m *ConvModel) gradients(g []mat32.Matrix, gb [][]float32) {
	alpha := -1 / float32(m.tr.N)
	for l := range m.Net.Layers {
		var b []float32
		if gb != nil {
			b = gb[l]
		}
		m.Net.WeightGrad(m.eng, m.tr, m.bk, l, alpha, g[l], b)
	}
}

// Step trains on one batch: (augmentation,) forward pass, output error, every layer's credit,
// every layer's gradient, then the optimiser at the epoch's learning rate.
func (m *ConvModel) Step(b learn.Batch, at learn.At) (float64, int) {
	if m.Cfg.Optimizer.Scheduled() {
		m.opt.(optim.LRSetter).SetLR(m.Cfg.Optimizer.LRAt(at.Epoch))
	}
	x := b.X
	if m.aug.Active() {
		m.augPCG.Seed(m.seed^augStream, uint64(at.Global))
		x = m.augX.Slice(0, b.X.Rows, 0, b.X.Cols)
		m.aug.Apply(x, b.X, m.augRNG)
	}
	loss := m.forward(m.tr, x, b.Labels)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0
	}
	correct := m.countCorrect(m.tr.Output(), b.Labels)
	m.steps++
	e := m.outputError(b.Labels, m.lossMult, m.Cfg.OutputDerivative)
	m.credit(m.Cfg.Credit, e, m.steps)
	m.gradients(m.grad, m.gradB)
	if clip := m.Cfg.Optimizer.ClipNorm; clip > 0 {
		var sq float64
		for l := range m.grad {
			sq += mat32.Dot(m.grad[l], m.grad[l])
			gb := mat32.FromSlice(1, len(m.gradB[l]), m.gradB[l])
			sq += mat32.Dot(gb, gb)
		}
		if f := optim.ClipFactor(clip, math.Sqrt(sq)); f < 1 {
			for l := range m.grad {
				mat32.Scale(float32(f), m.grad[l])
				mat32.Scale(float32(f), mat32.FromSlice(1, len(m.gradB[l]), m.gradB[l]))
			}
		}
	}
	if u, ok := m.opt.(optim.EngineUser); ok {
		u.SetEngine(m.eng)
	}
	m.opt.Begin()
	for l := range m.grad {
		m.opt.Apply(2*l, m.params[2*l], m.grad[l])
		m.opt.Apply(2*l+1, m.params[2*l+1], mat32.FromSlice(1, len(m.gradB[l]), m.gradB[l]))
	}
	return loss, correct
}

func (m *ConvModel) countCorrect(out mat32.Matrix, labels []uint8) int {
	am := m.argmax[:out.Rows]
	mat32.ArgmaxRows(am, out)
	c := 0
	for i, k := range am {
		if k == int(labels[i]) {
			c++
		}
	}
	return c
}

// Predict writes the network's outputs for x (the first scores.Cols of them) into scores,
// in chunks of the evaluation trace's capacity. No augmentation at test time.
func (m *ConvModel) Predict(x, scores mat32.Matrix) {
	tr := m.evTr
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		m.Net.Forward(m.eng, x.Slice(i, j, 0, x.Cols), tr)
		out := tr.Output()
		for r := 0; r < j-i; r++ {
			copy(scores.Row(i+r), out.Row(r)[:scores.Cols])
		}
	}
}

// Evaluate returns the mean loss and the accuracy of the network on (x, y).
func (m *ConvModel) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	if x.Rows == 0 {
		return learn.Evaluation{}
	}
	tr := m.evTr
	var loss float64
	correct := 0
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		loss += m.forward(tr, x.Slice(i, j, 0, x.Cols), y[i:j]) * float64(j-i)
		correct += m.countCorrect(tr.Output(), y[i:j])
	}
	return learn.Evaluation{Loss: loss / float64(x.Rows), Acc: float64(correct) / float64(x.Rows)}
}

// RuleGradients sets g[l] to what the rule's next step would hand the optimiser for layer l's
// weights on (x, labels), without changing any parameter (sign symmetry's B is drawn for the
// next step, as that step will draw it). It overwrites the training trace and credit.
func (m *ConvModel) RuleGradients(x mat32.Matrix, labels []uint8, g []mat32.Matrix) float64 {
	loss := m.forward(m.tr, x, labels)
	e := m.outputError(labels, m.lossMult, m.Cfg.OutputDerivative)
	m.credit(m.Cfg.Credit, e, m.steps+1)
	m.gradients(g, nil)
	return loss
}

// TrueGradients sets g[l] to the gradient of the batch loss with respect to layer l's weights
// (backprop, no multiplier, no output-derivative quirk).
func (m *ConvModel) TrueGradients(x mat32.Matrix, labels []uint8, g []mat32.Matrix) float64 {
	loss := m.forward(m.tr, x, labels)
	e := m.outputError(labels, 1, false)
	m.credit(Backprop, e, m.steps+1)
	m.gradients(g, nil)
	return loss
}

// Probe measures, on the first batch of the given rows, every layer's update angle (between
// the rule's weight change and the negative gradient, "update_angle_deg"), and for fa and
// sign symmetry the angle and norm ratio between each B_{l+1} and W_{l+1} ("feedback_angle_deg",
// "feedback_norm_ratio", one entry per hidden layer). DFA's B has no forward matrix of its
// shape on a convolutional network, so only its update angles are reported.
func (m *ConvModel) Probe(train learn.Batch) learn.Probe {
	p := learn.Probe{Layers: map[string][]float64{}, Scalars: map[string]float64{}}
	n := min(m.batch, train.X.Rows)
	if n == 0 {
		return p
	}
	x, y := train.X.Slice(0, n, 0, train.X.Cols), train.Labels[:n]
	m.TrueGradients(x, y, m.probeG[1])
	m.RuleGradients(x, y, m.probeG[0]) // last, so that sign symmetry's B is that of this W
	var up []float64
	for l := range m.Net.Layers {
		r, g := m.probeG[0][l], m.probeG[1][l]
		up = append(up, angleDeg(mat32.Dot(r, g), mat32.FrobeniusNorm(r), mat32.FrobeniusNorm(g)))
	}
	p.Layers["update_angle_deg"] = up
	if m.Cfg.Credit == FeedbackAlignment || m.Cfg.Credit == SignSymmetry {
		var ang, ratios []float64
		for l := 1; l < len(m.Net.Layers); l++ {
			b, w := m.Feedback[l], m.Net.Layer(l).W
			nb, nw := mat32.FrobeniusNorm(b), mat32.FrobeniusNorm(w)
			ang = append(ang, angleDeg(mat32.Dot(b, w), nb, nw))
			ratios = append(ratios, ratio(nb, nw))
		}
		p.Layers["feedback_angle_deg"] = ang
		p.Layers["feedback_norm_ratio"] = ratios
	}
	return p
}

// tensors lists every tensor an exact resume needs: weights and biases (layer.<l>.W,
// layer.<l>.b), the fixed feedback matrices of fa and dfa (feedback.<l>), the optimiser state.
// Sign symmetry's B is rebuilt from W (and the seed) at every step and is not saved.
func (m *ConvModel) tensors() learn.Tensors {
	var ts learn.Tensors
	for l := range m.Net.Layers {
		st := m.Net.Layer(l)
		ts = append(ts,
			learn.Tensor{Name: fmt.Sprintf("layer.%d.W", l+1), Label: fmt.Sprintf("layer %d W", l+1), M: st.W},
			learn.Tensor{Name: fmt.Sprintf("layer.%d.b", l+1), Label: fmt.Sprintf("layer %d bias", l+1), M: mat32.FromSlice(1, len(st.B), st.B), Vector: true})
	}
	if m.Cfg.Credit == FeedbackAlignment || m.Cfg.Credit == DirectFeedbackAlignment {
		for l, b := range m.Feedback {
			if b.Data != nil {
				ts = append(ts, learn.Tensor{Name: fmt.Sprintf("feedback.%d", l+1), Label: fmt.Sprintf("feedback %d", l+1), M: b})
			}
		}
	}
	st := m.opt.State()
	for _, k := range sortedKeys(st) {
		ts = append(ts, learn.Tensor{Name: "optimizer." + k, Label: "optimizer " + k, M: st[k]})
	}
	return ts
}

// Save adds the network, feedback matrices, optimiser state and step counters to ck.
func (m *ConvModel) Save(ck *checkpoint.Checkpoint) error {
	if err := m.tensors().Save(ck, m.Name); err != nil {
		return err
	}
	return ck.SetInt64s(tensorSteps, []int64{m.steps, m.opt.Steps()})
}

// Load restores what Save wrote.
func (m *ConvModel) Load(ck *checkpoint.Checkpoint) error {
	if err := m.tensors().Load(ck, m.Name); err != nil {
		return err
	}
	steps, err := ck.Int64s(tensorSteps)
	if err != nil {
		return err
	}
	if len(steps) != 2 || steps[0] < 0 || steps[1] < 0 {
		return fmt.Errorf("checkpoint step counters %v: want two non-negative counts", steps)
	}
	m.steps = steps[0]
	m.opt.SetSteps(steps[1])
	if m.Cfg.Credit == SignSymmetry {
		m.signFeedback(m.steps)
	}
	return nil
}

// NonFinite names the first parameter holding a NaN or an infinity.
func (m *ConvModel) NonFinite() string {
	for l := range m.Net.Layers {
		st := m.Net.Layer(l)
		if !mat32.AllFinite(st.W) {
			return fmt.Sprintf("layer %d W", l+1)
		}
		if !mat32.AllFinite(mat32.FromSlice(1, len(st.B), st.B)) {
			return fmt.Sprintf("layer %d bias", l+1)
		}
	}
	return ""
}

// FirstLayerFilters returns the first layer's weights when it is a convolution, one filter
// per row (C_in·K·K values, channels first), with the filters' channels and size, for
// drawing them as images; ok is false when the first layer is dense.
func (m *ConvModel) FirstLayerFilters() (w mat32.Matrix, channels, k int, ok bool) {
	st := m.Net.Layer(0)
	if st.Spec.Kind != nn.ConvStage {
		return mat32.Matrix{}, 0, 0, false
	}
	return st.W, st.In.C, st.Spec.K, true
}

// convMemory estimates the bytes a convolutional model allocates: parameters with gradient,
// optimiser state and feedback, and the activity, im2col and credit buffers of a training
// batch and an evaluation chunk.
func (o *Options) convMemory(name string, s learn.Shape) int64 {
	cc, err := o.convConfig(s.Inputs)
	if err != nil {
		return 0
	}
	net, err := nn.NewConvNet(cc, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return 0
	}
	perWeight := 3.0 // W, gradient, two probe buffers' share
	if o.Optimizer.Name == "adam" {
		perWeight += 2
	} else if o.Optimizer.Momentum != 0 {
		perWeight++
	}
	if defs[name].credit != Backprop {
		perWeight++
	}
	batch := float64(max(s.BatchRows, 1))
	rows := batch + math.Min(float64(max(s.EvalRows, 1)), math.Max(batch, 256))
	var floats float64
	for _, st := range net.Stages {
		floats += perWeight * float64(len(st.W.Data))
		per := 3 * float64(st.Out.Size()) // pre-activation, output, credit
		if st.Spec.Kind == nn.ConvStage {
			per += 2 * float64(st.W.Cols*st.Out.Plane()) // im2col and its credit
		}
		floats += rows * per
	}
	return int64(4 * floats)
}

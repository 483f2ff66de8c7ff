// Package rule holds copi's learning rules for the MLP of package nn.
//
// A rule is three choices, each in a file of its own that reads like its equations:
//
//   - where the top-down credit δ comes from (credit.go): backprop through W and R, feedback
//     alignment through fixed random B, sign symmetry through a B with the signs of W
//     (signsymmetry.go), or direct feedback alignment from the output error;
//   - how a layer's weights change given δ (copi.go for COPI's inference rule, gradient.go for
//     gradient descent with an optimiser);
//   - whether and how a decorrelating matrix R in front of each layer learns
//     (decorrelation.go).
//
// The named rules (bp, decor-bp, copi-bp, copi-fa, copi-dfa, fa, dfa, usf, brsf, frsf) are
// those choices fixed;
// see [Names]. One training step ([Learner.Step]) follows the COPI reference order: a forward
// pass, then the credit of every layer, then for each layer the update of W followed by the
// update of R, all from the activity of the same forward pass. Since those per-layer updates
// depend only on that pass and the credit, a learner on a multi-threaded engine runs them
// side by side, each thread taking the next layer not yet taken (plain SGD and R-only steps;
// with optimiser state they run in order), with the same results as one after another.
//
// [AlignmentProbe] compares a rule with backprop on one batch (alignment.go): the angle between
// the rule's weight change and the negative gradient, and between the feedback matrices and
// the forward weights they stand in for. It uses [Learner.RuleGradients] and
// [Learner.TrueGradients], which run the code of Step without changing the network.
package credit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/optim"
)

// Credit says where a hidden layer's perturbation δ comes from.
type Credit int

// The credit sources.
const (
	// Backprop: δ_l = (δ_{l+1}·W_{l+1}·R_{l+1}) ⊙ f'(a_l), exact credit.
	Backprop Credit = iota
	// FeedbackAlignment: δ_l = (δ_{l+1}·B_{l+1}ᵀ) ⊙ f'(a_l), B fixed random, never through R.
	FeedbackAlignment
	// DirectFeedbackAlignment: δ_l = (e·B_lᵀ) ⊙ f'(a_l), e the output error; every hidden layer
	// hears the output directly, with no backward chain.
	DirectFeedbackAlignment
	// SignSymmetry: δ_l = (δ_{l+1}·B_{l+1}ᵀ) ⊙ f'(a_l) as in FA, but B_{l+1} takes the signs
	// of the current W_{l+1}ᵀ and magnitudes set by [Magnitude] (signsymmetry.go).
	SignSymmetry
)

// String names the credit source.
func (c Credit) String() string {
	switch c {
	case Backprop:
		return "bp"
	case FeedbackAlignment:
		return "fa"
	case DirectFeedbackAlignment:
		return "dfa"
	case SignSymmetry:
		return "sign-symmetry"
	}
	return fmt.Sprintf("Credit(%d)", int(c))
}

// Update says how a layer's weights change given its input x, pre-activation a and δ.
type Update int

// The weight updates.
const (
	// Gradient: ΔW = <δ xᵀ> (δ carries the loss multiplier), applied by the optimiser.
	Gradient Update = iota
	// COPI: ΔW = <(a + δ) xᵀ> − W·diag(<x²>), relaxing W toward <z xᵀ>·diag(<x²>)⁻¹.
	COPI
)

// String names the update.
func (u Update) String() string {
	if u == COPI {
		return "copi"
	}
	return "gradient"
}

// Config is a complete learning-rule configuration.
type Config struct {
	// Name is the rule's registry name (see [Names]); Credit, Update and Decorrelation follow
	// from it through [ForName] but may be set directly.
	Name   string `json:"name" yaml:"name"`
	Credit Credit `json:"-" yaml:"-"`
	Update Update `json:"-" yaml:"-"`
	// Magnitude chooses the magnitudes of sign symmetry's B (uSF, brSF, frSF); only read
	// when Credit is SignSymmetry.
	Magnitude Magnitude `json:"-" yaml:"-"`
	// Decorrelation configures the learned R; its Variant is "none" for rules without R.
	Decorrelation DecorrelationConfig `json:"decorrelation" yaml:"decorrelation"`
	// Optimizer applies weight updates. COPI and decorrelated BP in the paper use plain SGD.
	Optimizer optim.Config `json:"optimizer" yaml:"optimizer"`
	// Loss is the output loss; the paper's is MSE against the one-hot target.
	Loss nn.Loss `json:"-" yaml:"-"`
	// LossMultiplier m scales the output error: δ_L = m·(t − a_L) (1000 in the COPI presets,
	// so that with η = 1e-3 the error term has an effective learning rate of 1).
	LossMultiplier float64 `json:"loss_multiplier" yaml:"loss_multiplier"`
	// OutputDerivative multiplies the output error by the hidden nonlinearity's derivative
	// at the (linear) output, δ_L ⊙= f'(a_L): a quirk of the COPI reference code, on in the
	// faithful presets.
	OutputDerivative bool `json:"output_derivative" yaml:"output_derivative"`
	// Seed drives the rule's own randomness (the decorrelation's row sampling).
	Seed uint64 `json:"-" yaml:"-"`
	// FeedbackInit draws the fixed feedback matrices B: "xavier-normal" (the COPI reference's
	// FA) or "uniform" (±1/√n_l, Nøkland's DFA). For brSF and frSF it draws the random
	// matrices whose absolute values are B's magnitudes.
	FeedbackInit string `json:"feedback_init,omitempty" yaml:"feedback_init,omitempty"`
}

// ruleDef is one named rule.
type ruleDef struct {
	credit      Credit
	update      Update
	decorrelate bool
	about       string
}

var defs = map[string]ruleDef{
	"bp":       {Backprop, Gradient, false, "backprop: gradient of the loss, through W"},
	"decor-bp": {Backprop, Gradient, true, "decorrelated backprop: ΔW = <δ xᵀ> with a learned R in front of every layer"},
	"copi-bp":  {Backprop, COPI, true, "COPI with backprop perturbations (through W and R)"},
	"copi-fa":  {FeedbackAlignment, COPI, true, "COPI with feedback-alignment perturbations (fixed random B)"},
	"copi-dfa": {DirectFeedbackAlignment, COPI, true, "COPI with direct-feedback-alignment perturbations"},
	"fa":       {FeedbackAlignment, Gradient, false, "feedback alignment (Lillicrap et al. 2016)"},
	"dfa":      {DirectFeedbackAlignment, Gradient, false, "direct feedback alignment (Nøkland 2016)"},
	"usf":      {SignSymmetry, Gradient, false, "sign symmetry, uniform magnitude: B = σ_init·sign(Wᵀ) (Liao et al. 2016)"},
	"brsf":     {SignSymmetry, Gradient, false, "sign symmetry, batchwise random magnitude: B = |R|⊙sign(Wᵀ), R redrawn every batch"},
	"frsf":     {SignSymmetry, Gradient, false, "sign symmetry, fixed random magnitude: B = |R|⊙sign(Wᵀ), R drawn once"},
}

// signMagnitudes gives the sign-symmetry rules their magnitudes.
var signMagnitudes = map[string]Magnitude{
	"usf":  UniformMagnitude,
	"brsf": BatchRandomMagnitude,
	"frsf": FixedRandomMagnitude,
}

// Names lists the named rules, sorted.
func Names() []string {
	var n []string
	for k := range defs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// About returns a one-line description of a named rule.
func About(name string) string { return defs[name].about }

// ForName fills the credit source and update of a named rule into c, and switches the
// decorrelation on (variant "default" unless one is set) or off as the rule requires.
func (c *Config) ForName(name string) error {
	d, ok := defs[name]
	if !ok {
		return fmt.Errorf("unknown rule %q (want one of %s)", name, strings.Join(Names(), ", "))
	}
	c.Name, c.Credit, c.Update, c.Magnitude = name, d.credit, d.update, signMagnitudes[name]
	if !d.decorrelate {
		c.Decorrelation.Variant = "none"
	} else if c.Decorrelation.Variant == "" || c.Decorrelation.Variant == "none" {
		c.Decorrelation.Variant = "default"
	}
	return nil
}

// Decorrelates reports whether the rule learns R matrices.
func (c *Config) Decorrelates() bool {
	return c.Decorrelation.Variant != "" && c.Decorrelation.Variant != "none"
}

// Learner trains one MLP with one rule. It owns every buffer a step needs, so steps after
// the first allocate nothing.
type Learner struct {
	Net *nn.MLP
	Cfg Config
	// Feedback holds the fixed random matrices B of FA (B_l is n_{l-1}×n_l, indexed by the
	// layer it carries credit across) or DFA (B_l is n_l×n_out for hidden layer l); nil
	// entries where a layer needs none. Sign symmetry's B (shaped as FA's) is rebuilt from
	// the current W before every credit pass, so it holds the B of the last pass.
	Feedback []mat32.Matrix

	eng   *mat32.Engine
	opt   optim.Optimizer
	trace *nn.Trace
	decor decorrelator
	sign  signSymmetry

	delta     []mat32.Matrix  // per layer, Cap×n_out: δ, then a + δ for COPI
	deltaView []mat32.Matrix  // the current batch's rows of delta
	back      []mat32.Matrix  // per layer, Cap×n_in: δ·W before the R and f' factors
	deriv     []mat32.Matrix  // per layer, Cap×n_out: f'(a)
	msq       [][]float32     // per layer: <x²>
	grad      []mat32.Matrix  // per layer: gradient for the optimiser (W)
	gradB     [][]float32     // per layer: bias gradient
	fused     bool            // plain SGD: updates go straight into W through GEMM
	decay     [][]float32     // per layer, n_in: COPI's column factors 1 − η<x²>
	meanOut   [][]float32     // per layer, n_out: the batch mean of z or δ for the bias
	lanes     []*mat32.Engine // one single-threaded engine per thread for the layers' updates
	order     []int           // the layers by decreasing update work, as the lanes take them
	work      layerUpdates    // the Ranger that runs the lanes
	capRows   int
	steps     int64
	lossMult  float32
}

// The per-layer updates (W, then R) of a step run side by side on the engine's threads:
// once every layer's credit is known, the layers' updates are independent. Each thread has a
// single-threaded engine of its own (a lane) and takes the next layer not yet taken, largest
// first, until none is left, so that a thread slowed by the rest of the machine simply takes
// fewer layers. Each product runs on one thread, and a single-threaded product rounds exactly
// as a multi-threaded one (the engine's plan does not depend on the thread count), so the
// results are those of the sequential loop whoever takes which layer.

// layerUpdates is the Ranger that runs the current step's updates on the lanes.
type layerUpdates struct {
	l     *Learner
	delta []mat32.Matrix
	ph    Phase
	next  atomic.Int64 // index into l.order of the next layer to take
}

// Range runs the lanes [lo, hi) (one lane per worker; all of them on the caller when the
// engine does not split): lane lo takes layers until none is left.
func (u *layerUpdates) Range(lo, hi int) {
	if lo >= hi {
		return
	}
	e := u.l.lanes[lo]
	for {
		k := int(u.next.Add(1)) - 1
		if k >= len(u.l.order) {
			return
		}
		i := u.l.order[k]
		u.l.updateLayer(e, i, u.delta[i], u.ph)
	}
}

// planLanes gives each engine thread a single-threaded engine and orders the layers by
// decreasing work (multiply-adds of the W and R updates). Nothing is planned when the engine
// has one thread or hands products to OpenBLAS, or when no step has layer updates to run
// side by side (an optimiser with state, and no R to learn in R-only steps).
func (l *Learner) planLanes() error {
	threads := l.eng.Threads()
	if threads < 2 || l.eng.Kernel() == "openblas" || (!l.fused && !l.Cfg.Decorrelates()) {
		return nil
	}
	l.order = make([]int, len(l.Net.Layers))
	work := make([]int, len(l.order))
	for i, layer := range l.Net.Layers {
		l.order[i] = i
		work[i] = layer.In * layer.Out
		if layer.HasR() && l.Cfg.Decorrelates() {
			work[i] += 2 * layer.In * layer.In
		}
	}
	sort.SliceStable(l.order, func(a, b int) bool { return work[l.order[a]] > work[l.order[b]] })
	l.lanes = make([]*mat32.Engine, threads)
	for t := range l.lanes {
		e, err := mat32.NewEngine(mat32.Options{Threads: 1, Kernel: l.eng.Kernel()})
		if err != nil {
			return fmt.Errorf("rule %s: %w", l.Cfg.Name, err)
		}
		l.lanes[t] = e
	}
	l.work.l = l
	return nil
}

// NewLearner prepares a learner for batches of up to batchCap rows. The network must have
// decorrelators exactly when the rule decorrelates. rng draws the feedback matrices.
func NewLearner(e *mat32.Engine, net *nn.MLP, cfg Config, batchCap int, rng *rand.Rand) (*Learner, error) {
	if cfg.Decorrelates() != net.Config.Decorrelate {
		return nil, fmt.Errorf("rule %s: decorrelation %q does not match a network with decorrelators=%v",
			cfg.Name, cfg.Decorrelation.Variant, net.Config.Decorrelate)
	}
	if cfg.LossMultiplier == 0 {
		cfg.LossMultiplier = 1
	}
	dec, err := newDecorrelator(cfg.Decorrelation, cfg.Optimizer.LR)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", cfg.Name, err)
	}
	opt, err := optim.New(cfg.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", cfg.Name, err)
	}
	l := &Learner{Net: net, Cfg: cfg, eng: e, opt: opt, decor: dec, capRows: batchCap,
		trace: net.NewTrace(batchCap), lossMult: float32(cfg.LossMultiplier)}
	_, plain := opt.(*optim.SGD)
	l.fused = plain && cfg.Optimizer.Momentum == 0 && cfg.Optimizer.WeightDecay == 0 && cfg.Optimizer.ClipNorm == 0
	var params []mat32.Matrix
	for _, layer := range net.Layers {
		l.decay = append(l.decay, make([]float32, layer.In))
		l.meanOut = append(l.meanOut, make([]float32, layer.Out))
		l.delta = append(l.delta, mat32.New(batchCap, layer.Out))
		l.back = append(l.back, mat32.New(batchCap, layer.In))
		l.deriv = append(l.deriv, mat32.New(batchCap, layer.Out))
		l.msq = append(l.msq, make([]float32, layer.In))
		if !l.fused {
			l.grad = append(l.grad, mat32.New(layer.Out, layer.In))
			params = append(params, layer.W)
			if layer.B != nil {
				l.gradB = append(l.gradB, make([]float32, layer.Out))
				params = append(params, mat32.FromSlice(1, layer.Out, layer.B))
			} else {
				l.gradB = append(l.gradB, nil)
			}
		}
	}
	l.deltaView = make([]mat32.Matrix, len(net.Layers))
	opt.Init(params)
	if err := l.initFeedback(rng); err != nil {
		return nil, err
	}
	dec.seed = cfg.Seed
	l.decor = dec
	l.decor.init(net, batchCap)
	if err := l.planLanes(); err != nil {
		return nil, err
	}
	return l, nil
}

// UpdateOrder returns the order in which the threads take the layers' updates (largest
// first) in a step of phase ph, or nil when that step runs them one after another: on one
// engine thread or OpenBLAS, or when W learns through an optimiser with state.
func (l *Learner) UpdateOrder(ph Phase) []int {
	if !l.sideBySide(ph) {
		return nil
	}
	return l.order
}

// sideBySide reports whether a step of phase ph runs the layers' updates on the lanes.
func (l *Learner) sideBySide(ph Phase) bool { return l.lanes != nil && (l.fused || !ph.UpdateW) }

// setLR sets the weights' learning rate (a scheduled epoch's; the decorrelators keep
// theirs).
func (l *Learner) setLR(lr float64) {
	l.Cfg.Optimizer.LR = lr
	if s, ok := l.opt.(optim.LRSetter); ok {
		s.SetLR(lr)
	}
}

// Optimizer returns the optimiser that applies gradient updates (its state goes into
// checkpoints).
func (l *Learner) Optimizer() optim.Optimizer { return l.opt }

// Trace returns the forward trace of the last step.
func (l *Learner) Trace() *nn.Trace { return l.trace }

// Steps returns the number of learning steps taken.
func (l *Learner) Steps() int64 { return l.steps }

// SetSteps restores the step counter (from a checkpoint).
func (l *Learner) SetSteps(n int64) { l.steps = n }

// Phase says which parameters a step may change.
type Phase struct {
	// UpdateW lets the forward weights (and biases) learn.
	UpdateW bool
	// UpdateR lets the decorrelators learn.
	UpdateR bool
}

// Step learns from one batch: inputs x (N×n_in, N ≤ the batch capacity) with their labels.
// It returns the batch loss before the update. A non-finite loss is returned as is, with
// nothing updated; the caller decides what to do (see [Learner.FirstNonFinite]).
func (l *Learner) Step(x mat32.Matrix, labels []uint8, ph Phase) float64 {
	net := l.Net
	loss := l.forward(x, labels)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss
	}
	l.steps++
	if !ph.UpdateW && !ph.UpdateR {
		return loss
	}
	// Output error, then every hidden layer's credit, before any parameter changes.
	delta := l.outputError(x.Rows, labels, l.lossMult, l.Cfg.OutputDerivative)
	if ph.UpdateW {
		l.credit(delta, x.Rows, l.Cfg.Credit, l.steps)
		if !l.fused {
			l.opt.Begin()
		}
	}
	if l.fused || !ph.UpdateW {
		// No optimiser state: every layer's update depends only on this step's trace and
		// credit, so the lanes may run the layers side by side.
		if l.sideBySide(ph) {
			l.work.delta, l.work.ph = delta, ph
			l.work.next.Store(0)
			l.eng.ParallelFor(len(l.lanes), 1, 1, &l.work)
			l.work.delta = nil
		} else {
			for i := range net.Layers {
				l.updateLayer(l.eng, i, delta[i], ph)
			}
		}
		return loss
	}
	// Every layer's gradient first (each depends only on this step's trace and credit),
	// then the optional global-norm clipping, then the optimiser and the R updates.
	var sq float64
	for i, layer := range net.Layers {
		mat32.ColMeanSquares(l.msq[i], l.trace.X[i])
		l.direction(i, layer, delta[i], l.grad[i], l.gradB[i])
		if l.Cfg.Optimizer.ClipNorm > 0 {
			sq += mat32.Dot(l.grad[i], l.grad[i])
			if layer.B != nil {
				b := mat32.FromSlice(1, len(l.gradB[i]), l.gradB[i])
				sq += mat32.Dot(b, b)
			}
		}
	}
	if f := optim.ClipFactor(l.Cfg.Optimizer.ClipNorm, math.Sqrt(sq)); f < 1 {
		for i := range net.Layers {
			mat32.Scale(float32(f), l.grad[i])
			if l.gradB[i] != nil {
				mat32.Scale(float32(f), mat32.FromSlice(1, len(l.gradB[i]), l.gradB[i]))
			}
		}
	}
	slot := 0
	for i, layer := range net.Layers {
		l.opt.Apply(slot, layer.W, l.grad[i])
		if layer.B != nil {
			l.opt.Apply(slot+1, mat32.FromSlice(1, len(layer.B), layer.B), mat32.FromSlice(1, len(layer.B), l.gradB[i]))
			slot += 2
		} else {
			slot++
		}
		if ph.UpdateR && layer.HasR() {
			l.decor.update(l.eng, i, layer.R, l.trace.X[i], l.msq[i], l.steps)
		}
	}
	return loss
}

// updateLayer applies layer i's plain-SGD weight update (when ph.UpdateW) and then its R
// update (when ph.UpdateR), with the products on engine e.
func (l *Learner) updateLayer(e *mat32.Engine, i int, delta mat32.Matrix, ph Phase) {
	layer := l.Net.Layers[i]
	x := l.trace.X[i]
	mat32.ColMeanSquares(l.msq[i], x)
	if ph.UpdateW {
		l.fusedUpdate(e, i, layer, delta)
	}
	if ph.UpdateR && layer.HasR() {
		l.decor.update(e, i, layer.R, x, l.msq[i], l.steps)
	}
}

// forward runs the batch through the network into the learner's trace and returns the loss.
func (l *Learner) forward(x mat32.Matrix, labels []uint8) float64 {
	l.Net.Forward(l.eng, x, l.trace)
	return l.Cfg.Loss.Value(l.trace.Output(), labels)
}

// outputError sets the credit views to the batch's rows and fills the output layer's with
// δ_L = m·(t − ŷ) [⊙ f'(a_L) with the output-derivative quirk]; it returns the views.
func (l *Learner) outputError(rows int, labels []uint8, m float32, outputDerivative bool) []mat32.Matrix {
	net := l.Net
	L := len(net.Layers)
	delta := l.deltaView
	for i, d := range l.delta {
		delta[i] = d.Slice(0, rows, 0, d.Cols)
	}
	e := delta[L-1]
	l.Cfg.Loss.NegGradient(e, l.trace.Output(), labels)
	mat32.Scale(m, e)
	if outputDerivative {
		mat32.MulDeriv(e, e, l.trace.A[L-1], net.Config.Hidden, net.Config.HiddenParam)
	}
	return delta
}

// direction sets g = −ΔW_i, the gradient that the optimiser receives for layer i's weights,
// and (when gb is not nil and the layer has a bias) gb = −Δb_i, by the configured update. It
// expects the trace, the credit δ and <x²> of the current batch.
func (l *Learner) direction(i int, layer *nn.Layer, delta, g mat32.Matrix, gb []float32) {
	switch l.Cfg.Update {
	case COPI:
		l.copiDirection(i, layer, delta, g, gb)
	case Gradient:
		l.gradientDirection(i, layer, delta, g, gb)
	}
}

// fusedUpdate applies plain SGD's W ← W + η·ΔW (and b ← b + η·Δb) straight into the
// parameters, by the configured update, with the products on engine e.
func (l *Learner) fusedUpdate(e *mat32.Engine, i int, layer *nn.Layer, delta mat32.Matrix) {
	switch l.Cfg.Update {
	case COPI:
		l.copiFused(e, i, layer, delta)
	case Gradient:
		l.gradientFused(e, i, layer, delta)
	}
}

// RuleGradients computes, for the batch (x, labels), what the rule's next [Learner.Step]
// would hand the optimiser for every layer's weights if that step saw this batch:
// g_l = −ΔW_l (so plain SGD would change W_l by −η·g_l), into g[l] (shaped like W_l). It uses
// the code of Step (forward pass, output error, credit, per-layer update direction) but
// changes no parameter, no optimiser state and no step count; it overwrites the learner's
// trace and credit buffers, and brSF's B is drawn for the next step, as that step will draw
// it. The optimiser's own transformation (momentum, Adam's scaling, weight decay) is not
// included. It returns the batch loss and allocates nothing.
func (l *Learner) RuleGradients(x mat32.Matrix, labels []uint8, g []mat32.Matrix) float64 {
	loss := l.forward(x, labels)
	delta := l.outputError(x.Rows, labels, l.lossMult, l.Cfg.OutputDerivative)
	l.credit(delta, x.Rows, l.Cfg.Credit, l.steps+1)
	for i, layer := range l.Net.Layers {
		mat32.ColMeanSquares(l.msq[i], l.trace.X[i])
		l.direction(i, layer, delta[i], g[i], nil)
	}
	return loss
}

// TrueGradients computes the gradient ∇_{W_l} of the batch loss with respect to every
// layer's weights into g[l] (shaped like W_l), by the machinery of Step with backprop credit
// (through W and R): the output error is the loss's own, without the loss multiplier and the
// output-derivative quirk, and the update is the gradient one. For MSE the result is the
// gradient up to the positive factor 2/K (K outputs). It changes no parameter and allocates
// nothing; it overwrites the learner's trace and credit buffers. It returns the batch loss.
func (l *Learner) TrueGradients(x mat32.Matrix, labels []uint8, g []mat32.Matrix) float64 {
	loss := l.forward(x, labels)
	delta := l.outputError(x.Rows, labels, 1, false)
	l.credit(delta, x.Rows, Backprop, l.steps+1)
	for i, layer := range l.Net.Layers {
		l.gradientDirection(i, layer, delta[i], g[i], nil)
	}
	return loss
}

// FirstNonFinite names the first place where a parameter or the last forward pass holds a
// NaN or an infinity, e.g. "layer 3 W", or "" when all are finite.
func (l *Learner) FirstNonFinite() string {
	for i, layer := range l.Net.Layers {
		if layer.HasR() && !mat32.AllFinite(layer.R) {
			return fmt.Sprintf("layer %d R (decorrelator)", i+1)
		}
		if !mat32.AllFinite(layer.W) {
			return fmt.Sprintf("layer %d W", i+1)
		}
		if layer.B != nil && !mat32.AllFinite(mat32.FromSlice(1, len(layer.B), layer.B)) {
			return fmt.Sprintf("layer %d bias", i+1)
		}
		if l.trace.A[i].Data != nil && !mat32.AllFinite(l.trace.A[i]) {
			return fmt.Sprintf("layer %d pre-activation", i+1)
		}
	}
	return ""
}

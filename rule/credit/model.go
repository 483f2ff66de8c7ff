package credit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// Model is a credit-family rule together with the MLP it trains: the family's
// implementation of [learn.Learner]. It owns the network, the rule's learner, the buffers
// of evaluation, and the family's schedule (W frozen in the first DecorOnlyEpochs epochs).
type Model struct {
	// Net is the network; Learner the rule that trains it.
	Net     *nn.MLP
	Learner *Learner
	// Opts are the options the model was built from, Name its rule.
	Opts Options
	Name string

	eng       *mat32.Engine
	evalTrace *nn.Trace
	probe     *AlignmentProbe
	scratchNN mat32.Matrix
	argmax    []int
	batchRows int
}

// NewModel builds rule name's network and learner from opts for shape s, initialised from
// seed: the network's weights from the stream (seed, 1), the feedback matrices from
// (seed, 2).
func NewModel(e *mat32.Engine, name string, opts Options, s learn.Shape, seed uint64) (*Model, error) {
	opts.adapt(name)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	nc, _ := opts.netConfig(true)
	if s.Inputs != nc.Sizes[0] {
		return nil, fmt.Errorf("rule %s: the data have %d inputs per example, the network's input layer %d (set sizes)", name, s.Inputs, nc.Sizes[0])
	}
	if out := nc.Sizes[len(nc.Sizes)-1]; s.Classes > out {
		return nil, fmt.Errorf("rule %s: the data have %d classes, the network has %d outputs (set sizes)", name, s.Classes, out)
	}
	rc, err := opts.RuleConfig(name)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	rc.Seed = seed
	net, err := nn.New(nc, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return nil, err
	}
	batch := max(s.BatchRows, 1)
	l, err := NewLearner(e, net, rc, batch, rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		return nil, err
	}
	evalRows := max(s.EvalRows, 1)
	maxIn := 0
	for _, w := range nc.Sizes[:len(nc.Sizes)-1] {
		maxIn = max(maxIn, w)
	}
	return &Model{Net: net, Learner: l, Opts: opts, Name: name, eng: e,
		evalTrace: net.NewTrace(evalRows), probe: NewAlignmentProbe(l),
		scratchNN: mat32.New(maxIn, maxIn), argmax: make([]int, max(evalRows, batch)), batchRows: batch}, nil
}

// MLP returns the network (for tools that only make sense for an MLP: receptive fields,
// compression).
func (m *Model) MLP() *nn.MLP { return m.Net }

// Describe summarises the model in one line.
func (m *Model) Describe() string {
	w, d := m.Net.NumParams()
	return fmt.Sprintf("rule %s, network %v (%d weights, %d decorrelator entries)", m.Name, m.Opts.Sizes, w, d)
}

// Phase returns the parameters a step at position at may change: R always, W once the
// decorrelation-only epochs are over.
func (m *Model) Phase(at learn.At) Phase {
	return Phase{UpdateW: at.Epoch >= m.Opts.DecorOnlyEpochs, UpdateR: true}
}

// Step runs one step of the rule (see [Learner.Step]) and counts the batch's examples the
// network classified correctly in the forward pass of that step.
func (m *Model) Step(b learn.Batch, at learn.At) (float64, int) {
	if m.Opts.Optimizer.Scheduled() {
		m.Learner.setLR(m.Opts.Optimizer.LRAt(at.Epoch))
	}
	loss := m.Learner.Step(b.X, b.Labels, m.Phase(at))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0
	}
	out := m.Learner.Trace().Output()
	am := m.argmax[:out.Rows]
	mat32.ArgmaxRows(am, out)
	correct := 0
	for i, k := range am {
		if k == int(b.Labels[i]) {
			correct++
		}
	}
	return loss, correct
}

// Predict writes the network's outputs for x (the first scores.Cols of them) into scores.
func (m *Model) Predict(x, scores mat32.Matrix) {
	tr := m.evalTrace
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
func (m *Model) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	loss, acc := Evaluate(m.eng, m.Net, m.evalTrace, m.Learner.Cfg.Loss, x, y, m.argmax)
	return learn.Evaluation{Loss: loss, Acc: acc}
}

// Evaluate returns the mean loss and the accuracy of net on (x, y), running it in chunks of
// tr.Cap rows; argmax is scratch of at least tr.Cap entries.
func Evaluate(e *mat32.Engine, net *nn.MLP, tr *nn.Trace, lossFn nn.Loss, x mat32.Matrix, y []uint8, argmax []int) (loss, acc float64) {
	if x.Rows == 0 {
		return 0, 0
	}
	var correct int
	for i := 0; i < x.Rows; i += tr.Cap {
		j := min(i+tr.Cap, x.Rows)
		net.Forward(e, x.Slice(i, j, 0, x.Cols), tr)
		out := tr.Output()
		loss += lossFn.Value(out, y[i:j]) * float64(j-i)
		am := argmax[:j-i]
		mat32.ArgmaxRows(am, out)
		for k, c := range am {
			if c == int(y[i+k]) {
				correct++
			}
		}
	}
	return loss / float64(x.Rows), float64(correct) / float64(x.Rows)
}

// Probe measures, per layer, how correlated each layer's (decorrelated) input is on the
// given training rows ("decorrelation_per_layer", and its mean "decorrelation"), and the
// rule's alignment with backprop on the first batch of them (see [Alignment]):
// "update_angle_deg", and for rules with feedback matrices "feedback_angle_deg" and
// "feedback_norm_ratio".
func (m *Model) Probe(train learn.Batch) learn.Probe {
	p := learn.Probe{Layers: map[string][]float64{}, Scalars: map[string]float64{}}
	dec := m.DecorrelationPerLayer(train.X)
	mean := 0.0
	for _, d := range dec {
		mean += d / float64(len(dec))
	}
	p.Layers["decorrelation_per_layer"] = dec
	p.Scalars["decorrelation"] = mean
	n := min(m.batchRows, train.X.Rows)
	al := m.probe.Measure(train.X.Slice(0, n, 0, train.X.Cols), train.Labels[:n])
	p.Layers["update_angle_deg"] = al.UpdateAngleDeg
	if al.FeedbackAngleDeg != nil {
		p.Layers["feedback_angle_deg"] = al.FeedbackAngleDeg
		p.Layers["feedback_norm_ratio"] = al.FeedbackNormRatio
	}
	return p
}

// DecorrelationPerLayer measures, for every layer, how correlated its (decorrelated) input
// is on the rows of x (at most the evaluation capacity; see [DecorrelationMeasure]).
func (m *Model) DecorrelationPerLayer(x mat32.Matrix) []float64 {
	n := min(m.evalTrace.Cap, x.Rows)
	m.Net.Forward(m.eng, x.Slice(0, n, 0, x.Cols), m.evalTrace)
	out := make([]float64, len(m.Net.Layers))
	for l, layer := range m.Net.Layers {
		out[l] = DecorrelationMeasure(m.eng, m.evalTrace.X[l], m.scratchNN.Slice(0, layer.In, 0, layer.In))
	}
	return out
}

// NonFinite names the first parameter or activity holding a NaN or an infinity.
func (m *Model) NonFinite() string { return m.Learner.FirstNonFinite() }

// Checkpoint tensor names: layers are numbered from 1, as in the paper.
const tensorSteps = "credit.steps" // int64: learner steps, optimiser steps

// Save adds the network (layer.<l>.W, .b, .R), the feedback matrices (feedback.<l>), the
// optimiser state (optimizer.<name>) and the step counters to ck.
func (m *Model) Save(ck *checkpoint.Checkpoint) error {
	errs := []error{SaveNetwork(ck, m.Net),
		ck.SetInt64s(tensorSteps, []int64{m.Learner.Steps(), m.Learner.Optimizer().Steps()})}
	for i, b := range m.Learner.Feedback {
		if b.Data != nil {
			errs = append(errs, ck.SetMatrix(fmt.Sprintf("feedback.%d", i+1), b))
		}
	}
	st := m.Learner.Optimizer().State()
	for _, name := range sortedKeys(st) {
		errs = append(errs, ck.SetMatrix("optimizer."+name, st[name]))
	}
	return errors.Join(errs...)
}

// Load restores what Save wrote. Checkpoints written before the learner contract kept the
// step counters in the loop's state (entries 2 and 3 of train.state); they load too.
func (m *Model) Load(ck *checkpoint.Checkpoint) error {
	if err := LoadNetwork(ck, m.Net); err != nil {
		return err
	}
	for i, b := range m.Learner.Feedback {
		if b.Data != nil {
			if err := ck.LoadMatrix(fmt.Sprintf("feedback.%d", i+1), b); err != nil {
				return err
			}
		}
	}
	st := m.Learner.Optimizer().State()
	for _, name := range sortedKeys(st) {
		if err := ck.LoadMatrix("optimizer."+name, st[name]); err != nil {
			return err
		}
	}
	var steps []int64
	var err error
	if ck.Has(tensorSteps) {
		steps, err = ck.Int64s(tensorSteps)
	} else if steps, err = ck.Int64s("train.state"); err == nil && len(steps) == 6 {
		steps = steps[2:4]
	}
	if err != nil {
		return err
	}
	if len(steps) != 2 || steps[0] < 0 || steps[1] < 0 {
		return fmt.Errorf("checkpoint step counters %v: want two non-negative counts", steps)
	}
	m.Learner.SetSteps(steps[0])
	m.Learner.Optimizer().SetSteps(steps[1])
	return nil
}

// SaveNetwork adds the network's parameters to ck as layer.<l>.W, layer.<l>.b and
// layer.<l>.R (l from 1).
func SaveNetwork(ck *checkpoint.Checkpoint, net *nn.MLP) error {
	var errs []error
	for i, layer := range net.Layers {
		errs = append(errs, ck.SetMatrix(fmt.Sprintf("layer.%d.W", i+1), layer.W))
		if layer.B != nil {
			errs = append(errs, ck.SetMatrix(fmt.Sprintf("layer.%d.b", i+1), mat32.FromSlice(1, len(layer.B), layer.B)))
		}
		if layer.HasR() {
			errs = append(errs, ck.SetMatrix(fmt.Sprintf("layer.%d.R", i+1), layer.R))
		}
	}
	return errors.Join(errs...)
}

// LoadNetwork copies the parameters saved by [SaveNetwork] into net, checking every shape.
func LoadNetwork(ck *checkpoint.Checkpoint, net *nn.MLP) error {
	for i, layer := range net.Layers {
		if err := ck.LoadMatrix(fmt.Sprintf("layer.%d.W", i+1), layer.W); err != nil {
			return err
		}
		if layer.B != nil {
			if err := ck.LoadMatrix(fmt.Sprintf("layer.%d.b", i+1), mat32.FromSlice(1, len(layer.B), layer.B)); err != nil {
				return err
			}
		}
		if layer.HasR() {
			if err := ck.LoadMatrix(fmt.Sprintf("layer.%d.R", i+1), layer.R); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]mat32.Matrix) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

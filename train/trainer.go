package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/rule"
)

// Data is a labelled dataset in memory: inputs as rows, labels as class indices.
type Data struct {
	// Name says where the data came from (for metrics).
	Name          string
	TrainX, TestX mat32.Matrix
	TrainY, TestY []uint8
	Classes       int
}

// Check reports whether the data fit a network with the given input and output sizes.
func (d *Data) Check(in, out int) error {
	if d.TrainX.Rows != len(d.TrainY) || d.TestX.Rows != len(d.TestY) {
		return fmt.Errorf("data %s: %d training inputs with %d labels, %d test inputs with %d labels",
			d.Name, d.TrainX.Rows, len(d.TrainY), d.TestX.Rows, len(d.TestY))
	}
	if d.TrainX.Cols != in {
		return fmt.Errorf("data %s has %d inputs per example, the network expects %d", d.Name, d.TrainX.Cols, in)
	}
	if d.TestX.Rows > 0 && d.TestX.Cols != in {
		return fmt.Errorf("data %s: test inputs have %d columns, training inputs %d", d.Name, d.TestX.Cols, in)
	}
	if d.Classes > out {
		return fmt.Errorf("data %s has %d classes, the network has %d outputs", d.Name, d.Classes, out)
	}
	return nil
}

// HoldOut returns data whose evaluation set is the last n training examples and whose
// training set is the rest (the COPI reference's validation mode).
func (d *Data) HoldOut(n int) (*Data, error) {
	if n <= 0 || n >= d.TrainX.Rows {
		return nil, fmt.Errorf("validation split of %d from %d training examples", n, d.TrainX.Rows)
	}
	k := d.TrainX.Rows - n
	return &Data{
		Name:   d.Name + fmt.Sprintf(" (validation: last %d of train)", n),
		TrainX: d.TrainX.Slice(0, k, 0, d.TrainX.Cols), TrainY: d.TrainY[:k],
		TestX: d.TrainX.Slice(k, d.TrainX.Rows, 0, d.TrainX.Cols), TestY: d.TrainY[k:],
		Classes: d.Classes,
	}, nil
}

// Record is one evaluation, written as one JSON line to the metrics file.
// Accuracies are fractions in [0, 1].
type Record struct {
	Run     string `json:"run,omitempty"`
	Rule    string `json:"rule"`
	Preset  string `json:"preset,omitempty"`
	Dataset string `json:"dataset"`
	Seed    uint64 `json:"seed"`
	// Epoch is the epoch this evaluation falls in, counted from 0 (epoch 0 is the first pass
	// over the data, decorrelation only in the reference schedule).
	Epoch int `json:"epoch"`
	// EpochFraction is how far through that epoch the evaluation was taken (1 at its end).
	EpochFraction float64 `json:"epoch_fraction"`
	// Step counts the training steps taken so far.
	Step int64 `json:"step"`
	// TrainLoss and TrainAcc average the training batches since the previous evaluation,
	// measured on each batch before its update (0 in the record taken before training,
	// whose Step is 0).
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
	// Decorrelation is the mean over layers of the mean absolute off-diagonal normalised
	// second moment of each layer's (decorrelated) input, on 1000 training examples.
	Decorrelation         float64   `json:"decorrelation"`
	DecorrelationPerLayer []float64 `json:"decorrelation_per_layer"`
	// UpdateAngleDeg is, per layer, the angle in degrees between the weight change the rule
	// would make and the negative gradient of the loss, on the first BatchSize training
	// examples (see rule.Alignment for exactly what is compared).
	UpdateAngleDeg []float64 `json:"update_angle_deg"`
	// FeedbackAngleDeg is, per hidden layer, the angle in degrees between the feedback matrix
	// that carries credit to it and the forward matrix it stands in for (W_{l+1}ᵀ for FA and
	// sign symmetry, the product of the forward weights above for DFA); absent for rules
	// without feedback matrices.
	FeedbackAngleDeg []float64 `json:"feedback_angle_deg,omitempty"`
	// FeedbackNormRatio is, per hidden layer, ‖B‖/‖M‖ for the same pairs.
	FeedbackNormRatio []float64 `json:"feedback_norm_ratio,omitempty"`
	// Seconds is the training time so far, evaluations excluded.
	Seconds float64 `json:"seconds"`
}

// Progress is reported after every training step.
type Progress struct {
	Epoch, Epochs       int
	Step, StepsPerEpoch int
	Loss                float64
}

// Options are the run-time settings of [Trainer.Run] that are not part of the experiment.
type Options struct {
	// Metrics receives one JSON line per evaluation; nil for none.
	Metrics io.Writer
	// CheckpointPath, if set, receives a checkpoint after every epoch, at the end, and when
	// the context is cancelled. It is written atomically and never with non-finite values.
	CheckpointPath string
	// RunLabel is copied into every record's Run field.
	RunLabel string
	// OnStep, if set, is called after every training step.
	OnStep func(Progress)
	// OnEval, if set, is called with every evaluation record.
	OnEval func(Record)
	// EvalAtStart evaluates the untrained network before the first step of a fresh run (a
	// record at epoch 0, fraction 0: chance accuracy, and for feedback-alignment rules
	// update angles near 90°), so that curves start where training does.
	EvalAtStart bool
}

// Trainer holds a network, its learning rule, the data and the position in the schedule.
type Trainer struct {
	Cfg     Config
	Data    *Data
	Net     *nn.MLP
	Learner *rule.Learner

	eng       *mat32.Engine
	evalTrace *nn.Trace
	probe     *rule.AlignmentProbe
	scratchNN mat32.Matrix
	argmax    []int
	batchX    mat32.Matrix
	batchY    []uint8
	perm      []int32

	// Position: the next step to run is step Pos.Step of epoch Pos.Epoch.
	Pos            Position
	seconds        float64
	running        runningStats
	records        []Record
	lastCheckpoint string
}

// Position is a point in the training schedule.
type Position struct {
	Epoch, Step int
}

type runningStats struct {
	loss    float64
	correct int64
	count   int64
}

const evalChunk = 1000

// NewTrainer builds the network and learner that cfg describes, initialised from cfg.Seed.
func NewTrainer(eng *mat32.Engine, cfg Config, data *Data) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nc, _ := cfg.netConfig()
	rc, _ := cfg.ruleConfig()
	if err := data.Check(nc.Sizes[0], nc.Sizes[len(nc.Sizes)-1]); err != nil {
		if cfg.Preset != "" {
			return nil, fmt.Errorf("preset %s: %w", cfg.Preset, err)
		}
		return nil, err
	}
	if data.TrainX.Rows < cfg.BatchSize {
		return nil, fmt.Errorf("data %s has %d training examples, fewer than one batch of %d",
			data.Name, data.TrainX.Rows, cfg.BatchSize)
	}
	net, err := nn.New(nc, rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return nil, err
	}
	learner, err := rule.NewLearner(eng, net, rc, cfg.BatchSize, rand.New(rand.NewPCG(cfg.Seed, 2)))
	if err != nil {
		return nil, err
	}
	maxIn := 0
	for _, s := range nc.Sizes[:len(nc.Sizes)-1] {
		maxIn = max(maxIn, s)
	}
	t := &Trainer{
		Cfg: cfg, Data: data, Net: net, Learner: learner, eng: eng,
		evalTrace: net.NewTrace(evalChunk),
		probe:     rule.NewAlignmentProbe(learner),
		scratchNN: mat32.New(maxIn, maxIn),
		argmax:    make([]int, max(evalChunk, cfg.BatchSize)),
		batchX:    mat32.New(cfg.BatchSize, nc.Sizes[0]),
		batchY:    make([]uint8, cfg.BatchSize),
		perm:      make([]int32, data.TrainX.Rows),
	}
	return t, nil
}

// StepsPerEpoch is the number of full batches in the training set; the remainder is
// dropped, as in the reference.
func (t *Trainer) StepsPerEpoch() int { return t.Data.TrainX.Rows / t.Cfg.BatchSize }

// Records returns the evaluations made so far.
func (t *Trainer) Records() []Record { return t.records }

// Seconds returns the training time so far, evaluations excluded.
func (t *Trainer) Seconds() float64 { return t.seconds }

// shuffle sets t.perm to epoch's order: file order for epoch 0 unless ShuffleFirstEpoch,
// otherwise a permutation drawn from a stream that depends only on the seed and the epoch.
func (t *Trainer) shuffle(epoch int) {
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	if epoch == 0 && !t.Cfg.ShuffleFirstEpoch {
		return
	}
	rng := rand.New(rand.NewPCG(t.Cfg.Seed, 1000+uint64(epoch)))
	rng.Shuffle(len(t.perm), func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
}

// BeforeTraining reports whether the record is of the untrained network (see
// Options.EvalAtStart): no step taken, so no training loss or accuracy.
func (r Record) BeforeTraining() bool { return r.Step == 0 }

// DivergenceError reports non-finite values met during training.
type DivergenceError struct {
	Epoch, Step int
	GlobalStep  int64
	Where       string
	Checkpoint  string
}

func (e *DivergenceError) Error() string {
	msg := fmt.Sprintf("training diverged at epoch %d, step %d (global step %d): non-finite values in %s",
		e.Epoch, e.Step, e.GlobalStep, e.Where)
	if e.Checkpoint != "" {
		msg += "; the last good checkpoint is " + e.Checkpoint
	} else {
		msg += "; try a smaller learning rate"
	}
	return msg
}

// Run trains from the current position to the end of cfg.Epochs, evaluating at the
// configured interval. On cancellation it writes a checkpoint (if a path is set) at the
// current position and returns the context's error.
func (t *Trainer) Run(ctx context.Context, opt Options) error {
	spe := t.StepsPerEpoch()
	evalInterval := max(1, int(math.Round(t.Cfg.EvalEvery*float64(spe))))
	var enc *json.Encoder
	if opt.Metrics != nil {
		enc = json.NewEncoder(opt.Metrics)
	}
	// emit evaluates at the current position and hands the record on.
	emit := func(frac float64) error {
		rec := t.evaluate(opt.RunLabel, frac)
		if enc != nil {
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("writing metrics: %w", err)
			}
		}
		if opt.OnEval != nil {
			opt.OnEval(rec)
		}
		return nil
	}
	if opt.EvalAtStart && t.Pos == (Position{}) && t.Learner.Steps() == 0 && t.Cfg.Epochs > 0 {
		if err := emit(0); err != nil {
			return err
		}
	}
	for t.Pos.Epoch < t.Cfg.Epochs {
		epoch := t.Pos.Epoch
		t.shuffle(epoch)
		phase := rule.Phase{UpdateW: epoch >= t.Cfg.DecorOnlyEpochs, UpdateR: true}
		start := time.Now()
		for t.Pos.Step < spe {
			if err := ctx.Err(); err != nil {
				t.seconds += time.Since(start).Seconds()
				if opt.CheckpointPath != "" && t.Learner.FirstNonFinite() == "" {
					if werr := t.SaveCheckpoint(opt.CheckpointPath); werr != nil {
						return errors.Join(err, werr)
					}
				}
				return err
			}
			s := t.Pos.Step
			t.gather(s)
			loss := t.Learner.Step(t.batchX, t.batchY, phase)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				where := t.Learner.FirstNonFinite()
				if where == "" {
					where = "the network output"
				}
				return &DivergenceError{Epoch: epoch, Step: s, GlobalStep: t.Learner.Steps(), Where: where, Checkpoint: t.lastCheckpoint}
			}
			t.account(loss)
			t.Pos.Step++
			if opt.OnStep != nil {
				opt.OnStep(Progress{Epoch: epoch, Epochs: t.Cfg.Epochs, Step: t.Pos.Step, StepsPerEpoch: spe, Loss: loss})
			}
			if t.Pos.Step%evalInterval == 0 || t.Pos.Step == spe {
				t.seconds += time.Since(start).Seconds()
				if err := emit(float64(t.Pos.Step) / float64(spe)); err != nil {
					return err
				}
				start = time.Now()
			}
		}
		t.seconds += time.Since(start).Seconds()
		t.Pos = Position{Epoch: epoch + 1}
		if opt.CheckpointPath != "" {
			if where := t.Learner.FirstNonFinite(); where != "" {
				return &DivergenceError{Epoch: epoch, Step: spe - 1, GlobalStep: t.Learner.Steps(), Where: where, Checkpoint: t.lastCheckpoint}
			}
			if err := t.SaveCheckpoint(opt.CheckpointPath); err != nil {
				return err
			}
		}
	}
	return nil
}

// gather copies batch s of the current epoch's order into the batch buffers.
func (t *Trainer) gather(s int) {
	b := t.Cfg.BatchSize
	for i := 0; i < b; i++ {
		src := int(t.perm[s*b+i])
		copy(t.batchX.Row(i), t.Data.TrainX.Row(src))
		t.batchY[i] = t.Data.TrainY[src]
	}
}

// account adds the last step's batch loss and accuracy to the running training statistics.
func (t *Trainer) account(loss float64) {
	out := t.Learner.Trace().Output()
	am := t.argmax[:out.Rows]
	mat32.ArgmaxRows(am, out)
	for i, k := range am {
		if k == int(t.batchY[i]) {
			t.running.correct++
		}
	}
	t.running.loss += loss * float64(out.Rows)
	t.running.count += int64(out.Rows)
}

// evaluate measures the test set, the decorrelation and the alignment with backprop, and
// resets the running statistics.
func (t *Trainer) evaluate(label string, frac float64) Record {
	rec := Record{Run: label, Rule: t.Cfg.Rule, Preset: t.Cfg.Preset, Dataset: t.Data.Name, Seed: t.Cfg.Seed,
		Epoch: t.Pos.Epoch, EpochFraction: frac, Step: t.Learner.Steps(), Seconds: t.seconds}
	if t.running.count > 0 {
		rec.TrainLoss = t.running.loss / float64(t.running.count)
		rec.TrainAcc = float64(t.running.correct) / float64(t.running.count)
	}
	t.running = runningStats{}
	rec.TestLoss, rec.TestAcc = t.Evaluate(t.Data.TestX, t.Data.TestY)
	rec.DecorrelationPerLayer = t.DecorrelationPerLayer()
	for _, d := range rec.DecorrelationPerLayer {
		rec.Decorrelation += d / float64(len(rec.DecorrelationPerLayer))
	}
	al := t.Alignment()
	rec.UpdateAngleDeg, rec.FeedbackAngleDeg, rec.FeedbackNormRatio = al.UpdateAngleDeg, al.FeedbackAngleDeg, al.FeedbackNormRatio
	t.records = append(t.records, rec)
	return rec
}

// Evaluate returns the mean loss and the accuracy of the network on (x, y).
func (t *Trainer) Evaluate(x mat32.Matrix, y []uint8) (loss, acc float64) {
	return Evaluate(t.eng, t.Net, t.evalTrace, t.Learner.Cfg.Loss, x, y, t.argmax)
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

// Alignment measures the rule's alignment with backprop (see rule.Alignment) on one fixed
// batch: the first BatchSize training examples. It changes no parameter.
func (t *Trainer) Alignment() rule.Alignment {
	n := t.Cfg.BatchSize
	return t.probe.Measure(t.Data.TrainX.Slice(0, n, 0, t.Data.TrainX.Cols), t.Data.TrainY[:n])
}

// DecorrelationPerLayer measures, for every layer, how correlated its (decorrelated) input is
// on the first 1000 training examples (see rule.DecorrelationMeasure).
func (t *Trainer) DecorrelationPerLayer() []float64 {
	n := min(evalChunk, t.Data.TrainX.Rows)
	t.Net.Forward(t.eng, t.Data.TrainX.Slice(0, n, 0, t.Data.TrainX.Cols), t.evalTrace)
	out := make([]float64, len(t.Net.Layers))
	for l, layer := range t.Net.Layers {
		x := t.evalTrace.X[l]
		out[l] = rule.DecorrelationMeasure(t.eng, x, t.scratchNN.Slice(0, layer.In, 0, layer.In))
	}
	return out
}

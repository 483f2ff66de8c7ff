package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Data is a labelled dataset in memory: inputs as rows, labels as class indices.
type Data struct {
	// Name says where the data came from (for metrics).
	Name          string
	TrainX, TestX mat32.Matrix
	TrainY, TestY []uint8
	Classes       int

	id Identity // computed by Identity
}

// Check reports whether the data are consistent: as many labels as inputs, test inputs as
// wide as training inputs, labels below Classes.
func (d *Data) Check() error {
	if d.TrainX.Rows != len(d.TrainY) || d.TestX.Rows != len(d.TestY) {
		return fmt.Errorf("data %s: %d training inputs with %d labels, %d test inputs with %d labels",
			d.Name, d.TrainX.Rows, len(d.TrainY), d.TestX.Rows, len(d.TestY))
	}
	if d.TestX.Rows > 0 && d.TestX.Cols != d.TrainX.Cols {
		return fmt.Errorf("data %s: test inputs have %d columns, training inputs %d", d.Name, d.TestX.Cols, d.TrainX.Cols)
	}
	if d.Classes < 1 || d.Classes > 256 {
		return fmt.Errorf("data %s: %d classes, want 1 to 256", d.Name, d.Classes)
	}
	return nil
}

// Identity says which data a run trained on: enough to tell the embedded sample from the
// full dataset, or one dataset from another with the same name.
type Identity struct {
	Name                         string
	Train, Test, Inputs, Classes int
	// Hash is the first 12 hex digits of the SHA-256 of the inputs' bits and the labels.
	Hash string
}

// String formats the identity, e.g. "fashion-mnist (60000 train / 10000 test × 784, 10
// classes, data 1a2b3c4d5e6f)".
func (id Identity) String() string {
	return fmt.Sprintf("%s (%d train / %d test × %d, %d classes, data %s)", id.Name, id.Train, id.Test, id.Inputs, id.Classes, id.Hash)
}

// Identity returns the data's identity (computed once; the data must not change after).
func (d *Data) Identity() Identity {
	if d.id.Hash != "" {
		return d.id
	}
	h := sha256.New()
	var buf [4]byte
	for _, m := range []mat32.Matrix{d.TrainX, d.TestX} {
		row := make([]byte, 4*m.Cols)
		for i := 0; i < m.Rows; i++ {
			for j, v := range m.Row(i) {
				binary.LittleEndian.PutUint32(row[4*j:], math.Float32bits(v))
			}
			h.Write(row)
		}
		binary.LittleEndian.PutUint32(buf[:], uint32(m.Rows))
		h.Write(buf[:])
	}
	h.Write(d.TrainY)
	h.Write(d.TestY)
	d.id = Identity{Name: d.Name, Train: d.TrainX.Rows, Test: d.TestX.Rows, Inputs: d.TrainX.Cols,
		Classes: d.Classes, Hash: hex.EncodeToString(h.Sum(nil))[:12]}
	return d.id
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

// Record is one evaluation, written as one JSON line to the metrics file: the fields every
// rule has, then the per-layer series and scalars the rule's probe and evaluation report.
// Accuracies are fractions in [0, 1].
type Record struct {
	Run     string `json:"run,omitempty"`
	Rule    string `json:"rule"`
	Preset  string `json:"preset,omitempty"`
	Dataset string `json:"dataset"`
	Seed    uint64 `json:"seed"`
	// DataID is the short content hash of the data (see Data.Identity), so that results on
	// the embedded sample are never taken for results on the full dataset.
	DataID string `json:"data_id,omitempty"`
	// Epoch is the epoch this evaluation falls in, counted from 0.
	Epoch int `json:"epoch"`
	// EpochFraction is how far through that epoch the evaluation was taken (1 at its end).
	EpochFraction float64 `json:"epoch_fraction"`
	// Step counts the training steps taken so far.
	Step int64 `json:"step"`
	// TrainLoss and TrainAcc average the training batches since the previous evaluation,
	// measured on each batch before its update (0 in the record taken before training,
	// whose Step is 0).
	TrainLoss float64 `json:"train_loss"`
	// TrainAcc is absent (nil) for rules whose steps do not measure their accuracy.
	TrainAcc *float64 `json:"train_acc,omitempty"`
	TestLoss float64  `json:"test_loss"`
	TestAcc  float64  `json:"test_acc"`
	// ValLoss and ValAcc measure the examples held out by Config.ValidationSplit (absent
	// without one).
	ValLoss *float64 `json:"val_loss,omitempty"`
	ValAcc  *float64 `json:"val_acc,omitempty"`
	// Seconds is the training time so far, evaluations excluded.
	Seconds float64 `json:"seconds"`
	// Layers holds the rule's per-layer series by name, one value per layer (e.g. the COPI
	// family's "update_angle_deg": the angle between each layer's update and the negative
	// gradient; forward-forward's "goodness_pos").
	Layers map[string][]float64 `json:"layers,omitempty"`
	// Scalars holds the rule's other measurements by name (e.g. "decorrelation", or
	// forward-forward's "acc_goodness" and "acc_softmax").
	Scalars map[string]float64 `json:"scalars,omitempty"`
	// Changes lists, in the first record after a resume that changed options, each changed
	// key with its old and new value ("optimizer.lr": "0.001 → 0.0005").
	Changes map[string]string `json:"changes,omitempty"`
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
	// OnEval, if set, is called with every evaluation record; an error it returns stops the
	// run at once (e.g. a metrics file that can no longer be written).
	OnEval func(Record) error
	// EvalAtStart evaluates the untrained network before the first step of a fresh run (a
	// record at epoch 0, fraction 0: chance accuracy, and for feedback-alignment rules
	// update angles near 90°), so that curves start where training does.
	EvalAtStart bool
}

// Trainer holds a learner, the data and the position in the schedule.
type Trainer struct {
	Cfg     Config
	Data    *Data
	Learner learn.Learner

	eng    *mat32.Engine
	batch  learn.Batch
	perm   []int32
	scores mat32.Matrix
	argmax []int

	// trainIdx lists the training examples the loop trains on when a validation split is
	// held out (nil: all of Data.TrainX, in file order); valX and valY are the held-out
	// examples, probeX and probeY the first training examples the probe sees.
	trainIdx     []int32
	valX, probeX mat32.Matrix
	valY, probeY []uint8
	norm         *inputNorm   // Cfg.InputMean and InputStd; nil without
	testX        mat32.Matrix // Data.TestX as the learner sees it (normalised)
	epochStats   runningStats // this epoch's training batches, for StopAtTrainAccuracy

	// Pos is the position: the next step to run is step Pos.Step of epoch Pos.Epoch.
	Pos Position
	// Stopped, when set, says why the run ended before its last epoch (StopAtTrainAccuracy).
	Stopped        string
	changes        map[string]string // options changed on resume, for the next record
	steps          int64
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
	loss           float64
	correct, count int64
	measured       bool // some step counted its correct examples
}

// evalChunk is the largest number of rows the learner is asked to predict at once, and the
// number of training examples its probe sees.
const evalChunk = 1000

// NewTrainer builds the learner that cfg describes for the data, initialised from cfg.Seed.
func NewTrainer(eng *mat32.Engine, cfg Config, data *Data) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := data.Check(); err != nil {
		return nil, err
	}
	if data.TrainX.Rows < cfg.BatchSize {
		return nil, fmt.Errorf("data %s has %d training examples, fewer than one batch of %d",
			data.Name, data.TrainX.Rows, cfg.BatchSize)
	}
	cfg = cfg.Clone()
	r, _ := learn.Lookup(cfg.Rule)
	shape := learn.Shape{Inputs: data.TrainX.Cols, Classes: data.Classes, BatchRows: cfg.BatchSize, EvalRows: evalChunk}
	if err := checkMemory(r, cfg.Options, shape); err != nil {
		return nil, err
	}
	l, err := r.New(eng, cfg.Options, shape, cfg.Seed)
	if err != nil {
		if cfg.Preset != "" {
			return nil, fmt.Errorf("preset %s on %s: %w", cfg.Preset, data.Name, err)
		}
		return nil, fmt.Errorf("%s: %w", data.Name, err)
	}
	t := &Trainer{
		Cfg: cfg, Data: data, Learner: l, eng: eng,
		batch:  learn.Batch{X: mat32.New(cfg.BatchSize, data.TrainX.Cols), Labels: make([]uint8, cfg.BatchSize)},
		scores: mat32.New(evalChunk, data.Classes),
		argmax: make([]int, evalChunk),
	}
	if t.norm, err = newInputNorm(cfg.InputMean, cfg.InputStd, data.TrainX.Cols); err != nil {
		return nil, fmt.Errorf("%s: %w", data.Name, err)
	}
	if cfg.ValidationSplit > 0 {
		if err := t.splitValidation(); err != nil {
			return nil, err
		}
	}
	t.perm = make([]int32, t.trainRows())
	n := min(evalChunk, t.trainRows())
	if t.trainIdx == nil {
		t.probeX, t.probeY = data.TrainX.Slice(0, n, 0, data.TrainX.Cols), data.TrainY[:n]
		t.probeX = t.norm.copyOf(t.probeX)
	} else {
		t.probeX, t.probeY = gatherRows(data.TrainX, data.TrainY, t.trainIdx[:n])
		if t.norm != nil {
			t.norm.apply(t.probeX)
		}
	}
	t.testX = t.norm.copyOf(data.TestX)
	return t, nil
}

// splitValidation holds out Cfg.ValidationSplit of the training examples, chosen by a
// permutation drawn from the seed (a stream of its own, so the split does not depend on
// the shuffles). Both parts keep file order.
func (t *Trainer) splitValidation() error {
	rows := t.Data.TrainX.Rows
	nVal := int(math.Round(t.Cfg.ValidationSplit * float64(rows)))
	if nVal < 1 || rows-nVal < t.Cfg.BatchSize {
		return fmt.Errorf("validation_split %v of %d training examples leaves %d for validation and %d for training: want at least 1 and one batch of %d",
			t.Cfg.ValidationSplit, rows, nVal, rows-nVal, t.Cfg.BatchSize)
	}
	perm := make([]int32, rows)
	for i := range perm {
		perm[i] = int32(i)
	}
	rng := rand.New(rand.NewPCG(t.Cfg.Seed, validationStream))
	rng.Shuffle(rows, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	val, train := perm[:nVal], perm[nVal:]
	slices.Sort(val)
	slices.Sort(train)
	t.trainIdx = train
	t.valX, t.valY = gatherRows(t.Data.TrainX, t.Data.TrainY, val)
	if t.norm != nil {
		t.norm.apply(t.valX)
	}
	return nil
}

// validationStream is the random stream of the validation split (shuffles use 1000+epoch).
const validationStream = 0x76616c

// gatherRows copies the rows idx of (x, y) into a new matrix and label slice.
func gatherRows(x mat32.Matrix, y []uint8, idx []int32) (mat32.Matrix, []uint8) {
	m, l := mat32.New(len(idx), x.Cols), make([]uint8, len(idx))
	for i, r := range idx {
		copy(m.Row(i), x.Row(int(r)))
		l[i] = y[r]
	}
	return m, l
}

// trainRows is the number of examples the loop trains on.
func (t *Trainer) trainRows() int {
	if t.trainIdx != nil {
		return len(t.trainIdx)
	}
	return t.Data.TrainX.Rows
}

// ValidationRows is the number of held-out validation examples (0 without a split).
func (t *Trainer) ValidationRows() int { return len(t.valY) }

// StepsPerEpoch is the number of full batches in the training set (without the examples
// held out for validation); the remainder is dropped, as in the COPI reference.
func (t *Trainer) StepsPerEpoch() int { return t.trainRows() / t.Cfg.BatchSize }

// Steps returns the number of training steps taken.
func (t *Trainer) Steps() int64 { return t.steps }

// Records returns the evaluations made so far.
func (t *Trainer) Records() []Record { return t.records }

// Seconds returns the training time so far, evaluations excluded.
func (t *Trainer) Seconds() float64 { return t.seconds }

// Describe summarises the learner in one line (its own words when it has them).
func (t *Trainer) Describe() string {
	if d, ok := t.Learner.(learn.Describer); ok {
		return d.Describe()
	}
	return "rule " + t.Cfg.Rule
}

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

// WriteError reports that the run could not write its metrics or a checkpoint: a failure of
// the machine (disk full, permissions), not of the run's input.
type WriteError struct {
	// What names what was being written ("metrics", "checkpoint PATH").
	What string
	Err  error
}

func (e *WriteError) Error() string { return "writing " + e.What + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *WriteError) Unwrap() error { return e.Err }

// at returns the learner's view of the current position.
func (t *Trainer) at() learn.At {
	return learn.At{Epoch: t.Pos.Epoch, Epochs: t.Cfg.Epochs, Step: t.Pos.Step,
		StepsPerEpoch: t.StepsPerEpoch(), Global: t.steps}
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
				return &WriteError{What: "metrics", Err: err}
			}
		}
		if opt.OnEval != nil {
			if err := opt.OnEval(rec); err != nil {
				return err
			}
		}
		return nil
	}
	if opt.EvalAtStart && t.Pos == (Position{}) && t.steps == 0 && t.Cfg.Epochs > 0 {
		if err := emit(0); err != nil {
			return err
		}
	}
	for t.Pos.Epoch < t.Cfg.Epochs && t.Stopped == "" {
		epoch := t.Pos.Epoch
		t.shuffle(epoch)
		start := time.Now()
		for t.Pos.Step < spe {
			if err := ctx.Err(); err != nil {
				t.seconds += time.Since(start).Seconds()
				if opt.CheckpointPath != "" && t.Learner.NonFinite() == "" {
					if werr := t.SaveCheckpoint(opt.CheckpointPath); werr != nil {
						return errors.Join(err, werr)
					}
				}
				return err
			}
			s := t.Pos.Step
			t.gather(s)
			loss, correct := t.Learner.Step(t.batch, t.at())
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				where := t.Learner.NonFinite()
				if where == "" {
					where = "the loss"
				}
				return &DivergenceError{Epoch: epoch, Step: s, GlobalStep: t.steps, Where: where, Checkpoint: t.lastCheckpoint}
			}
			t.steps++
			t.account(loss, correct)
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
		if stop := t.Cfg.StopAtTrainAccuracy; stop > 0 {
			if t.Cfg.StopMeasure == "full" {
				if acc := 100 * t.trainAccuracy(); acc >= stop {
					t.Stopped = fmt.Sprintf("training accuracy %.2f%% (a full pass) after epoch %d reached stop_at_train_accuracy %g", acc, epoch, stop)
				}
			} else if t.epochStats.measured && t.epochStats.count > 0 {
				if acc := 100 * float64(t.epochStats.correct) / float64(t.epochStats.count); acc >= stop {
					t.Stopped = fmt.Sprintf("training accuracy %.2f%% in epoch %d reached stop_at_train_accuracy %g", acc, epoch, stop)
				}
			}
		}
		t.epochStats = runningStats{}
		if opt.CheckpointPath != "" {
			if where := t.Learner.NonFinite(); where != "" {
				return &DivergenceError{Epoch: epoch, Step: spe - 1, GlobalStep: t.steps, Where: where, Checkpoint: t.lastCheckpoint}
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
		if t.trainIdx != nil {
			src = int(t.trainIdx[src])
		}
		copy(t.batch.X.Row(i), t.Data.TrainX.Row(src))
		if t.norm != nil {
			t.norm.row(t.batch.X.Row(i))
		}
		t.batch.Labels[i] = t.Data.TrainY[src]
	}
}

// account adds the last step's batch loss and accuracy to the running training statistics.
func (t *Trainer) account(loss float64, correct int) {
	n := int64(t.Cfg.BatchSize)
	if correct >= 0 {
		t.running.correct += int64(correct)
		t.running.measured = true
	}
	t.running.loss += loss * float64(n)
	t.running.count += n
	if correct >= 0 {
		t.epochStats.correct += int64(correct)
		t.epochStats.measured = true
	}
	t.epochStats.count += n
}

// evaluate measures the test set and the learner's probe, and resets the running
// statistics.
func (t *Trainer) evaluate(label string, frac float64) Record {
	rec := Record{Run: label, Rule: t.Cfg.Rule, Preset: t.Cfg.Preset, Dataset: t.Data.Name, Seed: t.Cfg.Seed,
		DataID: t.Data.Identity().Hash, Epoch: t.Pos.Epoch, EpochFraction: frac, Step: t.steps, Seconds: t.seconds,
		Changes: t.changes}
	t.changes = nil
	if t.running.count > 0 {
		rec.TrainLoss = t.running.loss / float64(t.running.count)
		if t.running.measured {
			acc := float64(t.running.correct) / float64(t.running.count)
			rec.TrainAcc = &acc
		}
	}
	t.running = runningStats{}
	ev := t.Evaluate(t.testX, t.Data.TestY)
	rec.TestLoss, rec.TestAcc = ev.Loss, ev.Acc
	if len(t.valY) > 0 {
		v := t.Evaluate(t.valX, t.valY)
		rec.ValLoss, rec.ValAcc = &v.Loss, &v.Acc
	}
	if p, ok := t.Learner.(learn.Prober); ok {
		pr := p.Probe(learn.Batch{X: t.probeX, Labels: t.probeY})
		rec.Layers, rec.Scalars = pr.Layers, pr.Scalars
	}
	for k, v := range ev.Scalars {
		if rec.Scalars == nil {
			rec.Scalars = map[string]float64{}
		}
		rec.Scalars[k] = v
	}
	t.records = append(t.records, rec)
	return rec
}

// Evaluate measures the learner on (x, y): through its own Evaluate when it has one, else
// the accuracy of its predictions (and no loss).
func (t *Trainer) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	return Evaluate(t.Learner, x, y, t.scores, t.argmax)
}

// Evaluate measures l on (x, y): through l's own Evaluate when it has one, else the accuracy
// of its predictions in chunks of scores.Rows rows (argmax is scratch of as many entries).
func Evaluate(l learn.Learner, x mat32.Matrix, y []uint8, scores mat32.Matrix, argmax []int) learn.Evaluation {
	if e, ok := l.(learn.Evaluator); ok {
		return e.Evaluate(x, y)
	}
	if x.Rows == 0 {
		return learn.Evaluation{}
	}
	correct := 0
	for i := 0; i < x.Rows; i += scores.Rows {
		j := min(i+scores.Rows, x.Rows)
		s := scores.Slice(0, j-i, 0, scores.Cols)
		l.Predict(x.Slice(i, j, 0, x.Cols), s)
		am := argmax[:j-i]
		mat32.ArgmaxRows(am, s)
		for k, c := range am {
			if c == int(y[i+k]) {
				correct++
			}
		}
	}
	return learn.Evaluation{Acc: float64(correct) / float64(x.Rows)}
}

// BestValidation returns the epoch-end record with the lowest validation loss (with the
// highest validation accuracy for rules that measure no loss; the earlier record on ties):
// the record whose test accuracy a run with a validation split reports. ok is false when
// no epoch-end record has a validation measurement.
func BestValidation(recs []Record) (best Record, ok bool) {
	hasLoss := false
	for _, r := range recs {
		if r.ValLoss != nil && *r.ValLoss != 0 {
			hasLoss = true
		}
	}
	for _, r := range recs {
		if r.ValLoss == nil || r.ValAcc == nil || r.EpochFraction < 1 {
			continue
		}
		better := !ok
		if ok && hasLoss {
			better = *r.ValLoss < *best.ValLoss
		} else if ok {
			better = *r.ValAcc > *best.ValAcc
		}
		if better {
			best, ok = r, true
		}
	}
	return best, ok
}

// trainAccuracy measures the training examples (without a held-out validation part) with
// the current weights, in chunks of evalChunk rows gathered and normalised as training
// batches are.
func (t *Trainer) trainAccuracy() float64 {
	n := t.trainRows()
	buf := mat32.New(min(evalChunk, n), t.Data.TrainX.Cols)
	labels := make([]uint8, buf.Rows)
	correct := 0.0
	for i := 0; i < n; i += buf.Rows {
		j := min(i+buf.Rows, n)
		for r := i; r < j; r++ {
			src := r
			if t.trainIdx != nil {
				src = int(t.trainIdx[r])
			}
			copy(buf.Row(r-i), t.Data.TrainX.Row(src))
			if t.norm != nil {
				t.norm.row(buf.Row(r - i))
			}
			labels[r-i] = t.Data.TrainY[src]
		}
		x := buf.Slice(0, j-i, 0, buf.Cols)
		correct += t.Evaluate(x, labels[:j-i]).Acc * float64(j-i)
	}
	return correct / float64(n)
}

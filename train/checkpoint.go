package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Checkpoint metadata keys and tensor names written by the loop; the learner adds its own
// tensors (see learn.Learner.Save).
const (
	metaConfig  = "copi.config"  // the Config as JSON (rule, loop settings, rule options)
	metaRule    = "copi.rule"    // the rule's name, readable without decoding the config
	metaShape   = "copi.shape"   // the learn.Shape the learner was built for, as JSON
	metaRecords = "copi.records" // the evaluations so far, as JSON
	metaData    = "copi.data"    // the Identity of the data the run trains on, as JSON
	metaStopped = "copi.stopped" // why the run ended early (Trainer.Stopped), when it did
	tensorEpoch = "train.epoch"  // int64: this epoch's correct, count, measured (for stopping)
	tensorState = "train.state"  // int64: epoch, step, global steps, correct, count, measured
	tensorTimes = "train.seconds"
)

// SaveCheckpoint writes the trainer's whole state to path atomically: the configuration,
// the position in the schedule, the learner's tensors and the metrics so far. Resuming from
// it continues bit for bit as if never interrupted (for the same thread count).
func (t *Trainer) SaveCheckpoint(path string) error {
	ck := checkpoint.New()
	cfgJSON, err := json.Marshal(t.Cfg)
	if err != nil {
		return fmt.Errorf("checkpoint: encoding config: %w", err)
	}
	recJSON, err := json.Marshal(t.records)
	if err != nil {
		return fmt.Errorf("checkpoint: encoding records: %w", err)
	}
	shapeJSON, _ := json.Marshal(t.shape())
	dataJSON, _ := json.Marshal(t.Data.Identity())
	measured := boolInt(t.running.measured)
	errs := []error{
		ck.SetMeta(metaConfig, string(cfgJSON)),
		ck.SetMeta(metaRule, t.Cfg.Rule),
		ck.SetMeta(metaShape, string(shapeJSON)),
		ck.SetMeta(metaData, string(dataJSON)),
		ck.SetMeta(metaRecords, string(recJSON)),
		ck.SetInt64s(tensorState, []int64{int64(t.Pos.Epoch), int64(t.Pos.Step), t.steps,
			t.running.correct, t.running.count, measured}),
		ck.SetFloat64s(tensorTimes, []float64{t.seconds, t.running.loss}),
		ck.SetInt64s(tensorEpoch, []int64{t.epochStats.correct, t.epochStats.count, boolInt(t.epochStats.measured)}),
		t.Learner.Save(ck),
	}
	if t.Stopped != "" {
		errs = append(errs, ck.SetMeta(metaStopped, t.Stopped))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := checkpoint.Write(path, ck); err != nil {
		return &WriteError{What: "checkpoint " + path, Err: err}
	}
	t.lastCheckpoint = path
	return nil
}

// shape is the learn.Shape the trainer built its learner for.
func (t *Trainer) shape() learn.Shape {
	return learn.Shape{Inputs: t.Data.TrainX.Cols, Classes: t.Data.Classes, BatchRows: t.Cfg.BatchSize, EvalRows: evalChunk}
}

// ReadConfig returns the training configuration stored in a checkpoint.
func ReadConfig(ck *checkpoint.Checkpoint) (Config, error) {
	var cfg Config
	raw, ok := ck.Meta(metaConfig)
	if !ok {
		return cfg, fmt.Errorf("checkpoint has no %s metadata: not written by copi train", metaConfig)
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return cfg, fmt.Errorf("checkpoint config: %w", err)
	}
	return cfg, nil
}

// Opened is a learner rebuilt from a checkpoint without data.
type Opened struct {
	Learner learn.Learner
	Config  Config
	Shape   learn.Shape
	// Data is the identity of the data the model was trained on (zero for checkpoints
	// written before checkpoints recorded it).
	Data Identity
}

// Open rebuilds the learner saved in the checkpoint at path, without data: any rule's
// checkpoint, through its registration. Each override ("key=value", as --set gives it)
// changes the configuration before the learner is built, for options that only matter at
// test time (e.g. forward-forward's prediction mode).
func Open(eng *mat32.Engine, path string, overrides ...string) (*Opened, error) {
	ck, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(ck)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, kv := range overrides {
		if err := cfg.Set(kv); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var shape learn.Shape
	raw, ok := ck.Meta(metaShape)
	if !ok {
		return nil, fmt.Errorf("%s: checkpoint has no %s metadata (written before checkpoints named their shape): resume it for one more epoch with copi train --resume, then evaluate the new checkpoint", path, metaShape)
	}
	if err := json.Unmarshal([]byte(raw), &shape); err != nil || shape.Inputs <= 0 || shape.Classes <= 0 || shape.BatchRows <= 0 {
		return nil, fmt.Errorf("%s: checkpoint shape %q is not valid", path, raw)
	}
	shape.EvalRows = evalChunk
	r, _ := learn.Lookup(cfg.Rule)
	l, err := r.New(eng, cfg.Options, shape, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := l.Load(ck); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o := &Opened{Learner: l, Config: cfg, Shape: shape}
	if raw, ok := ck.Meta(metaData); ok {
		_ = json.Unmarshal([]byte(raw), &o.Data)
	}
	return o, nil
}

// Evaluate measures the opened learner on (x, y); the data must have the checkpoint's
// width and classes.
func (o *Opened) Evaluate(name string, x mat32.Matrix, y []uint8, classes int) (learn.Evaluation, error) {
	if x.Cols != o.Shape.Inputs || classes != o.Shape.Classes {
		hint := "pass --data with the data the model was trained on"
		if o.Data.Name != "" {
			hint = "pass --data " + o.Data.Name + ", the data the model was trained on"
		}
		return learn.Evaluation{}, fmt.Errorf("data %s has %d inputs and %d classes, the model %d inputs and %d classes: %s",
			name, x.Cols, classes, o.Shape.Inputs, o.Shape.Classes, hint)
	}
	x, err := o.Config.NormalizeInputs(x)
	if err != nil {
		return learn.Evaluation{}, err
	}
	return Evaluate(o.Learner, x, y, mat32.New(evalChunk, o.Shape.Classes), make([]int, evalChunk)), nil
}

// ResumableKeys are the loop's settings that may change when a run resumes; a rule adds its
// own (learn.Rule.Resumable).
var ResumableKeys = []string{"epochs", "eval_every", "stop_at_train_accuracy", "stop_measure"}

// Resume rebuilds a trainer from the checkpoint at path on the given data. Each override
// ("key=value", as --set gives it) changes the configuration first: only the loop's
// [ResumableKeys] and the rule's Resumable options may change (a smaller learning rate
// after a divergence, more epochs); any other change, and data other than the
// checkpoint's, is an error that says what to do. The changes go into the next metrics
// record. A run with nothing left to train is an error too.
func Resume(eng *mat32.Engine, path string, data *Data, overrides ...string) (*Trainer, error) {
	ck, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	return ResumeCheckpoint(eng, ck, path, data, overrides...)
}

// ResumeCheckpoint is [Resume] from a checkpoint already read from path.
func ResumeCheckpoint(eng *mat32.Engine, ck *checkpoint.Checkpoint, path string, data *Data, overrides ...string) (*Trainer, error) {
	saved, err := ReadConfig(ck)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := saved.Clone()
	for _, kv := range overrides {
		if err := cfg.Set(kv); err != nil {
			return nil, err
		}
	}
	changes, err := resumeChanges(saved, cfg)
	if err != nil {
		return nil, fmt.Errorf("resuming %s: %w", path, err)
	}
	if raw, ok := ck.Meta(metaData); ok {
		var was Identity
		if json.Unmarshal([]byte(raw), &was) == nil && was.Hash != "" && was != data.Identity() {
			return nil, fmt.Errorf("resuming %s: it was trained on %s, but the data given are %s: pass --data %s", path, was, data.Identity(), was.Name)
		}
	}
	t, err := NewTrainer(eng, cfg, data)
	if err != nil {
		return nil, fmt.Errorf("resuming %s: %w", path, err)
	}
	if err := t.restore(ck); err != nil {
		return nil, fmt.Errorf("resuming %s: %w", path, err)
	}
	if t.Stopped != "" {
		if cfg.StopAtTrainAccuracy == saved.StopAtTrainAccuracy && cfg.StopMeasure == saved.StopMeasure {
			return nil, fmt.Errorf("resuming %s: the run stopped early (%s): nothing left to train; pass --set stop_at_train_accuracy=0 (or a higher value) to train further", path, t.Stopped)
		}
		t.Stopped = ""
	}
	if t.Pos.Epoch >= cfg.Epochs {
		return nil, fmt.Errorf("resuming %s: the run is at the end of epoch %d and its epochs are %d: nothing left to train; pass --epochs N with N > %d to train further",
			path, t.Pos.Epoch-1, cfg.Epochs, t.Pos.Epoch)
	}
	if len(changes) > 0 {
		t.changes = changes
	}
	t.lastCheckpoint = path
	return t, nil
}

// resumeChanges compares the configuration saved in a checkpoint with the one a resume
// asks for: it returns the changed keys with their old and new values, or an error naming
// a key that may not change.
func resumeChanges(saved, cfg Config) (map[string]string, error) {
	if cfg.Rule != saved.Rule {
		return nil, fmt.Errorf("the rule cannot change on resume (checkpoint: %s, asked: %s): start a new run", saved.Rule, cfg.Rule)
	}
	r, err := learn.Lookup(cfg.Rule)
	if err != nil {
		return nil, err
	}
	allowed := map[string]bool{}
	for _, k := range append(append([]string(nil), ResumableKeys...), r.Resumable...) {
		allowed[k] = true
	}
	a, b := flatConfig(saved), flatConfig(cfg)
	changes := map[string]string{}
	var refused []string
	for k, v := range b {
		if a[k] == v {
			continue
		}
		if !allowed[k] {
			refused = append(refused, fmt.Sprintf("%s (%s → %s)", k, a[k], v))
			continue
		}
		changes[k] = a[k] + " → " + v
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		keys := make([]string, 0, len(allowed))
		for k := range allowed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("cannot change %s on resume: the checkpoint's tensors and schedule depend on it; only %s may change (start a new run to change the rest)",
			strings.Join(refused, ", "), strings.Join(keys, ", "))
	}
	return changes, nil
}

// flatConfig lists a configuration's values by dotted key (options without the prefix), as
// JSON text.
func flatConfig(c Config) map[string]string {
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if mm, ok := v.(map[string]any); ok {
			for k, x := range mm {
				walk(prefix+k+".", x)
			}
			return
		}
		j, _ := json.Marshal(v)
		out[strings.TrimSuffix(prefix, ".")] = string(j)
	}
	opts, _ := m["options"].(map[string]any)
	delete(m, "options")
	walk("", m)
	walk("", opts)
	delete(out, "preset")
	return out
}

func (t *Trainer) restore(ck *checkpoint.Checkpoint) error {
	if err := t.Learner.Load(ck); err != nil {
		return err
	}
	state, err := ck.Int64s(tensorState)
	if err != nil {
		return err
	}
	times, err := ck.Float64s(tensorTimes)
	if err != nil {
		return err
	}
	if len(state) != 6 || len(times) != 2 {
		return fmt.Errorf("checkpoint training state has %d/%d values, want 6/2", len(state), len(times))
	}
	t.Pos = Position{Epoch: int(state[0]), Step: int(state[1])}
	if t.Pos.Step < 0 || t.Pos.Step > t.StepsPerEpoch() || t.Pos.Epoch < 0 || state[2] < 0 {
		return fmt.Errorf("checkpoint position epoch %d step %d does not fit %d steps per epoch", t.Pos.Epoch, t.Pos.Step, t.StepsPerEpoch())
	}
	t.steps = state[2]
	t.running = runningStats{correct: state[3], count: state[4], measured: state[5] != 0, loss: times[1]}
	if _, ok := ck.Meta(metaShape); !ok {
		// Written before the learner contract: epoch, step, learner steps, optimiser steps,
		// correct, count.
		t.running = runningStats{correct: state[4], count: state[5], measured: true, loss: times[1]}
	}
	t.seconds = times[0]
	if ck.Has(tensorEpoch) { // absent in checkpoints written before the stopping rule
		ep, err := ck.Int64s(tensorEpoch)
		if err != nil {
			return err
		}
		if len(ep) != 3 {
			return fmt.Errorf("checkpoint epoch statistics have %d values, want 3", len(ep))
		}
		t.epochStats = runningStats{correct: ep[0], count: ep[1], measured: ep[2] != 0}
	}
	t.Stopped, _ = ck.Meta(metaStopped)
	if raw, ok := ck.Meta(metaRecords); ok {
		if err := json.Unmarshal([]byte(raw), &t.records); err != nil {
			return fmt.Errorf("checkpoint records: %w", err)
		}
	}
	return nil
}

// boolInt is 1 for true, 0 for false.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

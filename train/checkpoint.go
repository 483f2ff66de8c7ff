package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
)

// Checkpoint metadata keys and tensor names written by the trainer. Layers are numbered from
// 1 in names, as in the paper.
const (
	metaConfig  = "copi.config"
	metaRecords = "copi.records"
	tensorState = "train.state"   // int64: epoch, step, learner steps, optimiser steps, correct, count
	tensorTimes = "train.seconds" // float64: training seconds, running loss sum
)

// SaveCheckpoint writes the trainer's whole state to path atomically: the configuration,
// the position in the schedule, the network, the feedback matrices, the optimiser state and
// the metrics so far. Resuming from it continues bit for bit as if never interrupted (for
// the same thread count).
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
	errs := []error{
		ck.SetMeta(metaConfig, string(cfgJSON)),
		ck.SetMeta(metaRecords, string(recJSON)),
		ck.SetInt64s(tensorState, []int64{int64(t.Pos.Epoch), int64(t.Pos.Step), t.Learner.Steps(),
			t.Learner.Optimizer().Steps(), t.running.correct, t.running.count}),
		ck.SetFloat64s(tensorTimes, []float64{t.seconds, t.running.loss}),
		SaveNetwork(ck, t.Net),
	}
	for i, b := range t.Learner.Feedback {
		if b.Data != nil {
			errs = append(errs, ck.SetMatrix(fmt.Sprintf("feedback.%d", i+1), b))
		}
	}
	st := t.Learner.Optimizer().State()
	for _, name := range sortedKeys(st) {
		errs = append(errs, ck.SetMatrix("optimizer."+name, st[name]))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := checkpoint.Write(path, ck); err != nil {
		return err
	}
	t.lastCheckpoint = path
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
		if err := loadInto(ck, fmt.Sprintf("layer.%d.W", i+1), layer.W); err != nil {
			return err
		}
		if layer.B != nil {
			if err := loadInto(ck, fmt.Sprintf("layer.%d.b", i+1), mat32.FromSlice(1, len(layer.B), layer.B)); err != nil {
				return err
			}
		}
		if layer.HasR() {
			if err := loadInto(ck, fmt.Sprintf("layer.%d.R", i+1), layer.R); err != nil {
				return err
			}
		}
	}
	return nil
}

func loadInto(ck *checkpoint.Checkpoint, name string, dst mat32.Matrix) error {
	return ck.LoadMatrix(name, dst)
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

// Resume rebuilds a trainer from the checkpoint at path on the given data. With epochs > 0
// the run is extended (or shortened) to that many epochs.
func Resume(eng *mat32.Engine, path string, data *Data, epochs int) (*Trainer, error) {
	ck, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(ck)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if epochs > 0 {
		cfg.Epochs = epochs
	}
	t, err := NewTrainer(eng, cfg, data)
	if err != nil {
		return nil, fmt.Errorf("resuming %s: %w", path, err)
	}
	if err := t.restore(ck); err != nil {
		return nil, fmt.Errorf("resuming %s: %w", path, err)
	}
	t.lastCheckpoint = path
	return t, nil
}

func (t *Trainer) restore(ck *checkpoint.Checkpoint) error {
	if err := LoadNetwork(ck, t.Net); err != nil {
		return err
	}
	for i, b := range t.Learner.Feedback {
		if b.Data != nil {
			if err := loadInto(ck, fmt.Sprintf("feedback.%d", i+1), b); err != nil {
				return err
			}
		}
	}
	st := t.Learner.Optimizer().State()
	for _, name := range sortedKeys(st) {
		if err := loadInto(ck, "optimizer."+name, st[name]); err != nil {
			return err
		}
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
	if t.Pos.Step < 0 || t.Pos.Step > t.StepsPerEpoch() || t.Pos.Epoch < 0 {
		return fmt.Errorf("checkpoint position epoch %d step %d does not fit %d steps per epoch", t.Pos.Epoch, t.Pos.Step, t.StepsPerEpoch())
	}
	t.Learner.SetSteps(state[2])
	t.Learner.Optimizer().SetSteps(state[3])
	t.running = runningStats{correct: state[4], count: state[5], loss: times[1]}
	t.seconds = times[0]
	if raw, ok := ck.Meta(metaRecords); ok {
		if err := json.Unmarshal([]byte(raw), &t.records); err != nil {
			return fmt.Errorf("checkpoint records: %w", err)
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

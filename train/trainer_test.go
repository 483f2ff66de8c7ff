package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
	_ "github.com/copi-learn/copi/rule" // every rule, for the presets
	"github.com/copi-learn/copi/rule/credit"
)

// opts returns the credit family's options of a configuration.
func opts(c Config) *credit.Options { return c.Options.(*credit.Options) }

// model returns the trainer's credit-family learner.
func model(t *Trainer) *credit.Model { return t.Learner.(*credit.Model) }

// toyData is a learnable 3-class problem: class k's inputs are noisy copies of a prototype.
func toyData(n, dim int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	protos := mat32.New(3, dim)
	for i := range protos.Data {
		protos.Data[i] = rng.Float32()
	}
	make1 := func(n int) (mat32.Matrix, []uint8) {
		x := mat32.New(n, dim)
		y := make([]uint8, n)
		for i := 0; i < n; i++ {
			k := rng.IntN(3)
			y[i] = uint8(k)
			for j := 0; j < dim; j++ {
				x.Set(i, j, protos.At(k, j)*0.8+0.4*rng.Float32())
			}
		}
		return x, y
	}
	d := &Data{Name: "toy", Classes: 3}
	d.TrainX, d.TrainY = make1(n)
	d.TestX, d.TestY = make1(n / 4)
	return d
}

func toyConfig(ruleName string) Config {
	c, err := Preset("mnist/copi-bp")
	if err != nil {
		panic(err)
	}
	c.Preset = ""
	if err := c.SetRule(ruleName); err != nil {
		panic(err)
	}
	o := opts(c)
	o.Sizes = []int{20, 16, 16, 3}
	c.BatchSize = 10
	c.Epochs = 4
	c.EvalEvery = 0.5
	o.Optimizer.LR = 1e-3
	o.Decorrelation.LR = 1e-2
	if ruleName == "bp" || ruleName == "brsf" || ruleName == "frsf" { // gradient rules: Adam, m = 1
		o.Decorrelation.Variant = "none"
		o.LossMultiplier = 1
		o.Optimizer = optim.Config{Name: "adam", LR: 1e-2, BiasCorrection: "fixed"}
	}
	return c
}

func newEngine(t *testing.T, threads int) *mat32.Engine {
	t.Helper()
	e, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func paramsBytes(t *Trainer) []byte {
	var b bytes.Buffer
	m := model(t)
	for _, l := range m.Net.Layers {
		json.NewEncoder(&b).Encode(l.W.Data)
		json.NewEncoder(&b).Encode(l.R.Data)
	}
	st := m.Learner.Optimizer().State()
	for _, k := range sortedKeys(st) {
		json.NewEncoder(&b).Encode(st[k].Data)
	}
	return b.Bytes()
}

func TestTrainingLearnsAndDecorrelates(t *testing.T) {
	for _, r := range []string{"copi-bp", "bp"} {
		t.Run(r, func(t *testing.T) {
			tr, err := NewTrainer(newEngine(t, 2), toyConfig(r), toyData(400, 20, 1))
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(context.Background(), Options{}); err != nil {
				t.Fatal(err)
			}
			recs := tr.Records()
			if len(recs) != 8 {
				t.Fatalf("%d records, want 8 (4 epochs, 2 evaluations each)", len(recs))
			}
			last := recs[len(recs)-1]
			if last.TestAcc < 0.9 {
				t.Errorf("test accuracy %.3f after training, want ≥ 0.9", last.TestAcc)
			}
			if d0, d1 := recs[0].Scalars["decorrelation"], last.Scalars["decorrelation"]; r == "copi-bp" && !(d1 < d0*0.8) {
				t.Errorf("decorrelation measure %.4f → %.4f did not fall", d0, d1)
			}
			if recs[0].Epoch != 0 || recs[1].Epoch != 0 || recs[1].EpochFraction != 1 || last.Epoch != 3 {
				t.Errorf("epochs numbered wrongly: %+v … %+v", recs[0], last)
			}
		})
	}
}

func TestEpochZeroOnlyDecorrelates(t *testing.T) {
	cfg := toyConfig("copi-bp")
	cfg.Epochs = 1
	tr, err := NewTrainer(newEngine(t, 1), cfg, toyData(100, 20, 1))
	if err != nil {
		t.Fatal(err)
	}
	w0 := model(tr).Net.Layers[1].W.Clone()
	r0 := model(tr).Net.Layers[1].R.Clone()
	if err := tr.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f32bytes(w0.Data), f32bytes(model(tr).Net.Layers[1].W.Data)) {
		t.Error("W changed during the decorrelation-only epoch 0")
	}
	if bytes.Equal(f32bytes(r0.Data), f32bytes(model(tr).Net.Layers[1].R.Data)) {
		t.Error("R did not change during epoch 0")
	}
}

func f32bytes(v []float32) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestSeededRunsAreBitForBitReproducible(t *testing.T) {
	run := func() []byte {
		tr, err := NewTrainer(newEngine(t, 2), toyConfig("copi-bp"), toyData(200, 20, 1))
		if err != nil {
			t.Fatal(err)
		}
		var m bytes.Buffer
		if err := tr.Run(context.Background(), Options{Metrics: &m}); err != nil {
			t.Fatal(err)
		}
		return paramsBytes(tr)
	}
	if !bytes.Equal(run(), run()) {
		t.Fatal("two runs with the same seed and threads differ")
	}
}

func TestResumeIsExact(t *testing.T) {
	for _, r := range []string{"copi-bp", "bp", "brsf", "frsf"} {
		t.Run(r, func(t *testing.T) {
			eng := newEngine(t, 2)
			d := toyData(200, 20, 1)
			straight, err := NewTrainer(eng, toyConfig(r), d)
			if err != nil {
				t.Fatal(err)
			}
			if err := straight.Run(context.Background(), Options{}); err != nil {
				t.Fatal(err)
			}
			// Interrupt mid-epoch 2 by cancelling from the step callback, then resume.
			dir := t.TempDir()
			ck := filepath.Join(dir, "run.ckpt")
			first, _ := NewTrainer(eng, toyConfig(r), d)
			ctx, cancel := context.WithCancel(context.Background())
			err = first.Run(ctx, Options{CheckpointPath: ck, OnStep: func(p Progress) {
				if p.Epoch == 2 && p.Step == 7 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run returned %v", err)
			}
			resumed, err := Resume(eng, ck, d)
			if err != nil {
				t.Fatal(err)
			}
			if resumed.Pos != (Position{Epoch: 2, Step: 7}) {
				t.Fatalf("resumed at %+v, want epoch 2 step 7", resumed.Pos)
			}
			if err := resumed.Run(context.Background(), Options{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(paramsBytes(straight), paramsBytes(resumed)) {
				t.Fatal("resumed run ends with different parameters than the uninterrupted one")
			}
			a, _ := json.Marshal(straight.Records())
			b, _ := json.Marshal(resumed.Records())
			// Seconds differ; compare everything else.
			if stripSeconds(a) != stripSeconds(b) {
				t.Fatalf("records differ:\n%s\n%s", a, b)
			}
		})
	}
}

func stripSeconds(b []byte) string {
	var recs []Record
	_ = json.Unmarshal(b, &recs)
	for i := range recs {
		recs[i].Seconds = 0
	}
	out, _ := json.Marshal(recs)
	return string(out)
}

func TestDivergenceStopsAndKeepsLastGoodCheckpoint(t *testing.T) {
	cfg := toyConfig("copi-bp")
	opts(cfg).DecorOnlyEpochs = 0
	cfg.Epochs = 6
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	tr, err := NewTrainer(newEngine(t, 1), cfg, toyData(200, 20, 1))
	if err != nil {
		t.Fatal(err)
	}
	// One good epoch, then a learning rate far too high.
	err = tr.Run(context.Background(), Options{CheckpointPath: ck, OnStep: func(p Progress) {
		if p.Epoch == 1 && p.Step == 1 {
			model(tr).Learner.Cfg.Optimizer.LR = 1e6
		}
	}})
	var div *DivergenceError
	if !errors.As(err, &div) {
		t.Fatalf("got %v, want a DivergenceError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "layer") || !strings.Contains(msg, "epoch 1") || !strings.Contains(msg, ck) {
		t.Errorf("message %q should name the layer, the epoch and the checkpoint", msg)
	}
	saved, err := checkpoint.Read(ck)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := saved.Int64s(tensorState)
	if state[0] != 1 || state[1] != 0 {
		t.Errorf("checkpoint is at epoch %d step %d, want the end of epoch 0", state[0], state[1])
	}
	w, _ := saved.Matrix("layer.1.W")
	if !mat32.AllFinite(w) {
		t.Error("the kept checkpoint holds non-finite weights")
	}
}

func TestMetricsAreJSONLines(t *testing.T) {
	tr, err := NewTrainer(newEngine(t, 1), toyConfig("copi-bp"), toyData(100, 20, 1))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tr.Run(context.Background(), Options{Metrics: &buf, RunLabel: "x@1"}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", lines+1, err)
		}
		for _, k := range []string{"epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "run", "rule", "layers", "scalars"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q", lines+1, k)
			}
		}
		if _, ok := m["layers"].(map[string]any)["update_angle_deg"]; !ok {
			t.Errorf("line %d lacks layers.update_angle_deg", lines+1)
		}
		if _, ok := m["scalars"].(map[string]any)["decorrelation"]; !ok {
			t.Errorf("line %d lacks scalars.decorrelation", lines+1)
		}
		lines++
	}
	if lines != 8 {
		t.Errorf("%d lines, want 8", lines)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Preset("mnist/nope"); err == nil || !strings.Contains(err.Error(), "mnist/copi-bp") {
		t.Errorf("unknown preset: %v", err)
	}
	cfg, _ := Preset("cifar10/copi-bp")
	_, err := NewTrainer(newEngine(t, 1), cfg, toyData(100, 20, 1))
	if err == nil || !strings.Contains(err.Error(), "3072") || !strings.Contains(err.Error(), "20") {
		t.Errorf("wrong input size: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("rule: copi-fa\nbatch_sise: 3\n"), 0o644)
	if _, err := LoadConfigFile(p, cfg); err == nil || !strings.Contains(err.Error(), "batch_sise") {
		t.Errorf("unknown key: %v", err)
	}
	os.WriteFile(p, []byte("rule: copi-fa\nbatch_size: 7\ndecorrelation: {variant: bio}\n"), 0o644)
	c, err := LoadConfigFile(p, cfg)
	if err != nil || c.Rule != "copi-fa" || c.BatchSize != 7 || opts(c).Decorrelation.Variant != "bio" || opts(c).Sizes[0] != 3072 {
		t.Errorf("config file over preset: %+v, %v", c, err)
	}
	bad := toyConfig("copi-bp")
	bad.Rule = "copy-bp"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "copi-bp") {
		t.Errorf("unknown rule: %v", err)
	}
}

func TestPresetsBuild(t *testing.T) {
	for _, p := range Presets() {
		c, err := Preset(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	c, _ := Preset("mnist/bp-adam")
	if o := opts(c); o.Optimizer.Name != "adam" || o.Optimizer.LR != 1e-4 || o.LossMultiplier != 1 || o.Decorrelation.Variant != "none" {
		t.Errorf("bp-adam preset: %+v", o)
	}
	c, _ = Preset("mnist/copi-bio")
	rc, _ := opts(c).RuleConfig(c.Rule)
	if rc.Update != credit.COPI || opts(c).Decorrelation.Variant != "bio" {
		t.Errorf("copi-bio preset: %+v", opts(c))
	}
}

// TestAlignmentMetrics: every metrics line carries the per-layer update angle; FA's also the
// per-hidden-layer feedback angle and norm ratio, bp's none of those and an update angle of
// 0; FA's hidden update angles end below 90°. Catches alignment metrics that are not logged,
// logged with the wrong lengths, or measured in a way that moves the network (resume and
// reproducibility are tested with them on).
func TestAlignmentMetrics(t *testing.T) {
	for _, r := range []string{"fa", "bp"} {
		t.Run(r, func(t *testing.T) {
			cfg := toyConfig("bp")
			if err := cfg.SetRule(r); err != nil {
				t.Fatal(err)
			}
			opts(cfg).OutputDerivative = false // the quirk makes even bp's update differ from the gradient
			opts(cfg).Loss = "cross-entropy"
			tr, err := NewTrainer(newEngine(t, 1), cfg, toyData(200, 20, 1))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := tr.Run(context.Background(), Options{Metrics: &buf}); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(&buf)
			var last map[string]any
			for sc.Scan() {
				var line struct {
					Layers map[string]any `json:"layers"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatal(err)
				}
				last = line.Layers
				if n := len(last["update_angle_deg"].([]any)); n != 3 {
					t.Fatalf("%d update angles for 3 layers", n)
				}
				_, hasFB := last["feedback_angle_deg"]
				_, hasNR := last["feedback_norm_ratio"]
				switch r {
				case "fa":
					if !hasFB || !hasNR || len(last["feedback_angle_deg"].([]any)) != 2 || len(last["feedback_norm_ratio"].([]any)) != 2 {
						t.Fatalf("FA line lacks per-hidden-layer feedback metrics: %v", last)
					}
				case "bp":
					if hasFB || hasNR {
						t.Fatalf("bp line has feedback metrics: %v", last)
					}
					for _, v := range last["update_angle_deg"].([]any) {
						if v.(float64) > 1e-2 {
							t.Fatalf("bp update angle %v°", v)
						}
					}
				}
			}
			t.Logf("last record: update angles %v, feedback angles %v", last["update_angle_deg"], last["feedback_angle_deg"])
			if r == "fa" {
				for i, v := range last["update_angle_deg"].([]any)[:2] {
					if v.(float64) >= 90 {
						t.Errorf("FA layer %d update angle %v° at the end", i, v)
					}
				}
			}
		})
	}
}

// TestEvalAtStartLeavesTrainingAlone: the evaluation before training (with its alignment
// probe, which runs the rule on a batch) changes nothing the training does: the parameters
// after training are bit-identical with and without it, for rules whose feedback or
// decorrelation draws random numbers; and the record is the untrained network's, at step 0.
func TestEvalAtStartLeavesTrainingAlone(t *testing.T) {
	for _, r := range []string{"copi-fa", "brsf", "frsf"} {
		t.Run(r, func(t *testing.T) {
			eng := newEngine(t, 2)
			d := toyData(200, 20, 1)
			run := func(atStart bool) *Trainer {
				tr, err := NewTrainer(eng, toyConfig(r), d)
				if err != nil {
					t.Fatal(err)
				}
				if err := tr.Run(context.Background(), Options{EvalAtStart: atStart}); err != nil {
					t.Fatal(err)
				}
				return tr
			}
			with, without := run(true), run(false)
			if !bytes.Equal(paramsBytes(with), paramsBytes(without)) {
				t.Fatal("evaluating before training changed the trained parameters")
			}
			rw, ro := with.Records(), without.Records()
			if len(rw) != len(ro)+1 || rw[0].Step != 0 || rw[0].EpochFraction != 0 || rw[0].TrainLoss != 0 {
				t.Fatalf("records with the start: %d (first %+v), without: %d", len(rw), rw[0], len(ro))
			}
			a, _ := json.Marshal(rw[1:])
			b, _ := json.Marshal(ro)
			if stripSeconds(a) != stripSeconds(b) {
				t.Fatal("the later records differ")
			}
		})
	}
}

func sortedKeys(m map[string]mat32.Matrix) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestResumeChangesOnlyWhatMayChange: a resume may lower the learning rate and add epochs,
// and the first record after it says so; it may not change the network or the batch; it
// refuses other data than the checkpoint's, and a run with nothing left to train.
func TestResumeChangesOnlyWhatMayChange(t *testing.T) {
	eng := newEngine(t, 1)
	d := toyData(200, 20, 1)
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	cfg := toyConfig("copi-bp")
	cfg.Epochs = 2
	tr, err := NewTrainer(eng, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Options{CheckpointPath: ck}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(eng, ck, d); err == nil || !strings.Contains(err.Error(), "nothing left to train") {
		t.Errorf("resume at the end: %v", err)
	}
	for _, kv := range []string{"sizes=[20,8,3]", "batch_size=5", "rule=copi-fa", "decorrelation.variant=bio"} {
		_, err := Resume(eng, ck, d, "epochs=3", kv)
		key, _, _ := strings.Cut(kv, "=")
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("resume with %s: %v", kv, err)
		}
	}
	other := toyData(200, 20, 2)
	if _, err := Resume(eng, ck, other, "epochs=3"); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("resume on other data: %v", err)
	}
	r, err := Resume(eng, ck, d, "epochs=3", "optimizer.lr=0.0005")
	if err != nil {
		t.Fatal(err)
	}
	if opts(r.Cfg).Optimizer.LR != 5e-4 || model(r).Learner.Cfg.Optimizer.LR != 5e-4 {
		t.Fatalf("learning rate after resume: config %v, learner %v", opts(r.Cfg).Optimizer.LR, model(r).Learner.Cfg.Optimizer.LR)
	}
	var buf bytes.Buffer
	if err := r.Run(context.Background(), Options{Metrics: &buf}); err != nil {
		t.Fatal(err)
	}
	var first Record
	if err := json.NewDecoder(&buf).Decode(&first); err != nil {
		t.Fatal(err)
	}
	if first.Changes["optimizer.lr"] != "0.001 → 0.0005" || first.Changes["epochs"] != "2 → 3" || first.DataID != d.Identity().Hash {
		t.Errorf("first record after the resume: changes %v, data %q", first.Changes, first.DataID)
	}
}

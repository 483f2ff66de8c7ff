package train

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/learn"
)

// TestValidationSplitHoldsOutAndReports checks the split: the held-out and the training
// examples partition the training set, the split depends only on the seed, the loop never
// trains on a held-out example, and every record measures the held-out set.
func TestValidationSplitHoldsOutAndReports(t *testing.T) {
	eng := newEngine(t, 2)
	d := toyData(400, 20, 1)
	cfg := toyConfig("bp")
	cfg.ValidationSplit = 0.1
	tr, err := NewTrainer(eng, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.ValidationRows(); got != 40 {
		t.Fatalf("%d validation rows, want 40 (a tenth of 400)", got)
	}
	if got := tr.StepsPerEpoch(); got != 36 {
		t.Fatalf("%d steps per epoch, want 36 (360 training examples in batches of 10)", got)
	}
	seen := map[int32]bool{}
	for _, i := range tr.trainIdx {
		seen[i] = true
	}
	if len(seen) != 360 {
		t.Fatalf("%d distinct training indices, want 360", len(seen))
	}
	// The held-out rows are exactly the training rows not in trainIdx, in file order.
	k := 0
	for i := 0; i < d.TrainX.Rows; i++ {
		if seen[int32(i)] {
			continue
		}
		if !bytes.Equal(f32bytes(tr.valX.Row(k)), f32bytes(d.TrainX.Row(i))) || tr.valY[k] != d.TrainY[i] {
			t.Fatalf("validation row %d is not training row %d", k, i)
		}
		k++
	}
	// Same seed, same split; another seed, another split.
	again, _ := NewTrainer(eng, cfg, d)
	other := cfg
	other.Seed++
	third, _ := NewTrainer(eng, other, d)
	if !equalIdx(tr.trainIdx, again.trainIdx) {
		t.Error("the same seed gave two different splits")
	}
	if equalIdx(tr.trainIdx, third.trainIdx) {
		t.Error("two seeds gave the same split")
	}
	// Training gathers only training rows.
	tr.shuffle(1)
	for s := 0; s < tr.StepsPerEpoch(); s++ {
		tr.gather(s)
		for r := 0; r < cfg.BatchSize; r++ {
			for v := 0; v < tr.valX.Rows; v++ {
				if bytes.Equal(f32bytes(tr.batch.X.Row(r)), f32bytes(tr.valX.Row(v))) {
					t.Fatalf("step %d trains on held-out example %d", s, v)
				}
			}
		}
	}
	if err := tr.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range tr.Records() {
		if r.ValLoss == nil || r.ValAcc == nil {
			t.Fatalf("record at epoch %d has no validation measurement", r.Epoch)
		}
	}
	last := tr.Records()[len(tr.Records())-1]
	if *last.ValAcc < 0.9 {
		t.Errorf("validation accuracy %.3f after training, want ≥ 0.9", *last.ValAcc)
	}
	b, _ := json.Marshal(last)
	if !strings.Contains(string(b), `"val_loss"`) {
		t.Errorf("record JSON has no val_loss: %s", b)
	}
	// Without a split, no validation fields.
	plain, _ := NewTrainer(eng, toyConfig("bp"), d)
	if err := plain.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(plain.Records()[0])
	if strings.Contains(string(b), "val_") {
		t.Errorf("record without a split has validation fields: %s", b)
	}
}

func equalIdx(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBestValidationPicksLowestLoss(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	recs := []Record{
		{Epoch: 0, EpochFraction: 1, ValLoss: f(0.5), ValAcc: f(0.8), TestAcc: 0.7},
		{Epoch: 1, EpochFraction: 0.5, ValLoss: f(0.1), ValAcc: f(0.99), TestAcc: 0.99}, // mid-epoch: not a candidate
		{Epoch: 1, EpochFraction: 1, ValLoss: f(0.3), ValAcc: f(0.85), TestAcc: 0.8},
		{Epoch: 2, EpochFraction: 1, ValLoss: f(0.4), ValAcc: f(0.9), TestAcc: 0.9},
	}
	best, ok := BestValidation(recs)
	if !ok || best.Epoch != 1 || best.TestAcc != 0.8 {
		t.Fatalf("best = %+v, %v; want epoch 1 (lowest validation loss at an epoch end)", best, ok)
	}
	// No loss measured (a rule without its own evaluation): highest validation accuracy.
	for i := range recs {
		recs[i].ValLoss = f(0)
	}
	if best, _ := BestValidation(recs); best.Epoch != 2 {
		t.Fatalf("without losses best = epoch %d, want 2 (highest validation accuracy)", best.Epoch)
	}
	if _, ok := BestValidation([]Record{{Epoch: 0, EpochFraction: 1}}); ok {
		t.Fatal("records without validation gave a best one")
	}
}

// TestStopAtTrainAccuracy checks the stopping rule: the run ends after the first epoch
// whose training accuracy reaches the threshold, its checkpoint remembers it (a resume has
// nothing to do), and raising the threshold on resume trains on.
func TestStopAtTrainAccuracy(t *testing.T) {
	eng := newEngine(t, 2)
	d := toyData(400, 20, 1)
	cfg := toyConfig("bp")
	cfg.Epochs = 50
	cfg.EvalEvery = 1
	full, _ := NewTrainer(eng, cfg, d)
	if err := full.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	// The first epoch whose training accuracy reached 95 %, from the uninterrupted run.
	want := -1
	for _, r := range full.Records() {
		if r.TrainAcc != nil && *r.TrainAcc >= 0.95 {
			want = r.Epoch
			break
		}
	}
	if want < 0 || want == cfg.Epochs-1 {
		t.Fatalf("toy problem never reached 95%% training accuracy before the last epoch (epoch %d)", want)
	}
	cfg.StopAtTrainAccuracy = 95
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	tr, _ := NewTrainer(eng, cfg, d)
	if err := tr.Run(context.Background(), Options{CheckpointPath: ck}); err != nil {
		t.Fatal(err)
	}
	if tr.Stopped == "" || tr.Pos.Epoch != want+1 {
		t.Fatalf("stopped %q at epoch %d, want a reason and the end of epoch %d", tr.Stopped, tr.Pos.Epoch-1, want)
	}
	if _, err := Resume(eng, ck, d); err == nil || !strings.Contains(err.Error(), "stopped early") {
		t.Fatalf("resuming a stopped run: %v, want an error that it stopped early", err)
	}
	more, err := Resume(eng, ck, d, "stop_at_train_accuracy=0")
	if err != nil {
		t.Fatal(err)
	}
	if err := more.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if more.Pos.Epoch != cfg.Epochs {
		t.Fatalf("after lifting the threshold the run ended at epoch %d, want %d", more.Pos.Epoch, cfg.Epochs)
	}
	if !bytes.Equal(paramsBytes(full), paramsBytes(more)) {
		t.Fatal("stopping, then resuming without the threshold, ended with other parameters than the uninterrupted run")
	}
}

func TestLoopOptionErrors(t *testing.T) {
	for _, c := range []struct {
		set, want string
	}{
		{"validation_split=0.7", "validation_split"},
		{"validation_split=-0.1", "validation_split"},
		{"validation_split=.nan", "validation_split"},
		{"stop_at_train_accuracy=101", "stop_at_train_accuracy"},
		{"stop_at_train_accuracy=-1", "stop_at_train_accuracy"},
	} {
		cfg := toyConfig("bp")
		if err := cfg.Set(c.set); err != nil {
			t.Fatalf("%s: %v", c.set, err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.set, err, c.want)
		}
	}
	cfg := toyConfig("bp")
	cfg.Validation, cfg.ValidationSplit = 10, 0.1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "set one of them") {
		t.Errorf("validation and validation_split together: %v", err)
	}
	cfg = toyConfig("bp")
	cfg.ValidationSplit = 0.5
	cfg.BatchSize = 300
	if _, err := NewTrainer(newEngine(t, 1), cfg, toyData(400, 20, 1)); err == nil || !strings.Contains(err.Error(), "one batch") {
		t.Errorf("a split leaving less than a batch: %v", err)
	}
}

// unmeasuredLearner is the bp learner whose steps report no accuracy (correct = −1).
type unmeasuredLearner struct{ recordingLearner }

func (u *unmeasuredLearner) Step(b learn.Batch, at learn.At) (float64, int) {
	loss, _ := u.recordingLearner.Step(b, at)
	return loss, -1
}

func TestUnmeasuredTrainingAccuracyIsAbsent(t *testing.T) {
	tr, err := NewTrainer(newEngine(t, 1), toyConfig("bp"), toyData(200, 20, 1))
	if err != nil {
		t.Fatal(err)
	}
	tr.Learner = &unmeasuredLearner{recordingLearner{Learner: tr.Learner}}
	if err := tr.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tr.Records()[0])
	if tr.Records()[0].TrainAcc != nil || strings.Contains(string(b), "train_acc") {
		t.Fatalf("a rule that measures no training accuracy recorded one: %s", b)
	}
}

// TestStopOnFullPass checks stop_measure=full: the run stops after the first epoch whose
// weights classify the training set at the threshold, read by a pass over it.
func TestStopOnFullPass(t *testing.T) {
	eng := newEngine(t, 2)
	d := toyData(400, 20, 1)
	cfg := toyConfig("bp")
	cfg.Epochs, cfg.EvalEvery = 50, 1
	cfg.StopAtTrainAccuracy, cfg.StopMeasure = 95, "full"
	cfg.ValidationSplit = 0.1
	tr, err := NewTrainer(eng, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	var before []float64 // full-pass accuracy at each epoch end, measured independently
	if err := tr.Run(context.Background(), Options{OnEval: func(Record) error {
		before = append(before, tr.trainAccuracy())
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if tr.Stopped == "" || !strings.Contains(tr.Stopped, "full pass") {
		t.Fatalf("did not stop on a full pass: %q after epoch %d", tr.Stopped, tr.Pos.Epoch-1)
	}
	last := len(before) - 1
	if last < 1 {
		t.Fatalf("stopped after epoch %d: the toy problem must take more than one epoch for this test to mean anything", last)
	}
	if before[last] < 0.95 {
		t.Fatalf("stopped with full-pass training accuracy %.3f < 0.95", before[last])
	}
	for e := 0; e < last; e++ {
		if before[e] >= 0.95 {
			t.Fatalf("epoch %d already reached %.3f on a full pass, but the run went on to epoch %d", e, before[e], last)
		}
	}
	cfg.StopMeasure = "sometimes"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "stop_measure") {
		t.Fatalf("bad stop_measure: %v", err)
	}
}

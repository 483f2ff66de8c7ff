package train

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

func TestInputNormPerChannel(t *testing.T) {
	n, err := newInputNorm([]float64{0.5, 1, 2}, []float64{0.5, 2, 4}, 6)
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{1, 0, 3, 5, 2, 6}
	n.row(x)
	want := []float32{1, -1, 1, 2, 0, 1}
	for j := range x {
		if math.Abs(float64(x[j]-want[j])) > 1e-6 {
			t.Fatalf("normalised row %v, want %v (three channels of two inputs)", x, want)
		}
	}
	for _, c := range []struct {
		mean, std []float64
		cols      int
		want      string
	}{
		{[]float64{0.1, 0.2}, []float64{1}, 4, "one per channel"},
		{[]float64{0.1}, []float64{0}, 4, "input_std[0]"},
		{[]float64{math.NaN()}, []float64{1}, 4, "input_mean[0]"},
		{[]float64{0, 0, 0}, []float64{1, 1, 1}, 4, "equal channels"},
	} {
		if _, err := newInputNorm(c.mean, c.std, c.cols); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mean %v std %v on %d inputs: %v, want an error about %q", c.mean, c.std, c.cols, err, c.want)
		}
	}
}

// recordingLearner is the bp learner, remembering the first input it trained on.
type recordingLearner struct {
	learn.Learner
	first []float32
}

func (r *recordingLearner) Step(b learn.Batch, at learn.At) (float64, int) {
	if r.first == nil {
		r.first = append([]float32(nil), b.X.Row(0)...)
	}
	return r.Learner.Step(b, at)
}

// TestNormalizedRunSeesNormalizedInputs checks that training batches, the test set and a
// checkpoint evaluated later all pass through the run's normalisation, and that the
// normalisation does not touch the caller's data.
func TestNormalizedRunSeesNormalizedInputs(t *testing.T) {
	eng := newEngine(t, 2)
	d := toyData(200, 20, 1)
	raw0 := d.TrainX.At(0, 0)
	cfg := toyConfig("bp")
	cfg.InputMean, cfg.InputStd = []float64{0.5}, []float64{0.25}
	cfg.EvalEvery = 1
	tr, err := NewTrainer(eng, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingLearner{Learner: tr.Learner}
	tr.Learner = rec
	ck := filepath.Join(t.TempDir(), "n.ckpt")
	if err := tr.Run(context.Background(), Options{CheckpointPath: ck}); err != nil {
		t.Fatal(err)
	}
	if d.TrainX.At(0, 0) != raw0 {
		t.Fatal("normalisation changed the caller's data")
	}
	if want := (raw0 - 0.5) / 0.25; math.Abs(float64(rec.first[0]-want)) > 1e-6 {
		t.Fatalf("first training input %v, want the normalised %v (raw %v)", rec.first[0], want, raw0)
	}
	if tr.testX.At(0, 0) != (d.TestX.At(0, 0)-0.5)/0.25 {
		t.Fatal("the test set is not normalised")
	}
	o, err := Open(eng, ck)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := o.Evaluate(d.Name, d.TestX, d.TestY, d.Classes)
	if err != nil {
		t.Fatal(err)
	}
	last := tr.Records()[len(tr.Records())-1]
	if ev.Acc != last.TestAcc {
		t.Fatalf("the saved model evaluates to %.4f, the run's last record says %.4f: evaluation skipped the normalisation", ev.Acc, last.TestAcc)
	}
	raw := Evaluate(o.Learner, d.TestX, d.TestY, mat32.New(evalChunk, d.Classes), make([]int, evalChunk))
	if raw.Acc == ev.Acc && raw.Loss == ev.Loss {
		t.Fatal("raw and normalised test inputs evaluate the same: the test cannot tell them apart")
	}
}

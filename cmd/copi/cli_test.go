package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/rule/credit"
	"github.com/copi-learn/copi/train"
)

// opts returns the credit family's options of a configuration.
func opts(c train.Config) *credit.Options { return c.Options.(*credit.Options) }

// run executes the copi command line with args and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// small is a quick network on the embedded Fashion-MNIST sample.
var small = []string{"--data", "fashion-mnist-sample", "--sizes", "784,32,10", "--epochs", "2", "--threads", "2", "-q"}

func TestTrainEvalAndResume(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	metrics := filepath.Join(dir, "m.jsonl")
	out, stderr, err := run(t, append([]string{"train", "--preset", "mnist/copi-bp", "--checkpoint", ck, "--metrics", metrics}, small...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "test acc %") || strings.Count(out, "\n") != 4 || !strings.Contains(out, "start") {
		t.Errorf("summary table (header, start, epochs 0 and 1):\n%s", out)
	}
	f, err := os.Open(metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var first, last map[string]any
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("metrics line %d: %v", n+1, err)
		}
		if n == 0 {
			first = last
		}
	}
	// The untrained network first (step 0, about chance), then the end of epochs 0 and 1.
	if n != 3 || first["step"].(float64) != 0 || first["epoch_fraction"].(float64) != 0 || first["test_acc"].(float64) > 0.3 ||
		last["epoch"].(float64) != 1 || last["test_acc"].(float64) < 0.6 {
		t.Errorf("%d metric lines, first %v, last %v", n, first, last)
	}
	out, stderr, err = run(t, "eval", ck, "--data", "fashion-mnist-sample")
	if err != nil || !strings.Contains(out, "accuracy") {
		t.Fatalf("eval: %v\n%s%s", err, out, stderr)
	}
	// Extend the run by one epoch from its checkpoint.
	out, stderr, err = run(t, "train", "--resume", ck, "--epochs", "3", "--data", "fashion-mnist-sample", "-q")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if strings.Count(out, "\n") != 5 {
		t.Errorf("resumed summary should list the start and epochs 0-2:\n%s", out)
	}
}

func TestCompareTable(t *testing.T) {
	out, stderr, err := run(t, "compare", "--presets", "mnist/bp-adam,mnist/copi-bp", "--seeds", "1,2",
		"--data", "fashion-mnist-sample", "--epochs", "2", "--sizes", "784,32,10", "--threads", "2", "-q")
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr)
	}
	for _, want := range []string{"mnist/bp-adam", "mnist/copi-bp", "±", "epoch of peak", "end of each epoch"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadInputGetsOneLineErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.yaml")
	os.WriteFile(bad, []byte("epochz: 3\n"), 0o644)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"train", "--nope"}, []string{"unknown flag", "--nope"}},
		{[]string{"train", "--preset", "mnist/xyz"}, []string{"unknown preset", "mnist/copi-bp"}},
		{[]string{"train", "--preset", "cifar10/copi-bp", "--data", "fashion-mnist-sample"}, []string{"784", "3072"}},
		{[]string{"train", "--data", filepath.Join(dir, "missing")}, []string{"missing"}},
		{[]string{"train", "--config", bad}, []string{"epochz"}},
		{[]string{"train", "--rule", "copi-xx"}, []string{"unknown rule", "copi-bp"}},
		{[]string{"eval", filepath.Join(dir, "none.ckpt")}, []string{"none.ckpt"}},
		{[]string{"train", "--resume", bad, "--data", "fashion-mnist-sample"}, []string{"x.yaml"}},
	}
	for _, c := range cases {
		_, _, err := run(t, c.args...)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: error spans lines: %q", c.args, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not mention %q", c.args, msg, w)
			}
		}
	}
}

func TestDivergingRunNamesLayerAndStep(t *testing.T) {
	_, _, err := run(t, append([]string{"train", "--preset", "mnist/copi-bp", "--lr", "10", "--decor-only-epochs", "0"}, small...)...)
	if err == nil || !strings.Contains(err.Error(), "diverged") || !strings.Contains(err.Error(), "layer") || !strings.Contains(err.Error(), "step") {
		t.Fatalf("diverging run: %v", err)
	}
}

func TestPresetsShowRoundTrips(t *testing.T) {
	out, _, err := run(t, "presets", "--show", "mnist/copi-bio")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte(out), 0o644)
	if _, stderr, err := run(t, append([]string{"train", "--config", p}, small...)...); err != nil {
		t.Fatalf("training from the shown preset: %v\n%s", err, stderr)
	}
}

func TestRuleFlagDecidesDecorrelation(t *testing.T) {
	want := map[string]map[string]string{
		"mnist/copi-bio": {"usf": "none", "fa": "none", "copi-fa": "bio", "decor-bp": "bio"},
		"mnist/bp-adam":  {"usf": "none", "fa": "none", "copi-fa": "default", "decor-bp": "default"},
	}
	for preset, rules := range want {
		for r, variant := range rules {
			var f configFlags
			cmd := &cobra.Command{Use: "x"}
			f.register(cmd)
			if err := cmd.ParseFlags([]string{"--preset", preset, "--rule", r}); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.build(cmd)
			if err != nil {
				t.Fatalf("%s --rule %s: %v", preset, r, err)
			}
			if got := opts(cfg).Decorrelation.Variant; got != variant {
				t.Errorf("%s --rule %s: decorrelation %q, want %q", preset, r, got, variant)
			}
		}
	}
}

// TestBenchCommands: `bench train --json` reports a positive time per step and the step's
// arithmetic (1.239 GFLOP for the MNIST COPI-BP network, the figure the README uses), and
// refuses a bad --lr; `bench gemm --json` prints one object per shape with the documented
// fields.
func TestBenchCommands(t *testing.T) {
	out, stderr, err := run(t, "bench", "train", "--preset", "mnist/copi-bp", "--steps", "2", "--threads", "2", "--json")
	if err != nil {
		t.Fatalf("bench train: %v\n%s", err, stderr)
	}
	var r benchTrainResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench train --json: %v\n%s", err, out)
	}
	if !(r.MsPerStep > 0) || math.Abs(r.GFLOPPerStep-1.239) > 0.001 || r.Threads != 2 || !(r.GemmMs > 0) {
		t.Errorf("bench train: %+v", r)
	}
	if _, _, err := run(t, "bench", "train", "--preset", "mnist/copi-fa", "--steps", "1", "--lr", "-1"); err == nil || !strings.Contains(err.Error(), "--lr") {
		t.Errorf("--lr -1: %v", err)
	}
	out, stderr, err = run(t, "bench", "gemm", "--shapes", "8x9x10,33x1x5", "--threads", "1", "--json")
	if err != nil {
		t.Fatalf("bench gemm: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("bench gemm printed %d lines:\n%s", len(lines), out)
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &g); err != nil {
		t.Fatal(err)
	}
	if g["m"] != 33.0 || g["k"] != 1.0 || g["n"] != 5.0 || !(g["gflops"].(float64) > 0) || g["backend"] == "" {
		t.Errorf("bench gemm line: %v", g)
	}
}

// TestForwardForwardEndToEnd: a rule that is not an MLP plus an update goes through the same
// command line: train writes its per-layer series and both prediction modes into the
// metrics, eval opens its checkpoint through the registry (and switches the prediction mode
// with --set), resume continues it, compare tabulates it beside a COPI preset, and the
// MLP-only tools refuse it with a clear message.
func TestForwardForwardEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ff.ckpt")
	metrics := filepath.Join(dir, "ff.jsonl")
	ffSmall := []string{"--data", "fashion-mnist-sample", "--set", "sizes=[784,64,64,64]", "--epochs", "2", "--threads", "2", "-q"}
	out, stderr, err := run(t, append([]string{"train", "--preset", "mnist/ff", "--checkpoint", ck, "--metrics", metrics}, ffSmall...)...)
	if err != nil {
		t.Fatalf("train ff: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "acc goodness %") || !strings.Contains(out, "acc softmax %") {
		t.Errorf("summary table lacks the prediction modes:\n%s", out)
	}
	raw, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var last struct {
		Rule    string               `json:"rule"`
		TestAcc float64              `json:"test_acc"`
		Layers  map[string][]float64 `json:"layers"`
		Scalars map[string]float64   `json:"scalars"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Rule != "ff" || len(last.Layers["goodness_pos"]) != 3 || len(last.Layers["dead_fraction"]) != 3 ||
		last.Scalars["acc_goodness"] != last.TestAcc || !(last.Scalars["acc_softmax"] > 0.3) {
		t.Errorf("last ff metrics line: %+v", last)
	}
	out, stderr, err = run(t, "eval", ck, "--data", "fashion-mnist-sample", "--set", "predict=softmax", "--json")
	if err != nil {
		t.Fatalf("eval ff: %v\n%s", err, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Rule != "ff" || ev.Accuracy != ev.Scalars["acc_softmax"] || ev.Examples != 1000 {
		t.Errorf("eval --set predict=softmax: %+v", ev)
	}
	if _, _, err := run(t, "eval", ck, "--data", "fashion-mnist-sample", "--set", "sizes=[784,10,10,10]"); err == nil {
		t.Error("eval with a network the checkpoint does not hold succeeded")
	}
	if _, stderr, err := run(t, "train", "--resume", ck, "--epochs", "3", "--data", "fashion-mnist-sample", "-q"); err != nil {
		t.Fatalf("resume ff: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, "compress", ck, "--sweep", "--data", "fashion-mnist-sample"); err == nil || !strings.Contains(err.Error(), "ff") {
		t.Errorf("compress of an ff checkpoint: %v", err)
	}
	out, stderr, err = run(t, "compare", "--presets", "mnist/copi-bp,mnist/ff", "--data", "fashion-mnist-sample",
		"--epochs", "1", "--threads", "2", "-q", "--metrics", filepath.Join(dir, "study.jsonl"))
	if err != nil {
		t.Fatalf("compare copi-bp and ff: %v\n%s", err, stderr)
	}
	for _, want := range []string{"mnist/copi-bp", "mnist/ff"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare table lacks %s:\n%s", want, out)
		}
	}
}

// TestExitCodesAndEarlyChecks: invalid input exits 2, divergence 3, interruption 130, a
// write failure 1; thread counts and unwritable checkpoint paths are refused before any
// training; --epochs 0 and a resume with nothing left are errors, not silent successes.
func TestExitCodesAndEarlyChecks(t *testing.T) {
	dir := t.TempDir()
	codes := map[string]int{}
	_, _, err := run(t, "train", "--nope")
	codes["unknown flag"] = exitCode(err)
	_, _, err = run(t, append([]string{"train", "--preset", "mnist/copi-bp", "--lr", "10", "--decor-only-epochs", "0"}, small...)...)
	codes["diverged"] = exitCode(err)
	codes["interrupted"] = exitCode(fmt.Errorf("run: %w", context.Canceled))
	codes["write"] = exitCode(fmt.Errorf("x: %w", &train.WriteError{What: "metrics", Err: os.ErrPermission}))
	want := map[string]int{"unknown flag": exitInvalid, "diverged": exitDiverged, "interrupted": exitInterrupted, "write": exitFailure}
	for k, w := range want {
		if codes[k] != w {
			t.Errorf("%s: exit %d, want %d", k, codes[k], w)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--threads", "1000"}, "cores"},
		{[]string{"train", "--threads", "-1"}, "cores"},
		{[]string{"train", "--checkpoint", filepath.Join(dir, "no", "such", "dir", "x.ckpt")}, "cannot write"},
		{[]string{"train", "--epochs", "0", "--data", "fashion-mnist-sample"}, "nothing to train"},
		{[]string{"train", "--epochs", "-2", "--data", "fashion-mnist-sample"}, "epochs"},
		{[]string{"train", "--sizes", "784,5e2,10"}, "5e2"},
		{[]string{"train", "--preset", "mnist/ff", "--decor", "bio"}, "does not apply to rule ff"},
		{[]string{"train", "--set", "optimizer.lr=.nan", "--data", "fashion-mnist-sample"}, "optimizer.lr"},
		{[]string{"train", "--set", "nosuchkey=1"}, "valid keys"},
	} {
		_, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != exitInvalid {
			t.Errorf("%v: %v (exit %d), want an error mentioning %q and exit 2", c.args, err, exitCode(err), c.want)
		}
	}
	t.Setenv("COPI_THREADS", "abc")
	if _, _, err := run(t, "train", "--data", "fashion-mnist-sample"); err == nil || !strings.Contains(err.Error(), "COPI_THREADS") {
		t.Errorf("COPI_THREADS=abc: %v", err)
	}
	t.Setenv("COPI_THREADS", "2")

	ck := filepath.Join(dir, "r.ckpt")
	if _, stderr, err := run(t, append([]string{"train", "--checkpoint", ck}, small...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	_, _, err = run(t, "train", "--resume", ck, "--data", "fashion-mnist-sample", "-q")
	if err == nil || !strings.Contains(err.Error(), "nothing left to train") || exitCode(err) != exitInvalid {
		t.Errorf("resume of a finished run: %v", err)
	}
	_, _, err = run(t, "train", "--resume", ck, "--data", "fashion-mnist-sample", "--epochs", "3", "--sizes", "784,16,10", "-q")
	if err == nil || !strings.Contains(err.Error(), "sizes") {
		t.Errorf("resume with other sizes: %v", err)
	}
	out, stderr, err := run(t, "train", "--resume", ck, "--data", "fashion-mnist-sample", "--epochs", "3", "--lr", "5e-4", "-q")
	if err != nil || strings.Count(out, "\n") != 5 {
		t.Errorf("resume with a smaller learning rate: %v\n%s%s", err, out, stderr)
	}
}

// TestInterruptHintResumesOnTheSameData: Ctrl-C during training writes a checkpoint and
// prints the command that continues it, with the data and the checkpoint path (following a
// hint without --data would resume on the default dataset); the exit code is 130.
func TestInterruptHintResumesOnTheSameData(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"train", "--preset", "mnist/copi-bp", "--data", "fashion-mnist-sample", "--sizes", "784,32,10",
		"--epochs", "50", "--threads", "2", "--checkpoint", ck})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the first epoch's checkpoint shows training is under way.
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(ck); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	err := root.ExecuteContext(ctx)
	if exitCode(err) != exitInterrupted {
		t.Fatalf("interrupted run: %v (exit %d)", err, exitCode(err))
	}
	want := "copi train --resume " + ck + " --data fashion-mnist-sample --checkpoint " + ck
	if !strings.Contains(errb.String(), want) {
		t.Errorf("the hint lacks %q:\n%s", want, errb.String())
	}
	if _, stderr, err := run(t, "train", "--resume", ck, "--data", "fashion-mnist-sample", "--epochs", "3", "-q", "--threads", "2"); err != nil {
		t.Errorf("following the hint: %v\n%s", err, stderr)
	}
}

// TestPresetsJSON: `copi presets --json` lists every preset, one JSON line each, with its
// rule and description.
func TestPresetsJSON(t *testing.T) {
	out, _, err := run(t, "presets", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(train.Presets()) {
		t.Fatalf("%d lines for %d presets", len(lines), len(train.Presets()))
	}
	for _, l := range lines {
		var p presetLine
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Name == "" || p.Rule == "" || p.About == "" {
			t.Errorf("line %q: %+v %v", l, p, err)
		}
	}
}

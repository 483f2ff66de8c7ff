package main

import (
	"strings"
	"testing"

	"github.com/copi-learn/copi/train"
)

// complete asks the completion machinery what to offer for args (the last one is the word
// being completed) and returns the candidates and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, _, err := run(t, append([]string{"__complete"}, args...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestShellCompletion(t *testing.T) {
	got, dir := complete(t, "train", "--preset", "mnist/copi-b")
	if strings.Join(got, " ") != "mnist/copi-bio mnist/copi-bp" || dir != ":4" {
		t.Errorf("--preset mnist/copi-b: %q %s", got, dir)
	}
	got, dir = complete(t, "compare", "--rules", "bp,f")
	if strings.Join(got, " ") != "bp,fa bp,ff bp,frsf" || dir != ":6" { // no space: another ,rule may follow
		t.Errorf("--rules bp,f: %q %s", got, dir)
	}
	got, _ = complete(t, "compare", "--presets", "mnist/bp-adam,mnist/bp")
	joined := " " + strings.Join(got, " ") + " "
	if strings.Contains(joined, "mnist/bp-adam,mnist/bp-adam ") || !strings.Contains(joined, " mnist/bp-adam,mnist/bp-ccl ") || !strings.Contains(joined, " mnist/bp-adam,mnist/bp-sgd ") {
		t.Errorf("--presets leaves out the ones given and offers the others: %q", got)
	}
	if got, _ = complete(t, "compare", "--format", ""); strings.Join(got, " ") != "table json markdown" {
		t.Errorf("compare --format: %q", got)
	}
	if got, _ = complete(t, "presets", "show", "--format", ""); strings.Join(got, " ") != "yaml json" {
		t.Errorf("presets --format: %q", got)
	}
	if got, _ = complete(t, "presets", "show", "mnist/ff-"); strings.Join(got, " ") != "mnist/ff-4x2000 mnist/ff-uniform" {
		t.Errorf("presets show: %q", got)
	}
	got, dir = complete(t, "eval", "x.ckpt", "--data", "fashion")
	if strings.Join(got, " ") != "fashion-mnist fashion-mnist-sample" || dir != ":0" { // paths complete too
		t.Errorf("--data fashion: %q %s", got, dir)
	}
	// Every value offered for an enumerated option is one the configuration accepts.
	for flag, values := range map[string][]string{"decor": decorVariants, "loss": lossNames, "activation": activationNames,
		"optimizer": optimizerNames, "adam-bias-correction": biasCorrections, "feedback-init": feedbackInits} {
		got, _ := complete(t, "train", "--"+flag, "")
		if strings.Join(got, " ") != strings.Join(values, " ") {
			t.Errorf("--%s: %q, want %q", flag, got, values)
		}
		for _, v := range values {
			_, _, err := run(t, "train", "--preset", "mnist/copi-bp", "--"+flag, v, "--epochs", "0")
			if err == nil || !strings.Contains(err.Error(), "nothing to train") {
				t.Errorf("--%s %s is offered but not accepted: %v", flag, v, err)
			}
		}
	}
	if got, _ := complete(t, "train", "--rule", "copi-"); strings.Join(got, " ") != "copi-bp copi-dfa copi-fa" {
		t.Errorf("--rule copi-: %q", got)
	}
	var presetsOK int
	for _, p := range train.Presets() {
		if got, _ := complete(t, "compare", "--base", p); len(got) >= 1 && got[0] == p {
			presetsOK++
		}
	}
	if presetsOK != len(train.Presets()) {
		t.Errorf("--base completes %d of %d presets", presetsOK, len(train.Presets()))
	}
}

// The help says where the defaults that apply come from, and with --preset P shows P's.
func TestHelpShowsThePresetsValues(t *testing.T) {
	for _, cmd := range []string{"train", "compare"} {
		out, _, err := run(t, cmd, "--help")
		if err != nil || !strings.Contains(out, "'copi presets show NAME'") {
			t.Errorf("%s --help does not point at copi presets show: %v", cmd, err)
		}
		if strings.Contains(out, "The values --preset") {
			t.Errorf("%s --help without --preset shows a preset's values", cmd)
		}
	}
	out, _, err := run(t, "train", "--preset", "mnist/ff", "--help")
	if err != nil || !strings.Contains(out, "The values --preset mnist/ff sets") || !strings.Contains(out, "  rule: ff\n") ||
		!strings.Contains(out, "negatives: hard") || !strings.Contains(out, "Usage:") {
		t.Errorf("train --preset mnist/ff --help: %v\n%s", err, out)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/internal/headless"
)

// TestReportCommand trains a tiny two-rule study and reports it, figures included.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.jsonl")
	if _, stderr, err := run(t, "compare", "--rules", "bp,fa", "--seeds", "1,2", "--data", "fashion-mnist-sample",
		"--epochs", "2", "--sizes", "784,16,10", "--threads", "2", "-q", "--metrics", m); err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr)
	}
	out := filepath.Join(dir, "sub", "r.html")
	figs := filepath.Join(dir, "figs")
	if _, stderr, err := run(t, "report", m, "-o", out, "--figures", figs, "--band", "sd"); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", `id="summary-table"`, "<td>bp</td>", "<td>fa</td>", "test accuracy first"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"test-accuracy.svg", "test-accuracy.png", "test-loss.png"} {
		if _, err := os.Stat(filepath.Join(figs, f)); err != nil {
			t.Errorf("figure file: %v", err)
		}
	}
	// An embedded picture (the figure PNG stands in for a receptive-field grid) and a non-PNG.
	withImage := filepath.Join(dir, "img.html")
	if _, stderr, err := run(t, "report", m, "-o", withImage, "--image", filepath.Join(figs, "test-loss.png")+"=receptive fields"); err != nil {
		t.Fatalf("report --image: %v\n%s", err, stderr)
	}
	page, _ := os.ReadFile(withImage)
	if !strings.Contains(string(page), `src="data:image/png;base64,iVBOR`) || !strings.Contains(string(page), "receptive fields") {
		t.Error("report --image did not embed the PNG with its caption")
	}
	if _, _, err := run(t, "report", m, "-o", withImage, "--image", m); err == nil || !strings.Contains(err.Error(), "not a PNG") {
		t.Errorf("--image with a non-PNG: %v", err)
	}
	if _, _, err := run(t, "report", m, "--band", "iqr"); err == nil || !strings.Contains(err.Error(), "iqr") {
		t.Errorf("bad --band: %v", err)
	}
	if _, _, err := run(t, "report", filepath.Join(dir, "none.jsonl")); err == nil || !strings.Contains(err.Error(), "none.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

// TestStudyOfThreeRulesInChromium: a study of bp-adam, copi-bp and forward-forward on
// Fashion-MNIST (the embedded sample, small networks) renders into one report that
// headless Chromium builds with a figure for every series each rule logged (forward-
// forward's goodness, per-layer accuracy and dead units beside COPI's alignment angles and
// decorrelation), the table naming all three, and a quiet console.
func TestStudyOfThreeRulesInChromium(t *testing.T) {
	bin := headless.Chromium(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "m.jsonl")
	if _, stderr, err := run(t, "compare", "--presets", "mnist/bp-adam,mnist/copi-bp,mnist/ff", "--data", "fashion-mnist-sample",
		"--epochs", "2", "--sizes", "784,32,32,10", "--threads", "2", "-q", "--metrics", m); err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr)
	}
	page := filepath.Join(dir, "r.html")
	if _, stderr, err := run(t, "report", m, "-o", page); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	dom, stderr := headless.Open(t, bin, page, "--dump-dom")
	for _, id := range []string{"test-accuracy", "test-loss", "update_angle_deg", "decorrelation_per_layer",
		"goodness_pos", "goodness_neg", "acc_goodness_layer", "dead_fraction", "acc_goodness", "acc_softmax"} {
		if !strings.Contains(dom, `id="fig-`+id+`"`) {
			t.Errorf("the DOM Chromium built has no figure for %s", id)
		}
	}
	for _, want := range []string{"mnist/bp-adam", "mnist/copi-bp", "mnist/ff", `id="summary-table"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") {
			t.Errorf("console message: %s", line)
		}
	}
}

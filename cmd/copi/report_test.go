package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

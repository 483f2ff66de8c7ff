package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compare --format json prints one JSON object per configuration group with its
// statistics (and nothing else on stdout); --format markdown the summary as a GitHub
// table; both for --table-only and at the end of a run, with or without --metrics.
func TestCompareFormats(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "tmp"))
	os.Mkdir(filepath.Join(dir, "tmp"), 0o755)
	metrics := filepath.Join(dir, "m.jsonl")
	args := []string{"compare", "--presets", "mnist/bp-adam,mnist/copi-bp", "--seeds", "1,2", "--data", "fashion-mnist-sample",
		"--epochs", "2", "--sizes", "784,16,10", "--threads", "2", "-q"}
	out, stderr, err := run(t, append(args, "--metrics", metrics, "--format", "json")...)
	if err != nil {
		t.Fatalf("compare --format json: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per configuration, got:\n%s", out)
	}
	type stat struct {
		Mean, SD *float64
		N        int
	}
	type groupLine struct {
		Label, Data                 string
		Seeds, Diverged, Incomplete int
		Final                       stat                             `json:"final_test_acc_pct"`
		Peak                        stat                             `json:"peak_test_acc_pct"`
		PeakEpoch                   stat                             `json:"peak_epoch"`
		SecPerEpoch                 stat                             `json:"seconds_per_epoch"`
		PerEpoch                    []*float64                       `json:"test_acc_pct_per_epoch"`
		Angles                      *struct{ First, Last []float64 } `json:"update_angle_deg"`
	}
	var groups []groupLine
	for i, l := range lines {
		var g groupLine
		if err := json.Unmarshal([]byte(l), &g); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		groups = append(groups, g)
	}
	if groups[0].Label != "mnist/bp-adam" || groups[1].Label != "mnist/copi-bp" {
		t.Errorf("labels %q, %q", groups[0].Label, groups[1].Label)
	}
	for _, g := range groups {
		if g.Data != "fashion-mnist-sample" || g.Seeds != 2 || g.Diverged != 0 || g.Incomplete != 0 ||
			g.Final.Mean == nil || g.Final.SD == nil || g.Final.N != 2 || *g.Final.Mean < 5 || *g.Final.Mean > 100 ||
			g.Peak.Mean == nil || *g.Peak.Mean < *g.Final.Mean || g.PeakEpoch.Mean == nil || g.SecPerEpoch.Mean == nil ||
			len(g.PerEpoch) != 2 || g.PerEpoch[1] == nil || *g.PerEpoch[1] != *g.Final.Mean ||
			g.Angles == nil || len(g.Angles.First) != 2 || len(g.Angles.Last) != 2 {
			t.Errorf("group %s: %+v", g.Label, g)
		}
	}

	// The text table (the default) tabulates the same numbers.
	text, _, err := run(t, "compare", "--table-only", metrics)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%.2f ± %.2f", *groups[1].Final.Mean, *groups[1].Final.SD); !strings.Contains(text, want) {
		t.Errorf("text table lacks %q:\n%s", want, text)
	}

	md, _, err := run(t, "compare", "--table-only", metrics, "--format", "markdown")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(md), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[0], "| run | data | seeds | final test acc. % |") ||
		!strings.HasPrefix(rows[1], "| --- | --- |") || !strings.HasPrefix(rows[2], "| `mnist/bp-adam` | fashion-mnist-sample | 2 | ") ||
		!strings.Contains(rows[3], fmt.Sprintf("| %.2f ± %.2f |", *groups[1].Final.Mean, *groups[1].Final.SD)) {
		t.Errorf("markdown table:\n%s", md)
	}
	for _, r := range rows {
		if strings.Count(r, " | ") != strings.Count(rows[0], " | ") || !strings.HasSuffix(r, " |") {
			t.Errorf("row %q has another number of cells than the header", r)
		}
	}

	// Without --metrics: the same, from a temporary file that is removed afterwards.
	out, stderr, err = run(t, append(args, "--presets", "mnist/copi-bp", "--seeds", "1", "--format", "markdown")...)
	if err != nil {
		t.Fatalf("compare --format markdown: %v\n%s", err, stderr)
	}
	if rows := strings.Split(strings.TrimSpace(out), "\n"); len(rows) != 3 || !strings.HasPrefix(rows[2], "| `mnist/copi-bp` | fashion-mnist-sample | 1 | ") {
		t.Errorf("markdown of a run without --metrics:\n%s", out)
	}
	if es, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(es) != 0 {
		t.Errorf("temporary files left behind: %v", es)
	}

	_, _, err = run(t, "compare", "--table-only", metrics, "--format", "xml")
	if err == nil || !strings.Contains(err.Error(), "table, json, markdown") || exitCode(err) != exitInvalid {
		t.Errorf("--format xml: %v", err)
	}
}

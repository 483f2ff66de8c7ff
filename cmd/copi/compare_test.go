package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/report"
	"github.com/copi-learn/copi/study"
	"github.com/copi-learn/copi/train"
)

// studyYAML is a 2 configurations × 2 seeds study of small networks on the embedded sample.
const studyYAML = `base: mnist/bp-adam
rules: [bp]
seeds: [1, 2]
data: [fashion-mnist-sample]
epochs: 2
config:
  sizes: [784, 32, 10]
  optimizer: {lr: 1.0e-3}
runs:
  - {label: fa-fast, rule: fa, lr: 2.0e-3}
`

func writeStudy(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(p, []byte(studyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareStudyPlan(t *testing.T) {
	st, err := study.Read(writeStudy(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := st.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 4 {
		t.Fatalf("%d runs, want 4", len(plan))
	}
	var keys []string
	for i, p := range plan {
		keys = append(keys, p.Key)
		if p.Index != i || p.Cfg.Epochs != 2 || opts(p.Cfg).Sizes[1] != 32 || opts(p.Cfg).Optimizer.Name != "adam" {
			t.Errorf("run %d: %+v", i, p)
		}
	}
	if plan[0].Label != "bp" || plan[2].Label != "fa-fast" || plan[2].Cfg.Rule != "fa" || opts(plan[2].Cfg).Optimizer.LR != 2e-3 ||
		opts(plan[0].Cfg).Optimizer.LR != 1e-3 || plan[0].Seed != 1 || plan[1].Seed != 2 {
		t.Errorf("plan: %+v", plan)
	}
	if plan[0].Hash != plan[1].Hash || plan[0].Hash == plan[2].Hash {
		t.Errorf("hashes should depend on the configuration and not the seed: %v", keys)
	}
	again, _ := st.Plan(nil)
	for i := range plan {
		if again[i].Key != plan[i].Key {
			t.Errorf("plan is not deterministic: %s vs %s", again[i].Key, plan[i].Key)
		}
	}
	for _, bad := range []string{"1/1", "2", "-1/3", "a/b"} {
		if _, _, err := study.ParseShard(bad); err == nil {
			t.Errorf("--shard %s accepted", bad)
		}
	}
}

// TestCompareShardsResumeAndMerge runs a study in two shards, merges the tables, then
// breaks one run off after its first epoch and checks that only that run is resumed, from
// its checkpoint.
func TestCompareShardsResumeAndMerge(t *testing.T) {
	dir := t.TempDir()
	sf := writeStudy(t, dir)
	ck := filepath.Join(dir, "ckpt")
	var files []string
	for i := 0; i < 2; i++ {
		m := filepath.Join(dir, "m"+string(rune('0'+i))+".jsonl")
		files = append(files, m)
		out, stderr, err := run(t, "compare", "--study", sf, "--metrics", m, "--checkpoint-dir", ck,
			"--shard", string(rune('0'+i))+"/2", "--threads", "2")
		if err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, stderr)
		}
		// Each shard's table shows its own runs: shard 0 has seed 1 of both, shard 1 seed 2.
		if !strings.Contains(out, "bp") || !strings.Contains(out, "fa-fast") {
			t.Errorf("shard %d table:\n%s", i, out)
		}
	}
	out, _, err := run(t, append([]string{"compare", "--table-only"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fa-fast", "±", "epoch of peak", "end of each epoch"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged table lacks %q:\n%s", want, out)
		}
	}
	set, err := report.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	groups := set.Groups(nil)
	if len(groups) != 2 || len(groups[0].Runs) != 2 || len(groups[1].Runs) != 2 {
		t.Fatalf("merged: %d groups", len(groups))
	}

	// Break run 0 (bp, seed 1, shard 0) off after epoch 0: a checkpoint at epoch 1 and only
	// its first line in the metrics, as if killed during epoch 1.
	st, _ := study.Read(sf)
	plan, _ := st.Plan(nil)
	p := plan[0]
	raw, _ := os.ReadFile(files[0])
	var keep []string
	dropped := 0
	for _, l := range strings.SplitAfter(string(raw), "\n") {
		if strings.Contains(l, `"key":"`+p.Key+`"`) && strings.Contains(l, `"epoch":1,`) {
			dropped++
			continue
		}
		keep = append(keep, l)
	}
	if dropped != 1 {
		t.Fatalf("dropped %d lines of %s", dropped, p.Key)
	}
	os.WriteFile(files[0], []byte(strings.Join(keep, "")), 0o644)
	eng, _ := mat32.NewEngine(mat32.Options{Threads: 2})
	defer eng.Close()
	d, err := loadData(context.Background(), "fashion-mnist-sample", 0, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Cfg.Clone()
	c.Epochs = 1
	tr, err := train.NewTrainer(eng, c, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), train.Options{CheckpointPath: filepath.Join(ck, study.CheckpointName(p.Key))}); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := run(t, "compare", "--study", sf, "--metrics", files[0], "--checkpoint-dir", ck, "--shard", "0/2", "--threads", "2")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if strings.Count(stderr, "done already") != 1 || !strings.Contains(stderr, "resuming from") || !strings.Contains(stderr, "epoch 1 step 0") {
		t.Errorf("resume should skip one run and resume the other at epoch 1:\n%s", stderr)
	}
	set, _ = report.Load(files[0])
	r := set.Lookup(p.Key)
	if r == nil || !r.Complete() || len(r.Lines) != 3 || r.Lines[0].Step != 0 || r.Lines[1].Epoch != 0 || r.Lines[2].Epoch != 1 {
		t.Errorf("resumed run: %+v", r)
	}
	if strings.Contains(out, "not finished") {
		t.Errorf("table after resume:\n%s", out)
	}
	// A dry run lists the grid with each run's status.
	out, _, err = run(t, "compare", "--study", sf, "--metrics", files[0], "--shard", "0/2", "--dry-run")
	if err != nil || strings.Count(out, "done") != 2 || strings.Count(out, "other shard") != 2 {
		t.Errorf("dry run: %v\n%s", err, out)
	}
}

// TestCompareRecordsDivergenceAndGoesOn: a run that diverges is recorded in the metrics, the
// study goes on with the next run and exits successfully, the table names the diverged run
// (left out of the statistics), and running the study again does not train it again.
func TestCompareRecordsDivergenceAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	sf := filepath.Join(dir, "study.yaml")
	study := `base: mnist/copi-bp
seeds: [1]
data: [fashion-mnist-sample]
epochs: 1
config:
  sizes: [784, 32, 10]
  decor_only_epochs: 0
runs:
  - {label: wild, lr: 10}
  - {label: calm, lr: 1.0e-4}
`
	if err := os.WriteFile(sf, []byte(study), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "m.jsonl")
	out, stderr, err := run(t, "compare", "--study", sf, "--metrics", m, "--threads", "2")
	if err != nil {
		t.Fatalf("a diverging run failed the study: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "wild@1") || !strings.Contains(stderr, "diverged") {
		t.Errorf("log does not report the divergence:\n%s", stderr)
	}
	if !strings.Contains(out, "diverged (non-finite values; left out of the table): wild@1") || !strings.Contains(out, "0 (+1 diverged)") {
		t.Errorf("table does not name the diverged run:\n%s", out)
	}
	set, err := report.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	groups := set.Groups(nil)
	if len(groups) != 2 || len(groups[0].Diverged) != 1 || len(groups[0].Runs) != 0 || len(groups[1].Runs) != 1 {
		t.Fatalf("groups: %+v", groups)
	}
	if d := groups[0].Diverged[0].Diverged; d == nil || !strings.Contains(d.Where, "layer") {
		t.Errorf("divergence record %+v does not name a layer", d)
	}
	_, stderr, err = run(t, "compare", "--study", sf, "--metrics", m, "--threads", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "not trained again") || !strings.Contains(stderr, "done already") {
		t.Errorf("second run of the study:\n%s", stderr)
	}
}

// TestCompareRecoversATornMetricsTail: a study killed while writing a metrics line leaves a
// partial last line; the next compare sets its bytes aside in a side file (nothing is
// dropped), appends its own lines on a fresh line, and the table and report read the file.
func TestCompareRecoversATornMetricsTail(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.jsonl")
	args := []string{"compare", "--presets", "mnist/bp-adam", "--seeds", "1,2", "--data", "fashion-mnist-sample",
		"--epochs", "1", "--sizes", "784,16,10", "--threads", "2", "-q", "--metrics", m}
	// Seed 1 complete (shard 0 of 2), then seed 2 torn mid-line.
	if _, stderr, err := run(t, append(args[:len(args):len(args)], "--shard", "0/2")...); err != nil {
		t.Fatalf("first compare: %v\n%s", err, stderr)
	}
	torn := `{"run":"mnist/bp-adam@2","rule":"bp","dataset":"fashion-mnist-sa`
	f, _ := os.OpenFile(m, os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString(torn)
	f.Close()
	out, stderr, err := run(t, args...)
	if err != nil {
		t.Fatalf("compare after a torn line: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "torn") || !strings.Contains(out, "mnist/bp-adam") || !strings.Contains(out, "±") {
		t.Errorf("compare after a torn line:\n%s\n%s", out, stderr)
	}
	sides, _ := filepath.Glob(m + ".torn-*")
	if len(sides) != 1 {
		t.Fatalf("side files: %v", sides)
	}
	if b, _ := os.ReadFile(sides[0]); string(b) != torn {
		t.Errorf("side file holds %q, want the torn bytes %q", b, torn)
	}
	if _, stderr, err := run(t, "report", m, "-o", filepath.Join(dir, "r.html")); err != nil {
		t.Errorf("report: %v\n%s", err, stderr)
	}
}

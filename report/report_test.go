package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// legacyConfig is the configuration of preset mnist/bp-adam as `copi compare` wrote it
// before the rules' options moved under "options": flat, with the network's settings at
// the top level.
const legacyConfig = `{"preset":"mnist/bp-adam","rule":"bp","sizes":[784,500,500,500,500,500,500,10],"activation":"leaky-relu","activation_param":0.1,"bias":false,"loss":"mse","loss_multiplier":1,"output_derivative":true,"optimizer":{"name":"adam","lr":0.0001,"beta1":0.9,"beta2":0.999,"eps":1e-8,"bias_correction":"fixed"},"decorrelation":{"variant":"none"},"batch_size":50,"epochs":100,"decor_only_epochs":1,"shuffle_first_epoch":false,"eval_every":1,"seed":1}`

// synthetic writes JSON lines of a small study: "fast" learns quicker than "slow", both
// over 3 seeds and 6 epochs, with alignment metrics; "old" has lines as `copi train`
// wrote them before studies (no label, key, config or alignment); "slow" seed 3 was
// interrupted once and restarted, and "fast" seed 4 is unfinished.
func synthetic(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	write := func(label, rule string, seed uint64, epochs, upTo int, rate float64) {
		var cfg map[string]any
		if err := json.Unmarshal([]byte(legacyConfig), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg["rule"], cfg["epochs"], cfg["seed"] = rule, epochs, seed
		for e := 0; e < upTo; e++ {
			acc := 0.9 - 0.8/float64(1+rate*float64(e)) + 0.005*float64(seed)
			line := map[string]any{
				"run": fmt.Sprintf("%s@%d", label, seed), "rule": rule, "preset": "mnist/bp-adam",
				"dataset": "fashion-mnist", "seed": seed, "epoch": e, "epoch_fraction": 1, "step": 100 * (e + 1),
				"train_loss": 1 - acc, "train_acc": acc, "test_loss": 1.1 - acc, "test_acc": acc,
				"decorrelation": 0.3, "decorrelation_per_layer": []float64{0.2, 0.4},
				"update_angle_deg":    []float64{80 - 5*float64(e), 60 - 4*float64(e)},
				"feedback_angle_deg":  []any{85 - float64(e), nil},
				"feedback_norm_ratio": []float64{1, 1.2},
				"seconds":             2.5 * float64(e+1),
				"label":               label, "key": fmt.Sprintf("%s|fashion-mnist|%d|h%s", label, seed, label),
				"config_hash": "h" + label, "config": cfg,
			}
			if err := enc.Encode(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	for s := uint64(1); s <= 3; s++ {
		write("fast", "bp", s, 6, 6, 3)
	}
	write("slow", "fa", 3, 6, 4, 0.5) // the first attempt, interrupted in epoch 4
	for s := uint64(1); s <= 3; s++ {
		write("slow", "fa", s, 6, 6, 0.5)
	}
	write("fast", "bp", 4, 6, 2, 3)
	for e := 0; e < 6; e++ {
		fmt.Fprintf(&b, `{"run":"old@1","rule":"copi-bp","preset":"mnist/copi-bp","dataset":"fashion-mnist","seed":1,"epoch":%d,"epoch_fraction":1,"step":%d,"train_loss":0.5,"train_acc":0.6,"test_loss":0.5,"test_acc":%g,"decorrelation":0.1,"seconds":%d}`+"\n",
			e, 100*(e+1), 0.5+0.05*float64(e), 3*(e+1))
	}
	b.WriteString(`{"run":"old@1","rule":"copi-b`) // a torn last line
	return b.Bytes()
}

func loadSynthetic(t testing.TB) *Set {
	s := &Set{}
	if err := s.Read(bytes.NewReader(synthetic(t)), "synthetic"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSetGroupsAttemptsAndSummaries(t *testing.T) {
	s := loadSynthetic(t)
	groups := s.Groups(nil)
	if len(groups) != 3 {
		t.Fatalf("%d groups, want fast, slow, old", len(groups))
	}
	fast, slow, old := groups[0], groups[1], groups[2]
	if fast.Label != "fast" || len(fast.Runs) != 3 || len(fast.Incomplete) != 1 || len(slow.Runs) != 3 || old.Label != "old" || len(old.Runs) != 1 {
		t.Fatalf("groups: fast %d+%d, slow %d, old %q %d", len(fast.Runs), len(fast.Incomplete), len(slow.Runs), old.Label, len(old.Runs))
	}
	for _, r := range slow.Runs {
		if len(r.Lines) != 6 {
			t.Errorf("slow seed %d keeps %d lines, want the 6 of its latest attempt", r.Seed, len(r.Lines))
		}
	}
	sum := Summarise(fast)
	if sum.Final.N != 3 || sum.Final.Mean < 80 || sum.Final.SD <= 0 || len(sum.PerEpoch) != 6 || sum.SecPerEpoch.Mean != 2.5 {
		t.Errorf("fast summary: %+v", sum)
	}
	if got := s.Lookup("slow|fashion-mnist|3|hslow"); got == nil || !got.Complete() {
		t.Errorf("lookup by key: %+v", got)
	}
	if l := fast.Runs[0].Lines[0]; len(l.PerLayer["update_angle_deg"]) != 2 || l.PerLayer["feedback_angle_deg"][1] == l.PerLayer["feedback_angle_deg"][1] {
		t.Errorf("per-layer series (null reads as NaN): %v", l.PerLayer)
	}
}

func TestRenderHTML(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := Render(&b, loadSynthetic(t), Options{Sources: []string{"synthetic.jsonl"}, FiguresDir: dir}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		"<svg", `id="summary-table"`, "final test acc. %", "fast reached 75% test accuracy first, at the end of epoch 2",
		"then old at the end of epoch 5", "never reached it: slow", `id="fig-test-accuracy"`, `id="fig-test-loss"`, `id="fig-update_angle_deg"`,
		`id="fig-feedback_angle_deg"`, `id="fig-decorrelation"`, "final update ∠ gradient °", "Unfinished runs",
		"fast, seed 4", "optimizer.lr", "mnist/copi-bp", "Angle between the update and the backprop gradient at the end",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, "<svg"); n != 7 {
		t.Errorf("%d inline SVG figures, want 7", n)
	}
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report is not self-contained: contains %q", bad)
		}
	}
	for _, name := range []string{"test-accuracy", "test-loss", "update_angle_deg"} {
		for _, ext := range []string{".svg", ".png"} {
			fi, err := os.Stat(filepath.Join(dir, name+ext))
			if err != nil || fi.Size() < 1000 {
				t.Errorf("figure file %s%s: %v", name, ext, err)
			}
		}
	}
}

func TestRenderWithoutAlignmentOrConfig(t *testing.T) {
	s := &Set{}
	for e := 0; e < 3; e++ {
		l, err := ParseLine([]byte(fmt.Sprintf(`{"run":"bp@1","rule":"bp","dataset":"mnist","seed":1,"epoch":%d,"epoch_fraction":1,"test_acc":0.%d,"test_loss":1,"seconds":1}`, e, 5+e)))
		if err != nil {
			t.Fatal(err)
		}
		s.Add(l)
	}
	var b bytes.Buffer
	if err := Render(&b, s, Options{}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if !strings.Contains(html, "bp reached 60% test accuracy at the end of epoch 1") || strings.Count(html, "<svg") != 2 || strings.Contains(html, "angle") {
		t.Errorf("minimal report:\n%s", html)
	}
	if err := Render(&b, &Set{}, Options{}); err == nil {
		t.Error("empty set rendered")
	}
}

func TestAtEpoch(t *testing.T) {
	for x, want := range map[float64]string{3: "at the end of epoch 3", 0: "at the end of epoch 0", -0.3: "70% into epoch 0", 1.5: "50% into epoch 2"} {
		if got := atEpoch(x); got != want {
			t.Errorf("atEpoch(%v) = %q, want %q", x, got, want)
		}
	}
}

// TestLayerStats: per-layer angles at the first and last evaluation, averaged over the
// complete runs only (the unfinished fast@4 is left out); nil for a group without them.
// Catches first and last swapped and incomplete runs leaking into the table.
func TestLayerStats(t *testing.T) {
	groups := loadSynthetic(t).Groups(nil)
	byLabel := map[string]*Group{}
	for _, g := range groups {
		byLabel[g.Label] = g
	}
	first := LayerStats(byLabel["fast"], "update_angle_deg", true)
	last := LayerStats(byLabel["fast"], "update_angle_deg", false)
	if len(first) != 2 || len(last) != 2 {
		t.Fatalf("got %d and %d layers, want 2", len(first), len(last))
	}
	for i, want := range [][2]float64{{80, 55}, {60, 40}} {
		if first[i].Mean != want[0] || last[i].Mean != want[1] || first[i].N != 3 {
			t.Errorf("layer %d: first %v (n %d), last %v; want %v then %v over 3 runs", i, first[i].Mean, first[i].N, last[i].Mean, want[0], want[1])
		}
	}
	if s := LayerStats(byLabel["old"], "update_angle_deg", false); s != nil {
		t.Errorf("a group without angles gave %v", s)
	}
}

// TestReadRejectsImpossiblePositions: a well-formed line whose epoch or fraction cannot be a
// position in training is an error naming the file and line, even as the last line (which
// is forgiven only for being torn JSON). Catches a corrupt file crashing the table
// (index -5) or making it allocate a row per epoch up to 2e9.
func TestReadRejectsImpossiblePositions(t *testing.T) {
	good := `{"run":"a@1","epoch":0,"epoch_fraction":1,"test_acc":0.5}` + "\n"
	for _, bad := range []string{
		`{"run":"a@1","epoch":-5,"epoch_fraction":1}`,
		`{"run":"a@1","epoch":2000000000,"epoch_fraction":1}`,
		`{"run":"a@1","epoch":1,"epoch_fraction":1.5}`,
		`{"run":"a@1","diverged":{"epoch":-1,"step":3,"where":"layer 1 W"}}`,
	} {
		s := &Set{}
		err := s.Read(strings.NewReader(good+bad+"\n"), "m.jsonl")
		if err == nil || !strings.Contains(err.Error(), "m.jsonl line 2") {
			t.Errorf("%s: got %v, want an error naming m.jsonl line 2", bad, err)
		}
	}
	s := &Set{}
	if err := s.Read(strings.NewReader(good+`{"run":"a@1","ep`), "m.jsonl"); err != nil {
		t.Errorf("a torn last line: %v", err)
	}
}

// TestSummaryReadsTestAtBestValidation checks that a run with a validation split is
// summarised by the test accuracy at its epoch of lowest validation loss, and that runs
// without one have no such figure.
func TestSummaryReadsTestAtBestValidation(t *testing.T) {
	var b bytes.Buffer
	for e, v := range []struct{ valLoss, test float64 }{{0.5, 0.80}, {0.2, 0.85}, {0.3, 0.90}} {
		fmt.Fprintf(&b, `{"run":"v@1","rule":"ccl","dataset":"mnist","seed":1,"epoch":%d,"epoch_fraction":1,"step":%d,"test_acc":%g,"val_loss":%g,"val_acc":0.9,"seconds":1,"config":{"epochs":3}}`+"\n",
			e, e+1, v.test, v.valLoss)
	}
	s := &Set{}
	if err := s.Read(&b, "val"); err != nil {
		t.Fatal(err)
	}
	g := s.Groups(nil)
	if len(g) != 1 || len(g[0].Runs) != 1 {
		t.Fatalf("groups: %+v", g)
	}
	sum := Summarise(g[0])
	if sum.AtBestVal.N != 1 || math.Abs(sum.AtBestVal.Mean-85) > 1e-9 || sum.BestValEpoch.Mean != 1 {
		t.Fatalf("at best validation: %+v at epoch %+v, want 85 at epoch 1", sum.AtBestVal, sum.BestValEpoch)
	}
	if sum.Peak.Mean != 90 {
		t.Fatalf("peak %v, want 90", sum.Peak.Mean)
	}
	if other := Summarise(loadSynthetic(t).Groups(nil)[0]); other.AtBestVal.N != 0 {
		t.Fatalf("runs without validation have a figure at best validation: %+v", other.AtBestVal)
	}
}

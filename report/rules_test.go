package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// ffLine is an evaluation as `copi train` writes it for forward-forward: the rule's series
// in the open "layers" and "scalars" maps, no test loss, the options nested.
const ffLine = `{"run":"mnist/ff@1","rule":"ff","preset":"mnist/ff","dataset":"mnist","seed":1,"epoch":2,"epoch_fraction":1,"step":1800,"train_loss":0.3,"train_acc":0.95,"test_acc":0.97,"seconds":12.5,` +
	`"layers":{"goodness_pos":[3.5,null,2.5],"goodness_neg":[1,1.2,1.4],"dead_fraction":[0.01,0.02,0.03]},"scalars":{"acc_goodness":0.97,"acc_softmax":0.965,"broken":"x"},` +
	`"label":"mnist/ff","key":"mnist/ff|mnist|1|h","config_hash":"h","config":{"preset":"mnist/ff","rule":"ff","batch_size":100,"epochs":3,"eval_every":1,"seed":1,"options":{"sizes":[784,500,10],"threshold":2,"output_derivative":false}}}`

// legacyLine is an evaluation as older versions wrote it: the series at the top level.
const legacyLine = `{"run":"old@1","rule":"copi-bp","dataset":"mnist","seed":1,"epoch":0,"epoch_fraction":1,"test_loss":0.4,"test_acc":0.9,"decorrelation":0.2,"update_angle_deg":[30,20],"decorrelation_per_layer":[0.1,0.3],"config":{"epochs":5,"sizes":[784,10],"output_derivative":true}}`

// TestParseNestedAndLegacySeries: the "layers" map reads into PerLayer and the "scalars"
// map into Scalars, as the top-level arrays and decorrelation of older lines do; a missing
// test loss is NaN, not 0; the configuration is generic and keeps its planned epochs.
func TestParseNestedAndLegacySeries(t *testing.T) {
	l, err := ParseLine([]byte(ffLine))
	if err != nil {
		t.Fatal(err)
	}
	if g := l.PerLayer["goodness_pos"]; len(g) != 3 || g[0] != 3.5 || !math.IsNaN(g[1]) || len(l.PerLayer) != 3 {
		t.Errorf("per-layer series: %v", l.PerLayer)
	}
	if l.Scalars["acc_goodness"] != 0.97 || l.Scalars["acc_softmax"] != 0.965 || len(l.Scalars) != 2 {
		t.Errorf("scalars: %v", l.Scalars)
	}
	if !math.IsNaN(l.TestLoss) || l.TrainLoss != 0.3 {
		t.Errorf("test loss %v (want NaN: the line has none), train loss %v", l.TestLoss, l.TrainLoss)
	}
	if v, ok := ConfigValue(l.Config, "options.threshold"); !ok || v != 2.0 || ConfigEpochs(l.Config) != 3 || ConfigBool(l.Config, "output_derivative") {
		t.Errorf("config: %v", l.Config)
	}
	if f := FlattenConfig(l.Config); f["options.sizes"] != "784-500-10" || f["batch_size"] != "100" {
		t.Errorf("flattened config: %v", f)
	}
	old, err := ParseLine([]byte(legacyLine))
	if err != nil {
		t.Fatal(err)
	}
	if old.Scalars["decorrelation"] != 0.2 || len(old.PerLayer["update_angle_deg"]) != 2 || old.TestLoss != 0.4 ||
		ConfigEpochs(old.Config) != 5 || !ConfigBool(old.Config, "output_derivative") {
		t.Errorf("legacy line: scalars %v, per layer %v, test loss %v, config %v", old.Scalars, old.PerLayer, old.TestLoss, old.Config)
	}
	s := &Set{}
	s.Add(l)
	if r := s.Runs[0]; r.PlannedEpochs() != 3 || !r.Complete() {
		t.Errorf("run planned %d epochs, complete %v; want 3, true", r.PlannedEpochs(), r.Complete())
	}
}

// renderFile renders the metrics file with the options and returns the page.
func renderFile(t *testing.T, path string, opt Options) string {
	t.Helper()
	set, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, set, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRenderFFBesideCOPI: a study of forward-forward (its own series in the open maps),
// COPI-FA in the current layout and COPI-BP as older versions wrote it gets one figure for
// every series any of them reports, the known ones with their titles, the others titled
// from their names, acc_ scalars in percent; the table and headline still find the update
// angles, and the configuration is shown from both layouts.
func TestRenderFFBesideCOPI(t *testing.T) {
	html := renderFile(t, filepath.Join("testdata", "ff-copi.jsonl"), Options{})
	for _, id := range []string{"test-accuracy", "test-loss", "decorrelation", "acc_goodness", "acc_softmax",
		"update_angle_deg", "feedback_angle_deg", "feedback_norm_ratio", "decorrelation_per_layer",
		"goodness_pos", "goodness_neg", "dead_fraction"} {
		if !strings.Contains(html, `id="fig-`+id+`"`) {
			t.Errorf("no figure for %s", id)
		}
	}
	if n := strings.Count(html, "<svg"); n != 12 {
		t.Errorf("%d figures, want 12", n)
	}
	for _, want := range []string{
		">goodness pos</h2>", ">dead fraction</h2>", ">acc goodness</h2>", "accuracy (%)",
		"Angle between each layer&#39;s update and the backprop gradient",
		"final update ∠ gradient °", "mnist/copi-fa 48°, mnist/copi-bp 18°",
		"Highest final test accuracy: mnist/ff, 96.30 ± 0.14% over 2 seeds",
		"options.threshold", "options.sizes", "optimizer.lr", "output_derivative: true",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "Unfinished runs") {
		t.Error("runs of the planned length are taken for unfinished")
	}
}

// evalLines writes the JSON lines of one run: an evaluation before training, then one at
// the end of every epoch, with the given final test accuracy and configuration.
func evalLines(b *bytes.Buffer, label string, seed, epochs int, final float64, config string) {
	for e := -1; e < epochs; e++ {
		epoch, frac, acc := e, 1, final-0.01*float64(epochs-1-e)
		if e < 0 {
			epoch, frac, acc = 0, 0, 0.1
		}
		fmt.Fprintf(b, `{"run":"%s@%d","rule":"bp","dataset":"mnist","seed":%d,"epoch":%d,"epoch_fraction":%d,"train_loss":%g,"train_acc":%g,"test_loss":%g,"test_acc":%g,"seconds":%d,"label":"%s","config_hash":"h%s"%s}`+"\n",
			label, seed, seed, epoch, frac, 1-acc, acc, 1-acc, acc, e+1, label, label, config)
	}
}

func renderBytes(t *testing.T, b []byte, opt Options) string {
	t.Helper()
	s := &Set{}
	if err := s.Read(bytes.NewReader(b), "m.jsonl"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, s, opt); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestOutputDerivativeNote: the note on BP's angle appears exactly when a run's
// configuration sets output_derivative, in the current layout or the older one.
func TestOutputDerivativeNote(t *testing.T) {
	for _, c := range []struct {
		config string
		want   bool
	}{
		{``, false},
		{`,"config":{"epochs":2,"options":{"output_derivative":false}}`, false},
		{`,"config":{"epochs":2,"options":{"output_derivative":true}}`, true},
		{`,"config":{"epochs":2,"output_derivative":true}`, true},
		{`,"config":{"epochs":2,"output_derivative":false}`, false},
	} {
		var b bytes.Buffer
		evalLines(&b, "bp", 1, 2, 0.9, c.config)
		html := renderBytes(t, b.Bytes(), Options{})
		if got := strings.Contains(html, "output_derivative: true"); got != c.want {
			t.Errorf("config %s: note shown %v, want %v", c.config, got, c.want)
		}
	}
}

// TestSingleSeedShowsNoSpread: a configuration over one seed shows its values without
// "± 0.00" and says "1 seed"; over two it shows the spread.
func TestSingleSeedShowsNoSpread(t *testing.T) {
	if got := NewStat([]float64{96.3}).Format(2); got != "96.30" {
		t.Errorf("one seed formats as %q, want 96.30", got)
	}
	if got := NewStat([]float64{96, 97}).Format(1); got != "96.5 ± 0.7" {
		t.Errorf("two seeds format as %q", got)
	}
	var b bytes.Buffer
	evalLines(&b, "bp", 1, 3, 0.963, `,"config":{"epochs":3}`)
	html := renderBytes(t, b.Bytes(), Options{})
	if strings.Contains(html, "± 0.00") || !strings.Contains(html, "96.30% over 1 seed.") || !strings.Contains(html, "(1 seed)") {
		t.Errorf("single seed report:\n%s", headlineOf(html))
	}
}

func headlineOf(html string) string {
	if i := strings.Index(html, `<div class="headline"`); i >= 0 {
		if j := strings.Index(html[i:], "</div>"); j >= 0 {
			return html[i : i+j]
		}
	}
	return html
}

// TestTiesNotHeadlined: two configurations whose final accuracies are equal to the shown
// precision (one seed each) or within the seeds' sd are said to be level, neither
// highlighted as the best; a clear lead is headlined and highlighted.
func TestTiesNotHeadlined(t *testing.T) {
	for _, c := range []struct {
		name   string
		a, b   []float64 // final accuracies over seeds
		level  string    // the reason given, "" for a lead of a
		bestRs int       // rows highlighted
	}{
		{"single seed, equal to the precision", []float64{0.965001}, []float64{0.964999}, "equal to the precision shown", 0},
		{"within sd", []float64{0.960, 0.970}, []float64{0.962, 0.966}, "within the seeds&#39; sd", 0},
		{"lead", []float64{0.970, 0.971}, []float64{0.950, 0.951}, "", 1},
		{"single seed, lead", []float64{0.9651}, []float64{0.9640}, "", 1},
	} {
		var buf bytes.Buffer
		for i, f := range c.a {
			evalLines(&buf, "a", i+1, 3, f, `,"config":{"epochs":3}`)
		}
		for i, f := range c.b {
			evalLines(&buf, "b", i+1, 3, f, `,"config":{"epochs":3}`)
		}
		html := renderBytes(t, buf.Bytes(), Options{})
		head := headlineOf(html)
		if c.level != "" {
			if !strings.Contains(head, "Level on final test accuracy ("+c.level+"): a ") || strings.Contains(head, "Highest final") {
				t.Errorf("%s: a tie headlined as a lead:\n%s", c.name, head)
			}
		} else if !strings.Contains(head, "Highest final test accuracy: a,") || strings.Contains(head, "Level") {
			t.Errorf("%s: the lead is not headlined:\n%s", c.name, head)
		}
		if n := strings.Count(html, `<tr class="best">`); n != c.bestRs {
			t.Errorf("%s: %d rows highlighted as best, want %d", c.name, n, c.bestRs)
		}
	}
}

// TestOneXAxis: every figure places the evaluation before training at x = 0 and the end of
// epoch e at e+1, on one axis from 0 to the last evaluation, and the headline still names
// the epoch as the tables count it.
func TestOneXAxis(t *testing.T) {
	var b bytes.Buffer
	evalLines(&b, "bp", 1, 3, 0.5, `,"config":{"epochs":4}`)
	// A mid-epoch evaluation, half-way through epoch 3 (x = 3.5).
	b.WriteString(`{"run":"bp@1","rule":"bp","dataset":"mnist","seed":1,"epoch":3,"epoch_fraction":0.5,"test_acc":0.95,"test_loss":0.1,"train_loss":0.1,"train_acc":0.95,"layers":{"update_angle_deg":[10,20]},"scalars":{"decorrelation":0.1},"label":"bp","config_hash":"hbp"}` + "\n")
	s := &Set{}
	if err := s.Read(&b, "m.jsonl"); err != nil {
		t.Fatal(err)
	}
	groups := s.Groups(nil)
	c := aggregate(groups[0], BandMinMax, false, func(l *Line) (float64, bool) { return l.TestAcc, true })
	if fmt.Sprint(c.x) != "[0 1 2 3 3.5]" {
		t.Errorf("evaluations at x = %v, want [0 1 2 3 3.5]", c.x)
	}
	figs, err := Figures(groups, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 4 {
		t.Errorf("%d figures, want accuracy, loss, decorrelation, update angle", len(figs))
	}
	for _, f := range figs {
		for _, p := range f.panels {
			if p.X.Min != 0 || p.X.Max != 3.5 || p.X.Label.Text != xLabel {
				t.Errorf("figure %s: x axis %v to %v labelled %q, want 0 to 3.5, %q", f.Name, p.X.Min, p.X.Max, p.X.Label.Text, xLabel)
			}
		}
	}
	if h := Headlines(groups); len(h) == 0 || !strings.Contains(h[0], "reached 85% test accuracy 50% into epoch 3") {
		t.Errorf("headline: %q", h)
	}
	for p, want := range map[float64]string{0: "before training", 1: "at the end of epoch 0", 3.5: "50% into epoch 3"} {
		if got := atPosition(p); got != want {
			t.Errorf("atPosition(%v) = %q, want %q", p, got, want)
		}
	}
}

// TestPointMarkersWhenFew: a curve of up to 12 evaluations marks each with a point (shown in
// the legend too); a longer one is a plain line.
func TestPointMarkersWhenFew(t *testing.T) {
	for _, n := range []int{1, 12, 13, 40} {
		var c curve
		for i := range n {
			x := float64(i)
			c.x, c.mean, c.lo, c.hi = append(c.x, x), append(c.mean, x), append(c.lo, x), append(c.hi, x)
		}
		p := plot.New()
		thumbs, err := addCurve(p, c, 3)
		if err != nil {
			t.Fatal(err)
		}
		marked := false
		for _, th := range thumbs {
			if _, ok := th.(*plotter.Scatter); ok {
				marked = true
			}
		}
		if marked != (n <= maxMarked) {
			t.Errorf("%d evaluations: marked %v, want %v", n, marked, n <= maxMarked)
		}
	}
}

// TestTrainingBesideTestAndLogLoss: the accuracy and loss figures have the training curve
// in a panel beside the test curve; LogLoss puts the loss panels on a log scale that
// leaves out non-positive losses instead of failing to draw them.
func TestTrainingBesideTestAndLogLoss(t *testing.T) {
	var b bytes.Buffer
	evalLines(&b, "bp", 1, 3, 0.9, `,"config":{"epochs":4}`)
	b.WriteString(`{"run":"bp@1","rule":"bp","dataset":"mnist","seed":1,"epoch":3,"epoch_fraction":1,"test_acc":1,"test_loss":0,"train_loss":-1,"train_acc":1,"label":"bp","config_hash":"hbp"}` + "\n")
	s := &Set{}
	if err := s.Read(&b, "m.jsonl"); err != nil {
		t.Fatal(err)
	}
	for _, logLoss := range []bool{false, true} {
		figs, err := Figures(s.Groups(nil), Options{LogLoss: logLoss})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range figs[:2] {
			if len(f.panels) != 2 || f.panels[0].Title.Text != "test set" || f.panels[1].Title.Text != "training batches" {
				t.Fatalf("figure %s has no training panel beside the test panel", f.Name)
			}
			if _, err := f.SVG(); err != nil {
				t.Fatal(err)
			}
		}
		loss := figs[1]
		for _, p := range loss.panels {
			_, isLog := p.Y.Scale.(plot.LogScale)
			if isLog != logLoss || (logLoss && !(p.Y.Min > 0)) {
				t.Errorf("LogLoss %v: loss panel %q has scale %T from %v", logLoss, p.Title.Text, p.Y.Scale, p.Y.Min)
			}
		}
		if strings.Contains(loss.Caption, "Logarithmic") != logLoss {
			t.Errorf("LogLoss %v: caption %q", logLoss, loss.Caption)
		}
	}
}

// TestConfigTableForOneRun: the report of a single `copi train` run shows its whole
// configuration, not greyed out as "the same as the others".
func TestConfigTableForOneRun(t *testing.T) {
	html := renderFile(t, writeTemp(t, ffLine+"\n"), Options{})
	i := strings.Index(html, `id="configuration"`)
	if i < 0 {
		t.Fatal("no configuration section")
	}
	cfg := html[i:]
	for _, want := range []string{"<td>options.sizes</td><td>784-500-10</td>", "<td>options.threshold</td><td>2</td>", "<td>batch_size</td><td>100</td>"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("configuration lacks %q", want)
		}
	}
	if strings.Contains(cfg, `class="same"`) {
		t.Error("a single configuration's rows are greyed out")
	}
}

// TestRenderDivergedOnly: a configuration whose only run diverged is still reported
// (its configuration column comes from the diverged run).
func TestRenderDivergedOnly(t *testing.T) {
	src := `{"run":"a@1","rule":"fa","dataset":"mnist","seed":1,"epoch":0,"epoch_fraction":0,"test_acc":0.1,"label":"a","key":"k","config":{"epochs":2,"options":{"lr":9}}}` + "\n" +
		`{"run":"a@1","rule":"fa","dataset":"mnist","seed":1,"label":"a","key":"k","diverged":{"epoch":0,"step":3,"where":"layer 1 W"}}` + "\n"
	html := renderFile(t, writeTemp(t, src), Options{})
	if !strings.Contains(html, "<td>options.lr</td><td>9</td>") || !strings.Contains(html, "a, seed 1, on mnist: at epoch 0, step 3") {
		t.Errorf("diverged-only report lacks its configuration or divergence")
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.jsonl")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFilesWrittenAtomically: the figures and the report replace what is at their paths
// (a symbolic link included: it is replaced, the file it points to left untouched, which
// writing in place would overwrite) and leave no temporary files behind.
func TestFilesWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	figs := filepath.Join(dir, "figs")
	if err := os.MkdirAll(figs, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "report.html")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{filepath.Join(figs, "test-accuracy.svg"), out} {
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := RenderFile(out, loadSynthetic(t), Options{FiguresDir: figs}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("a file behind a symbolic link was overwritten: %.40q", b)
	}
	for _, p := range []string{filepath.Join(figs, "test-accuracy.svg"), out} {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < 1000 {
			t.Errorf("%s: %v, %v", p, fi, err)
		}
	}
	for _, d := range []string{figs, filepath.Dir(out)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	}
}

// TestRenderExtremeValues: values at the edge of float64 (a diverging run's losses, a
// constant huge scalar) are left out or drawn, never hang the axis labelling or panic.
func TestRenderExtremeValues(t *testing.T) {
	src := `{"run":"a@1","epoch":0,"epoch_fraction":1,"test_acc":1e308,"test_loss":1e308,"train_loss":-1e308,"layers":{"x":[1e308,-1e99],"y":[]},"scalars":{"acc_z":1e308,"w":-1e99}}
{"run":"a@2","epoch":0,"epoch_fraction":1,"test_acc":1e99,"test_loss":1e99,"train_loss":-1e99,"layers":{"x":[1e99,1e99]},"scalars":{"acc_z":1e99,"w":-1e99}}
{"run":"a@2","epoch":999999,"epoch_fraction":0.3,"test_acc":0,"test_loss":0,"layers":{"x":[0,1]}}
`
	for _, logLoss := range []bool{false, true} {
		html := renderFile(t, writeTemp(t, src), Options{LogLoss: logLoss})
		if !strings.Contains(html, `id="fig-w"`) {
			t.Errorf("LogLoss %v: the constant scalar w has no figure", logLoss)
		}
	}
}

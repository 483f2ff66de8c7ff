package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/copi-learn/copi/internal/atomicfile"
)

// Options are the settings of [Render].
type Options struct {
	// Title heads the page (default "copi report").
	Title string
	// Sources name the metrics files, shown under the title.
	Sources []string
	// Band selects the band over seeds (default min–max).
	Band Band
	// FiguresDir, if set, also receives every figure as SVG and PNG.
	FiguresDir string
	// Images are PNG pictures shown after the figures, embedded in the page (e.g. the
	// receptive fields of 'copi analyze rf').
	Images []Image
	// LogLoss draws the loss figure on a logarithmic y axis.
	LogLoss bool
}

// Image is a PNG picture to embed in the report.
type Image struct {
	Title, Caption string
	PNG            []byte
}

// Render writes the report of every run in set as one self-contained HTML page: a headline
// computed from the data, the summary table, the figures as inline SVG, and the runs'
// configuration. It uses no script and no network asset.
func Render(w io.Writer, set *Set, opt Options) error {
	if opt.Title == "" {
		opt.Title = "copi report"
	}
	if opt.Band == "" {
		opt.Band = BandMinMax
	}
	groups := set.Groups(nil)
	if len(groups) == 0 {
		return fmt.Errorf("no runs to report")
	}
	var shown []*Group
	for _, g := range groups {
		if len(plotted(g)) > 0 {
			shown = append(shown, g)
		}
	}
	figs, err := Figures(shown, opt)
	if err != nil {
		return err
	}
	if opt.FiguresDir != "" {
		if err := WriteFiles(opt.FiguresDir, figs); err != nil {
			return err
		}
	}
	page := pageData{Title: opt.Title, Sources: opt.Sources, Headlines: Headlines(shown)}
	for _, g := range groups {
		page.Runs += len(g.Runs) + len(g.Diverged) + len(g.Incomplete)
		for _, r := range g.Diverged {
			page.Diverged = append(page.Diverged, fmt.Sprintf("%s, seed %d, on %s: at %s", r.Label, r.Seed, r.Dataset, r.Diverged))
		}
		for _, r := range g.Incomplete {
			last := "no evaluation"
			if len(r.Lines) > 0 {
				last = fmt.Sprintf("last evaluation in epoch %d", r.Last().Epoch)
			}
			page.Incomplete = append(page.Incomplete, fmt.Sprintf("%s, seed %d, on %s: %s of %d", r.Label, r.Seed, r.Dataset, last, r.PlannedEpochs()))
		}
	}
	page.Table = summaryTable(shown)
	if outputDerivative(groups) {
		page.Notes = append(page.Notes, outputDerivativeNote)
	}
	for _, f := range figs {
		svg, err := f.SVG()
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		page.Figures = append(page.Figures, figureData{ID: "fig-" + f.Name, Title: f.Title, Caption: f.Caption, SVG: inlineSVG(svg)})
	}
	for i, im := range opt.Images {
		if !bytes.HasPrefix(im.PNG, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("image %q is not a PNG file", im.Title)
		}
		page.Images = append(page.Images, imageData{ID: fmt.Sprintf("image-%d", i+1), Title: im.Title, Caption: im.Caption,
			// A data URI keeps the page self-contained.
			Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(im.PNG))})
	}
	page.Config = configTable(groups, legendNames(groups))
	page.MultiConfig = len(groups) > 1
	return pageTemplate.Execute(w, page)
}

// RenderFile renders the report as [Render] does and writes it to path atomically: a
// reader of path sees the old report or the new one, never a part. It creates path's
// directory if need be.
func RenderFile(path string, set *Set, opt Options) error {
	var b bytes.Buffer
	if err := Render(&b, set, opt); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes(), 0o644)
}

// outputDerivativeNote explains the update angle of runs configured like the reference.
const outputDerivativeNote = `Some runs are configured with output_derivative: true, as the COPI presets are: ` +
	`following a quirk of the reference code, they multiply the error at the linear output layer by the ` +
	`derivative of the hidden layers' nonlinearity. The update angles are measured against the true ` +
	`gradient of the loss, which has no such factor, so even backprop ("bp") with this setting is not ` +
	`at 0°: its angle measures the quirk, and every rule's angle with this setting includes it.`

// outputDerivative reports whether any run's configuration sets output_derivative (under
// "options" in current files, at the top level in older ones).
func outputDerivative(groups []*Group) bool {
	for _, g := range groups {
		for _, r := range allRuns(g) {
			if ConfigBool(r.Config, "output_derivative") {
				return true
			}
		}
	}
	return false
}

// allRuns returns a group's runs: complete, unfinished, then diverged.
func allRuns(g *Group) []*Run {
	return append(append(append([]*Run(nil), g.Runs...), g.Incomplete...), g.Diverged...)
}

// inlineSVG prepares an SVG document for inclusion in HTML: no XML prologue, and font
// families with fallbacks the browser has.
func inlineSVG(svg []byte) template.HTML {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	r := strings.NewReplacer(
		"font-family:Liberation Sans", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif",
		"font-family:Liberation Serif", "font-family:'Liberation Serif','Times New Roman',serif",
		"font-family:Liberation Mono", "font-family:'Liberation Mono',monospace",
	)
	// The SVG is generated here from numbers and escaped labels: it is trusted markup.
	return template.HTML(r.Replace(s))
}

type pageData struct {
	Title     string
	Sources   []string
	Runs      int
	Headlines []string
	Table     tableData
	Figures   []figureData
	Images    []imageData
	Config    tableData
	// MultiConfig is set when the configuration table compares several configurations.
	MultiConfig bool
	// Notes explain what the figures and the table show (e.g. the output-derivative quirk).
	Notes      []string
	Incomplete []string
	// Diverged lists the runs stopped on non-finite values.
	Diverged []string
}

type imageData struct {
	ID, Title, Caption string
	Src                template.URL
}

type figureData struct {
	ID, Title, Caption string
	SVG                template.HTML
}

type tableData struct {
	Head []string
	Rows []tableRow
}

type tableRow struct {
	Cells []string
	// Differs marks a configuration row whose values differ between configurations.
	Differs bool
	// Best marks the summary rows with the highest final accuracy: the highest and those
	// level with it.
	Best bool
}

// atPosition says when a [Line.Position] was reached, in the words of [atEpoch]:
// "before training", "at the end of epoch 3" (position 4), "70% into epoch 0".
func atPosition(p float64) string {
	if p <= 0 {
		return "before training"
	}
	return atEpoch(p - 1)
}

// atEpoch says when a position on the epoch axis (the end of epoch e at x = e, so a point
// partway through epoch e lies in (e−1, e)) was reached: "at the end of epoch 3" or
// "70% into epoch 0".
func atEpoch(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("at the end of epoch %d", int(x))
	}
	e := math.Ceil(x)
	return fmt.Sprintf("%.0f%% into epoch %d", 100*(x-(e-1)), int(e))
}

// alignmentKeys are the per-layer angle series summarised in the table.
func alignmentKeys(groups []*Group) []string {
	var out []string
	for _, k := range perLayerKeys(groups) {
		if strings.HasSuffix(k, "_deg") {
			out = append(out, k)
		}
	}
	return out
}

// finalLayerMean returns, over a group's runs, the mean over layers of a per-layer series at
// the run's last evaluation.
func finalLayerMean(g *Group, key string) Stat {
	var v []float64
	for _, r := range plotted(g) {
		if len(r.Lines) == 0 {
			continue
		}
		sum, n := 0.0, 0
		for _, x := range r.Last().PerLayer[key] {
			if !math.IsNaN(x) {
				sum += x
				n++
			}
		}
		if n > 0 {
			v = append(v, sum/float64(n))
		}
	}
	return NewStat(v)
}

func summaryTable(groups []*Group) tableData {
	t := tableData{Head: []string{"configuration", "data", "seeds", "final test acc. %", "peak test acc. %", "epoch of peak", "s / epoch"}}
	align := alignmentKeys(groups)
	for _, k := range align {
		t.Head = append(t.Head, "final "+shortAngleName(k)+" °, mean of layers")
	}
	finals := make([]Stat, len(groups))
	for i, g := range groups {
		s := Summarise(g)
		finals[i] = s.Final
		seeds := fmt.Sprintf("%d", len(g.Runs))
		if len(g.Diverged) > 0 {
			seeds += fmt.Sprintf(" (+%d diverged)", len(g.Diverged))
		}
		if len(g.Incomplete) > 0 {
			seeds += fmt.Sprintf(" (+%d unfinished)", len(g.Incomplete))
		}
		row := tableRow{Cells: []string{g.Label, g.Dataset, seeds, s.Final.Format(2), s.Peak.Format(2),
			fmtStat(s.PeakEpoch, 1, false), fmtStat(s.SecPerEpoch, secDecimals(s.SecPerEpoch.Mean), false)}}
		for _, k := range align {
			row.Cells = append(row.Cells, fmtStat(finalLayerMean(g, k), 1, true))
		}
		t.Rows = append(t.Rows, row)
	}
	if len(groups) > 1 {
		lead := leaders(finals)
		if len(lead) < len(groups) { // all level: nothing to highlight
			for _, i := range lead {
				t.Rows[i].Best = true
			}
		}
	}
	return t
}

// finalDecimals is the precision final accuracies are shown with.
const finalDecimals = 2

// level reports whether two configurations' final accuracies cannot be told apart: equal
// to the shown precision, or within the larger of their sds over seeds.
func level(a, b Stat) bool {
	if a.N == 0 || b.N == 0 {
		return false
	}
	if fmt.Sprintf("%.*f", finalDecimals, a.Mean) == fmt.Sprintf("%.*f", finalDecimals, b.Mean) {
		return true
	}
	sd := 0.0
	for _, s := range []Stat{a, b} {
		if s.N > 1 && !math.IsNaN(s.SD) {
			sd = math.Max(sd, s.SD)
		}
	}
	return math.Abs(a.Mean-b.Mean) <= sd
}

// leaders returns the indices of the highest statistic and of those level with it, highest
// first; nil when none has a value.
func leaders(st []Stat) []int {
	best := -1
	for i, s := range st {
		if s.N > 0 && !math.IsNaN(s.Mean) && (best < 0 || s.Mean > st[best].Mean) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	out := []int{best}
	for i, s := range st {
		if i != best && level(st[best], s) {
			out = append(out, i)
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return st[out[1+i]].Mean > st[out[1+j]].Mean })
	return out
}

func secDecimals(x float64) int {
	if x < 1 {
		return 3
	}
	return 1
}

func fmtStat(s Stat, decimals int, withSD bool) string {
	if s.N == 0 || math.IsNaN(s.Mean) {
		return "–"
	}
	if withSD {
		return s.Format(decimals)
	}
	return fmt.Sprintf("%.*f", decimals, s.Mean)
}

func shortAngleName(key string) string {
	switch key {
	case "update_angle_deg":
		return "update ∠ gradient"
	case "feedback_angle_deg":
		return "B ∠ Wᵀ"
	}
	return strings.TrimSuffix(key, "_deg")
}

// Headlines states what a reader wants first, computed from the data, per dataset: which
// configuration reached a common accuracy first, which ended highest, and how well the
// updates aligned with the gradient.
func Headlines(groups []*Group) []string {
	var datasets []string
	byData := map[string][]*Group{}
	for _, g := range groups {
		if byData[g.Dataset] == nil {
			datasets = append(datasets, g.Dataset)
		}
		byData[g.Dataset] = append(byData[g.Dataset], g)
	}
	var out []string
	for _, ds := range datasets {
		gs := byData[ds]
		on := ""
		if len(datasets) > 1 {
			on = " on " + ds
		}
		curves := make([]curve, len(gs))
		best := math.Inf(-1)
		for i, g := range gs {
			curves[i] = aggregate(g, BandMinMax, false, func(l *Line) (float64, bool) { return 100 * l.TestAcc, true })
			for _, m := range curves[i].mean {
				best = math.Max(best, m)
			}
		}
		if math.IsInf(best, -1) {
			continue
		}
		th := 0.9 * best
		if th >= 20 {
			th = 5 * math.Floor(th/5)
		} else {
			th = math.Floor(th)
		}
		type reach struct {
			name string
			x    float64
			peak float64
			ok   bool
		}
		var rs []reach
		for i, g := range gs {
			r := reach{name: g.Label, peak: math.Inf(-1)}
			for j, m := range curves[i].mean {
				r.peak = math.Max(r.peak, m)
				if !r.ok && m >= th {
					r.x, r.ok = curves[i].x[j], true
				}
			}
			rs = append(rs, r)
		}
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].ok != rs[j].ok {
				return rs[i].ok
			}
			return rs[i].ok && rs[i].x < rs[j].x
		})
		th0 := fmt.Sprintf("%g%%", th)
		over := seedsPhrase(gs)
		if len(gs) == 1 {
			out = append(out, fmt.Sprintf("%s reached %s test accuracy%s %s (%s).", rs[0].name, th0, on, atPosition(rs[0].x), over))
		} else {
			// Configurations that reached it at the same evaluation share the lead.
			n := 1
			for n < len(rs) && rs[n].ok && rs[n].x == rs[0].x {
				n++
			}
			var s string
			if n == 1 {
				s = fmt.Sprintf("%s reached %s test accuracy first%s, %s (%s)", rs[0].name, th0, on, atPosition(rs[0].x), over)
			} else {
				var first []string
				for _, r := range rs[:n] {
					first = append(first, r.name)
				}
				if n == len(rs) {
					s = fmt.Sprintf("%s all reached %s test accuracy%s at the same evaluation, %s (%s)", joinAnd(first), th0, on, atPosition(rs[0].x), over)
				} else {
					s = fmt.Sprintf("%s were level, reaching %s test accuracy first%s at the same evaluation, %s (%s)", joinAnd(first), th0, on, atPosition(rs[0].x), over)
				}
			}
			var then, never []string
			for _, r := range rs[n:] {
				if r.ok {
					then = append(then, fmt.Sprintf("%s %s", r.name, atPosition(r.x)))
				} else {
					never = append(never, fmt.Sprintf("%s (peak %.1f%%)", r.name, r.peak))
				}
			}
			if len(then) > 0 {
				s += "; then " + strings.Join(then, ", ")
			}
			if len(never) > 0 {
				s += "; never reached it: " + strings.Join(never, ", ")
			}
			out = append(out, s+".")
		}
		// Highest final accuracy, unless the best are level.
		var names []string
		var finals []Stat
		for _, g := range gs {
			if s := Summarise(g); s.Final.N > 0 {
				names = append(names, g.Label)
				finals = append(finals, s.Final)
			}
		}
		if lead := leaders(finals); len(lead) == 1 {
			f := finals[lead[0]]
			s := fmt.Sprintf("Highest final test accuracy%s: %s, %s%% over %s", on, names[lead[0]], f.Format(finalDecimals), seedCount(f.N))
			if rest := others(names, finals, lead); len(rest) > 0 {
				s += " (then " + strings.Join(rest, ", ") + ")"
			}
			out = append(out, s+".")
		} else if len(lead) > 1 {
			var parts []string
			single := true
			for _, i := range lead {
				parts = append(parts, fmt.Sprintf("%s %s%% over %s", names[i], finals[i].Format(finalDecimals), seedCount(finals[i].N)))
				single = single && finals[i].N == 1
			}
			why := "within the seeds' sd"
			if single {
				why = "equal to the precision shown"
			}
			s := fmt.Sprintf("Level on final test accuracy%s (%s): %s", on, why, joinAnd(parts))
			if rest := others(names, finals, lead); len(rest) > 0 {
				s += " (then " + strings.Join(rest, ", ") + ")"
			}
			out = append(out, s+".")
		}
		if keys := alignmentKeys(gs); len(keys) > 0 && keys[0] == "update_angle_deg" {
			var parts []string
			for _, g := range gs {
				if st := finalLayerMean(g, "update_angle_deg"); st.N > 0 {
					parts = append(parts, fmt.Sprintf("%s %.0f°", g.Label, st.Mean))
				}
			}
			if len(parts) > 0 {
				out = append(out, fmt.Sprintf("Angle between the update and the backprop gradient at the end%s (mean over layers and seeds; 0° is the gradient's direction): %s.", on, strings.Join(parts, ", ")))
			}
		}
	}
	return out
}

// others lists, highest first, the final accuracies of the configurations not in lead.
func others(names []string, finals []Stat, lead []int) []string {
	in := map[int]bool{}
	for _, i := range lead {
		in[i] = true
	}
	var idx []int
	for i := range finals {
		if !in[i] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return finals[idx[a]].Mean > finals[idx[b]].Mean })
	var out []string
	for _, i := range idx {
		out = append(out, fmt.Sprintf("%s %.*f%%", names[i], finalDecimals, finals[i].Mean))
	}
	return out
}

// joinAnd joins "a", "a and b", "a, b and c".
func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// seedsPhrase says what the curves of the groups are: "1 seed", "1 seed each", "mean over
// 3 seeds" or "mean over seeds".
func seedsPhrase(gs []*Group) string {
	n := -1
	for _, g := range gs {
		k := len(plotted(g))
		if n >= 0 && k != n {
			return "mean over seeds"
		}
		n = k
	}
	switch {
	case n == 1 && len(gs) == 1:
		return "1 seed"
	case n == 1:
		return "1 seed each"
	case len(gs) == 1:
		return fmt.Sprintf("mean over %d seeds", n)
	}
	return "mean over seeds"
}

// seedCount says "1 seed" or "3 seeds".
func seedCount(n int) string { return fmt.Sprintf("%d seed%s", n, plural(n)) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// configTable shows each configuration in a column (one column for a single run of
// `copi train`): rule, preset, data, seeds and, when the lines carry it, every
// configuration key, flattened ("options.sizes", "optimizer.lr"); rows whose values differ
// are marked, rows empty in every column left out.
func configTable(groups []*Group, names []string) tableData {
	t := tableData{Head: append([]string{"setting"}, names...)}
	type rowFn func(g *Group) string
	add := func(name string, f rowFn) {
		row := tableRow{Cells: []string{name}}
		empty := true
		for _, g := range groups {
			c := f(g)
			row.Cells = append(row.Cells, c)
			empty = empty && c == ""
		}
		if empty {
			return
		}
		for _, c := range row.Cells[2:] {
			if c != row.Cells[1] {
				row.Differs = true
			}
		}
		t.Rows = append(t.Rows, row)
	}
	first := func(g *Group) *Run { return allRuns(g)[0] }
	add("rule", func(g *Group) string { return first(g).Rule })
	add("preset", func(g *Group) string { return first(g).Preset })
	add("dataset", func(g *Group) string { return g.Dataset })
	add("seeds", func(g *Group) string {
		var s []string
		for _, r := range allRuns(g) {
			s = append(s, fmt.Sprint(r.Seed))
		}
		return strings.Join(s, ", ")
	})
	add("config hash", func(g *Group) string { return g.ConfigHash })
	flat := make([]map[string]string, len(groups))
	var keys []string
	seen := map[string]bool{}
	for i, g := range groups {
		// The latest configuration any of the group's runs carries.
		var cfg map[string]any
		for _, r := range allRuns(g) {
			if r.Config != nil {
				cfg = r.Config
				break
			}
		}
		if cfg == nil {
			continue
		}
		flat[i] = FlattenConfig(cfg)
		for k := range flat[i] {
			if !seen[k] && k != "seed" && k != "rule" && k != "preset" {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, func(g *Group) string {
			for i := range groups {
				if groups[i] == g {
					if flat[i] == nil {
						return "?"
					}
					if v, ok := flat[i][k]; ok {
						return v
					}
					return "–"
				}
			}
			return "?"
		})
	}
	return t
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #4e79a7; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1100px; padding: 24px 28px 64px; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sources { color: var(--muted); font-size: 0.9rem; margin: 0 0 18px; }
.sources code { font-size: 0.85rem; }
.headline { background: #eef4fb; border-left: 5px solid var(--accent); padding: 12px 18px; border-radius: 4px; }
.headline p { margin: 4px 0; font-size: 1.08rem; }
.headline p:first-child { font-weight: 600; }
table { border-collapse: collapse; font-size: 0.92rem; margin: 8px 0; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
table.summary td:nth-child(-n+2) { white-space: nowrap; }
table.summary td:nth-child(n+3) { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary th:nth-child(n+3) { text-align: right; }
tr.best td { background: #eaf5ea; font-weight: 600; }
table.config td { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 0.85rem; }
table.config tr.same td { color: var(--muted); }
table.config tr.differs td { background: #fff8e6; }
figure { margin: 18px 0 28px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 4px; }
.note { color: var(--muted); font-size: 0.9rem; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; font-size: 0.95rem; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sources">{{.Runs}} run{{if ne .Runs 1}}s{{end}} from {{range $i, $s := .Sources}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}</p>
<nav><a href="#summary">Summary</a>{{range .Figures}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}{{range .Images}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}<a href="#configuration">Configuration</a></nav>
{{if .Headlines}}<div class="headline" id="headline">{{range .Headlines}}<p>{{.}}</p>{{end}}</div>{{end}}

<h2 id="summary">Summary</h2>
<table class="summary" id="summary-table">
<thead><tr>{{range .Table.Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Table.Rows}}<tr{{if .Best}} class="best"{{end}}>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="note">Test accuracy at the end of the last epoch and the best end-of-epoch value, mean ± sample sd over seeds (just the value for a single seed); epochs count from 0. The highlighted row ended highest; rows level with it (within the seeds' sd, or equal to the precision shown) are highlighted too.</p>
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}
{{if .Diverged}}<p class="note">Runs that diverged (non-finite values), drawn only where a configuration has no finished run and left out of the table: {{range $i, $s := .Diverged}}{{if $i}}; {{end}}{{$s}}{{end}}.</p>{{end}}
{{if .Incomplete}}<p class="note">Unfinished runs, drawn only where a configuration has no finished run and left out of the table: {{range $i, $s := .Incomplete}}{{if $i}}; {{end}}{{$s}}{{end}}.</p>{{end}}

{{range .Figures}}<h2 id="{{.ID}}">{{.Title}}</h2>
<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{range .Images}}<h2 id="{{.ID}}">{{.Title}}</h2>
<figure><img src="{{.Src}}" alt="{{.Title}}" style="max-width:100%;image-rendering:pixelated"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}
<h2 id="configuration">Configuration</h2>
<table class="config">
<thead><tr>{{range .Config.Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Config.Rows}}<tr{{if $.MultiConfig}} class="{{if .Differs}}differs{{else}}same{{end}}"{{end}}>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="note">{{if .MultiConfig}}Highlighted rows differ between configurations; – marks a setting a configuration does not have. {{end}}Seeds are left out of the configuration hash.</p>
</body>
</html>
`))

package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
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
	figs, err := Figures(shown, opt.Band)
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
	return pageTemplate.Execute(w, page)
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
	Title      string
	Sources    []string
	Runs       int
	Headlines  []string
	Table      tableData
	Figures    []figureData
	Images     []imageData
	Config     tableData
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
	// Best marks the summary row with the highest final accuracy.
	Best bool
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
	best, bestI := math.Inf(-1), -1
	for i, g := range groups {
		s := Summarise(g)
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
		if s.Final.N > 0 && s.Final.Mean > best {
			best, bestI = s.Final.Mean, i
		}
		t.Rows = append(t.Rows, row)
	}
	if bestI >= 0 && len(groups) > 1 {
		t.Rows[bestI].Best = true
	}
	return t
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
			curves[i] = aggregate(g, BandMinMax, func(l *Line) (float64, bool) { return 100 * l.TestAcc, true })
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
		if len(gs) == 1 {
			out = append(out, fmt.Sprintf("%s reached %s test accuracy%s %s (mean over seeds).", rs[0].name, th0, on, atEpoch(rs[0].x)))
		} else {
			s := fmt.Sprintf("%s reached %s test accuracy first%s, %s (mean over seeds)", rs[0].name, th0, on, atEpoch(rs[0].x))
			var then, never []string
			for _, r := range rs[1:] {
				if r.ok {
					then = append(then, fmt.Sprintf("%s %s", r.name, atEpoch(r.x)))
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
		// Highest final accuracy.
		type fin struct {
			name string
			s    Stat
		}
		var fs []fin
		for _, g := range gs {
			if s := Summarise(g); s.Final.N > 0 {
				fs = append(fs, fin{g.Label, s.Final})
			}
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].s.Mean > fs[j].s.Mean })
		if len(fs) > 0 {
			s := fmt.Sprintf("Highest final test accuracy%s: %s, %s%% over %d seed%s", on, fs[0].name, fs[0].s.Format(2), fs[0].s.N, plural(fs[0].s.N))
			if len(fs) > 1 {
				var rest []string
				for _, f := range fs[1:] {
					rest = append(rest, fmt.Sprintf("%s %.2f%%", f.name, f.s.Mean))
				}
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

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// configTable shows each configuration in a column: rule, preset, data, seeds and, when
// the lines carry it, every configuration key; rows whose values differ are marked.
func configTable(groups []*Group, names []string) tableData {
	t := tableData{Head: append([]string{"setting"}, names...)}
	type rowFn func(g *Group) string
	add := func(name string, f rowFn) {
		row := tableRow{Cells: []string{name}}
		for _, g := range groups {
			row.Cells = append(row.Cells, f(g))
		}
		for _, c := range row.Cells[2:] {
			if c != row.Cells[1] {
				row.Differs = true
			}
		}
		t.Rows = append(t.Rows, row)
	}
	first := func(g *Group) *Run {
		if len(g.Runs) > 0 {
			return g.Runs[0]
		}
		return g.Incomplete[0]
	}
	add("rule", func(g *Group) string { return first(g).Rule })
	add("preset", func(g *Group) string { return first(g).Preset })
	add("dataset", func(g *Group) string { return g.Dataset })
	add("seeds", func(g *Group) string {
		var s []string
		for _, r := range append(append([]*Run(nil), g.Runs...), g.Incomplete...) {
			s = append(s, fmt.Sprint(r.Seed))
		}
		return strings.Join(s, ", ")
	})
	add("config hash", func(g *Group) string { return g.ConfigHash })
	flat := make([]map[string]string, len(groups))
	var keys []string
	seen := map[string]bool{}
	for i, g := range groups {
		r := first(g)
		if r.Config == nil {
			continue
		}
		c := *r.Config
		c.Seed = 0
		b, err := json.Marshal(c)
		if err != nil {
			continue
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		flat[i] = map[string]string{}
		flatten("", m, flat[i])
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
				if groups[i] == g && flat[i] != nil {
					return flat[i][k]
				}
			}
			return "?"
		})
	}
	return t
}

// flatten writes the leaves of a decoded JSON object as dotted keys.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, y, out)
		}
	case []any:
		var s []string
		for _, y := range x {
			s = append(s, fmt.Sprint(y))
		}
		out[prefix] = strings.Join(s, "-")
	case nil:
		out[prefix] = ""
	default:
		out[prefix] = fmt.Sprint(x)
	}
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
<p class="note">Test accuracy at the end of the last epoch and the best end-of-epoch value, mean ± sample sd over seeds; epochs count from 0. The highlighted row ended highest.</p>
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
<tbody>{{range .Config.Rows}}<tr class="{{if .Differs}}differs{{else}}same{{end}}">{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="note">Highlighted rows differ between configurations. Seeds are left out of the configuration hash.</p>
</body>
</html>
`))

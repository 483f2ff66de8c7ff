package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/copi-learn/copi/internal/atomicfile"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Band selects the band drawn around each configuration's mean curve.
type Band string

// The bands over seeds.
const (
	BandMinMax Band = "minmax" // from the lowest to the highest seed
	BandSD     Band = "sd"     // mean ± one sample standard deviation
)

// Figure is one figure of the report.
type Figure struct {
	// Name is the file name stem (test-accuracy, update_angle_deg, …): letters, digits, '_'
	// and '-' only, unique among the report's figures.
	Name string
	// Title and Caption are shown above and below it.
	Title, Caption string
	// Width and Height are its size.
	Width, Height vg.Length
	draw          func(draw.Canvas)
	// panels are the figure's plots, row by row (for tests).
	panels []*plot.Plot
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	c := vgsvg.New(f.Width, f.Height)
	f.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PNG renders the figure as a PNG image at dpi dots per inch.
func (f *Figure) PNG(dpi int) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(dpi))
	f.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteFiles writes every figure to dir as NAME.svg and NAME.png, each atomically (a
// reader never sees a half-written figure, and a symbolic link in its place is replaced,
// not written through).
func WriteFiles(dir string, figs []*Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range figs {
		svg, err := f.SVG()
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		png, err := f.PNG(150)
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		if err := atomicfile.Write(filepath.Join(dir, f.Name+".svg"), svg, 0o644); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, f.Name+".png"), png, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// palette is Tableau 10, distinguishable and print-friendly; dashes tell lines apart
// when colours do not.
var palette = [...]color.NRGBA{
	{0x4e, 0x79, 0xa7, 255}, {0xf2, 0x8e, 0x2b, 255}, {0xe1, 0x57, 0x59, 255}, {0x76, 0xb7, 0xb2, 255},
	{0x59, 0xa1, 0x4f, 255}, {0xed, 0xc9, 0x48, 255}, {0xb0, 0x7a, 0xa1, 255}, {0xff, 0x9d, 0xa7, 255},
	{0x9c, 0x75, 0x5f, 255}, {0xba, 0xb0, 0xac, 255},
}

func groupColor(i int) color.NRGBA { return palette[i%len(palette)] }

func groupDashes(i int) []vg.Length {
	switch (i / len(palette)) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

// glyphShapes mark the evaluations of a curve with few of them, one shape per group.
var glyphShapes = [...]draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
	draw.PyramidGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

// maxMarked is the largest number of evaluations on a curve that are marked with points:
// with so few, the reader should see where the measurements are and that the lines between
// them are interpolation.
const maxMarked = 12

// maxPlotted bounds the magnitude of a plotted value: larger ones (and NaN, infinities) are
// left out, as a run's divergence rather than a measurement, and because the axis
// labelling cannot span them.
const maxPlotted = 1e100

// curve is one configuration's mean over seeds against the epochs trained, with a band.
type curve struct {
	x, mean, lo, hi []float64
}

// plotted returns the runs drawn for a group: the complete ones, or else the others (the
// diverged ones first).
func plotted(g *Group) []*Run {
	if len(g.Runs) > 0 {
		return g.Runs
	}
	return append(append([]*Run(nil), g.Diverged...), g.Incomplete...)
}

// aggregate averages value over the group's runs at every evaluation, placed at its
// [Line.Position]. With positive, values that are not above 0 are left out and so is the
// part of a band below 0 (for a log scale).
func aggregate(g *Group, band Band, positive bool, value func(*Line) (float64, bool)) curve {
	at := map[int64][]float64{}
	for _, r := range plotted(g) {
		for i := range r.Lines {
			v, ok := value(&r.Lines[i])
			if !ok || !(math.Abs(v) <= maxPlotted) || (positive && v <= 0) {
				continue
			}
			k := int64(math.Round(r.Lines[i].Position() * 1e6))
			at[k] = append(at[k], v)
		}
	}
	keys := make([]int64, 0, len(at))
	for k := range at {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var c curve
	for _, k := range keys {
		vs := at[k]
		s := NewStat(vs)
		lo, hi := vs[0], vs[0]
		for _, v := range vs {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if band == BandSD {
			if l := s.Mean - s.SD; !positive || l > 0 {
				lo = l
			}
			hi = s.Mean + s.SD
		}
		c.x = append(c.x, float64(k)/1e6)
		c.mean = append(c.mean, s.Mean)
		c.lo = append(c.lo, lo)
		c.hi = append(c.hi, hi)
	}
	return c
}

// addCurve draws a curve's band and mean line on p, with a marker at every point when
// there are few, and returns what the legend shows for it (nil for an empty curve).
func addCurve(p *plot.Plot, c curve, i int) ([]plot.Thumbnailer, error) {
	if len(c.x) == 0 {
		return nil, nil
	}
	col := groupColor(i)
	if len(c.x) > 1 {
		var poly plotter.XYs
		for j := range c.x {
			poly = append(poly, plotter.XY{X: c.x[j], Y: c.hi[j]})
		}
		for j := len(c.x) - 1; j >= 0; j-- {
			poly = append(poly, plotter.XY{X: c.x[j], Y: c.lo[j]})
		}
		pg, err := plotter.NewPolygon(poly)
		if err != nil {
			return nil, err
		}
		pg.Color = color.NRGBA{col.R, col.G, col.B, 56}
		pg.LineStyle.Width = 0
		p.Add(pg)
	}
	var pts plotter.XYs
	for j := range c.x {
		pts = append(pts, plotter.XY{X: c.x[j], Y: c.mean[j]})
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = vg.Points(1.8)
	l.Dashes = groupDashes(i)
	p.Add(l)
	thumbs := []plot.Thumbnailer{l}
	if len(c.x) <= maxMarked {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.6), Shape: glyphShapes[i%len(glyphShapes)]}
		p.Add(s)
		thumbs = append(thumbs, s)
	}
	return thumbs, nil
}

// xLabel names every figure's x axis; see [Line.Position].
const xLabel = "epochs trained"

// xNote explains the x axis in captions.
const xNote = " x: epochs trained, 0 before training and e+1 at the end of epoch e (epochs count from 0, as in the tables)."

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = ylabel
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	p.Y.Label.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

// logTicks marks a logarithmic axis: 1, 2 and 5 times the powers of ten (every multiple
// over a short range, only the powers over a long one).
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi >= lo) || math.IsInf(hi, 0) {
		return nil
	}
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		for m := 1.0; m <= 9; m++ {
			v := m * math.Pow(10, e)
			t := plot.Tick{Value: v}
			if m == 1 || e1-e0 <= 1 || (e1-e0 <= 4 && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// legendWidth is the column at the right of every figure that holds the legend.
func legendWidth(names []string) vg.Length {
	n := 0
	for _, s := range names {
		n = max(n, len([]rune(s)))
	}
	return vg.Points(float64(min(max(n, 6), 40))*6.2 + 40)
}

// drawWithLegend draws the plots (tiled in rows) on the left of c and one legend of the
// groups on its right.
func drawWithLegend(c draw.Canvas, title string, rows [][]*plot.Plot, names []string, thumbs [][]plot.Thumbnailer) {
	if title != "" {
		// Small multiples get one title over all panels.
		sty := rows[0][0].Title.TextStyle
		sty.Font.Size = vg.Points(12)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: c.Min.X + c.Size().X/2, Y: c.Max.Y - vg.Points(4)}, title)
		c = draw.Crop(c, 0, 0, 0, -vg.Points(22))
	}
	lw := legendWidth(names)
	left := draw.Crop(c, 0, -lw, 0, 0)
	right := draw.Crop(c, c.Size().X-lw, 0, 0, 0)
	if len(rows) == 1 && len(rows[0]) == 1 {
		rows[0][0].Draw(left)
	} else {
		tiles := draw.Tiles{Rows: len(rows), Cols: len(rows[0]), PadX: vg.Points(6), PadY: vg.Points(6),
			PadTop: vg.Points(2), PadBottom: vg.Points(2), PadLeft: vg.Points(2), PadRight: vg.Points(2)}
		cs := plot.Align(rows, tiles, left)
		for i := range rows {
			for j, p := range rows[i] {
				if p != nil {
					p.Draw(cs[i][j])
				}
			}
		}
	}
	lg := plot.NewLegend()
	lg.Top, lg.Left = true, true
	lg.TextStyle.Font.Size = vg.Points(10)
	lg.TextStyle.Font.Variant = "Sans"
	lg.Padding = vg.Points(4)
	lg.ThumbnailWidth = vg.Points(22)
	lg.YOffs = -vg.Points(24)
	lg.XOffs = vg.Points(8)
	for i, th := range thumbs {
		if th != nil {
			lg.Add(names[i], th...)
		}
	}
	lg.Draw(right)
}

// seriesInfo is how a series is shown.
type seriesInfo struct {
	title, ylabel, caption string
	// percent scales fractions to percent; fromStart keeps the evaluation before training.
	percent, fromStart bool
}

// knownSeries name the series that copi's rules write; others are described from their
// names by [describe].
var knownSeries = map[string]seriesInfo{
	"update_angle_deg": {title: "Angle between each layer's update and the backprop gradient", ylabel: "angle (°)",
		fromStart: true},
	"feedback_angle_deg": {title: "Angle between each layer's feedback B and Wᵀ", ylabel: "angle (°)",
		fromStart: true},
	"feedback_norm_ratio": {title: "Norm ratio ‖B‖ / ‖Wᵀ‖ per layer", ylabel: "ratio", fromStart: true},
	"decorrelation_per_layer": {title: "Decorrelation of each layer's input", ylabel: "mean |off-diagonal corr.|",
		fromStart: true},
	"decorrelation": {title: "Decorrelation (mean over layers)", ylabel: "mean |off-diagonal corr.|", fromStart: true,
		caption: "Mean absolute off-diagonal correlation of each layer's (decorrelated) input on 1000 training examples, averaged over layers; lower is more decorrelated."},
}

// seriesOrder lists the known series first, in this order.
var seriesOrder = []string{"decorrelation", "update_angle_deg", "feedback_angle_deg", "feedback_norm_ratio", "decorrelation_per_layer"}

// humanize turns a series name into words: "goodness_pos" → "goodness pos"; an angle's
// "_deg" is left to the axis label.
func humanize(key string) string {
	return strings.TrimSpace(strings.ReplaceAll(strings.TrimSuffix(key, "_deg"), "_", " "))
}

// describe returns how the series key is shown.
func describe(key string) seriesInfo {
	if d, ok := knownSeries[key]; ok {
		return d
	}
	d := seriesInfo{title: humanize(key), ylabel: humanize(key), fromStart: true}
	switch {
	case strings.HasPrefix(key, "acc_") || strings.HasPrefix(key, "train_acc_"):
		// Accuracies, like the test accuracy, leave out the untrained network's chance level.
		d.ylabel, d.percent, d.fromStart = "accuracy (%)", true, false
	case strings.HasSuffix(key, "_deg"):
		d.ylabel = "angle (°)"
	}
	if d.title == "" {
		d.title, d.ylabel = key, key
	}
	return d
}

// seriesKeys returns the names of the per-layer series (or, with scalars, the scalar
// series) that the groups hold with at least one finite value (finite and, for
// scalars, not 0, so that a rule writing 0 for a measurement it does not make adds no figure):
// the known ones first, then the others by name.
func seriesKeys(groups []*Group, scalars bool) []string {
	present := map[string]bool{}
	for _, g := range groups {
		for _, r := range plotted(g) {
			for _, l := range r.Lines {
				if scalars {
					for k, x := range l.Scalars {
						if x != 0 && !math.IsNaN(x) && !math.IsInf(x, 0) {
							present[k] = true
						}
					}
					continue
				}
				for k, v := range l.PerLayer {
					for _, x := range v {
						if !math.IsNaN(x) && !math.IsInf(x, 0) {
							present[k] = true
							break
						}
					}
				}
			}
		}
	}
	var keys []string
	for _, k := range seriesOrder {
		if present[k] {
			keys = append(keys, k)
			delete(present, k)
		}
	}
	var rest []string
	for k := range present {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// perLayerKeys returns the per-layer series present in the groups, known ones first.
func perLayerKeys(groups []*Group) []string { return seriesKeys(groups, false) }

// legendNames names the groups in legends: the label, with the dataset when there are
// several.
func legendNames(groups []*Group) []string {
	ds := map[string]bool{}
	for _, g := range groups {
		ds[g.Dataset] = true
	}
	var out []string
	for _, g := range groups {
		if len(ds) > 1 {
			out = append(out, fmt.Sprintf("%s (%s)", g.Label, g.Dataset))
		} else {
			out = append(out, g.Label)
		}
	}
	return out
}

// maxPanels is the most layers a per-layer figure shows (a corrupt line must not make it
// draw a million panels).
const maxPanels = 32

// figureBuilder holds what every figure of one report shares.
type figureBuilder struct {
	groups   []*Group
	names    []string
	band     Band
	bandText string
	// xmax is the right end of every figure's x axis (the left end is 0).
	xmax float64
	used map[string]bool
}

// panel draws one value of every group on a new plot (on a log scale with log); drawn
// reports whether it drew a curve.
func (b *figureBuilder) panel(title, ylabel string, log bool, value func(*Line) (float64, bool)) (p *plot.Plot, thumbs [][]plot.Thumbnailer, drawn bool, err error) {
	p = newPlot(title, ylabel)
	thumbs = make([][]plot.Thumbnailer, len(b.groups))
	for i, g := range b.groups {
		th, err := addCurve(p, aggregate(g, b.band, log, value), i)
		if err != nil {
			return nil, nil, false, err
		}
		thumbs[i] = th
		drawn = drawn || th != nil
	}
	p.X.Min, p.X.Max = 0, b.xmax
	if log && drawn {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	padY(p)
	return p, thumbs, drawn, nil
}

// padY widens a panel's y range when its values are all equal (the axis cannot label an
// empty range): by 1 either side, as gonum would, or by 5% of a value too large for that.
func padY(p *plot.Plot) {
	if p.Y.Min != p.Y.Max || math.IsInf(p.Y.Min, 0) {
		return
	}
	if _, log := p.Y.Scale.(plot.LogScale); log {
		p.Y.Min, p.Y.Max = p.Y.Min/1.25, p.Y.Max*1.25
		return
	}
	d := math.Max(1, 0.05*math.Abs(p.Y.Min))
	p.Y.Min, p.Y.Max = p.Y.Min-d, p.Y.Max+d
}

// name returns a file name stem for key, unique in the report.
func (b *figureBuilder) name(key string) string {
	r := []rune(key)
	if len(r) > 80 {
		r = r[:80]
	}
	for i, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			r[i] = '_'
		}
	}
	base := string(r)
	if base == "" {
		base = "series"
	}
	n := base
	for i := 2; b.used[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	b.used[n] = true
	return n
}

// shareY gives the panels one y range, so that they compare at a glance; for angles the
// range runs from 0° to at least 90°.
func shareY(panels []*plot.Plot, angle bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		if p != nil && p.Y.Min <= p.Y.Max {
			lo, hi = math.Min(lo, p.Y.Min), math.Max(hi, p.Y.Max)
		}
	}
	if lo > hi {
		return
	}
	if angle {
		lo, hi = 0, math.Max(90, 10*math.Ceil(hi/10))
	}
	for _, p := range panels {
		if p != nil {
			p.Y.Min, p.Y.Max = lo, hi
			padY(p)
		}
	}
}

// Figures builds the report's figures: test accuracy and test loss, each with the training
// curve beside it; one figure per scalar series (decorrelation, acc_goodness, …); and one
// figure per per-layer series, with a panel per layer. Every figure shares one x axis, the
// epochs trained ([Line.Position]). opt supplies the band and the loss scale.
func Figures(groups []*Group, opt Options) ([]*Figure, error) {
	b := &figureBuilder{groups: groups, names: legendNames(groups), band: opt.Band, used: map[string]bool{},
		bandText: "band: lowest to highest seed"}
	if opt.Band == BandSD {
		b.bandText = "band: mean ± sd over seeds"
	}
	for _, g := range groups {
		for _, r := range plotted(g) {
			for i := range r.Lines {
				b.xmax = math.Max(b.xmax, r.Lines[i].Position())
			}
		}
	}
	if b.xmax == 0 {
		b.xmax = 1
	}
	var figs []*Figure
	add := func(f *Figure, err error) error {
		if err != nil {
			return err
		}
		if f != nil {
			figs = append(figs, f)
		}
		return nil
	}
	// The untrained network's accuracy and loss (the evaluation at x = 0) are left out of
	// these two: chance level would stretch the axis so far that the rules' differences,
	// the point of the figure, shrink to a few pixels. The other figures keep it.
	trained := func(f func(*Line) float64) func(*Line) (float64, bool) {
		return func(l *Line) (float64, bool) { return f(l), l.Position() > 0 }
	}
	if err := add(b.testTrain("test-accuracy", "accuracy", "accuracy (%)", false,
		trained(func(l *Line) float64 { return 100 * l.TestAcc }),
		trained(func(l *Line) float64 { return 100 * l.TrainAcc }))); err != nil {
		return nil, err
	}
	if err := add(b.testTrain("test-loss", "loss", "loss", opt.LogLoss,
		trained(func(l *Line) float64 { return l.TestLoss }),
		trained(func(l *Line) float64 { return l.TrainLoss }))); err != nil {
		return nil, err
	}
	// The per-layer figures are built first so that they keep their series' names as file
	// names when a scalar has the same name; the scalars are shown first.
	var layerFigs []*Figure
	for _, key := range perLayerKeys(groups) {
		f, err := b.perLayerFigure(key)
		if err != nil {
			return nil, err
		}
		if f != nil {
			layerFigs = append(layerFigs, f)
		}
	}
	for _, key := range seriesKeys(groups, true) {
		if err := add(b.scalarFigure(key)); err != nil {
			return nil, err
		}
	}
	return append(figs, layerFigs...), nil
}

// testTrain draws a measurement on the test set with the same measurement on the training
// batches beside it (left out when no line has it).
func (b *figureBuilder) testTrain(name, what, ylabel string, log bool, test, train func(*Line) (float64, bool)) (*Figure, error) {
	pt, tt, anyTest, err := b.panel("test set", ylabel, log, test)
	if err != nil {
		return nil, err
	}
	pr, tr, anyTrain, err := b.panel("training batches", ylabel, log, train)
	if err != nil {
		return nil, err
	}
	scale := ""
	if log {
		scale = " Logarithmic y axis; values not above 0 are left out."
	}
	lines := " Lines: mean over seeds; " + b.bandText + "." + scale + xNote
	switch {
	case anyTest && anyTrain:
		title := "Test and training " + what
		shareY([]*plot.Plot{pt, pr}, false)
		thumbs := tt
		for i := range thumbs {
			if thumbs[i] == nil {
				thumbs[i] = tr[i]
			}
		}
		rows := [][]*plot.Plot{{pt, pr}}
		return &Figure{Name: b.name(name), Title: title,
			Caption: fmt.Sprintf("Test %s at every evaluation after training began (left), and beside it the training %s, averaged over the batches since the previous evaluation, each measured before its update (right).%s", what, what, lines),
			Width:   10 * vg.Inch, Height: 3.6 * vg.Inch, panels: []*plot.Plot{pt, pr},
			draw: func(c draw.Canvas) { drawWithLegend(c, title, rows, b.names, thumbs) }}, nil
	case anyTest:
		title := "Test " + what
		pt.Title.Text = title
		return &Figure{Name: b.name(name), Title: title,
			Caption: fmt.Sprintf("Test %s at every evaluation after training began.%s", what, lines),
			Width:   7.5 * vg.Inch, Height: 3.6 * vg.Inch, panels: []*plot.Plot{pt},
			draw: func(c draw.Canvas) { drawWithLegend(c, "", [][]*plot.Plot{{pt}}, b.names, tt) }}, nil
	case anyTrain:
		title := "Training " + what
		pr.Title.Text = title
		return &Figure{Name: b.name(name), Title: title,
			Caption: fmt.Sprintf("Training %s, averaged over the batches since the previous evaluation, each measured before its update (no run reports a test %s).%s", what, what, lines),
			Width:   7.5 * vg.Inch, Height: 3.6 * vg.Inch, panels: []*plot.Plot{pr},
			draw: func(c draw.Canvas) { drawWithLegend(c, "", [][]*plot.Plot{{pr}}, b.names, tr) }}, nil
	}
	return nil, nil
}

// scalarFigure draws one scalar series over training.
func (b *figureBuilder) scalarFigure(key string) (*Figure, error) {
	d := describe(key)
	p, thumbs, drawn, err := b.panel(d.title, d.ylabel, false, func(l *Line) (float64, bool) {
		x, ok := l.Scalars[key]
		if d.percent {
			x *= 100
		}
		return x, ok && (d.fromStart || l.Position() > 0)
	})
	if err != nil || !drawn {
		return nil, err
	}
	caption := d.caption
	if caption == "" {
		caption = fmt.Sprintf("The scalar %s that the rule reports at every evaluation", key)
		if d.percent {
			caption += ", in percent, after training began"
		}
		caption += "."
	}
	return &Figure{Name: b.name(key), Title: d.title, Caption: caption + " Lines: mean over seeds; " + b.bandText + "." + xNote,
		Width: 7.5 * vg.Inch, Height: 3.6 * vg.Inch, panels: []*plot.Plot{p},
		draw: func(c draw.Canvas) { drawWithLegend(c, "", [][]*plot.Plot{{p}}, b.names, thumbs) }}, nil
}

// perLayerFigure draws one per-layer series as small multiples, one panel per layer.
func (b *figureBuilder) perLayerFigure(key string) (*Figure, error) {
	layers := 0
	for _, g := range b.groups {
		for _, r := range plotted(g) {
			for _, l := range r.Lines {
				layers = max(layers, len(l.PerLayer[key]))
			}
		}
	}
	if layers == 0 {
		return nil, nil
	}
	shown := min(layers, maxPanels)
	d := describe(key)
	cols := min(shown, 4)
	nrows := (shown + cols - 1) / cols
	rows := make([][]*plot.Plot, nrows)
	var panels []*plot.Plot
	drawn := false
	thumbs := make([][]plot.Thumbnailer, len(b.groups))
	for l := 0; l < shown; l++ {
		yl := ""
		if l%cols == 0 {
			yl = d.ylabel
		}
		p, th, some, err := b.panel(fmt.Sprintf("layer %d", l+1), yl, false, func(x *Line) (float64, bool) {
			v := x.PerLayer[key]
			if l >= len(v) || !(d.fromStart || x.Position() > 0) {
				return 0, false
			}
			if d.percent {
				return 100 * v[l], true
			}
			return v[l], true
		})
		if err != nil {
			return nil, err
		}
		drawn = drawn || some
		p.Title.TextStyle.Font.Size = vg.Points(10)
		for i := range thumbs {
			if thumbs[i] == nil {
				thumbs[i] = th[i]
			}
		}
		rows[l/cols] = append(rows[l/cols], p)
		panels = append(panels, p)
	}
	if !drawn {
		return nil, nil
	}
	angle := strings.HasSuffix(key, "_deg")
	shareY(panels, angle)
	for _, p := range panels {
		if angle && p.Y.Max > 90 {
			ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 90}, {X: p.X.Max, Y: 90}})
			if err == nil {
				ref.Color = color.Gray{Y: 140}
				ref.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
				p.Add(ref)
			}
		}
	}
	for len(rows[nrows-1]) < cols {
		rows[nrows-1] = append(rows[nrows-1], nil)
	}
	caption := fmt.Sprintf("%s, one panel per layer (layer 1 takes the input).", d.title)
	if _, known := knownSeries[key]; !known {
		caption = fmt.Sprintf("The per-layer series %s that the rule reports, one panel per layer (layer 1 takes the input).", key)
		if d.percent {
			caption += " In percent, after training began."
		}
	}
	if shown < layers {
		caption += fmt.Sprintf(" The first %d of %d layers are shown.", shown, layers)
	}
	caption += " Lines: mean over seeds; " + b.bandText + "."
	if angle {
		caption += " 0° is perfect alignment, 90° none."
	}
	caption += xNote
	title := d.title
	return &Figure{Name: b.name(key), Title: title, Caption: caption,
		Width: 10 * vg.Inch, Height: vg.Length(nrows) * 2.5 * vg.Inch, panels: panels,
		draw: func(c draw.Canvas) { drawWithLegend(c, title, rows, b.names, thumbs) }}, nil
}

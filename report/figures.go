package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	// Name is the file name stem (test-accuracy, update_angle_deg, …).
	Name string
	// Title and Caption are shown above and below it.
	Title, Caption string
	// Width and Height are its size.
	Width, Height vg.Length
	draw          func(draw.Canvas)
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

// WriteFiles writes every figure to dir as NAME.svg and NAME.png.
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
		if err := os.WriteFile(filepath.Join(dir, f.Name+".svg"), svg, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+".png"), png, 0o644); err != nil {
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

// curve is one configuration's mean over seeds against the epoch, with a band.
type curve struct {
	x, mean, lo, hi []float64
}

// xOf places an evaluation on the epoch axis: the end of epoch e at e, as in the tables.
func xOf(l *Line) float64 { return float64(l.Epoch) + l.EpochFraction - 1 }

// plotted returns the runs drawn for a group: the complete ones, or else the others (the
// diverged ones first).
func plotted(g *Group) []*Run {
	if len(g.Runs) > 0 {
		return g.Runs
	}
	return append(append([]*Run(nil), g.Diverged...), g.Incomplete...)
}

// aggregate averages value over the group's runs at every evaluation point.
func aggregate(g *Group, band Band, value func(*Line) (float64, bool)) curve {
	at := map[int64][]float64{}
	for _, r := range plotted(g) {
		for i := range r.Lines {
			v, ok := value(&r.Lines[i])
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			k := int64(math.Round(xOf(&r.Lines[i]) * 1e6))
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
			lo, hi = s.Mean-s.SD, s.Mean+s.SD
		}
		c.x = append(c.x, float64(k)/1e6)
		c.mean = append(c.mean, s.Mean)
		c.lo = append(c.lo, lo)
		c.hi = append(c.hi, hi)
	}
	return c
}

// addCurve draws a curve's band and mean line on p, and returns the line for the legend.
func addCurve(p *plot.Plot, c curve, i int) (*plotter.Line, error) {
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
	if len(c.x) == 1 {
		s, err := plotter.NewScatter(pts)
		if err == nil {
			s.Color = col
			p.Add(s)
		}
	}
	return l, nil
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = xlabel
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
func drawWithLegend(c draw.Canvas, title string, rows [][]*plot.Plot, names []string, lines []*plotter.Line) {
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
	for i, l := range lines {
		if l != nil {
			lg.Add(names[i], l)
		}
	}
	lg.Draw(right)
}

// perLayerTitles name the per-layer series that copi writes; others are shown by key.
var perLayerTitles = map[string][2]string{
	"update_angle_deg":        {"Angle between each layer's update and the backprop gradient", "angle (°)"},
	"feedback_angle_deg":      {"Angle between each layer's feedback B and Wᵀ", "angle (°)"},
	"feedback_norm_ratio":     {"Norm ratio ‖B‖ / ‖Wᵀ‖ per layer", "ratio"},
	"decorrelation_per_layer": {"Decorrelation of each layer's input", "mean |off-diagonal corr.|"},
}

// perLayerOrder lists the known per-layer series first, in this order.
var perLayerOrder = []string{"update_angle_deg", "feedback_angle_deg", "feedback_norm_ratio", "decorrelation_per_layer"}

// perLayerKeys returns the per-layer series present in the groups, known ones first.
func perLayerKeys(groups []*Group) []string {
	present := map[string]bool{}
	for _, g := range groups {
		for _, r := range plotted(g) {
			for _, l := range r.Lines {
				for k, v := range l.PerLayer {
					for _, x := range v {
						if !math.IsNaN(x) {
							present[k] = true
							break
						}
					}
				}
			}
		}
	}
	var keys []string
	for _, k := range perLayerOrder {
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

// Figures builds the report's figures: test accuracy, test loss, decorrelation (when any
// run decorrelates), and one figure per per-layer series with a panel per layer.
func Figures(groups []*Group, band Band) ([]*Figure, error) {
	names := legendNames(groups)
	bandText := "band: lowest to highest seed"
	if band == BandSD {
		bandText = "band: mean ± sd over seeds"
	}
	single := func(name, title, ylabel, caption string, value func(*Line) (float64, bool)) (*Figure, error) {
		p := newPlot(title, "epoch", ylabel)
		lines := make([]*plotter.Line, len(groups))
		any := false
		for i, g := range groups {
			l, err := addCurve(p, aggregate(g, band, value), i)
			if err != nil {
				return nil, err
			}
			lines[i] = l
			any = any || l != nil
		}
		if !any {
			return nil, nil
		}
		return &Figure{Name: name, Title: title, Caption: caption + " Lines: mean over seeds; " + bandText + ".",
			Width: 7.5 * vg.Inch, Height: 3.6 * vg.Inch,
			draw: func(c draw.Canvas) { drawWithLegend(c, "", [][]*plot.Plot{{p}}, names, lines) }}, nil
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
	// The untrained network's accuracy and loss (the evaluation at position 0) are left out of
	// these two: chance level would stretch the axis so far that the rules' differences,
	// the point of the figure, shrink to a few pixels. The angle figures keep it.
	if err := add(single("test-accuracy", "Test accuracy", "test accuracy (%)",
		"Test accuracy at every evaluation after training began (the end of epoch e at e).",
		func(l *Line) (float64, bool) { return 100 * l.TestAcc, l.Position() > 0 })); err != nil {
		return nil, err
	}
	if err := add(single("test-loss", "Test loss", "test loss",
		"Loss on the test set at every evaluation after training began.",
		func(l *Line) (float64, bool) { return l.TestLoss, l.Position() > 0 })); err != nil {
		return nil, err
	}
	decor := false
	for _, g := range groups {
		for _, r := range plotted(g) {
			for _, l := range r.Lines {
				decor = decor || l.Decorrelation != 0
			}
		}
	}
	if decor {
		if err := add(single("decorrelation", "Decorrelation (mean over layers)", "mean |off-diagonal corr.|",
			"Mean absolute off-diagonal correlation of each layer's (decorrelated) input on 1000 training examples, averaged over layers; lower is more decorrelated.",
			func(l *Line) (float64, bool) { return l.Decorrelation, true })); err != nil {
			return nil, err
		}
	}
	for _, key := range perLayerKeys(groups) {
		f, err := perLayerFigure(groups, names, key, band, bandText)
		if err := add(f, err); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// perLayerFigure draws one per-layer series as small multiples, one panel per layer.
func perLayerFigure(groups []*Group, names []string, key string, band Band, bandText string) (*Figure, error) {
	layers := 0
	for _, g := range groups {
		for _, r := range plotted(g) {
			for _, l := range r.Lines {
				layers = max(layers, len(l.PerLayer[key]))
			}
		}
	}
	if layers == 0 {
		return nil, nil
	}
	title, ylabel := key, key
	if t, ok := perLayerTitles[key]; ok {
		title, ylabel = t[0], t[1]
	}
	cols := min(layers, 4)
	nrows := (layers + cols - 1) / cols
	rows := make([][]*plot.Plot, nrows)
	lines := make([]*plotter.Line, len(groups))
	for l := 0; l < layers; l++ {
		yl := ""
		if l%cols == 0 {
			yl = ylabel
		}
		p := newPlot(fmt.Sprintf("layer %d", l+1), "epoch", yl)
		p.Title.TextStyle.Font.Size = vg.Points(10)
		for i, g := range groups {
			ln, err := addCurve(p, aggregate(g, band, func(x *Line) (float64, bool) {
				v := x.PerLayer[key]
				if l >= len(v) {
					return 0, false
				}
				return v[l], true
			}), i)
			if err != nil {
				return nil, err
			}
			if ln != nil && lines[i] == nil {
				lines[i] = ln
			}
		}
		rows[l/cols] = append(rows[l/cols], p)
	}
	// One y range for all panels, so that layers compare at a glance; angles from 0°.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range rows {
		for _, p := range row {
			lo, hi = math.Min(lo, p.Y.Min), math.Max(hi, p.Y.Max)
		}
	}
	angle := strings.HasSuffix(key, "_deg")
	if angle {
		lo, hi = 0, math.Max(90, 10*math.Ceil(hi/10))
	}
	for _, row := range rows {
		for _, p := range row {
			p.Y.Min, p.Y.Max = lo, hi
			if angle && hi > 90 {
				ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 90}, {X: p.X.Max, Y: 90}})
				if err == nil {
					ref.Color = color.Gray{Y: 140}
					ref.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
					p.Add(ref)
				}
			}
		}
	}
	for len(rows[nrows-1]) < cols {
		rows[nrows-1] = append(rows[nrows-1], nil)
	}
	caption := fmt.Sprintf("%s, one panel per layer (layer 1 takes the input). Lines: mean over seeds; %s.", title, bandText)
	if strings.HasSuffix(key, "_deg") {
		caption += " 0° is perfect alignment, 90° none."
	}
	return &Figure{Name: key, Title: title, Caption: caption,
		Width: 10 * vg.Inch, Height: vg.Length(nrows) * 2.5 * vg.Inch,
		draw: func(c draw.Canvas) { drawWithLegend(c, title, rows, names, lines) }}, nil
}

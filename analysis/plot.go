package analysis

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotOptions configure [PlotAccuracy].
type PlotOptions struct {
	// Width and Height of the image in pixels (0: 720×480).
	Width, Height int
	// Title, XLabel and YLabel name the plot and its axes (defaults: the compression
	// sweep's "test accuracy after compression", "layers removed k" and "test accuracy %").
	Title, XLabel, YLabel string
	// Names label the series in a legend; with one series and no name there is none.
	Names []string
	// Reference, if positive, is drawn as a dashed horizontal line labelled RefLabel
	// (default "uncompressed model"), e.g. the accuracy before compression.
	Reference float64
	RefLabel  string
}

// The default labels, those of the compression sweep.
const (
	defaultTitle  = "Test accuracy after compression"
	defaultXLabel = "layers removed k (the last k+1 layers replaced by one inferred map)"
	defaultYLabel = "test accuracy %"
)

// seriesColors are the colours of series 0, 1, …: the report's first colours.
var seriesColors = []color.NRGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}}

// PlotAccuracy draws accuracies (fractions in [0, 1], shown in percent) against x = 0, 1, …
// with gonum/plot: a line with a dot and its value at every point, over a y axis from 0 to
// 100% with a grid, whole-number ticks on x, a title and axis labels. Several series share
// the axes, series i in colour i.
func PlotAccuracy(series [][]float64, opt PlotOptions) (image.Image, error) {
	n := 0
	for _, s := range series {
		n = max(n, len(s))
	}
	if n == 0 {
		return nil, fmt.Errorf("plot: no points")
	}
	w, h := opt.Width, opt.Height
	if w <= 0 || h <= 0 {
		w, h = 720, 480
	}
	if w < 200 || h < 150 {
		return nil, fmt.Errorf("plot: %d×%d pixels is too small (at least 200×150)", w, h)
	}
	p := plot.New()
	p.Title.Text = orDefault(opt.Title, defaultTitle)
	p.X.Label.Text = orDefault(opt.XLabel, defaultXLabel)
	p.Y.Label.Text = orDefault(opt.YLabel, defaultYLabel)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.Title.Padding = vg.Points(8)
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = stepTicks{step: 10}
	p.X.Min, p.X.Max = -0.3, float64(n-1)+0.3
	p.X.Tick.Marker = stepTicks{step: 1}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 225}, color.Gray{Y: 225}
	p.Add(grid)
	p.Title.TextStyle.XAlign = draw.XCenter
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(-6), vg.Points(-4)

	if opt.Reference > 0 {
		ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 100 * opt.Reference}, {X: p.X.Max, Y: 100 * opt.Reference}})
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		ref.Color = color.Gray{Y: 110}
		ref.Width = vg.Points(1.2)
		ref.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(ref)
		p.Legend.Add(fmt.Sprintf("%s (%.1f%%)", orDefault(opt.RefLabel, "uncompressed model"), 100*opt.Reference), ref)
	}
	for i, s := range series {
		if len(s) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(s))
		for j, a := range s {
			pts[j] = plotter.XY{X: float64(j), Y: 100 * a}
		}
		col := seriesColors[i%len(seriesColors)]
		line, dots, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		line.Color, line.Width = col, vg.Points(2)
		dots.Color, dots.Shape, dots.Radius = col, draw.CircleGlyph{}, vg.Points(3.5)
		values, err := valueLabels(pts, 100*opt.Reference, col)
		if err != nil {
			return nil, err
		}
		p.Add(line, dots)
		p.Add(values...)
		if i < len(opt.Names) && opt.Names[i] != "" {
			p.Legend.Add(opt.Names[i], line, dots)
		}
	}
	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch/dpi, vg.Length(h)*vg.Inch/dpi), vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	return c.Image(), nil
}

// valueLabels writes each point's value beside it in col: above the point, or below it
// where the label would sit on the reference line ref just above the point.
func valueLabels(pts plotter.XYs, ref float64, col color.Color) ([]plot.Plotter, error) {
	var above, below plotter.XYLabels
	for _, pt := range pts {
		l := &above
		if ref > 0 && pt.Y < ref && ref-pt.Y < 5 {
			l = &below
		}
		l.XYs = append(l.XYs, pt)
		l.Labels = append(l.Labels, fmt.Sprintf("%.1f", pt.Y))
	}
	var out []plot.Plotter
	for _, side := range []struct {
		l   plotter.XYLabels
		dy  vg.Length
		aln draw.YAlignment
	}{{above, vg.Points(6), draw.YBottom}, {below, vg.Points(-6), draw.YTop}} {
		if len(side.l.XYs) == 0 {
			continue
		}
		lb, err := plotter.NewLabels(side.l)
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		for k := range lb.TextStyle {
			st := &lb.TextStyle[k]
			st.Font.Size, st.Font.Variant, st.Color = vg.Points(9), "Sans", col
			st.XAlign, st.YAlign = draw.XCenter, side.aln
		}
		lb.Offset = vg.Point{Y: side.dy}
		out = append(out, lb)
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// stepTicks marks an axis at every multiple of step, labelled as a whole number.
type stepTicks struct{ step float64 }

// Ticks implements plot.Ticker.
func (t stepTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := math.Ceil(lo/t.step) * t.step; v <= hi+1e-9; v += t.step {
		if v == 0 {
			v = 0 // not -0, which would be labelled "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
	}
	return ticks
}

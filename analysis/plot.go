package analysis

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// PlotOptions configure [PlotAccuracy].
type PlotOptions struct {
	// Width and Height of the image in pixels (0: 480×320).
	Width, Height int
	// Reference, if positive, is drawn as a dashed horizontal line (the uncompressed model).
	Reference float64
}

// PlotAccuracy draws accuracies (fractions in [0, 1]) against x = 0, 1, … as a line with
// dots, over a y axis from 0 to 100% with grid lines every 10% and ticks labelled with
// a built-in 3×5 pixel font (no font dependency). Several series share the axes; series i is
// drawn in colour i of a fixed list.
func PlotAccuracy(series [][]float64, opt PlotOptions) (*image.RGBA, error) {
	n := 0
	for _, s := range series {
		n = max(n, len(s))
	}
	if n == 0 {
		return nil, fmt.Errorf("plot: no points")
	}
	w, h := opt.Width, opt.Height
	if w <= 0 || h <= 0 {
		w, h = 480, 320
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	const left, right, top, bottom = 40, 16, 12, 28
	pw, ph := w-left-right, h-top-bottom
	if pw < 20 || ph < 20 {
		return nil, fmt.Errorf("plot: %dx%d is too small", w, h)
	}
	px := func(i int) int {
		if n == 1 {
			return left + pw/2
		}
		return left + i*pw/(n-1)
	}
	py := func(acc float64) int { return top + ph - int(math.Round(max(0, min(1, acc))*float64(ph))) }
	grid, axis := color.RGBA{225, 225, 225, 255}, color.RGBA{0, 0, 0, 255}
	for p := 0; p <= 10; p++ {
		y := py(float64(p) / 10)
		fill(img, image.Rect(left, y, left+pw+1, y+1), grid)
		if p%2 == 0 {
			drawText(img, left-6-textWidth(fmt.Sprint(10*p)), y-2, fmt.Sprint(10*p), axis)
		}
	}
	for i := 0; i < n; i++ {
		x := px(i)
		fill(img, image.Rect(x, top+ph, x+1, top+ph+4), axis)
		drawText(img, x-textWidth(fmt.Sprint(i))/2, top+ph+7, fmt.Sprint(i), axis)
	}
	fill(img, image.Rect(left, top, left+1, top+ph+1), axis)
	fill(img, image.Rect(left, top+ph, left+pw+1, top+ph+1), axis)
	if opt.Reference > 0 {
		y := py(opt.Reference)
		for x := left; x <= left+pw; x += 6 {
			fill(img, image.Rect(x, y, min(x+3, left+pw+1), y+1), color.RGBA{120, 120, 120, 255})
		}
	}
	colors := []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}}
	for si, s := range series {
		c := colors[si%len(colors)]
		for i := range s {
			if i > 0 {
				line(img, px(i-1), py(s[i-1]), px(i), py(s[i]), c)
			}
			fill(img, image.Rect(px(i)-2, py(s[i])-2, px(i)+3, py(s[i])+3), c)
		}
	}
	return img, nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a 1-pixel line from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		img.SetRGBA(x, y, c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// glyphs is a 3×5 pixel font for digits: each glyph is five rows of three bits.
var glyphs = [10][5]uint8{
	{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
	{7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
}

func textWidth(s string) int { return 4*len(s) - 1 }

// drawText draws the digits of s with their top-left corner at (x, y); other characters
// leave a gap.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		if r >= '0' && r <= '9' {
			g := glyphs[r-'0']
			for row := 0; row < 5; row++ {
				for col := 0; col < 3; col++ {
					if g[row]&(4>>col) != 0 {
						img.SetRGBA(x+col, y+row, c)
					}
				}
			}
		}
		x += 4
	}
}

package analysis

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math"

	"github.com/copi-learn/copi/internal/atomicfile"
)

// ImageShape is the layout of one input vector as an image: Channels planes of Height×Width
// pixels, channel-major (the layout of package data).
type ImageShape struct {
	Channels, Height, Width int
}

// Size is the number of values of one image.
func (s ImageShape) Size() int { return s.Channels * s.Height * s.Width }

// GuessShape returns the image layout of an input of n values: a square grey image (784 →
// 28×28) or three square channels (3072 → 3×32×32).
func GuessShape(n int) (ImageShape, error) {
	if r := isqrt(n); r*r == n {
		return ImageShape{1, r, r}, nil
	}
	if n%3 == 0 {
		if r := isqrt(n / 3); r*r == n/3 {
			return ImageShape{3, r, r}, nil
		}
	}
	return ImageShape{}, fmt.Errorf("inputs of %d values are neither a square image nor three square channels", n)
}

func isqrt(n int) int { return int(math.Round(math.Sqrt(float64(n)))) }

// Palette maps a value in [-1, 1] to a colour.
type Palette int

// The palettes of [RenderGrid].
const (
	// Grey maps -1 to black, 0 to mid-grey and 1 to white.
	Grey Palette = iota
	// Diverging maps -1 to blue, 0 to white and 1 to red.
	Diverging
)

// ParsePalette returns the palette named "grey" (or "gray") or "diverging".
func ParsePalette(name string) (Palette, error) {
	switch name {
	case "grey", "gray":
		return Grey, nil
	case "diverging":
		return Diverging, nil
	}
	return 0, fmt.Errorf("unknown palette %q (want grey or diverging)", name)
}

func (p Palette) color(v float64) color.RGBA {
	v = max(-1, min(1, v))
	if p == Diverging {
		// white at 0, towards (33,102,172) blue and (178,24,43) red, as ColorBrewer's RdBu.
		lo, hi := [3]float64{33, 102, 172}, [3]float64{178, 24, 43}
		end := hi
		if v < 0 {
			end, v = lo, -v
		}
		var c [3]uint8
		for i := range c {
			c[i] = uint8(math.Round(255 + v*(end[i]-255)))
		}
		return color.RGBA{c[0], c[1], c[2], 255}
	}
	g := uint8(math.Round(127.5 + 127.5*v))
	return color.RGBA{g, g, g, 255}
}

// Normalization says how a tile's values are scaled before colouring.
type Normalization int

// The normalisations of [RenderGrid].
const (
	// Symmetric divides each tile by its largest absolute value, so that 0 stays in the
	// middle of the palette (receptive fields, decorrelated and whitened images).
	Symmetric Normalization = iota
	// MinMax maps each tile's minimum to -1 and its maximum to 1 (raw images).
	MinMax
)

// GridOptions configure [RenderGrid].
type GridOptions struct {
	// Columns is the number of tiles per row (0: 8).
	Columns int
	// Scale magnifies every pixel to Scale×Scale (0: 1).
	Scale int
	// Palette colours single-channel tiles; three-channel tiles are drawn in RGB.
	Palette Palette
	// Normalization scales each tile.
	Normalization Normalization
	// Border is the colour of the 1-pixel border around and between tiles (zero value: black).
	Border color.RGBA
}

// RenderGrid draws each tile (one image of shape in its layout) into a grid of
// opt.Columns columns, each tile normalised on its own, with a 1-pixel border. A nil tile
// leaves its cell empty (border colour), e.g. to start a new group on a new row.
func RenderGrid(tiles [][]float32, shape ImageShape, opt GridOptions) (*image.RGBA, error) {
	if len(tiles) == 0 {
		return nil, fmt.Errorf("render grid: no tiles")
	}
	if shape.Channels != 1 && shape.Channels != 3 || shape.Height <= 0 || shape.Width <= 0 {
		return nil, fmt.Errorf("render grid: unsupported image shape %dx%dx%d (want 1 or 3 channels)", shape.Channels, shape.Height, shape.Width)
	}
	for i, t := range tiles {
		if t != nil && len(t) != shape.Size() {
			return nil, fmt.Errorf("render grid: tile %d has %d values, want %d", i, len(t), shape.Size())
		}
	}
	cols := opt.Columns
	if cols <= 0 {
		cols = 8
	}
	cols = min(cols, len(tiles))
	rows := (len(tiles) + cols - 1) / cols
	sc := max(opt.Scale, 1)
	tw, th := shape.Width*sc, shape.Height*sc
	img := image.NewRGBA(image.Rect(0, 0, cols*(tw+1)+1, rows*(th+1)+1))
	border := opt.Border
	if border.A == 0 {
		border = color.RGBA{0, 0, 0, 255}
	}
	for i := range img.Pix {
		img.Pix[i] = []uint8{border.R, border.G, border.B, border.A}[i%4]
	}
	plane := shape.Height * shape.Width
	for t, vals := range tiles {
		if vals == nil {
			continue
		}
		lo, hi := tileRange(vals, opt.Normalization)
		x0, y0 := 1+(t%cols)*(tw+1), 1+(t/cols)*(th+1)
		for y := 0; y < shape.Height; y++ {
			for x := 0; x < shape.Width; x++ {
				var c color.RGBA
				if shape.Channels == 1 {
					c = opt.Palette.color(scaleTo(vals[y*shape.Width+x], lo, hi))
				} else {
					var ch [3]uint8
					for k := range ch {
						ch[k] = uint8(math.Round(127.5 + 127.5*max(-1, min(1, scaleTo(vals[k*plane+y*shape.Width+x], lo, hi)))))
					}
					c = color.RGBA{ch[0], ch[1], ch[2], 255}
				}
				for dy := 0; dy < sc; dy++ {
					for dx := 0; dx < sc; dx++ {
						img.SetRGBA(x0+x*sc+dx, y0+y*sc+dy, c)
					}
				}
			}
		}
	}
	return img, nil
}

// tileRange returns the values mapped to -1 and 1.
func tileRange(v []float32, n Normalization) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, float64(x)), max(hi, float64(x))
	}
	if n == Symmetric {
		m := max(math.Abs(lo), math.Abs(hi))
		return -m, m
	}
	return lo, hi
}

func scaleTo(v float32, lo, hi float64) float64 {
	if hi <= lo {
		return 0
	}
	return 2*(float64(v)-lo)/(hi-lo) - 1
}

// WritePNG encodes img as a PNG file at path, atomically: the file appears complete or not
// at all (an interrupted write leaves any older file in place).
func WritePNG(path string, img image.Image) error {
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { return png.Encode(w, img) })
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the temporary file's name means nothing to the user
	} else if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("cannot write %s: %w (check that its directory exists and is writable)", path, err)
}

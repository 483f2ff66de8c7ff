package csdp

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/copi-learn/copi/mat32"
)

// RenderReconstructions writes a PNG of the first n rows of x (images side·side, side =
// √inputs) in the top row and the circuit's reconstructions of them below, the label
// withheld, each pixel drawn as a 3×3 block in grey levels. It needs the reconstruction
// layer.
func (l *Learner) RenderReconstructions(w io.Writer, x mat32.Matrix, n int) error {
	if l.R1 == nil {
		return fmt.Errorf("csdp: the circuit has no reconstruction layer (option reconstruction)")
	}
	side := int(math.Round(math.Sqrt(float64(l.nIn))))
	if side*side != l.nIn {
		return fmt.Errorf("csdp: %d inputs are not a square image", l.nIn)
	}
	n = min(n, x.Rows, min(l.rowsMax, evalChunk))
	if n < 1 {
		return fmt.Errorf("csdp: no rows to reconstruct")
	}
	l.window(x.Slice(0, n, 0, x.Cols), 0)
	const z, gap = 3, 2
	cell := side*z + gap
	img := image.NewGray(image.Rect(0, 0, n*cell, 2*cell))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	for k := 0; k < n; k++ {
		for r, src := range [][]float32{x.Row(k), l.recon.Row(k)} {
			for p, v := range src {
				g := uint8(255 * min(max(v, 0), 1))
				for dy := 0; dy < z; dy++ {
					for dx := 0; dx < z; dx++ {
						img.SetGray(k*cell+(p%side)*z+dx, r*cell+(p/side)*z+dy, color.Gray{Y: g})
					}
				}
			}
		}
	}
	return png.Encode(w, img)
}

// RenderRaster writes a PNG spike raster of the first row of x, the label withheld: time
// runs left to right (T steps, 4 pixels each), units top to bottom, 2 pixels each: the
// first `units` units of layer 1 (black), then of layer 2 (blue), then the output units
// (red), separated by grey bands.
func (l *Learner) RenderRaster(w io.Writer, x mat32.Matrix, units int) error {
	if x.Rows < 1 {
		return fmt.Errorf("csdp: no row to draw")
	}
	units = max(units, 1)
	u1, u2, uy := min(units, l.n1), min(units, l.n2), l.nc
	T := l.o.Steps
	rec := &raster{u: [3]int{u1, u2, uy}, s: make([][]bool, T)}
	l.rec = rec
	l.window(x.Slice(0, 1, 0, x.Cols), 0)
	l.rec = nil
	const sx, sy, band = 4, 2, 3
	h := (u1+u2+uy)*sy + 2*band
	img := image.NewRGBA(image.Rect(0, 0, T*sx, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	colors := []color.RGBA{{0, 0, 0, 255}, {20, 60, 200, 255}, {200, 20, 20, 255}}
	for t, row := range rec.s {
		y0 := 0
		k := 0
		for layer, n := range rec.u {
			for i := 0; i < n; i++ {
				if row[k] {
					for dy := 0; dy < sy; dy++ {
						for dx := 0; dx < sx-1; dx++ {
							img.SetRGBA(t*sx+dx, y0+i*sy+dy, colors[layer])
						}
					}
				}
				k++
			}
			y0 += n * sy
			if layer < 2 {
				for dy := 0; dy < band; dy++ {
					for dx := 0; dx < sx; dx++ {
						img.SetRGBA(t*sx+dx, y0+dy, color.RGBA{200, 200, 200, 255})
					}
				}
				y0 += band
			}
		}
	}
	return png.Encode(w, img)
}

// raster records row 0's spikes of the first u units of each layer at every step.
type raster struct {
	u [3]int
	s [][]bool
	t int
}

func (r *raster) record(l *Learner) {
	if r.t >= len(r.s) {
		return
	}
	row := make([]bool, 0, r.u[0]+r.u[1]+r.u[2])
	for layer, p := range []*population{&l.z1, &l.z2, &l.zy} {
		s := p.s.m.Row(0)
		for i := 0; i < r.u[layer]; i++ {
			row = append(row, s[i] != 0)
		}
	}
	r.s[r.t] = row
	r.t++
}

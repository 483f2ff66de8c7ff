package analysis

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dark counts the pixels of img inside r that are darker than light grey (text, axes).
func dark(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if g := color.GrayModel.Convert(img.At(x, y)).(color.Gray); g.Y < 128 {
				n++
			}
		}
	}
	return n
}

// hasColor reports whether some pixel of img is close to c.
func hasColor(img image.Image, c color.NRGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if d := absDiff(r>>8, uint32(c.R)) + absDiff(g>>8, uint32(c.G)) + absDiff(bl>>8, uint32(c.B)); d < 12 {
				return true
			}
		}
	}
	return false
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// The sweep plot is drawn by gonum/plot with a title, axis labels and ticks: there is
// text above the plot area (the title), left of it (the y label and ticks) and below it
// (the x label and ticks), and the series is drawn in its colour.
func TestPlotAccuracyHasTitleAxesAndLabels(t *testing.T) {
	img, err := PlotAccuracy([][]float64{{0.82, 0.81, 0.80, 0.76, 0.67}}, PlotOptions{Reference: 0.837})
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 720 || b.Dy() != 480 {
		t.Fatalf("default size %v, want 720×480", b.Size())
	}
	regions := map[string]image.Rectangle{
		"title (top strip)":                image.Rect(0, 0, b.Dx(), 22),
		"y label (left strip)":             image.Rect(0, 60, 22, b.Dy()-60),
		"x label and ticks (bottom strip)": image.Rect(60, b.Dy()-40, b.Dx()-60, b.Dy()),
	}
	for what, r := range regions {
		if n := dark(img, r); n < 50 {
			t.Errorf("%s: %d dark pixels, want text there", what, n)
		}
	}
	if !hasColor(img, seriesColors[0]) {
		t.Error("the series is not drawn in its colour")
	}
	for _, bad := range []struct {
		series [][]float64
		opt    PlotOptions
		want   string
	}{
		{nil, PlotOptions{}, "no points"},
		{[][]float64{{0.5}}, PlotOptions{Width: 100, Height: 50}, "too small"},
	} {
		if _, err := PlotAccuracy(bad.series, bad.opt); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v %+v: %v, want %q", bad.series, bad.opt, err, bad.want)
		}
	}
}

func TestStepTicksHaveNoNegativeZero(t *testing.T) {
	ticks := stepTicks{step: 1}.Ticks(-0.3, 2.3)
	if len(ticks) != 3 || ticks[0].Label != "0" || ticks[2].Label != "2" {
		t.Errorf("ticks %+v, want 0, 1, 2", ticks)
	}
}

// WritePNG replaces the file atomically: a failed write leaves the old file as it was and
// no temporary file behind, and says which file could not be written in one line.
func TestWritePNGIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.png")
	img, err := PlotAccuracy([][]float64{{0.5, 0.4}}, PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if _, err := png.Decode(bytes.NewReader(before)); err != nil {
		t.Fatalf("written file: %v", err)
	}
	err = WritePNG(path, image.NewRGBA(image.Rect(0, 0, 0, 0))) // png.Encode refuses an empty image
	if err == nil || !strings.HasPrefix(err.Error(), "cannot write "+path+": ") || strings.Contains(err.Error(), "atomicfile") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("failed write: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("a failed write changed the existing file")
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("directory holds %d entries, want only sweep.png", len(es))
	}
	err = WritePNG(filepath.Join(dir, "no", "such", "x.png"), img)
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") || strings.Contains(err.Error(), ".tmp") {
		t.Errorf("missing directory: %v", err)
	}
}

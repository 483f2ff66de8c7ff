package report

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/internal/headless"
)

// TestReportInChromium opens a rendered report in headless Chromium: the DOM it builds
// has the figures and the table, the console stays quiet, and a screenshot is not blank.
func TestReportInChromium(t *testing.T) {
	bin := headless.Chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := Render(&b, loadSynthetic(t), Options{Sources: []string{"synthetic.jsonl"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom, stderr := headless.Open(t, bin, page, "--dump-dom")
	for _, want := range []string{`id="summary-table"`, "<svg", "</svg>", `id="fig-test-accuracy"`, `id="fig-update_angle_deg"`, "fast reached"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM Chromium built lacks %q", want)
		}
	}
	if n := strings.Count(dom, "<svg"); n != 7 {
		t.Errorf("Chromium sees %d SVG figures, want 7", n)
	}
	if strings.Count(dom, "<tr") < 5 {
		t.Errorf("the tables lost their rows in Chromium")
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") || strings.Contains(line, "console") {
			t.Errorf("console message: %s", line)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	headless.Open(t, bin, page, "--screenshot="+shot, "--window-size=1200,1600", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if frac := inkFraction(img); frac < 0.02 {
		t.Errorf("the screenshot is nearly blank: %.3f of its pixels are not white", frac)
	}
}

// inkFraction returns the fraction of pixels that are not (nearly) white.
func inkFraction(img image.Image) float64 {
	r := img.Bounds()
	ink, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				ink++
			}
			all++
		}
	}
	return float64(ink) / float64(all)
}

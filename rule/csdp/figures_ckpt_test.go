package csdp_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/rule/csdp"
	"github.com/copi-learn/copi/train"
)

// TestWriteFiguresFromCheckpoint renders the figures of a trained circuit: set
// CSDP_FIGURES_CKPT to a csdp checkpoint and CSDP_FIGURES_DIR to a directory; it writes
// reconstructions.png (ten MNIST test images over their reconstructions) and raster.png
// (the spike raster of the first test image). Skipped otherwise.
func TestWriteFiguresFromCheckpoint(t *testing.T) {
	path, dir := os.Getenv("CSDP_FIGURES_CKPT"), os.Getenv("CSDP_FIGURES_DIR")
	if path == "" || dir == "" {
		t.Skip("set CSDP_FIGURES_CKPT and CSDP_FIGURES_DIR to render figures")
	}
	e, err := mat32.NewEngine(mat32.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	o, err := train.Open(e, path)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := o.Learner.(*csdp.Learner)
	if !ok {
		t.Fatalf("%s is a %T, not a csdp circuit", path, o.Learner)
	}
	ds, err := data.Load(context.Background(), "mnist", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := ds.Test.X.Slice(0, 10, 0, ds.Test.X.Cols)
	for name, render := range map[string]func(f *os.File) error{
		"reconstructions.png": func(f *os.File) error { return l.RenderReconstructions(f, x, 10) },
		"raster.png":          func(f *os.File) error { return l.RenderRaster(f, x, 150) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := render(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

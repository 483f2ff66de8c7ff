package data

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// floatNPY encodes float32 images of shape n×d.
func floatNPY(n, d int, v ...float32) []byte {
	return npyBytes("<f4", []int{n, d}, f32bytes(binary.LittleEndian, v...))
}

// TestFloatImagesRange checks how float images are taken: [0, 1] as they are, whole
// numbers 0…255 scaled by 1/255 with a notice, anything else refused with the range.
func TestFloatImagesRange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	labels := npyBytes("|u1", []int{2}, []byte{0, 1})
	pixels := []byte{0, 1, 128, 255, 7, 0, 254, 3}
	whole := make([]float32, len(pixels))
	for i, p := range pixels {
		whole[i] = float32(p)
	}
	writeFiles(t, dir, map[string][]byte{
		"bytes.npy":      npyBytes("|u1", []int{2, 4}, pixels),
		"whole.npy":      floatNPY(2, 4, whole...),
		"unit.npy":       floatNPY(2, 4, 0, .5, 1, .25, 0, 0, .125, 1),
		"standard.npy":   floatNPY(2, 4, -0.5, 0, 1, 2, 0, 0, 0, 0),
		"fractional.npy": floatNPY(2, 4, 0, 127.5, 255, 3, 0, 0, 0, 0),
		"large.npy":      floatNPY(2, 4, 0, 1, 256, 3, 0, 0, 0, 0),
		"y.npy":          labels,
	})
	load := func(name string, log *bytes.Buffer) (*Dataset, error) {
		return Load(ctx, filepath.Join(dir, name)+","+filepath.Join(dir, "y.npy"), Options{Log: log})
	}

	ref, err := load("bytes.npy", nil)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ds, err := load("whole.npy", &log)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range ds.Train.X.Data {
		if v != ref.Train.X.Data[i] {
			t.Fatalf("element %d of whole-number floats is %v, want %v as for bytes", i, v, ref.Train.X.Data[i])
		}
	}
	if len(ds.Notes) != 1 || !strings.Contains(ds.Notes[0], "whole.npy") || !strings.Contains(ds.Notes[0], "scaled by 1/255") {
		t.Errorf("notes %q, want one naming whole.npy and the scaling", ds.Notes)
	}
	if log.String() != "notice: "+ds.Notes[0]+"\n" {
		t.Errorf("log %q, want the note as one notice line", log.String())
	}

	log.Reset()
	ds, err = load("unit.npy", &log)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.X.At(0, 1) != .5 || len(ds.Notes) != 0 || log.Len() != 0 {
		t.Errorf("[0, 1] floats: element %v, notes %q, log %q", ds.Train.X.At(0, 1), ds.Notes, log.String())
	}

	for name, parts := range map[string][]string{
		"standard.npy":   {"standard.npy: float images must be in [0, 1]", "found values from -0.5 to 2"},
		"fractional.npy": {"fractional.npy: float images must be in [0, 1]", "from 0 to 255", "not all whole numbers"},
		"large.npy":      {"large.npy: float images must be in [0, 1]", "from 0 to 256"},
	} {
		_, err := load(name, nil)
		wantErr(t, err, parts...)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: not ErrFormat: %v", name, err)
		}
	}
}

// TestLoadPathNearMissNames checks that a directory of NumPy files with other names
// than the accepted ones gets an error listing both, and a spec that loads them.
func TestLoadPathNearMissNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x := npyBytes("|u1", []int{2, 4}, pattern(8, 0))
	y := npyBytes("|u1", []int{2}, []byte{0, 1})
	writeFiles(t, dir, map[string][]byte{"train_x.npy": x, "train_y.npy": y, "test_x.npy": x, "test_y.npy": y, "notes.txt": nil})
	_, err := LoadPath(ctx, dir)
	wantErr(t, err, "test_x.npy, test_y.npy, train_x.npy, train_y.npy",
		"x_train.npy, y_train.npy", "x_test.npy, y_test.npy")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("not ErrNotFound: %v", err)
	}
	// The error suggests the spec that reads them; it works.
	spec := strings.Join([]string{
		filepath.Join(dir, "train_x.npy"), filepath.Join(dir, "train_y.npy"),
		filepath.Join(dir, "test_x.npy"), filepath.Join(dir, "test_y.npy"),
	}, ",")
	wantErr(t, err, `"`+spec+`"`)
	if ds, err := Load(ctx, spec, Options{}); err != nil || ds.Train.Len() != 2 || ds.Test.Len() != 2 {
		t.Fatalf("suggested spec: %v, %v", ds, err)
	}

	// Other spellings are recognised too; training arrays alone give a pair.
	other := t.TempDir()
	writeFiles(t, other, map[string][]byte{"X_Train.npy": x, "train-labels.npy": y})
	_, err = LoadPath(ctx, other)
	wantErr(t, err, "X_Train.npy, train-labels.npy", `"`+filepath.Join(other, "X_Train.npy")+","+filepath.Join(other, "train-labels.npy")+`"`)

	// Names that say nothing: the accepted names, no guess.
	vague := t.TempDir()
	writeFiles(t, vague, map[string][]byte{"a.npy": x, "b.npy": y})
	_, err = LoadPath(ctx, vague)
	wantErr(t, err, "a.npy, b.npy", "x_train.npy, y_train.npy", `"IMAGES.npy,LABELS.npy"`)
	if strings.Contains(err.Error(), filepath.Join(vague, "a.npy")) {
		t.Errorf("guessed a spec from vague names: %v", err)
	}

	// An .npz in a directory: give the archive itself.
	zdir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, b := range map[string][]byte{"train_x.npy": x, "train_y.npy": y} {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	zw.Close()
	npz := filepath.Join(zdir, "data.npz")
	if err := os.WriteFile(npz, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPath(ctx, zdir)
	wantErr(t, err, filepath.Join(zdir, "data.npz"), "name the file itself")
	// And an archive with other member names lists them.
	_, err = LoadPath(ctx, npz)
	wantErr(t, err, "lacks x_train.npy and y_train.npy", "it holds train_x.npy, train_y.npy")
}

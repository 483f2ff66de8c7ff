package data

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func f32bytes(order binary.ByteOrder, vs ...float32) []byte {
	var b bytes.Buffer
	for _, v := range vs {
		binary.Write(&b, order, v)
	}
	return b.Bytes()
}

func TestReadNPYVersionsAndTypes(t *testing.T) {
	a, err := ReadNPY(bytes.NewReader(npyBytes("|u1", []int{2, 3}, []byte{0, 1, 2, 3, 4, 255})), "a.npy")
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 6 || a.Float(5) != 255 {
		t.Fatalf("got %v", a.Shape)
	}
	// Version 2.0 and 3.0 headers have a 4-byte length.
	for _, major := range []byte{2, 3} {
		hdr := "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }\n"
		var b bytes.Buffer
		b.WriteString(npyMagic)
		b.Write([]byte{major, 0})
		binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
		b.WriteString(hdr)
		binary.Write(&b, binary.BigEndian, []float64{1.5, -2})
		a, err := ReadNPY(&b, "v.npy")
		if err != nil {
			t.Fatalf("v%d: %v", major, err)
		}
		if a.Float(0) != 1.5 || a.Float(1) != -2 {
			t.Fatalf("v%d: %v %v", major, a.Float(0), a.Float(1))
		}
	}
	for descr, data := range map[string][]byte{
		"<i4": {0xfe, 0xff, 0xff, 0xff}, "<i8": {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		">i2": {0xff, 0xfe}, "<f4": f32bytes(binary.LittleEndian, -2), "|i1": {0xfe},
	} {
		a, err := ReadNPY(bytes.NewReader(npyBytes(descr, []int{1}, data)), "t.npy")
		if err != nil || a.Float(0) != -2 {
			t.Errorf("%s: %v, %v", descr, err, a)
		}
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := npyBytes("<f4", []int{2, 2}, f32bytes(binary.LittleEndian, 1, 2, 3, 4))
	fortran := bytes.Replace(good, []byte("False"), []byte("True "), 1)
	for name, tt := range map[string]struct {
		in    []byte
		parts []string
	}{
		"magic":     {[]byte("PK\x03\x04xxxxxxxx"), []string{"a.npy: not a .npy file"}},
		"version":   {append([]byte(npyMagic), 9, 0, 0, 0), []string{"version 9.0"}},
		"truncated": {good[:len(good)-1], []string{"truncated", "shape (2, 2) of <f4 (16 bytes)", "file has 15"}},
		"trailing":  {append(append([]byte{}, good...), 1), []string{"trailing data", "1 more bytes"}},
		"fortran":   {fortran, []string{"Fortran order", "np.ascontiguousarray"}},
		"dtype":     {npyBytes("<c8", []int{1}, make([]byte, 8)), []string{`unsupported .npy dtype "<c8"`}},
		"struct":    {bytes.Replace(good, []byte("'<f4'"), []byte("[('a',"), 1), []string{"malformed .npy header"}},
		"hdr":       {good[:12], []string{"truncated .npy header"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(tt.in), "a.npy")
			wantErr(t, err, tt.parts...)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("not ErrFormat: %v", err)
			}
		})
	}
}

func TestNPYImagesShapes(t *testing.T) {
	// N×H×W×C (channels last) becomes channel-major.
	a := &NPY{Shape: []int{1, 2, 2, 3}, kind: 'u', size: 1, order: binary.LittleEndian,
		Data: []byte{0, 100, 200, 1, 101, 201, 2, 102, 202, 3, 103, 203}}
	x, c, h, w, _, err := npyImages(a, "x")
	if err != nil || c != 3 || h != 2 || w != 2 {
		t.Fatalf("%v %d %d %d", err, c, h, w)
	}
	want := []byte{0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203}
	for i, v := range x.Data {
		if v != float32(want[i])/255 {
			t.Fatalf("element %d = %v, want %v", i, v*255, want[i])
		}
	}
	// N×C×H×W (channels first) stays.
	a = &NPY{Shape: []int{1, 3, 2, 5}, kind: 'u', size: 1, order: binary.LittleEndian, Data: pattern(30, 0)}
	if _, c, h, w, _, err = npyImages(a, "x"); err != nil || c != 3 || h != 2 || w != 5 {
		t.Fatalf("NCHW: %v %d %d %d", err, c, h, w)
	}
	// Non-finite floats and out-of-range integers are errors.
	a = &NPY{Shape: []int{1, 2}, kind: 'f', size: 4, order: binary.LittleEndian, Data: f32bytes(binary.LittleEndian, 1, float32(math.NaN()))}
	_, _, _, _, _, err = npyImages(a, "x.npy")
	wantErr(t, err, "x.npy: element 1 is NaN")
	a = &NPY{Shape: []int{1, 1}, kind: 'i', size: 1, order: binary.LittleEndian, Data: []byte{0xff}}
	_, _, _, _, _, err = npyImages(a, "x.npy")
	wantErr(t, err, "element 0 is -1; integer images must be pixels 0…255")
}

func TestLoadNPYPairDirAndNPZ(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	xtr := npyBytes("|u1", []int{6, 2, 2}, pattern(24, 0))
	ytr := npyBytes("<i8", []int{6}, func() []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, []int64{0, 1, 2, 0, 1, 2})
		return b.Bytes()
	}())
	xte := npyBytes("<f4", []int{2, 4}, f32bytes(binary.LittleEndian, 0, .5, 1, .25, 0, 0, 0, 0))
	yte := npyBytes("|u1", []int{2}, []byte{1, 4})
	writeFiles(t, dir, map[string][]byte{"x_train.npy": xtr, "y_train.npy": ytr, "x_test.npy": xte, "y_test.npy": yte})

	ds, err := Load(ctx, filepath.Join(dir, "x_train.npy")+","+filepath.Join(dir, "y_train.npy"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 6 || ds.Test.Len() != 0 || ds.Classes != 3 || ds.Height != 2 || ds.Width != 2 {
		t.Fatalf("pair: %v", ds)
	}
	v, err := ValidationSplit(ds, 2)
	if err != nil || v.Train.Len() != 4 || v.Test.Len() != 2 || v.Test.Labels[0] != 1 {
		t.Fatalf("validation split: %v %v", err, v)
	}
	// The test set of the directory has 1×2×2 images as N×4 = 1×1×4: a shape mismatch.
	_, err = Load(ctx, dir, Options{})
	wantErr(t, err, "x_train.npy has images of 1×2×2", "x_test.npy has 1×1×4")

	writeFiles(t, dir, map[string][]byte{"x_test.npy": npyBytes("<f4", []int{2, 2, 2}, f32bytes(binary.LittleEndian, 0, .5, 1, .25, 0, 0, 0, 0))})
	ds, err = Load(ctx, dir, Options{})
	if err != nil || ds.Test.Len() != 2 || ds.Classes != 5 || ds.Test.X.At(0, 1) != .5 {
		t.Fatalf("dir: %v %v", err, ds)
	}

	// Label count mismatch names both files.
	_, err = LoadNPY(ctx, filepath.Join(dir, "x_train.npy"), filepath.Join(dir, "y_test.npy"), "", "")
	wantErr(t, err, "x_train.npy has 6 images but", "y_test.npy has 2 labels")

	// .npz with deflated members.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, b := range map[string][]byte{"x_train.npy": xtr, "y_train.npy": ytr} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		w.Write(b)
	}
	zw.Close()
	npz := filepath.Join(dir, "mnist.npz")
	os.WriteFile(npz, zbuf.Bytes(), 0o644)
	ds, err = Load(ctx, npz, Options{})
	if err != nil || ds.Train.Len() != 6 || ds.Name != "mnist" {
		t.Fatalf("npz: %v %v", err, ds)
	}
}

func FuzzNPY(f *testing.F) {
	f.Add(npyBytes("|u1", []int{2, 3}, pattern(6, 0)))
	f.Add(npyBytes("<f4", []int{1, 2}, f32bytes(binary.LittleEndian, 1, 2)))
	f.Add(npyBytes("<f4", []int{1, 2}, f32bytes(binary.LittleEndian, 0, 0.5)))
	f.Add(npyBytes("<f4", []int{1, 2}, f32bytes(binary.LittleEndian, 127.5, -1)))
	f.Add(npyBytes("<i8", []int{1}, make([]byte, 8)))
	f.Add(npyBytes(">f8", []int{}, make([]byte, 8)))
	f.Add([]byte(npyMagic + "\x01\x00\x05\x00{'a':"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadNPY(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("not ErrFormat: %v", err)
			}
			return
		}
		if a.Len()*a.size != len(a.Data) {
			t.Fatalf("shape %v of %s but %d bytes", a.Shape, a.Descr, len(a.Data))
		}
		if a.Len() > 0 {
			a.Float(a.Len() - 1)
		}
		if len(a.Shape) >= 1 && len(a.Shape) <= 4 {
			npyImages(a, "fuzz")
			npyLabels(a, "fuzz")
		}
	})
}

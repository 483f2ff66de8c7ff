package data

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestReadIDXRawAndGzip(t *testing.T) {
	data := pattern(2*3*4, 5)
	for _, gz := range []bool{false, true} {
		idx, err := ReadIDX(bytes.NewReader(idxBytes([]int{2, 3, 4}, data, gz)), "x")
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		if len(idx.Dims) != 3 || idx.Dims[0] != 2 || idx.Dims[1] != 3 || idx.Dims[2] != 4 || !bytes.Equal(idx.Data, data) {
			t.Fatalf("gz=%v: got dims %v", gz, idx.Dims)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{3, 2, 2}, pattern(12, 1), false)
	gzGood := idxBytes([]int{3, 2, 2}, pattern(12, 1), true)
	gzTrunc := idxBytes([]int{3, 2, 2}, pattern(11, 1), true)
	tests := []struct {
		name  string
		in    []byte
		parts []string
	}{
		{"empty", nil, []string{"f.idx", "too short"}},
		{"short header", good[:3], []string{"too short"}},
		{"wrong magic", append([]byte{1, 2, 8, 3}, good[4:]...), []string{"not an IDX file", "01 02 08 03"}},
		{"float type", append([]byte{0, 0, 0x0D, 3}, good[4:]...), []string{"0x0d", "float32", "unsigned byte"}},
		{"unknown type", append([]byte{0, 0, 0x42, 3}, good[4:]...), []string{"unknown IDX element type 0x42"}},
		{"zero dims", []byte{0, 0, 8, 0}, []string{"0 dimensions"}},
		{"truncated dims", good[:10], []string{"truncated IDX header"}},
		{"truncated data", good[:len(good)-1], []string{"truncated", "header says 3 images of 2×2 (12 bytes)", "file has 11"}},
		{"trailing", append(append([]byte{}, good...), 9, 9), []string{"trailing data", "2 more bytes"}},
		{"gz truncated data", gzTrunc, []string{"truncated", "file has 11", "(decompressed)"}},
		{"gz cut", gzGood[:len(gzGood)-6], []string{"f.idx"}},
		{"gz bad crc", append(append([]byte{}, gzGood[:len(gzGood)-8]...), 0, 0, 0, 0, 12+16, 0, 0, 0), []string{"corrupt gzip"}},
		{"huge", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, []string{"implausible"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(tt.in), "f.idx")
			wantErr(t, err, tt.parts...)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%v does not wrap ErrFormat", err)
			}
		})
	}
}

func TestReadIDXFileTruncatedBeforeAlloc(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"train-images-idx3-ubyte": idxBytes([]int{60000, 28, 28}, pattern(1234, 0), false)})
	_, err := ReadIDXFile(filepath.Join(dir, "train-images-idx3-ubyte"))
	wantErr(t, err, "train-images-idx3-ubyte: truncated: header says 60000 images of 28×28 (47040000 bytes), file has 1234")
}

func TestLoadIDXDir(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, gz)
		ds, err := LoadIDXDir(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Train.Len() != 30 || ds.Test.Len() != 10 || ds.Train.X.Cols != 20 || ds.Height != 4 || ds.Width != 5 || ds.Channels != 1 || ds.Classes != 10 {
			t.Fatalf("got %v", ds)
		}
		want := pattern(30*20, 1)
		for i, v := range ds.Train.X.Data {
			if v != float32(want[i])/255 {
				t.Fatalf("pixel %d = %v, want %v", i, v, float32(want[i])/255)
			}
		}
		if ds.Train.Labels[13] != 3 || ds.Test.Labels[9] != 9 {
			t.Fatalf("labels %v", ds.Train.Labels)
		}
	}
}

func TestLoadIDXDirMismatches(t *testing.T) {
	ctx := context.Background()
	t.Run("count", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, true)
		writeFiles(t, dir, map[string][]byte{"train-labels-idx1-ubyte.gz": idxBytes([]int{29}, labelsOf(29, 10), true)})
		_, err := LoadIDXDir(ctx, dir)
		wantErr(t, err, "train-images-idx3-ubyte.gz has 30 images", "train-labels-idx1-ubyte.gz has 29 labels")
	})
	t.Run("shape", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, false)
		writeFiles(t, dir, map[string][]byte{"t10k-images-idx3-ubyte": idxBytes([]int{10, 5, 4}, pattern(200, 0), false)})
		_, err := LoadIDXDir(ctx, dir)
		wantErr(t, err, "4×5", "5×4")
	})
	t.Run("labels as images", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, false)
		writeFiles(t, dir, map[string][]byte{"t10k-images-idx3-ubyte": idxBytes([]int{10}, labelsOf(10, 10), false)})
		_, err := LoadIDXDir(ctx, dir)
		wantErr(t, err, "want an images file", "10 labels")
	})
	t.Run("label range", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, false)
		labels := labelsOf(30, 10)
		labels[7] = 12
		writeFiles(t, dir, map[string][]byte{"train-labels-idx1-ubyte": idxBytes([]int{30}, labels, false)})
		info := fashionInfo()
		_, err := loadIDXDir(ctx, dir, &info)
		// The registry check fails first: the sums differ.
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("want a checksum error, got %v", err)
		}
		parts := [4]*IDX{
			{Dims: []int{30, 4, 5}, Data: pattern(600, 1)}, {Dims: []int{30}, Data: labels},
			{Dims: []int{10, 4, 5}, Data: pattern(200, 2)}, {Dims: []int{10}, Data: labelsOf(10, 10)},
		}
		_, err = idxDataset(parts, [4]string{"a", "b", "c", "d"}, 10)
		wantErr(t, err, "b: label 12 at index 7 is out of range for 10 classes")
	})
	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXDir(t, dir, 30, 10, 4, 5, false)
		_, err := LoadPath(ctx, filepath.Join(dir, "nope"))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	})
}

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, pattern(8, 0), false))
	f.Add(idxBytes([]int{2, 2, 2}, pattern(8, 0), true))
	f.Add(idxBytes([]int{5}, labelsOf(5, 10), false))
	f.Add(idxBytes([]int{2, 2, 2}, pattern(7, 0), false))
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		idx, err := ReadIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		n := 1
		for _, d := range idx.Dims {
			n *= d
		}
		if n != len(idx.Data) {
			t.Fatalf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
	})
}

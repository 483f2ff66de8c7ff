package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// cifarFiles returns small CIFAR batches: 5 train batches of 3 and a test
// batch of 2 records.
func cifarFiles() map[string][]byte {
	files := map[string][]byte{}
	for i, n := range cifarTrainFiles {
		files[n] = cifarBytes(3, 10*i)
	}
	files[cifarTestFile] = cifarBytes(2, 99)
	return files
}

// cifarTarGz packs files under cifar-10-batches-bin/ in a tar.gz.
func cifarTarGz(t testing.TB, files map[string][]byte, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, n := range append([]string{"batches.meta.txt"}, append(append([]string{}, cifarTrainFiles...), append([]string{cifarTestFile}, extra...)...)...) {
		b, ok := files[n]
		if !ok && n != "batches.meta.txt" {
			continue
		}
		if n == "batches.meta.txt" {
			b = []byte("airplane\n")
		}
		tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/" + n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestReadCIFARBatch(t *testing.T) {
	b, err := ReadCIFARBatch(bytes.NewReader(cifarBytes(4, 0)), "b.bin")
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 4 || len(b.Pixels) != 4*3072 || b.Labels[3] != 3 {
		t.Fatalf("got %d records", b.Len())
	}
	for name, tt := range map[string]struct {
		in    []byte
		parts []string
	}{
		"empty":     {nil, []string{"b.bin: empty file"}},
		"truncated": {cifarBytes(2, 0)[:2*3073-5], []string{"b.bin", "not a whole number of 3073-byte records (1 records + 3068 bytes)"}},
		"label":     {append([]byte{10}, pattern(3072, 0)...), []string{"record 0: label 10 is out of range for 10 classes"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadCIFARBatch(bytes.NewReader(tt.in), "b.bin")
			wantErr(t, err, tt.parts...)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("not ErrFormat: %v", err)
			}
		})
	}
}

func TestLoadCIFARDirAndTarGz(t *testing.T) {
	ctx := context.Background()
	files := cifarFiles()
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "cifar-10-batches-bin"), files)
	ds, err := LoadPath(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	check := func(ds *Dataset) {
		t.Helper()
		if ds.Train.Len() != 15 || ds.Test.Len() != 2 || ds.Channels != 3 || ds.Height != 32 || ds.Width != 32 || ds.Train.X.Cols != 3072 {
			t.Fatalf("got %v", ds)
		}
		// First pixel of train record 3 = first record of batch 2.
		want := float32(pattern(3072, 10)[0]) / 255
		if got := ds.Train.X.At(3, 0); got != want {
			t.Fatalf("pixel = %v, want %v", got, want)
		}
		if ds.Test.Labels[1] != 1 {
			t.Fatalf("test labels %v", ds.Test.Labels)
		}
	}
	check(ds)
	tgz := filepath.Join(dir, "c.tar.gz")
	os.WriteFile(tgz, cifarTarGz(t, files), 0o644)
	ds, err = LoadPath(ctx, tgz)
	if err != nil {
		t.Fatal(err)
	}
	check(ds)

	// Registry checks: member and archive sums.
	info := cifarInfo()
	sum := sha256.Sum256(mustRead(t, tgz))
	info.Files[0].SHA256 = hex.EncodeToString(sum[:])
	for i := range info.Members {
		s := sha256.Sum256(files[info.Members[i].Name])
		info.Members[i].SHA256 = hex.EncodeToString(s[:])
	}
	if ds, err = loadCIFARTarGz(ctx, tgz, &info); err != nil || !ds.Files[0].Verified {
		t.Fatalf("verified load: %v", err)
	}
	if ds, err = loadCIFARDir(ctx, dir, &info); err != nil || !ds.Files[5].Verified {
		t.Fatalf("verified dir load: %v", err)
	}
	info.Members[2].SHA256 = "00"
	_, err = loadCIFARTarGz(ctx, tgz, &info)
	wantErr(t, err, "data_batch_3.bin: SHA-256 mismatch: expected 00, found ")
}

func TestLoadCIFARTarGzMissingMember(t *testing.T) {
	files := cifarFiles()
	delete(files, "data_batch_4.bin")
	p := filepath.Join(t.TempDir(), "c.tgz")
	os.WriteFile(p, cifarTarGz(t, files), 0o644)
	_, err := LoadCIFARTarGz(context.Background(), p)
	wantErr(t, err, "c.tgz: archive lacks data_batch_4.bin")
	os.WriteFile(p, []byte("not gzip"), 0o644)
	_, err = LoadCIFARTarGz(context.Background(), p)
	wantErr(t, err, "not a gzip file")
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzCIFAR(f *testing.F) {
	f.Add(cifarBytes(1, 0))
	f.Add(cifarBytes(2, 1)[:3000])
	f.Add([]byte{})
	f.Add(append([]byte{200}, pattern(3072, 0)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ReadCIFARBatch(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("not ErrFormat: %v", err)
			}
			return
		}
		if len(b.Pixels) != b.Len()*3072 || b.Len()*3073 != len(in) {
			t.Fatalf("%d records from %d bytes", b.Len(), len(in))
		}
	})
}

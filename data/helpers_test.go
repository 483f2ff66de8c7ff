package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an IDX file of unsigned bytes, gzipped when gz is true.
func idxBytes(dims []int, data []byte, gz bool) []byte {
	var raw bytes.Buffer
	raw.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&raw, binary.BigEndian, uint32(d))
	}
	raw.Write(data)
	if !gz {
		return raw.Bytes()
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(raw.Bytes())
	zw.Close()
	return out.Bytes()
}

// pattern returns n deterministic bytes.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + seed*13) % 256)
	}
	return b
}

// labelsOf returns n labels cycling through classes.
func labelsOf(n, classes int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % classes)
	}
	return b
}

// writeIDXDir writes a small MNIST-style dataset (ntrain/ntest images of
// h×w) into dir and returns the file contents by name.
func writeIDXDir(t testing.TB, dir string, ntrain, ntest, h, w int, gz bool) map[string][]byte {
	t.Helper()
	suffix := ""
	if gz {
		suffix = ".gz"
	}
	files := map[string][]byte{
		"train-images-idx3-ubyte" + suffix: idxBytes([]int{ntrain, h, w}, pattern(ntrain*h*w, 1), gz),
		"train-labels-idx1-ubyte" + suffix: idxBytes([]int{ntrain}, labelsOf(ntrain, 10), gz),
		"t10k-images-idx3-ubyte" + suffix:  idxBytes([]int{ntest, h, w}, pattern(ntest*h*w, 2), gz),
		"t10k-labels-idx1-ubyte" + suffix:  idxBytes([]int{ntest}, labelsOf(ntest, 10), gz),
	}
	writeFiles(t, dir, files)
	return files
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wantErr checks that err is non-nil, on one line, and contains every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q lacks %q", msg, p)
		}
	}
}

// cifarBytes encodes n CIFAR records with labels cycling through 10.
func cifarBytes(n, seed int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteByte(byte(i % 10))
		b.Write(pattern(cifarPixels, seed+i))
	}
	return b.Bytes()
}

// npyBytes encodes a .npy v1.0 file with the given descr and shape.
func npyBytes(descr string, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

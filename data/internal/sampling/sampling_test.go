package sampling

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func TestBalanced(t *testing.T) {
	labels := []uint8{0, 1, 1, 0, 2, 1, 2, 0, 2}
	got, err := Balanced(labels, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 3, 4, 6}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := Balanced(labels, 4, 3); err == nil {
		t.Error("too few examples: no error")
	}
	if _, err := Balanced([]uint8{5}, 1, 3); err == nil {
		t.Error("label out of range: no error")
	}
}

func TestIDXDeterministic(t *testing.T) {
	a, err := IDX([]int{2, 1, 2}, []byte{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := IDX([]int{2, 1, 2}, []byte{1, 2, 3, 4})
	if !bytes.Equal(a, b) {
		t.Fatal("output differs between runs")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	want := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4}
	if !bytes.Equal(raw, want) || zr.Name != "" || !zr.ModTime.IsZero() {
		t.Fatalf("got % x (name %q, time %v)", raw, zr.Name, zr.ModTime)
	}
}

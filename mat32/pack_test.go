package mat32

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// fastTransposer returns the best kernel's block transposer, or nil.
func fastTransposer() transposer {
	for _, k := range archKernels {
		if k.transpose != nil {
			return k.transpose
		}
	}
	return nil
}

// TestTransposeRuns compares the assembly-assisted transposition with the Go one on blocks
// with and without edges.
func TestTransposeRuns(t *testing.T) {
	tr := fastTransposer()
	if tr == nil {
		t.Skip("no fast transposer on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 11))
	src := randView(rng, 70, 90, 0)
	for _, c := range [][3]int{{16, 16, 32}, {32, 48, 32}, {33, 47, 40}, {15, 70, 16}, {64, 15, 64}, {50, 89, 52}} {
		w, kc, ld := c[0], c[1], c[2]
		want := make([]float32, kc*ld)
		got := make([]float32, kc*ld)
		transposeRunsGo(want, ld, src.Data, 3*src.Stride+1, src.Stride, w, kc)
		transposeRuns(got, ld, src.Data, 3*src.Stride+1, src.Stride, w, kc, tr)
		if !slices.Equal(want, got) {
			t.Fatalf("w=%d kc=%d ld=%d: transposes differ", w, kc, ld)
		}
	}
}

// TestPackAPanelTransposer compares packing 12-row panels of an untransposed A with the
// assembly panel transposition and without.
func TestPackAPanelTransposer(t *testing.T) {
	var trMR panelTransposer
	for _, k := range archKernels {
		if k.transposeMR != nil && k.mr == 12 {
			trMR = k.transposeMR
		}
	}
	if trMR == nil {
		t.Skip("no panel transposer on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 13))
	src := randView(rng, 60, 90, 5)
	for _, c := range [][4]int{{12, 16, 0, 12}, {24, 37, 3, 12}, {50, 80, 1, 10}, {7, 20, 2, 12}, {36, 15, 0, 12}, {50, 33, 0, 9}, {16, 70, 1, 16}, {3, 48, 0, 1}} {
		mc, kc, p0, ph := c[0], c[1], c[2], c[3]
		want := make([]float32, 60*90)
		got := make([]float32, 60*90)
		packA(want, src, NoTrans, 2, mc, p0, kc, ph, nil, nil)
		packA(got, src, NoTrans, 2, mc, p0, kc, ph, nil, trMR)
		if !slices.Equal(want, got) {
			t.Fatalf("mc=%d kc=%d p0=%d ph=%d: packed panels differ", mc, kc, p0, ph)
		}
	}
}

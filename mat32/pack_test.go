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

//go:build openblas

package mat32

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestOpenBLAS checks the OpenBLAS backend on the same cases as the kernels, and that the
// engine got OpenBLAS to pick an AVX-512/AVX2 core rather than Prescott.
func TestOpenBLAS(t *testing.T) {
	e, err := NewEngine(Options{Threads: 2, Kernel: "openblas"})
	if err != nil {
		t.Skip(err)
	}
	defer e.Close()
	if core := OpenBLASCore(); strings.EqualFold(core, "prescott") {
		t.Errorf("OpenBLAS core %q: OPENBLAS_CORETYPE was not applied", core)
	}
	rng := rand.New(rand.NewPCG(15, 15))
	for _, s := range [][3]int{{1, 1, 1}, {13, 33, 17}, {50, 40, 0}, {64, 70, 90}} {
		for _, tA := range transposes {
			for _, tB := range transposes {
				checkGemm(t, e, rng, tA, tB, s[0], s[1], s[2], 1.5, 0, 2)
				checkGemm(t, e, rng, tA, tB, s[0], s[1], s[2], -1, 0.5, 0)
			}
		}
	}
}

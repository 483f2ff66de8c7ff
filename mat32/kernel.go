package mat32

import (
	"fmt"
	"strings"
)

// kernelFunc is the micro-kernel contract shared by the assembly and Go kernels:
//
//	C[0:mr, 0:NR] = alpha·Σ_{p<k} a(·,p)·b(p,·) + beta·C
//
// where the mr ≤ MR values of a for step p start at a + p·aStep and are consecutive, and the
// NR values of b for step p start at b + p·bStep and are consecutive (aStep and bStep are in
// bytes). C has row stride ldc (elements). With beta == 0, C is written without being read.
type kernelFunc func(mr, k int, a *float32, aStep int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32)

// kernel describes one micro-kernel and the cache blocking that suits it.
type kernel struct {
	name   string
	mr, nr int // micro-tile: mr rows (broadcast operand) × nr columns (vector operand)
	kc     int // depth of a packed block: a kc×nr B micro-panel should stay in L1
	mc     int // rows of a packed A block (multiple of mr): mc×kc should stay in L2
	nc     int // columns of a packed B block (multiple of nr): kc×nc lives in L3
	fn     kernelFunc
	// half, if not nil, is the same kernel with nr/2 columns, for a last partial panel of at
	// most nr/2 columns: it halves the wasted work there.
	half kernelFunc
	// transpose, if not nil, is a fast 16×16-block transposition for packing transposed
	// operands with the same instruction set as the kernel.
	transpose transposer
	// transposeMR, if not nil, packs a row panel (up to 16 rows) of an untransposed A.
	transposeMR panelTransposer
	// adam, if not nil, is the vectorised Adam update of a multiple of lanes elements
	// (see [Engine.Adam]); nil means the scalar Go loop.
	adam adamFunc
	// scaleRow, if not nil, multiplies a multiple of lanes elements x[i] by s and then (when
	// cs is not nil) by cs[i], for [Engine.GemmScaled]; nil means the Go loops.
	scaleRow func(x *float32, n int, s float32, cs *float32)
	lanes    int // float32 lanes of the vector kernels above
}

// genericKernel is the portable pure-Go micro-kernel.
var genericKernel = &kernel{name: "generic", mr: 4, nr: 8, kc: 256, mc: 128, nc: 2048, fn: gemmKernelGo}

// kernelNames lists the kernels this CPU can run, best first (always ends with "generic").
func kernelNames() []string {
	var names []string
	for _, k := range archKernels {
		names = append(names, k.name)
	}
	return append(names, genericKernel.name)
}

// AvailableKernels returns the names of the micro-kernels this CPU supports, best first.
// "generic" is always available; "openblas" is listed when built with the openblas tag.
func AvailableKernels() []string {
	names := kernelNames()
	if openblasAvailable {
		names = append([]string{openblasName}, names...)
	}
	return names
}

// lookupKernel returns the kernel with the given name ("" means the best available).
func lookupKernel(name string) (*kernel, error) {
	if name == "" {
		if len(archKernels) > 0 {
			return archKernels[0], nil
		}
		return genericKernel, nil
	}
	for _, k := range archKernels {
		if k.name == name {
			return k, nil
		}
	}
	if name == genericKernel.name {
		return genericKernel, nil
	}
	return nil, fmt.Errorf("mat32: kernel %q not available on this CPU (have %s)", name, strings.Join(AvailableKernels(), ", "))
}

//go:build !openblas

package mat32

import "errors"

// openblasName is the kernel name of the OpenBLAS backend.
const openblasName = "openblas"

// openblasAvailable reports whether this build links the OpenBLAS backend.
const openblasAvailable = false

func openblasInit(threads int) error {
	_ = threads
	return errors.New("not built in (rebuild with -tags openblas)")
}

func openblasGemm(threads int, tA, tB Transpose, m, n, k int, alpha float32, a, b Matrix, beta float32, c Matrix) {
	panic("mat32: OpenBLAS backend not built in")
}

// OpenBLASCore returns the name of the core type OpenBLAS selected; without the openblas
// build tag it is always "".
func OpenBLASCore() string { return "" }

//go:build openblas

package mat32

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/copi-learn/copi/mat32/internal/cblas"
)

// openblasName is the kernel name of the OpenBLAS backend.
const openblasName = "openblas"

// openblasAvailable reports whether this build links the OpenBLAS backend.
const openblasAvailable = true

// OpenBLASCoreTypeEnv is the variable OpenBLAS reads, once, when it is loaded, to choose
// its kernels. Debian's OpenBLAS 0.3.21 mistakes AMD Zen 4 for "Prescott" (SSE3 kernels, ~5×
// slower) unless it is set.
const OpenBLASCoreTypeEnv = "OPENBLAS_CORETYPE"

// openblasLib is the process-wide OpenBLAS library: it is loaded once, on first use.
var openblasLib struct {
	once sync.Once
	err  error
	core string
}

// openblasInit loads OpenBLAS (once per process) and checks which kernels it chose.
func openblasInit(threads int) error {
	l := &openblasLib
	l.once.Do(func() {
		if os.Getenv(OpenBLASCoreTypeEnv) == "" {
			// OpenBLAS reads the variable in its load-time constructor; because we dlopen
			// it ourselves, setting it here (os.Setenv updates the C environment under cgo)
			// is still in time.
			switch {
			case cpu.X86.HasAVX512F:
				os.Setenv(OpenBLASCoreTypeEnv, "SKYLAKEX")
			case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
				os.Setenv(OpenBLASCoreTypeEnv, "HASWELL")
			}
		}
		if err := cblas.Load(); err != nil {
			l.err = err
			return
		}
		l.core = cblas.CoreName()
		if strings.EqualFold(l.core, "prescott") && (cpu.X86.HasAVX512F || cpu.X86.HasAVX2) {
			fmt.Fprintf(os.Stderr, "mat32: warning: OpenBLAS chose core %q on a CPU with AVX2/AVX-512 and will be slow; set %s=SKYLAKEX (or HASWELL) before starting the program\n", l.core, OpenBLASCoreTypeEnv)
		}
	})
	if l.err != nil {
		return l.err
	}
	if threads <= 0 {
		return errors.New("OpenBLAS needs a positive thread count")
	}
	return nil
}

// OpenBLASCore returns the name of the core type OpenBLAS selected ("" before it is loaded).
func OpenBLASCore() string { return openblasLib.core }

// openblasGemm forwards one validated product to cblas_sgemm with the engine's threads.
func openblasGemm(threads int, tA, tB Transpose, m, n, k int, alpha float32, a, b Matrix, beta float32, c Matrix) {
	if beta == 0 {
		// cblas_sgemm ignores C when beta == 0, but make NaN handling explicit anyway.
		Zero(c)
	}
	cblas.SetThreads(threads)
	cblas.Sgemm(bool(tA), bool(tB), m, n, k, alpha, unsafe.Pointer(&a.Data[0]), max(a.Stride, 1),
		unsafe.Pointer(&b.Data[0]), max(b.Stride, 1), beta, unsafe.Pointer(&c.Data[0]), max(c.Stride, 1))
}

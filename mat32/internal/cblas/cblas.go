//go:build openblas

package cblas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

typedef void (*copi_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
	const float *, int, float, float *, int);
typedef void (*copi_threads_fn)(int);
typedef char *(*copi_corename_fn)(void);

static copi_sgemm_fn copi_p_sgemm;
static copi_threads_fn copi_p_threads;
static copi_corename_fn copi_p_corename;

// copi_openblas_load opens OpenBLAS with dlopen, so that its constructor (which reads
// OPENBLAS_CORETYPE) runs now, after Go has had a chance to set the variable.
static const char *copi_openblas_load(void) {
	void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) h = dlopen("libopenblas.so", RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) return dlerror();
	copi_p_sgemm = (copi_sgemm_fn)dlsym(h, "cblas_sgemm");
	copi_p_threads = (copi_threads_fn)dlsym(h, "openblas_set_num_threads");
	copi_p_corename = (copi_corename_fn)dlsym(h, "openblas_get_corename");
	if (copi_p_sgemm == NULL) return "cblas_sgemm not found in libopenblas";
	return NULL;
}

static void copi_openblas_threads(int n) { if (copi_p_threads) copi_p_threads(n); }

static const char *copi_openblas_corename(void) {
	return copi_p_corename ? copi_p_corename() : "unknown";
}

static void copi_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a,
	int lda, const float *b, int ldb, float beta, float *c, int ldc) {
	// CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
	copi_p_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Load opens the OpenBLAS library. OpenBLAS reads OPENBLAS_CORETYPE in its load-time
// constructor, which runs here: set the variable before the first call.
func Load() error {
	if msg := C.copi_openblas_load(); msg != nil {
		return fmt.Errorf("loading OpenBLAS: %s", C.GoString(msg))
	}
	return nil
}

// CoreName returns the core type OpenBLAS chose for its kernels (after [Load]).
func CoreName() string { return strings.TrimSpace(C.GoString(C.copi_openblas_corename())) }

// SetThreads sets OpenBLAS's (process-wide) thread count.
func SetThreads(n int) { C.copi_openblas_threads(C.int(n)) }

// Sgemm calls cblas_sgemm in row-major order. The pointers must stay valid for the call.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, beta float32, c unsafe.Pointer, ldc int) {
	C.copi_sgemm(cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(a), C.int(lda), (*C.float)(b), C.int(ldb), C.float(beta), (*C.float)(c), C.int(ldc))
}

func cbool(t bool) C.int {
	if t {
		return 1
	}
	return 0
}

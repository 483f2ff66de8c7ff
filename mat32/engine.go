package mat32

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// ThreadsEnv is the environment variable that sets the default number of threads of an
// [Engine] when [Options.Threads] is zero.
const ThreadsEnv = "COPI_THREADS"

// Transpose says whether a GEMM operand is used as stored or transposed.
type Transpose bool

// The two transpose states of a GEMM operand.
const (
	NoTrans Transpose = false
	Trans   Transpose = true
)

// Options configures an [Engine]. The zero value picks the best kernel for this CPU and the
// thread count from $COPI_THREADS, else runtime.GOMAXPROCS(0).
type Options struct {
	// Threads is the number of worker threads; 0 means the default described above.
	Threads int
	// Kernel forces a micro-kernel by name ("avx512", "avx2", "generic"); "" picks the best
	// one the CPU supports. Forcing a kernel the CPU lacks is an error.
	Kernel string
}

// Engine runs matrix products on a persistent pool of worker threads.
// An Engine is safe for use by one goroutine at a time; use one Engine per concurrent user.
type Engine struct {
	threads int
	kernel  string
}

// DefaultThreads returns the thread count an Engine uses when none is given:
// $COPI_THREADS if set to a positive integer, else runtime.GOMAXPROCS(0).
func DefaultThreads() int {
	if s := os.Getenv(ThreadsEnv); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return runtime.GOMAXPROCS(0)
}

// NewEngine starts an engine with the given options.
func NewEngine(opts Options) (*Engine, error) {
	n := opts.Threads
	if n < 0 {
		return nil, fmt.Errorf("mat32: %d threads", n)
	}
	if n == 0 {
		n = DefaultThreads()
	}
	k := opts.Kernel
	if k == "" {
		k = "generic"
	}
	if k != "generic" {
		return nil, fmt.Errorf("mat32: kernel %q not available on this CPU", k)
	}
	return &Engine{threads: n, kernel: k}, nil
}

// Close stops the engine's workers. The engine must not be used afterwards.
func (e *Engine) Close() {}

// Threads returns the number of worker threads.
func (e *Engine) Threads() int { return e.threads }

// Kernel returns the name of the micro-kernel in use ("avx512", "avx2", "generic", …).
func (e *Engine) Kernel() string { return e.kernel }

// Gemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ as tA, tB say.
// op(A) must be m×k, op(B) k×n and C m×n. C must not overlap A or B. With beta == 0, C's
// previous contents are ignored (NaNs in C do not propagate).
func (e *Engine) Gemm(tA, tB Transpose, alpha float32, a, b Matrix, beta float32, c Matrix) {
	m, k := a.Rows, a.Cols
	if tA {
		m, k = k, m
	}
	kb, n := b.Rows, b.Cols
	if tB {
		kb, n = n, kb
	}
	if k != kb || c.Rows != m || c.Cols != n {
		panic(fmt.Sprintf("mat32: Gemm shapes: op(A) %dx%d, op(B) %dx%d, C %dx%d", m, k, kb, n, c.Rows, c.Cols))
	}
	gemmGeneric(tA, tB, alpha, a, b, beta, c)
}

// MatMul computes C = op(A)·op(B), the common case of [Engine.Gemm].
func (e *Engine) MatMul(c Matrix, tA Transpose, a Matrix, tB Transpose, b Matrix) {
	e.Gemm(tA, tB, 1, a, b, 0, c)
}

// gemmGeneric is the portable reference path: correct for every case, not fast.
func gemmGeneric(tA, tB Transpose, alpha float32, a, b Matrix, beta float32, c Matrix) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA {
		k = a.Rows
	}
	for i := 0; i < m; i++ {
		cr := c.Row(i)
		if beta == 0 {
			clear(cr)
		} else if beta != 1 {
			for j := range cr {
				cr[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var aip float32
			if tA {
				aip = a.Data[p*a.Stride+i]
			} else {
				aip = a.Data[i*a.Stride+p]
			}
			aip *= alpha
			if !tB {
				br := b.Data[p*b.Stride : p*b.Stride+n]
				for j, v := range br {
					cr[j] += aip * v
				}
			} else {
				for j := range cr {
					cr[j] += aip * b.Data[j*b.Stride+p]
				}
			}
		}
	}
}

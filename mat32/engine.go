package mat32

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
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
	// Kernel forces a micro-kernel by name ("avx512", "avx2", "generic", or "openblas" in
	// builds with the openblas tag); "" picks the best one the CPU supports. Forcing a
	// kernel the CPU lacks is an error.
	Kernel string
}

// Engine runs matrix products on a persistent pool of worker threads.
// An Engine is safe for use by one goroutine at a time; use one Engine per concurrent user.
type Engine struct {
	threads  int
	kern     *kernel // nil when the engine forwards to OpenBLAS
	name     string
	workers  []*worker
	pool     *pool // nil with one thread or after Close
	tasks    []task
	job      gemmJob
	par      Ranger // the ParallelFor in progress, if any
	adam     adamJob
	openblas bool
	// tweak, when set (by tests and benchmarks only), adjusts each job's plan.
	tweak func(*gemmJob)
	// busy is set while a call is using the engine's job, tasks and workers (see enter).
	busy atomic.Bool
}

// enter marks the engine busy for the call that is about to use its job, tasks and worker
// buffers, and panics if another goroutine is inside: an Engine is for one goroutine at a
// time, and two callers would overwrite each other's job and miscount the pool's tasks.
// One compare-and-swap per call, against products of microseconds.
func (e *Engine) enter() {
	if !e.busy.CompareAndSwap(false, true) {
		panic("mat32: an Engine was used by two goroutines at once; use one Engine per goroutine")
	}
}

// leave ends what enter began.
func (e *Engine) leave() { e.busy.Store(false) }

// maxThreads bounds Options.Threads (the pool packs the task count into 16 bits).
const maxThreads = 1 << 12

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

// NewEngine starts an engine with the given options: it picks the kernel and starts
// Threads-1 helper goroutines (the calling goroutine is the first worker). Call
// [Engine.Close] to stop them.
func NewEngine(opts Options) (*Engine, error) {
	n := opts.Threads
	if n < 0 || n > maxThreads {
		return nil, fmt.Errorf("mat32: %d threads (want 0 to %d)", n, maxThreads)
	}
	if n == 0 {
		n = min(DefaultThreads(), maxThreads)
	}
	e := &Engine{threads: n, tasks: make([]task, n)}
	if opts.Kernel == openblasName {
		if err := openblasInit(n); err != nil {
			return nil, fmt.Errorf("mat32: kernel %q: %w", opts.Kernel, err)
		}
		e.name, e.openblas = openblasName, true
		return e, nil
	}
	k, err := lookupKernel(opts.Kernel)
	if err != nil {
		return nil, err
	}
	e.kern, e.name = k, k.name
	e.workers = make([]*worker, n)
	for i := range e.workers {
		e.workers[i] = new(worker)
	}
	if n > 1 {
		e.pool = startPool(e, n)
	}
	return e, nil
}

// Close stops the engine's workers. The engine must not be used afterwards; if it is, it
// runs single-threaded. Close is idempotent.
func (e *Engine) Close() {
	if e.pool != nil {
		e.pool.stopAll()
		e.pool = nil
	}
}

// Threads returns the number of worker threads.
func (e *Engine) Threads() int { return e.threads }

// Kernel returns the name of the micro-kernel in use ("avx512", "avx2", "generic", …).
func (e *Engine) Kernel() string { return e.name }

// Gemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ as tA, tB say.
// op(A) must be m×k, op(B) k×n and C m×n. C must not overlap A or B. With beta == 0, C's
// previous contents are ignored (NaNs in C do not propagate). With k == 0 or alpha == 0,
// A and B are not read and C = beta·C.
func (e *Engine) Gemm(tA, tB Transpose, alpha float32, a, b Matrix, beta float32, c Matrix) {
	e.gemm(tA, tB, alpha, a, b, beta, nil, nil, c)
}

// GemmScaled computes C = alpha·op(A)·op(B) + diag(rowScale)·C·diag(colScale): like Gemm
// with beta = 1, but C's element (i, j) is first multiplied by rowScale[i] (when rowScale is
// not nil), then by colScale[j] (when colScale is not nil). The result is bit for bit that of
// scaling C's rows ([ScaleRows]) and columns ([ScaleColumns]) first and then calling Gemm
// with beta = 1, but each tile of C is scaled by the worker that computes it, just before
// its product is added: C is read and written once, in parallel, instead of twice.
func (e *Engine) GemmScaled(tA, tB Transpose, alpha float32, a, b Matrix, rowScale, colScale []float32, c Matrix) {
	if rowScale != nil && len(rowScale) != c.Rows {
		panic(fmt.Sprintf("mat32: GemmScaled: row scale of %d for %d rows", len(rowScale), c.Rows))
	}
	if colScale != nil && len(colScale) != c.Cols {
		panic(fmt.Sprintf("mat32: GemmScaled: column scale of %d for %d columns", len(colScale), c.Cols))
	}
	e.gemm(tA, tB, alpha, a, b, 1, rowScale, colScale, c)
}

func (e *Engine) gemm(tA, tB Transpose, alpha float32, a, b Matrix, beta float32, rowScale, colScale []float32, c Matrix) {
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
	if m == 0 || n == 0 {
		return
	}
	e.enter()
	defer e.leave()
	scaled := rowScale != nil || colScale != nil
	if k == 0 || alpha == 0 || e.openblas {
		if scaled {
			scaleTile(nil, c, 0, m, 0, n, rowScale, colScale)
		}
		if e.openblas && k != 0 && alpha != 0 {
			openblasGemm(e.threads, tA, tB, m, n, k, alpha, a, b, beta, c)
			return
		}
		scaleC(beta, c)
		return
	}
	e.job = gemmJob{tA: tA, tB: tB, alpha: alpha, beta: beta, a: a, b: b, c: c, m: m, n: n, k: k, kern: e.kern,
		rowScale: rowScale, colScale: colScale, scaled: scaled}
	e.job.plan()
	if e.tweak != nil {
		e.tweak(&e.job)
	}
	if e.pool == nil || m*n*k < parallelMinWork {
		e.workers[0].run(&e.job, 0, m, 0, n)
	} else {
		nt := splitWork(e.tasks, m, n, e.threads, e.kern.mr, e.kern.nr)
		e.pool.runTasks(e, nt)
	}
	e.job = gemmJob{} // drop references to the caller's matrices
}

// MatMul computes C = op(A)·op(B), the common case of [Engine.Gemm].
func (e *Engine) MatMul(c Matrix, tA Transpose, a Matrix, tB Transpose, b Matrix) {
	e.Gemm(tA, tB, 1, a, b, 0, c)
}

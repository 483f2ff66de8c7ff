// Package mat32 is copi's float32 matrix engine: a row-major matrix view type, GEMM in every
// transpose combination, and the element-wise maps and reductions that training needs.
//
// Everything here knows nothing about learning. Operations write into destinations that the
// caller owns, so a training step that reuses its buffers allocates nothing.
//
// # GEMM
//
// [Engine.Gemm] computes C = α·op(A)·op(B) + β·C for row-major, possibly strided views.
// With β = 0 the old contents of C are never read (NaNs there do not propagate); with k = 0
// or α = 0, C = β·C and A, B are not read.
//
// The driver is BLIS-style. For each block of nc columns of C (jc loop) and kc steps of the
// inner dimension (pc loop), op(B) is packed into nr-column panels; for each block of mc rows
// (ic loop), op(A) is packed into mr-row panels; then a register-blocked micro-kernel
// computes each mr×nr tile of C (jr, ir loops) from a pair of panels. Transposes are absorbed
// by the packing, so one kernel serves all four combinations. Packing is skipped when it
// does not pay: op(B) = B is read in place (each k step's nr values are contiguous in B)
// unless op(A) has more than 512 rows, and op(A) = Aᵀ is read in place unless op(B) has more
// than 1024 columns. kc and mc are balanced (784 = 2×392, not 512+272), so no short block
// pays a full C update.
//
// Micro-kernels, chosen once from the CPU's features (golang.org/x/sys/cpu):
//
//   - avx512 (AVX512F): 12×32 tile in 24 zmm accumulators, one broadcast of A and two FMAs
//     per row and k step, k loop unrolled ×4; kc = 512, mc = 480, nc = 4096. Packing
//     transposes with AVX-512 16×16 block transpositions (op(B) = Bᵀ, op(A) = A).
//   - avx2 (AVX2 and FMA): 6×16 tile in 12 ymm accumulators; kc = 384, mc = 240, nc = 4096.
//   - generic: portable Go, 4×8 tile; used off amd64 (build tags) and when forced.
//
// The rows of an mc block are cut into panels of equal height ≤ mr (50 rows make 5 panels
// of 10, not 4×12 + 2), and every kernel has variants for each height 1…mr. When fewer than
// nr columns remain at the right edge of C, avx512 uses a half-width 12×16 kernel (784 =
// 24×32 + 16 needs nothing else); other partial tiles are computed into a per-worker
// scratch tile and added to C in Go. The assembly is generated
// at development time with avo (github.com/mmcloughlin/avo) by mat32/internal/asmgen, a
// separate module so that copi does not depend on avo; run `go generate ./mat32`.
//
// Hand-written kernels are needed because no well-kept pure-Go float32 GEMM comes close:
// gonum's Sgemm (gonum.org/v1/gonum/blas/gonum) measures 12–20 GFLOP/s on the reference
// shapes with both cores of the 2-core Zen 4 development machine (BenchmarkGonumSgemm).
// This engine measured 93–109 GFLOP/s on one core, 79–92% of the measured single-core FMA
// peak of 118 GFLOP/s (the bare avx512 micro-kernel runs at ~115), and 161–207 GFLOP/s on
// two cores, 68–88% of 236; that is 0.98–1.35× OpenBLAS 0.3.21 (SkylakeX kernels) on the
// reference and training shapes. docs/gemm.md has the tables and the commands that produce
// them ([MeasurePeakGFLOPS] measures the peak).
//
// # Threads and determinism
//
// An Engine starts Threads-1 helper goroutines in [NewEngine] (the caller is worker 0) and
// stops them in [Engine.Close]. Threads defaults to $COPI_THREADS, else GOMAXPROCS. Between
// products an idle helper polls for the next one for a few tens of microseconds before it
// sleeps, so back-to-back products (a training step) start without a thread wake-up. A product
// is cut into at most Threads rectangles of C along the larger of m and n, in whole
// micro-tiles; k is never split, and products under 2¹⁸ multiply-adds run on the caller
// alone. The plan (packing, block sizes, split) depends only on the shapes and the thread
// count, and every element of C is summed in the same order whatever the split, so results
// are bit-for-bit reproducible from call to call and, in fact, across thread counts (for a
// given kernel). Each worker owns its packing buffers; they grow on first use, after which
// repeated products allocate nothing.
//
// # OpenBLAS
//
// Built with -tags openblas (cgo), Options{Kernel: "openblas"} forwards products to
// cblas_sgemm from the system's libopenblas (Debian: libopenblas-dev), loaded with dlopen
// on first use. Debian's OpenBLAS 0.3.21 mistakes AMD Zen 4 for "Prescott" and runs about 5×
// slow unless OPENBLAS_CORETYPE is set; OpenBLAS reads it only when the library is loaded.
// Because the library is opened lazily, the engine sets OPENBLAS_CORETYPE=SKYLAKEX (AVX-512
// CPUs) or HASWELL (AVX2) first when it is unset, and it warns on stderr if OpenBLAS still
// reports Prescott (e.g. because something else loaded it earlier). See [OpenBLASCore].
package mat32

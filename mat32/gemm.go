package mat32

import "unsafe"

// gemmJob is one validated GEMM call together with the shape-only decisions of the plan.
// It lives inside the Engine so that dispatching it to the workers allocates nothing.
type gemmJob struct {
	tA, tB      Transpose
	alpha, beta float32
	a, b, c     Matrix
	m, n, k     int
	kern        *kernel
	// rowScale and colScale (either may be nil; scaled says whether one is set) multiply
	// C's rows and columns before the product is added (see [Engine.GemmScaled]).
	rowScale, colScale []float32
	scaled             bool
	// packA is false when op(A) = Aᵀ is read in place: then for each k step the mr values
	// of a row panel are already consecutive in memory (A's row p).
	packA bool
	// packB is false when op(B) = B is read in place: each k step's nr values are the
	// contiguous run of B's row p.
	packB bool
}

// Shape thresholds of the plan. They depend only on the shapes, so a plan (and with it
// every rounding) is the same for every thread count.
const (
	// parallelMinWork is the number of multiply-adds (m·n·k) below which a product runs on
	// the calling goroutine alone: waking a worker costs a few microseconds.
	parallelMinWork = 1 << 18
	// directAMaxN: Aᵀ is read in place unless op(B) has more columns than this, i.e. unless
	// each A panel would be streamed so many times that a compact packed copy pays off.
	directAMaxN = 1024
	// directBMaxM: B is read in place unless op(A) has more rows than this. Few rows mean
	// few passes over each B panel, and then a packed copy costs more than it saves.
	directBMaxM = 512
)

// plan fills in the packing decisions of j from its shapes.
func (j *gemmJob) plan() {
	j.packA = !(j.tA == Trans && j.n <= directAMaxN)
	j.packB = !(j.tB == NoTrans && j.m <= directBMaxM)
}

// worker owns the packing buffers of one thread; they grow on first use and are then reused,
// so repeated products of the same shapes allocate nothing.
type worker struct {
	bufA []float32 // packed mc×kc block of op(A)
	bufB []float32 // packed kc×nc block of op(B)
	edge []float32 // packed last, partial B panel when B is read in place
	tile []float32 // mr×nr result of a partial micro-tile
}

// grow returns buf with at least n usable values, 64-byte aligned, reallocating if needed.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	raw := make([]float32, n+16)
	off := 0
	if r := uintptr(unsafe.Pointer(&raw[0])) % 64; r != 0 {
		off = int((64 - r) / 4)
	}
	return raw[off : off+n : off+n]
}

// run computes the rows [i0, i1) and columns [j0, j1) of C for job j on worker w: the
// BLIS loop nest jc (nc columns) → pc (kc deep) → ic (mc rows) → jr (nr) → ir (mr).
func (w *worker) run(j *gemmJob, i0, i1, j0, j1 int) {
	kn := j.kern
	mr, nr := kn.mr, kn.nr
	kc0 := blockDepth(j.k, kn.kc)
	mc0 := roundUp(blockDepth(i1-i0, kn.mc), mr)
	nc0 := min(kn.nc, roundUp(j1-j0, nr))
	if j.packA {
		w.bufA = grow(w.bufA, mc0*kc0)
	}
	if j.packB {
		w.bufB = grow(w.bufB, kc0*nc0)
	} else {
		w.edge = grow(w.edge, kc0*nr)
	}
	w.tile = grow(w.tile, mr*nr)
	c := j.c
	ldcBytes := c.Stride
	for jc := j0; jc < j1; jc += nc0 {
		nc := min(nc0, j1-jc)
		for pc := 0; pc < j.k; pc += kc0 {
			kc := min(kc0, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			if j.packB {
				packB(w.bufB, j.b, j.tB, pc, kc, jc, nc, nr, kn.transpose)
			} else if rem := nc % nr; rem != 0 {
				packB(w.edge, j.b, NoTrans, pc, kc, jc+nc-rem, rem, nr, nil)
			}
			for ic := i0; ic < i1; ic += mc0 {
				mc := min(mc0, i1-ic)
				// Row panels of equal height ph ≤ mr: 50 rows are 5 panels of 10, not
				// 4×12 + 2 (a 2-row tile wastes most of the kernel). Each row's sum is the
				// same whatever the panel height, so this does not affect the results.
				ph := panelHeight(mc, mr)
				if j.packA {
					packA(w.bufA, j.a, j.tA, ic, mc, pc, kc, ph, kn.transpose, kn.transposeMR)
				}
				if j.scaled && pc == 0 {
					// Scale this block of C row by row (long runs that the hardware prefetches)
					// just before its products are added, while it stays in cache.
					scaleTile(kn, c, ic, ic+mc, jc, jc+nc, j.rowScale, j.colScale)
				}
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					var bp *float32
					var bStep int
					switch {
					case j.packB:
						bp, bStep = &w.bufB[(jr/nr)*kc*nr], nr*4
					case nrr < nr:
						bp, bStep = &w.edge[0], nr*4
					default:
						bp, bStep = &j.b.Data[pc*j.b.Stride+jc+jr], j.b.Stride*4
					}
					for ir := 0; ir < mc; ir += ph {
						mrr := min(ph, mc-ir)
						var ap *float32
						var aStep int
						if j.packA {
							ap, aStep = &w.bufA[(ir/ph)*kc*ph], ph*4
						} else {
							ap, aStep = &j.a.Data[pc*j.a.Stride+ic+ir], j.a.Stride*4
						}
						cOff := (ic+ir)*c.Stride + jc + jr
						if nrr == nr {
							kn.fn(mrr, kc, ap, aStep, bp, bStep, &c.Data[cOff], ldcBytes, j.alpha, beta)
							continue
						}
						fn := kn.fn
						if kn.half != nil && nrr <= nr/2 {
							fn = kn.half
							if nrr == nr/2 {
								fn(mrr, kc, ap, aStep, bp, bStep, &c.Data[cOff], ldcBytes, j.alpha, beta)
								continue
							}
						}
						fn(mrr, kc, ap, aStep, bp, bStep, &w.tile[0], nr, 1, 0)
						for i := 0; i < mrr; i++ {
							t := w.tile[i*nr : i*nr+nrr]
							cr := c.Data[cOff+i*c.Stride:][:nrr]
							if beta == 0 {
								for x, v := range t {
									cr[x] = j.alpha * v
								}
							} else {
								for x, v := range t {
									cr[x] = j.alpha*v + beta*cr[x]
								}
							}
						}
					}
				}
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// panelHeight is the height of the row panels of an mc-row block: as many panels as mr-row
// panels would need, but of equal height (the last one may be shorter).
func panelHeight(mc, mr int) int {
	np := (mc + mr - 1) / mr
	return (mc + np - 1) / np
}

// blockDepth splits k into the fewest blocks of at most kcMax and returns their common
// depth (the last block may be shorter), a multiple of 16 where possible (whole 16×16
// blocks for the packing transpositions). Balanced blocks avoid a short last block whose C
// update would cost as much as a full one.
func blockDepth(k, kcMax int) int {
	nb := (k + kcMax - 1) / kcMax
	kc := roundUp((k+nb-1)/nb, 16)
	return min(kc, kcMax, k)
}

// scaleTile multiplies C[i0:i1, j0:j1] element (i, j) by rs[i] (if rs is not nil), then by
// cs[j] (if cs is not nil), with kn's vector loop when it has one (kn may be nil).
func scaleTile(kn *kernel, c Matrix, i0, i1, j0, j1 int, rs, cs []float32) {
	n, vec := j1-j0, 0
	if kn != nil && kn.scaleRow != nil {
		vec = n - n%kn.lanes
	}
	var csp *float32
	if cs != nil && vec > 0 {
		csp = &cs[j0]
	}
	for i := i0; i < i1; i++ {
		row := c.Data[i*c.Stride+j0 : i*c.Stride+j1]
		if vec > 0 {
			s := float32(1)
			if rs != nil {
				s = rs[i]
			}
			kn.scaleRow(&row[0], vec, s, csp)
		}
		if rs != nil {
			scaleBy(row[vec:], rs[i])
		}
		if cs != nil {
			binaryTo(row[vec:], row[vec:], cs[j0+vec:j1], opMul)
		}
	}
}

// scaleC sets C = beta·C; beta == 0 clears C without reading it.
func scaleC(beta float32, c Matrix) {
	switch beta {
	case 0:
		Zero(c)
	case 1:
	default:
		Scale(beta, c)
	}
}

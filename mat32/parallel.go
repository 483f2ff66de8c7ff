package mat32

// Ranger is work over the indices [0, n) of some range that [Engine.ParallelFor] may split
// into pieces and run on several workers at once: Range(lo, hi) does the work of indices
// lo ≤ i < hi. Pieces are disjoint, so Range must only write what belongs to its indices.
//
// Implement it on a pointer to a struct that the caller keeps and reuses (holding the
// operands as fields): passing such a pointer as a Ranger allocates nothing, where a
// closure capturing its operands would.
type Ranger interface {
	Range(lo, hi int)
}

// ParallelFor runs r over [0, n) on the engine's workers, split into at most Threads()
// contiguous pieces whose boundaries are multiples of unit (the last piece takes the
// remainder), and returns when all are done. It runs r.Range(0, n) on the calling goroutine
// alone when the engine has one thread or when n < 2·minPiece: waking a worker costs a few
// microseconds, so minPiece should be the size below which a piece is not worth one.
// The split depends only on n, unit, minPiece and the thread count; work whose indices are
// independent (element-wise updates) gives the same results whatever the split.
func (e *Engine) ParallelFor(n, unit, minPiece int, r Ranger) {
	if n <= 0 {
		return
	}
	e.enter()
	defer e.leave()
	e.parallelFor(n, unit, minPiece, r)
}

// parallelFor is ParallelFor for a caller that has entered the engine already.
func (e *Engine) parallelFor(n, unit, minPiece int, r Ranger) {
	unit = max(unit, 1)
	minPiece = max(minPiece, unit)
	parts := min(e.threads, n/minPiece)
	if e.pool == nil || parts < 2 {
		r.Range(0, n)
		return
	}
	nt := splitRange(e.tasks, n, parts, unit, func(a, b int) task { return task{a, b, 0, 0} })
	if nt < 2 {
		r.Range(0, n)
		return
	}
	e.par = r
	e.pool.runTasks(e, nt)
	e.par = nil
}

// runTask runs task h of the current job on worker h: a piece of a ParallelFor when one is
// in progress, else a rectangle of the current GEMM.
func (e *Engine) runTask(h int) {
	t := e.tasks[h]
	if e.par != nil {
		e.par.Range(t.i0, t.i1)
		return
	}
	e.workers[h].run(&e.job, t.i0, t.i1, t.j0, t.j1)
}

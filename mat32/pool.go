package mat32

import "sync"

// task is the rectangle C[i0:i1, j0:j1] that one worker computes for the current job.
type task struct{ i0, i1, j0, j1 int }

// pool is the engine's persistent set of helper goroutines. Helper h (1 ≤ h < threads)
// waits on wake[h-1] for the index of its task; the calling goroutine is worker 0.
type pool struct {
	wake    []chan struct{}
	done    sync.WaitGroup // one count per dispatched helper task
	stopped sync.WaitGroup // one count per running helper goroutine
}

// startPool launches threads-1 helpers that run e.tasks[h] on e.workers[h] when woken.
func startPool(e *Engine, threads int) *pool {
	p := &pool{wake: make([]chan struct{}, threads-1)}
	for h := range p.wake {
		ch := make(chan struct{}, 1)
		p.wake[h] = ch
		p.stopped.Add(1)
		go func(h int) {
			defer p.stopped.Done()
			for range ch {
				t := e.tasks[h]
				e.workers[h].run(&e.job, t.i0, t.i1, t.j0, t.j1)
				p.done.Done()
			}
		}(h + 1)
	}
	return p
}

// runTasks runs e.tasks[0:n]: task 0 on the calling goroutine, the others on helpers, and
// returns when all are done.
func (p *pool) runTasks(e *Engine, n int) {
	p.done.Add(n - 1)
	for h := 1; h < n; h++ {
		p.wake[h-1] <- struct{}{}
	}
	t := e.tasks[0]
	e.workers[0].run(&e.job, t.i0, t.i1, t.j0, t.j1)
	p.done.Wait()
}

// stop ends the helpers and waits for them to exit.
func (p *pool) stop() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.stopped.Wait()
}

// splitWork divides the m×n product into at most threads rectangles, cutting the larger of
// the two dimensions into contiguous ranges of whole micro-tiles (mr rows or nr columns).
// The split depends only on the shapes and the thread count, and k is never split, so
// every element of C is summed in the same order whatever the thread count.
func splitWork(tasks []task, m, n, threads, mr, nr int) int {
	if n > m {
		return splitRange(tasks, n, threads, nr, func(a, b int) task { return task{0, m, a, b} })
	}
	return splitRange(tasks, m, threads, mr, func(a, b int) task { return task{a, b, 0, n} })
}

// splitRange cuts [0, size) into up to threads contiguous ranges of whole units of unit
// values (the last unit may be partial), as evenly as possible.
func splitRange(tasks []task, size, threads, unit int, mk func(a, b int) task) int {
	units := (size + unit - 1) / unit
	parts := min(threads, units)
	for t := 0; t < parts; t++ {
		a := t * units / parts * unit
		b := min((t+1)*units/parts*unit, size)
		tasks[t] = mk(a, b)
	}
	return parts
}

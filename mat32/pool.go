package mat32

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// task is the rectangle C[i0:i1, j0:j1] that one worker computes for the current job.
type task struct{ i0, i1, j0, j1 int }

// spinChecks is how many times an idle helper polls for the next job (a few tens of
// microseconds) before it sleeps on its channel: back-to-back products, as in training,
// then start without the latency of waking a sleeping thread.
const spinChecks = 1 << 15

// pool is the engine's persistent set of helper goroutines; the calling goroutine is
// worker 0 and helper h (1 ≤ h < threads) is worker h. A job is published by bumping state;
// helpers spin on state for a while, then sleep until the dispatcher wakes them.
type pool struct {
	// state is gen<<16 | ntasks: the job generation (bumped once per job) and the job's task
	// count (helpers h ≥ ntasks sit it out), in one word so that they are read together.
	state   atomic.Uint64
	stop    atomic.Bool
	helpers []helper
	done    sync.WaitGroup // one count per helper task of the current job
	stopped sync.WaitGroup // one count per running helper goroutine
}

// helper is the wake-up state of one helper goroutine.
type helper struct {
	sleeping atomic.Bool   // set by the helper before it blocks on wake
	wake     chan struct{} // receives one token per wake-up
}

// startPool launches threads-1 helpers that run e.tasks[h] on e.workers[h] for each job.
func startPool(e *Engine, threads int) *pool {
	p := &pool{helpers: make([]helper, threads-1)}
	for i := range p.helpers {
		p.helpers[i].wake = make(chan struct{}, 1)
		p.stopped.Add(1)
		// Every helper starts from generation 0, the state before any publish: a helper
		// whose goroutine starts late must still see the jobs (and the stop) published
		// before it ran.
		go p.loop(e, i+1, 0)
	}
	return p
}

// loop is the body of helper h.
func (p *pool) loop(e *Engine, h int, last uint64) {
	defer p.stopped.Done()
	hp := &p.helpers[h-1]
	ran := uint64(0) // the generation of the last job this helper ran a task of
	for {
		last = p.await(hp, last)
		if p.stop.Load() {
			return
		}
		if uint64(h) < last&0xffff {
			if gen := last >> 16; gen == ran {
				// Each job is one generation and this helper's task in it runs once; a
				// repeat would count one Done too many. Say so instead of corrupting the count.
				panic(fmt.Sprintf("mat32: pool helper %d was handed job generation %d a second time", h, gen))
			} else {
				ran = gen
			}
			e.runTask(h)
			p.done.Done()
		}
	}
}

// await returns the next state after last, spinning first and then sleeping.
//
// A wake-up token is only a hint. publish stores the new state before it looks for sleeping
// helpers, so a dispatcher that is descheduled in between can find this helper asleep
// after it has already seen the new job, run its task and gone back to sleep, and then wake
// it for a job it has done. So after a wake-up the state is compared with last again, and an
// unchanged one means: wait on.
func (p *pool) await(hp *helper, last uint64) uint64 {
	for {
		for i := 0; i < spinChecks; i++ {
			if g := p.state.Load(); g != last {
				return g
			}
			if i%256 == 255 {
				// Let other goroutines and, on Linux, other processes' threads run: polling
				// must not slow down the rest of a busy machine.
				runtime.Gosched()
				osYield()
			}
		}
		hp.sleeping.Store(true)
		if g := p.state.Load(); g != last {
			if hp.sleeping.CompareAndSwap(true, false) {
				return g
			}
			// The dispatcher saw us sleeping and sent a token: consume it.
			<-hp.wake
			return g
		}
		<-hp.wake
		if g := p.state.Load(); g != last {
			return g
		}
	}
}

// publish starts a new generation of n tasks and wakes the helpers that went to sleep.
func (p *pool) publish(n int) {
	p.state.Store((p.state.Load()>>16+1)<<16 | uint64(n))
	for i := range p.helpers {
		hp := &p.helpers[i]
		if hp.sleeping.CompareAndSwap(true, false) {
			hp.wake <- struct{}{}
		}
	}
}

// runTasks runs e.tasks[0:n]: task 0 on the calling goroutine, the others on helpers, and
// returns when all are done.
func (p *pool) runTasks(e *Engine, n int) {
	p.done.Add(n - 1)
	p.publish(n)
	e.runTask(0)
	p.done.Wait()
}

// stopAll ends the helpers and waits for them to exit.
func (p *pool) stopAll() {
	p.stop.Store(true)
	p.publish(0)
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

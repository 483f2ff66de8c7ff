package mat32

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloseRightAfterStart is the case where helper goroutines have not started yet when the
// engine closes (or publishes its first job): they must still see it instead of sleeping
// forever.
func TestCloseRightAfterStart(t *testing.T) {
	// With one P the helpers cannot start before the calling goroutine blocks.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for i := 0; i < 200; i++ {
		e, err := NewEngine(Options{Threads: 4})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			a, b, c := New(64, 64), New(64, 64), New(64, 64)
			e.MatMul(c, NoTrans, a, NoTrans, b)
		}
		e.Close()
	}
}

// TestPoolStress runs many back-to-back products on a 3-thread engine, alternating jobs that
// use 2 and 3 workers and jobs small enough to run inline, and checks every result bit for
// bit against a single-threaded engine.
func TestPoolStress(t *testing.T) {
	e, err := NewEngine(Options{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ref, err := NewEngine(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rng := rand.New(rand.NewPCG(14, 14))
	shapes := [][3]int{{50, 200, 64}, {60, 50, 300}, {4, 5, 6}, {100, 40, 100}}
	var as, bs, want []Matrix
	for _, s := range shapes {
		a, b := randView(rng, s[0], s[1], 0), randView(rng, s[1], s[2], 0)
		c := New(s[0], s[2])
		ref.MatMul(c, NoTrans, a, NoTrans, b)
		as, bs, want = append(as, a), append(bs, b), append(want, c)
	}
	for it := 0; it < 400; it++ {
		i := it % len(shapes)
		if it%7 == 3 {
			i = (it / 7) % len(shapes)
		}
		c := New(want[i].Rows, want[i].Cols)
		e.MatMul(c, NoTrans, as[i], NoTrans, bs[i])
		if !slices.Equal(c.Data, want[i].Data) {
			t.Fatalf("iteration %d, shape %v: result differs from the single-threaded one", it, shapes[i])
		}
	}
}

// TestConcurrentUseIsRefused: two goroutines using one Engine at once get a panic that says
// so (the one that loses the race), instead of overwriting each other's job and miscounting
// the pool's tasks; the engine goes on working for the other one.
func TestConcurrentUseIsRefused(t *testing.T) {
	e, err := NewEngine(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var wg sync.WaitGroup
	var refused atomic.Int32
	stop := make(chan struct{})
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					if !strings.Contains(fmt.Sprint(r), "two goroutines") {
						panic(r)
					}
					if refused.Add(1) == 1 {
						close(stop)
					}
				}
			}()
			a, b, c := New(64, 64), New(64, 64), New(64, 64)
			for i := 0; i < 200000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e.MatMul(c, NoTrans, a, NoTrans, b)
			}
		}()
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Fatal("two goroutines used one engine 400000 times without being refused")
	}
	a, b, c := New(64, 64), New(64, 64), New(64, 64)
	Fill(a, 1)
	Fill(b, 1)
	e.MatMul(c, NoTrans, a, NoTrans, b)
	if c.At(63, 63) != 64 {
		t.Fatalf("after the refusal the engine computes %v, want 64", c.At(63, 63))
	}
}

// TestStaleWakeIsIgnored: a wake-up token for a job the helper has already done (left by a
// dispatcher descheduled between storing the job and waking sleepers) does not make the
// helper run that job again: await goes on waiting until a new job is published. Once
// caught in a long study as "negative WaitGroup counter".
func TestStaleWakeIsIgnored(t *testing.T) {
	p := &pool{helpers: make([]helper, 1)}
	hp := &p.helpers[0]
	hp.wake = make(chan struct{}, 1)
	p.publish(2) // generation 1, which the helper has done
	last := p.state.Load()
	hp.wake <- struct{}{} // the stale token
	got := make(chan uint64, 1)
	go func() { got <- p.await(hp, last) }()
	select {
	case g := <-got:
		t.Fatalf("await returned %#x on a stale wake-up (last %#x)", g, last)
	case <-time.After(50 * time.Millisecond):
	}
	p.publish(2)
	select {
	case g := <-got:
		if g>>16 != 2 {
			t.Fatalf("await returned generation %d, want 2", g>>16)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("await did not see the new job")
	}
}

package mat32

import (
	"runtime"
	"testing"
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

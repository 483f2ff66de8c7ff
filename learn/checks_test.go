package learn

import (
	"fmt"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

// panicMessage runs f and returns what it panicked with ("" if it did not).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestCheckSetAndLabels(t *testing.T) {
	x := mat32.New(2, 3)
	if m := panicMessage(func() { CheckSet("r", "predict", x, []uint8{0, 4}, 3, 5) }); m != "" {
		t.Fatalf("a valid set panicked: %s", m)
	}
	for _, c := range []struct {
		f    func()
		want string
	}{
		{func() { CheckSet("r", "predict", x, []uint8{0, 5}, 3, 5) }, "r: predict: label 5 with 5 classes"},
		{func() { CheckSet("r", "step", x, []uint8{0}, 3, 5) }, "r: step of 2x3 with 1 labels; want 3 columns and a label per row"},
		{func() { CheckSet("r", "step", x, []uint8{0, 1}, 4, 5) }, "r: step of 2x3 with 2 labels; want 4 columns and a label per row"},
		{func() { CheckLabels("r", "step", []uint8{9}, 3) }, "r: step: label 9 with 3 classes"},
	} {
		if m := panicMessage(c.f); m != c.want {
			t.Errorf("panic %q, want %q", m, c.want)
		}
	}
	for n, want := range map[int]string{1234: "1234", 56000: "56k", 7_800_000: "7.8M"} {
		if got := CountWeights(n); got != want {
			t.Errorf("CountWeights(%d) = %q, want %q", n, got, want)
		}
	}
}

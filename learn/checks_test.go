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

func TestCheckSizes(t *testing.T) {
	s := Shape{Inputs: 784, Classes: 10, BatchRows: 64, EvalRows: 1000}
	if err := CheckSizes("r", []int{784, 100, 10}, s, true); err != nil {
		t.Fatal(err)
	}
	if err := CheckSizes("r", []int{784, 100}, s, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sizes []int
		s     Shape
		last  bool
		want  string
	}{
		{nil, s, true, "r option sizes is empty: want the input width first"},
		{[]int{780, 10}, s, true, "r option sizes = [780 10]: the input width 780 differs from the data's 784"},
		{[]int{784, 9}, s, true, "r option sizes = [784 9]: the output width 9 differs from the data's 10 classes (want at least 2)"},
		{[]int{784, 100}, Shape{Inputs: 784, Classes: 1, BatchRows: 1}, false, "r: 1 classes: want at least 2"},
		{[]int{784, 10}, Shape{Inputs: 784, Classes: 10}, true, "r: batch rows 0 and evaluation rows 0: want at least 1 and 0"},
	} {
		err := CheckSizes("r", c.sizes, c.s, c.last)
		if err == nil || err.Error() != c.want {
			t.Errorf("CheckSizes(%v, %+v, %v) = %v, want %q", c.sizes, c.s, c.last, err, c.want)
		}
	}
}

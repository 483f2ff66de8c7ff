package learn

import (
	"fmt"

	"github.com/copi-learn/copi/mat32"
)

// CheckLabels panics unless every label is below classes: a learner's guard against a
// label its output cannot represent. The message names the rule and the operation.
func CheckLabels(rule, op string, y []uint8, classes int) {
	for _, c := range y {
		if int(c) >= classes {
			panic(fmt.Sprintf("%s: %s: label %d with %d classes", rule, op, c, classes))
		}
	}
}

// CheckSet panics unless x has inputs columns, y a label per row, and every label is below
// classes (see CheckLabels).
func CheckSet(rule, op string, x mat32.Matrix, y []uint8, inputs, classes int) {
	if x.Cols != inputs || len(y) != x.Rows {
		panic(fmt.Sprintf("%s: %s of %dx%d with %d labels; want %d columns and a label per row",
			rule, op, x.Rows, x.Cols, len(y), inputs))
	}
	CheckLabels(rule, op, y, classes)
}

// CountWeights writes a number of weights briefly, for a learner's description: 1234,
// 56k, 7.8M.
func CountWeights(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// CheckSizes returns an error unless a rule's layer widths fit the data's shape: sizes[0]
// is the input width, the last size is the number of classes when lastIsClasses, there are
// at least 2 classes, and the shape asks for a batch of at least one row.
func CheckSizes(rule string, sizes []int, s Shape, lastIsClasses bool) error {
	if len(sizes) == 0 {
		return fmt.Errorf("%s option sizes is empty: want the input width first", rule)
	}
	if sizes[0] != s.Inputs {
		return fmt.Errorf("%s option sizes = %v: the input width %d differs from the data's %d", rule, sizes, sizes[0], s.Inputs)
	}
	if last := sizes[len(sizes)-1]; lastIsClasses && (last != s.Classes || s.Classes < 2) {
		return fmt.Errorf("%s option sizes = %v: the output width %d differs from the data's %d classes (want at least 2)", rule, sizes, last, s.Classes)
	}
	if s.Classes < 2 {
		return fmt.Errorf("%s: %d classes: want at least 2", rule, s.Classes)
	}
	if s.BatchRows < 1 || s.EvalRows < 0 {
		return fmt.Errorf("%s: batch rows %d and evaluation rows %d: want at least 1 and 0", rule, s.BatchRows, s.EvalRows)
	}
	return nil
}

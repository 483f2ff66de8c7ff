package data_test

import (
	"context"
	"fmt"

	"github.com/copi-learn/copi/data"
)

// Load resolves a registered name or a path; the embedded sample needs
// neither files nor network.
func ExampleLoad() {
	ds, err := data.Load(context.Background(), "fashion-mnist-sample", data.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Source)
	fmt.Println(ds.Train.X.Rows, ds.Train.X.Cols, ds.Classes)
	// Output:
	// embedded sample (5000 train / 1000 test)
	// 5000 784 10
}

// ValidationSplit holds out the last n training examples for evaluation.
func ExampleValidationSplit() {
	ds, _ := data.Sample()
	v, err := data.ValidationSplit(ds, 1000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Train.Len(), v.Test.Len())
	// Output: 4000 1000
}

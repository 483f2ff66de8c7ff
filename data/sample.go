package data

//go:generate go run ./internal/gensample -src /usr/share/datasets/fashion-mnist -out sample

import (
	"bytes"
	"embed"
	"fmt"
)

// sampleFS holds the embedded Fashion-MNIST sample: gzipped IDX files with
// the same names as the full dataset's. See sample/README.md.
//
//go:embed sample
var sampleFS embed.FS

// Sample returns the embedded Fashion-MNIST sample: the first 500 training
// images of each class and the first 100 test images of each class, in the
// original order (5000 train / 1000 test). It needs no files and no network;
// its Source reads "embedded sample (5000 train / 1000 test)".
func Sample() (*Dataset, error) {
	info, _ := Lookup("fashion-mnist")
	var parts [4]*IDX
	var names [4]string
	for i, f := range info.Files {
		names[i] = "embedded sample/" + f.Name
		raw, err := sampleFS.ReadFile("sample/" + f.Name)
		if err != nil {
			return nil, fmt.Errorf("embedded sample: %w", err)
		}
		idx, _, err := readIDX(bytes.NewReader(raw), names[i], -1, -1)
		if err != nil {
			return nil, err
		}
		parts[i] = idx
	}
	ds, err := idxDataset(parts, names, info.Classes)
	if err != nil {
		return nil, err
	}
	ds.Name = SampleName
	ds.Embedded = true
	ds.Source = fmt.Sprintf("embedded sample (%d train / %d test)", ds.Train.Len(), ds.Test.Len())
	return ds, nil
}

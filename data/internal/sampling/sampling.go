// Package sampling holds the rules that derive copi's embedded
// Fashion-MNIST sample from the full dataset, shared by the generator
// (data/internal/gensample) and the tests that check the embedded files.
package sampling

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
)

// Sample sizes: examples per class taken from the training and test sets.
const (
	TrainPerClass = 500
	TestPerClass  = 100
	Classes       = 10
)

// Balanced returns the indices of the first perClass examples of each class,
// in file order, so the result keeps the dataset's original order.
func Balanced(labels []uint8, perClass, classes int) ([]int, error) {
	count := make([]int, classes)
	var idx []int
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("label %d at %d out of range", l, i)
		}
		if count[l] < perClass {
			count[l]++
			idx = append(idx, i)
		}
	}
	for c, n := range count {
		if n < perClass {
			return nil, fmt.Errorf("class %d has only %d examples, want %d", c, n, perClass)
		}
	}
	return idx, nil
}

// IDX encodes unsigned-byte data with the given dimensions as an IDX file,
// gzipped at the best compression with an empty gzip header (no name, no
// time), so the output depends only on the input and Go's compress/flate.
func IDX(dims []int, data []byte) ([]byte, error) {
	var raw bytes.Buffer
	raw.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&raw, binary.BigEndian, uint32(d))
	}
	raw.Write(data)
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

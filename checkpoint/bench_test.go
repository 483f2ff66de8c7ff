package checkpoint

import (
	"bytes"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

// benchCheckpoint holds 16 MiB of F32 weights.
func benchCheckpoint(b *testing.B) *Checkpoint {
	c := New()
	m := mat32.New(2048, 2048)
	for i := range m.Data {
		m.Data[i] = float32(i)
	}
	if err := c.SetMatrix("w", m); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkEncode(b *testing.B) {
	c := benchCheckpoint(b)
	var buf bytes.Buffer
	b.SetBytes(4 * 2048 * 2048)
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMatrix(b *testing.B) {
	var buf bytes.Buffer
	if err := Encode(&buf, benchCheckpoint(b)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		c, err := Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Matrix("w"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetMatrix(b *testing.B) {
	m := mat32.New(2048, 2048)
	c := New()
	b.SetBytes(4 * 2048 * 2048)
	for b.Loop() {
		if err := c.SetMatrix("w", m); err != nil {
			b.Fatal(err)
		}
	}
}

package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

// sample returns a checkpoint exercising every dtype and setter.
func sample(t testing.TB) *Checkpoint {
	t.Helper()
	c := New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w := mat32.New(3, 4)
	for i := range w.Data {
		w.Data[i] = float32(i) - 5.5
	}
	w.Data[7] = float32(math.NaN())
	w.Data[8] = float32(math.Inf(-1))
	must(c.SetMatrix("layers.0.weight", w))
	must(c.SetFloat32s("layers.0.bias", []float32{0.25, -1, 3e-38}))
	big := mat32.New(5, 6)
	for i := range big.Data {
		big.Data[i] = float32(i)
	}
	must(c.SetMatrix("layers.1.weight", big.Slice(1, 4, 2, 5))) // strided view
	must(c.SetFloat64s("loss_history", []float64{2.5, 1.25, math.Pi}, 3, 1))
	must(c.SetInt64s("step", []int64{123456789012}))
	must(c.SetInt32s("perm", []int32{2, 0, 1, -7}, 2, 2))
	must(c.SetBytes("rng", []byte("\x00\x01\xffstate")))
	must(c.SetRaw("scalar", I64, []int{}, binary.LittleEndian.AppendUint64(nil, 42)))
	must(c.SetFloat32s("empty", nil, 0, 3))
	must(c.SetMeta("rule", "copi"))
	must(c.SetMeta("config", `{"lr": 0.01, "note": "<&> ü 😀"}`))
	return c
}

func encode(t testing.TB, c *Checkpoint) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameContent reports how a and b differ (tensors, order, bits, and metadata other
// than the keys Encode writes), or "" if they do not.
func sameContent(a, b *Checkpoint) string {
	if !slices.Equal(a.Names(), b.Names()) {
		return "names " + strings.Join(a.Names(), ",") + " vs " + strings.Join(b.Names(), ",")
	}
	for _, n := range a.Names() {
		da, sa, ba, _ := a.Raw(n)
		db, sb, bb, _ := b.Raw(n)
		if da != db || !slices.Equal(sa, sb) || !bytes.Equal(ba, bb) {
			return "tensor " + n
		}
	}
	user := func(c *Checkpoint) map[string]string {
		m := map[string]string{}
		for _, k := range c.MetaKeys() {
			if k != MetaFormat && k != MetaFormatVersion && k != MetaChecksum {
				m[k], _ = c.Meta(k)
			}
		}
		return m
	}
	ma, mb := user(a), user(b)
	if len(ma) != len(mb) {
		return "metadata size"
	}
	for k, v := range ma {
		if mb[k] != v {
			return "metadata " + k
		}
	}
	return ""
}

func TestRoundTrip(t *testing.T) {
	c := sample(t)
	b := encode(t, c)
	d, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameContent(c, d); diff != "" {
		t.Fatalf("round trip differs: %s", diff)
	}
	if v, _ := d.Meta(MetaFormatVersion); v != strconv.Itoa(FormatVersion) {
		t.Errorf("format_version %q", v)
	}
	if got := encode(t, d); !bytes.Equal(got, b) {
		t.Fatalf("re-encoding a decoded checkpoint changed its bytes")
	}
	// A stream without a known length takes the incremental path.
	d2, err := Decode(streamReader{bytes.NewReader(b)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameContent(c, d2); diff != "" {
		t.Fatalf("stream round trip differs: %s", diff)
	}

	// Typed accessors return what was set.
	m, err := d.Matrix("layers.1.weight")
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 3 || m.Cols != 3 || m.Stride != 3 || m.At(0, 0) != 8 || m.At(2, 2) != 22 {
		t.Errorf("strided matrix came back as %+v", m)
	}
	w, _ := d.Matrix("layers.0.weight")
	if !math.IsNaN(float64(w.Data[7])) || !math.IsInf(float64(w.Data[8]), -1) || w.Data[0] != -5.5 {
		t.Errorf("weights %v", w.Data)
	}
	if v, _ := d.Float64s("loss_history"); !slices.Equal(v, []float64{2.5, 1.25, math.Pi}) {
		t.Errorf("float64s %v", v)
	}
	if v, _ := d.Int64s("step"); !slices.Equal(v, []int64{123456789012}) {
		t.Errorf("int64s %v", v)
	}
	if v, _ := d.Int32s("perm"); !slices.Equal(v, []int32{2, 0, 1, -7}) {
		t.Errorf("int32s %v", v)
	}
	if v, _ := d.Bytes("rng"); string(v) != "\x00\x01\xffstate" {
		t.Errorf("bytes %q", v)
	}
	if v, _ := d.Int64s("scalar"); !slices.Equal(v, []int64{42}) {
		t.Errorf("scalar %v", v)
	}
	if info, ok := d.Info("scalar"); !ok || len(info.Shape) != 0 || info.DType != I64 {
		t.Errorf("scalar info %+v", info)
	}
	if info, _ := d.Info("empty"); !slices.Equal(info.Shape, []int{0, 3}) {
		t.Errorf("empty info %+v", info)
	}
	if v, _ := d.Meta("config"); v != `{"lr": 0.01, "note": "<&> ü 😀"}` {
		t.Errorf("config %q", v)
	}
}

// streamReader hides the Len method of the wrapped reader.
type streamReader struct{ r *bytes.Reader }

func (r streamReader) Read(p []byte) (int, error) { return r.r.Read(p) }

func TestWriteRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.ckpt")
	c := sample(t)
	if err := Write(p, c); err != nil {
		t.Fatal(err)
	}
	d, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameContent(c, d); diff != "" {
		t.Fatal(diff)
	}
	b, _ := os.ReadFile(p)
	if !bytes.Equal(b, encode(t, c)) {
		t.Fatal("Write and Encode disagree")
	}
	// Accessor errors name the file.
	if _, err := d.Matrix("nope"); err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor error: %v", err)
	}
}

// TestGolden pins the exact encoding of a small checkpoint. The checksum was computed
// independently, with a bitwise CRC-32C in Python.
func TestGolden(t *testing.T) {
	c := New()
	if err := c.SetFloat32s("w", []float32{1, 2}, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBytes("b", []byte{7}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMeta("note", "a<b"); err != nil {
		t.Fatal(err)
	}
	got := encode(t, c)
	hdr := `{"__metadata__":{"checksum":"crc32c:b5d982d7","format":"copi.checkpoint","format_version":"2","note":"a<b"},` +
		`"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	want = append(want, hdr...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 7)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got %q\nwant %q", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	a := encode(t, sample(t))
	for range 5 { // metadata lives in a map; its iteration order must not matter
		if b := encode(t, sample(t)); !bytes.Equal(a, b) {
			t.Fatal("same content encoded to different bytes")
		}
	}
}

func TestAccessorErrors(t *testing.T) {
	c := sample(t)
	if _, err := c.Float32s("step"); !errors.Is(err, ErrType) {
		t.Errorf("Float32s of I64: %v", err)
	}
	if _, err := c.Matrix("layers.0.bias"); !errors.Is(err, ErrType) {
		t.Errorf("Matrix of 1-D: %v", err)
	}
	if _, err := c.Int64s("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, _, _, err := c.Raw("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing raw: %v", err)
	}
	for _, name := range []string{"", "__metadata__", "bad\xff"} {
		if err := c.SetBytes(name, []byte{1}); err == nil {
			t.Errorf("SetBytes(%q) accepted", name)
		}
	}
	if err := c.SetFloat32s("x", []float32{1, 2, 3}, 2, 2); err == nil {
		t.Error("shape/length mismatch accepted")
	}
	if err := c.SetFloat32s("x", []float32{}, -1, 0); err == nil {
		t.Error("negative dimension accepted")
	}
	if err := c.SetRaw("x", "BF16", []int{1}, []byte{0, 0}); err == nil {
		t.Error("unsupported dtype accepted")
	}
	if err := c.SetRaw("x", I32, []int{2}, []byte{0, 0, 0}); err == nil {
		t.Error("short raw data accepted")
	}
	if err := c.SetMatrix("x", mat32.Matrix{Rows: 2, Cols: 3, Stride: 3, Data: make([]float32, 5)}); err == nil {
		t.Error("matrix with too little data accepted")
	}
	for _, kv := range [][2]string{{"", "v"}, {MetaFormat, "x"}, {MetaFormatVersion, "2"}, {"k\xff", "v"}, {"k", "v\xff"}} {
		if err := c.SetMeta(kv[0], kv[1]); err == nil {
			t.Errorf("SetMeta(%q, %q) accepted", kv[0], kv[1])
		}
	}
	if c.Has("x") {
		t.Error("failed setter stored a tensor")
	}
}

func TestReplaceDeleteLoad(t *testing.T) {
	c := sample(t)
	names := c.Names()
	if err := c.SetInt64s("layers.0.bias", []int64{1}); err != nil { // replace, even with another dtype
		t.Fatal(err)
	}
	if !slices.Equal(c.Names(), names) {
		t.Errorf("replacing moved the tensor: %v", c.Names())
	}
	c.Delete("layers.0.weight")
	c.Delete("not there")
	if c.Has("layers.0.weight") || c.Len() != len(names)-1 {
		t.Errorf("delete: %v", c.Names())
	}
	if v, err := c.Int64s("step"); err != nil || v[0] != 123456789012 { // index still valid
		t.Errorf("after delete: %v %v", v, err)
	}
	c.DeleteMeta("rule")
	if _, ok := c.Meta("rule"); ok {
		t.Error("DeleteMeta")
	}

	// LoadMatrix fills a strided destination and checks its shape.
	parent := mat32.New(4, 5)
	dst := parent.Slice(1, 4, 1, 4)
	if err := c.LoadMatrix("layers.1.weight", dst); err != nil {
		t.Fatal(err)
	}
	if dst.At(0, 0) != 8 || dst.At(2, 2) != 22 || parent.At(0, 0) != 0 || parent.At(1, 4) != 0 {
		t.Errorf("LoadMatrix wrote %v", parent.Data)
	}
	if err := c.LoadMatrix("layers.1.weight", mat32.New(3, 4)); !errors.Is(err, ErrType) {
		t.Errorf("LoadMatrix shape mismatch: %v", err)
	}

	// Setters copy their input; getters return copies.
	v := []float32{1, 2}
	_ = c.SetFloat32s("v", v)
	v[0] = 99
	got, _ := c.Float32s("v")
	got[1] = 99
	if again, _ := c.Float32s("v"); !slices.Equal(again, []float32{1, 2}) {
		t.Errorf("aliasing: %v", again)
	}
}

func TestZeroValue(t *testing.T) {
	var c Checkpoint
	if err := c.SetBytes("x", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMeta("k", "v"); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(bytes.NewReader(encode(t, &c)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameContent(&c, d); diff != "" {
		t.Fatal(diff)
	}
	// An empty checkpoint is valid too.
	if _, err := Decode(bytes.NewReader(encode(t, New()))); err != nil {
		t.Fatal(err)
	}
}

// randomCheckpoint builds a checkpoint with random names, dtypes, shapes and bits.
func randomCheckpoint(r *rand.Rand) *Checkpoint {
	c := New()
	dtypes := []DType{F32, F64, I64, I32, U8}
	alphabet := []rune("abz._/0 é😀\"\\<\n")
	randStr := func() string {
		s := make([]rune, 1+r.IntN(8))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(s)
	}
	for range r.IntN(8) {
		dt := dtypes[r.IntN(len(dtypes))]
		shape := make([]int, r.IntN(4))
		n := 1
		for i := range shape {
			shape[i] = r.IntN(5)
			n *= shape[i]
		}
		data := make([]byte, n*dt.Size())
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		if err := c.SetRaw(randStr(), dt, shape, data); err != nil {
			panic(err)
		}
	}
	for range r.IntN(4) {
		k := randStr()
		if k == MetaFormat || k == MetaFormatVersion || k == MetaChecksum {
			continue
		}
		if err := c.SetMeta(k, randStr()); err != nil {
			panic(err)
		}
	}
	return c
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		c := randomCheckpoint(r)
		b := encode(t, c)
		if (len(b)-8-c.dataLen())%8 != 0 {
			t.Fatalf("case %d: header not padded to 8 bytes", i)
		}
		d, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if diff := sameContent(c, d); diff != "" {
			t.Fatalf("case %d: %s", i, diff)
		}
		if !bytes.Equal(encode(t, d), b) {
			t.Fatalf("case %d: re-encoding changed the bytes", i)
		}
		// The same file read raw gives the same content.
		if d2, err := DecodeRaw(bytes.NewReader(b)); err != nil || sameContent(c, d2) != "" {
			t.Fatalf("case %d: raw: %v", i, err)
		}
	}
}

// dataLen returns the data section length c encodes to.
func (c *Checkpoint) dataLen() int {
	n := 0
	for _, t := range c.tensors {
		n += len(t.data)
	}
	return n
}

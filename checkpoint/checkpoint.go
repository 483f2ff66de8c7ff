package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/copi-learn/copi/mat32"
)

const (
	// FormatName is the value of the "format" metadata key in every copi checkpoint.
	FormatName = "copi.checkpoint"
	// FormatVersion is the checkpoint format major version this package writes, and
	// the newest it reads. Version 2 added the mandatory [MetaChecksum]; version 1
	// files, which have none, are still read.
	FormatVersion = 2
	// MetaFormat is the metadata key holding [FormatName].
	MetaFormat = "format"
	// MetaFormatVersion is the metadata key holding the format version as a decimal
	// integer string.
	MetaFormatVersion = "format_version"
	// MetaChecksum is the metadata key holding the checkpoint's checksum,
	// "crc32c:" followed by eight lowercase hexadecimal digits (see the package
	// documentation for what it covers).
	MetaChecksum = "checksum"
	// MaxHeaderSize is the largest JSON header, in bytes, that is read or written;
	// it matches the limit of the safetensors reference implementation.
	MaxHeaderSize = 100_000_000
)

// metadataKey is the reserved header key holding the string→string metadata.
const metadataKey = "__metadata__"

// maxDataSize bounds data offsets (256 TiB) so that size arithmetic cannot overflow.
const maxDataSize = 1 << 48

var (
	// ErrInvalid is wrapped by errors for input that is not valid safetensors data.
	ErrInvalid = errors.New("invalid checkpoint")
	// ErrNotCheckpoint is wrapped by errors for valid safetensors data that lacks the
	// copi format metadata, such as a plain safetensors file (see [ReadRaw]).
	ErrNotCheckpoint = errors.New("not a copi checkpoint")
	// ErrCorrupt is wrapped, together with [ErrInvalid], by errors for checkpoints whose
	// checksum does not match their bytes or is missing where the format version
	// requires one: the file was damaged after it was written.
	ErrCorrupt = errors.New("corrupt checkpoint")
	// ErrVersion is wrapped by errors for checkpoints of a newer format version than
	// [FormatVersion].
	ErrVersion = errors.New("unsupported checkpoint version")
	// ErrNotFound is wrapped by accessor errors for a tensor name that is not present.
	ErrNotFound = errors.New("no such tensor")
	// ErrType is wrapped by accessor errors for a tensor whose dtype or rank differs
	// from the one requested.
	ErrType = errors.New("tensor type mismatch")
)

// DType is a tensor element type, spelled as in safetensors headers.
type DType string

// The supported element types. All are stored little-endian.
const (
	F32 DType = "F32" // float32
	F64 DType = "F64" // float64
	I64 DType = "I64" // int64
	I32 DType = "I32" // int32
	U8  DType = "U8"  // uint8 (byte)
)

// Size returns the size of one element in bytes, or 0 if d is not a supported dtype.
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	case U8:
		return 1
	}
	return 0
}

// TensorInfo describes a tensor without its data.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
}

// tensor is one stored tensor; data holds its little-endian bytes.
type tensor struct {
	name  string
	dtype DType
	shape []int
	data  []byte
}

// Checkpoint is an ordered collection of named tensors plus string metadata.
//
// Tensors keep the order in which their names were first set (for a decoded checkpoint,
// file order); that order determines the encoding. Setting an existing name replaces
// that tensor in place, whatever its previous dtype or shape. Setters copy their arguments and
// getters return fresh copies, so a Checkpoint never aliases caller memory.
//
// The zero value is an empty checkpoint ready to use. A Checkpoint is not safe for
// concurrent use when any goroutine modifies it.
type Checkpoint struct {
	src     string // file it was read from, for error messages; "" if none
	tensors []tensor
	index   map[string]int // name → position in tensors
	meta    map[string]string
}

// New returns an empty checkpoint.
func New() *Checkpoint { return &Checkpoint{} }

// errorf returns an error prefixed with "checkpoint" and the source file, if known.
func (c *Checkpoint) errorf(format string, args ...any) error {
	return fmt.Errorf(prefix(c.src)+format, args...)
}

// prefix returns the error message prefix for the file src ("" for a stream).
func prefix(src string) string {
	if src == "" {
		return "checkpoint: "
	}
	return "checkpoint " + src + ": "
}

// Len returns the number of tensors.
func (c *Checkpoint) Len() int { return len(c.tensors) }

// Names returns the tensor names in order.
func (c *Checkpoint) Names() []string {
	names := make([]string, len(c.tensors))
	for i, t := range c.tensors {
		names[i] = t.name
	}
	return names
}

// Has reports whether a tensor called name is present.
func (c *Checkpoint) Has(name string) bool {
	_, ok := c.index[name]
	return ok
}

// Info returns the dtype and shape of the tensor called name.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	i, ok := c.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := &c.tensors[i]
	return TensorInfo{Name: t.name, DType: t.dtype, Shape: slices.Clone(t.shape)}, true
}

// Delete removes the tensor called name, if present.
func (c *Checkpoint) Delete(name string) {
	i, ok := c.index[name]
	if !ok {
		return
	}
	c.tensors = slices.Delete(c.tensors, i, i+1)
	delete(c.index, name)
	for j := i; j < len(c.tensors); j++ {
		c.index[c.tensors[j].name] = j
	}
}

// Meta returns the metadata value for key.
func (c *Checkpoint) Meta(key string) (string, bool) {
	v, ok := c.meta[key]
	return v, ok
}

// MetaKeys returns the metadata keys in sorted order.
func (c *Checkpoint) MetaKeys() []string {
	keys := make([]string, 0, len(c.meta))
	for k := range c.meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SetMeta sets the metadata value for key. Keys and values must be valid UTF-8 and keys
// non-empty. The keys [MetaFormat], [MetaFormatVersion] and [MetaChecksum] are
// reserved: [Encode] writes them, and SetMeta refuses them.
func (c *Checkpoint) SetMeta(key, value string) error {
	switch {
	case key == "":
		return c.errorf("set metadata: empty key")
	case key == MetaFormat || key == MetaFormatVersion || key == MetaChecksum:
		return c.errorf("set metadata: key %q is reserved", key)
	case !utf8.ValidString(key):
		return c.errorf("set metadata: key %q is not valid UTF-8", key)
	case !utf8.ValidString(value):
		return c.errorf("set metadata %q: value is not valid UTF-8", key)
	}
	if c.meta == nil {
		c.meta = make(map[string]string)
	}
	c.meta[key] = value
	return nil
}

// DeleteMeta removes the metadata value for key, if present.
func (c *Checkpoint) DeleteMeta(key string) { delete(c.meta, key) }

// checkName validates a tensor name.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty tensor name")
	case name == metadataKey:
		return fmt.Errorf("tensor name %q is reserved", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("tensor name %q is not valid UTF-8", name)
	}
	return nil
}

// numElements returns the product of shape, or an error if a dimension is negative or
// the product exceeds limit.
func numElements(shape []int, limit int64) (int64, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := int64(1)
	for _, d := range shape {
		if int64(d) > limit/n {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= int64(d)
	}
	return n, nil
}

// set stores a tensor after validating it; data is stored without copying, so callers
// must pass memory the checkpoint may own.
func (c *Checkpoint) set(name string, dtype DType, shape []int, data []byte) error {
	if err := checkName(name); err != nil {
		return c.errorf("set: %v", err)
	}
	size := dtype.Size()
	if size == 0 {
		return c.errorf("set %q: unsupported dtype %q", name, dtype)
	}
	n, err := numElements(shape, maxDataSize/int64(size))
	if err != nil {
		return c.errorf("set %q: %v", name, err)
	}
	if int64(len(data)) != n*int64(size) {
		return c.errorf("set %q: shape %v of %s needs %d bytes, got %d", name, shape, dtype, n*int64(size), len(data))
	}
	t := tensor{name: name, dtype: dtype, shape: slices.Clone(shape), data: data}
	if t.shape == nil {
		t.shape = []int{}
	}
	if i, ok := c.index[name]; ok {
		c.tensors[i] = t
		return nil
	}
	if c.index == nil {
		c.index = make(map[string]int)
	}
	c.index[name] = len(c.tensors)
	c.tensors = append(c.tensors, t)
	return nil
}

// get returns the tensor called name, checking its dtype.
func (c *Checkpoint) get(name string, want DType) (*tensor, error) {
	i, ok := c.index[name]
	if !ok {
		return nil, c.errorf("%w: %q", ErrNotFound, name)
	}
	t := &c.tensors[i]
	if t.dtype != want {
		return nil, c.errorf("%w: %q is %s %v, want %s", ErrType, name, t.dtype, t.shape, want)
	}
	return t, nil
}

// SetRaw stores a tensor given its little-endian bytes, replacing any tensor of the
// same name (which keeps its position). A shape of [] (non-nil or nil) is a scalar.
// data is copied.
func (c *Checkpoint) SetRaw(name string, dtype DType, shape []int, data []byte) error {
	return c.set(name, dtype, shape, slices.Clone(data))
}

// Raw returns the dtype, shape and a copy of the little-endian bytes of the tensor
// called name.
func (c *Checkpoint) Raw(name string) (DType, []int, []byte, error) {
	i, ok := c.index[name]
	if !ok {
		return "", nil, nil, c.errorf("%w: %q", ErrNotFound, name)
	}
	t := &c.tensors[i]
	return t.dtype, slices.Clone(t.shape), slices.Clone(t.data), nil
}

// element is the set of Go types that map to a supported dtype.
type element interface {
	float32 | float64 | int64 | int32 | uint8
}

// setValues encodes v and stores it with the given shape, or as a vector if shape is
// empty.
func setValues[T element](c *Checkpoint, name string, dtype DType, v []T, shape []int) error {
	if len(shape) == 0 {
		shape = []int{len(v)}
	}
	data, err := binary.Append(make([]byte, 0, len(v)*dtype.Size()), binary.LittleEndian, v)
	if err != nil {
		return c.errorf("set %q: %v", name, err)
	}
	return c.set(name, dtype, shape, data)
}

// values decodes the tensor called name, which must have the given dtype.
func values[T element](c *Checkpoint, name string, dtype DType) ([]T, error) {
	t, err := c.get(name, dtype)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(t.data)/dtype.Size())
	if _, err := binary.Decode(t.data, binary.LittleEndian, out); err != nil {
		return nil, c.errorf("tensor %q: %v", name, err)
	}
	return out, nil
}

// SetFloat32s stores v as an F32 tensor with the given shape, or as a vector of
// len(v) elements if no shape is given. v is copied.
func (c *Checkpoint) SetFloat32s(name string, v []float32, shape ...int) error {
	return setValues(c, name, F32, v, shape)
}

// Float32s returns the elements of the F32 tensor called name, in row-major order.
func (c *Checkpoint) Float32s(name string) ([]float32, error) { return values[float32](c, name, F32) }

// SetFloat64s stores v as an F64 tensor with the given shape, or as a vector if no
// shape is given. v is copied.
func (c *Checkpoint) SetFloat64s(name string, v []float64, shape ...int) error {
	return setValues(c, name, F64, v, shape)
}

// Float64s returns the elements of the F64 tensor called name, in row-major order.
func (c *Checkpoint) Float64s(name string) ([]float64, error) { return values[float64](c, name, F64) }

// SetInt64s stores v as an I64 tensor with the given shape, or as a vector if no shape
// is given. v is copied.
func (c *Checkpoint) SetInt64s(name string, v []int64, shape ...int) error {
	return setValues(c, name, I64, v, shape)
}

// Int64s returns the elements of the I64 tensor called name, in row-major order.
func (c *Checkpoint) Int64s(name string) ([]int64, error) { return values[int64](c, name, I64) }

// SetInt32s stores v as an I32 tensor with the given shape, or as a vector if no shape
// is given. v is copied.
func (c *Checkpoint) SetInt32s(name string, v []int32, shape ...int) error {
	return setValues(c, name, I32, v, shape)
}

// Int32s returns the elements of the I32 tensor called name, in row-major order.
func (c *Checkpoint) Int32s(name string) ([]int32, error) { return values[int32](c, name, I32) }

// SetBytes stores b as a U8 tensor with the given shape, or as a vector if no shape is
// given. b is copied.
func (c *Checkpoint) SetBytes(name string, b []byte, shape ...int) error {
	return setValues(c, name, U8, b, shape)
}

// Bytes returns the elements of the U8 tensor called name, in row-major order.
func (c *Checkpoint) Bytes(name string) ([]byte, error) { return values[uint8](c, name, U8) }

// checkMatrix reports whether m is a well-formed view.
func checkMatrix(m mat32.Matrix) error {
	if m.Rows < 0 || m.Cols < 0 || m.Stride < m.Cols {
		return fmt.Errorf("malformed matrix %dx%d with stride %d", m.Rows, m.Cols, m.Stride)
	}
	if m.Rows > 0 && m.Cols > 0 && int64(len(m.Data)) < int64(m.Rows-1)*int64(m.Stride)+int64(m.Cols) {
		return fmt.Errorf("matrix %dx%d with stride %d has only %d values", m.Rows, m.Cols, m.Stride, len(m.Data))
	}
	return nil
}

// SetMatrix stores m as an F32 tensor of shape [m.Rows, m.Cols]. Views with a stride
// larger than Cols are stored compactly. m is copied.
func (c *Checkpoint) SetMatrix(name string, m mat32.Matrix) error {
	if err := checkMatrix(m); err != nil {
		return c.errorf("set %q: %v", name, err)
	}
	data := make([]byte, 0, 4*m.Rows*m.Cols)
	for i := 0; i < m.Rows && m.Cols > 0; i++ {
		for _, x := range m.Row(i) {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(x))
		}
	}
	return c.set(name, F32, []int{m.Rows, m.Cols}, data)
}

// Matrix returns the two-dimensional F32 tensor called name as a new contiguous matrix.
func (c *Checkpoint) Matrix(name string) (mat32.Matrix, error) {
	t, err := c.get(name, F32)
	if err != nil {
		return mat32.Matrix{}, err
	}
	if len(t.shape) != 2 {
		return mat32.Matrix{}, c.errorf("%w: %q has shape %v, want 2 dimensions", ErrType, name, t.shape)
	}
	v, err := values[float32](c, name, F32)
	if err != nil {
		return mat32.Matrix{}, err
	}
	return mat32.FromSlice(t.shape[0], t.shape[1], v), nil
}

// LoadMatrix copies the two-dimensional F32 tensor called name into dst, which must
// have the same shape; dst may be a strided view. Use it to restore parameters into a
// model's existing storage.
func (c *Checkpoint) LoadMatrix(name string, dst mat32.Matrix) error {
	if err := checkMatrix(dst); err != nil {
		return c.errorf("load %q: %v", name, err)
	}
	t, err := c.get(name, F32)
	if err != nil {
		return err
	}
	if len(t.shape) != 2 || t.shape[0] != dst.Rows || t.shape[1] != dst.Cols {
		return c.errorf("%w: %q has shape %v, want [%d %d]", ErrType, name, t.shape, dst.Rows, dst.Cols)
	}
	k := 0
	for i := 0; i < dst.Rows && dst.Cols > 0; i++ {
		row := dst.Row(i)
		for j := range row {
			row[j] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[k:]))
			k += 4
		}
	}
	return nil
}

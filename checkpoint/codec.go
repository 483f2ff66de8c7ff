package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/copi-learn/copi/internal/atomicfile"
)

// Write atomically writes c to the file at path (mode 0644): readers of path see either
// the previous file or the complete new checkpoint, even if the process dies part way.
func Write(path string, c *Checkpoint) error {
	if c == nil {
		return fmt.Errorf("checkpoint %s: write nil checkpoint", path)
	}
	// Encode the header first so that an encoding error names the file.
	hdr, err := c.header()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	// The atomicfile error already names the path.
	if err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { return c.encode(w, hdr) }); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Encode writes c to w in the copi checkpoint format, setting the "format",
// "format_version" and "checksum" metadata keys ([MetaFormat], [MetaFormatVersion],
// [MetaChecksum]) to [FormatName], [FormatVersion] and the checksum of the output,
// replacing any values read from a file. The output depends only on c's content and
// tensor order.
func Encode(w io.Writer, c *Checkpoint) error {
	if c == nil {
		return errors.New("checkpoint: encode nil checkpoint")
	}
	hdr, err := c.header()
	if err != nil {
		return err
	}
	return c.encode(w, hdr)
}

// encode writes the header hdr that c.header returned, then the tensor data.
func (c *Checkpoint) encode(w io.Writer, hdr []byte) error {
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("checkpoint: encode: %w", err)
	}
	for i := range c.tensors {
		if _, err := w.Write(c.tensors[i].data); err != nil {
			return fmt.Errorf("checkpoint: encode: %w", err)
		}
	}
	return nil
}

// checksumPrefix starts every [MetaChecksum] value; eight hexadecimal digits follow.
const checksumPrefix = "crc32c:"

// checksumPlaceholder stands in for the checksum's digits while it is computed.
var checksumPlaceholder = []byte("00000000")

// castagnoli is the CRC-32C table; hash/crc32 uses the CPU's CRC32 instruction for it
// where there is one (SSE 4.2 on amd64, the CRC extension on arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header returns the 8-byte length prefix followed by the space-padded JSON header,
// with the checksum of the whole encoding in its metadata.
func (c *Checkpoint) header() ([]byte, error) {
	b := make([]byte, 8, 256+64*len(c.tensors))
	b = append(b, `{"__metadata__":{`...)
	meta := make(map[string]string, len(c.meta)+3)
	for k, v := range c.meta {
		meta[k] = v
	}
	meta[MetaFormat] = FormatName
	meta[MetaFormatVersion] = strconv.Itoa(FormatVersion)
	meta[MetaChecksum] = checksumPrefix + string(checksumPlaceholder)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	digits := 0 // offset of the checksum's digits in b
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if k == MetaChecksum {
			digits = len(b) + len(`"`+checksumPrefix)
		}
		b = appendString(b, meta[k])
	}
	b = append(b, '}')
	var off int64
	for i := range c.tensors {
		t := &c.tensors[i]
		b = append(b, ',')
		b = appendString(b, t.name)
		b = append(b, `:{"dtype":"`...)
		b = append(b, t.dtype...)
		b = append(b, `","shape":[`...)
		for j, d := range t.shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, off, 10)
		b = append(b, ',')
		off += int64(len(t.data))
		b = strconv.AppendInt(b, off, 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	n := len(b) - 8
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("checkpoint: encode: header of %d bytes exceeds the maximum %d", n, MaxHeaderSize)
	}
	if off > maxDataSize {
		return nil, fmt.Errorf("checkpoint: encode: %d bytes of tensor data exceed the maximum %d", off, int64(maxDataSize))
	}
	binary.LittleEndian.PutUint64(b, uint64(n))
	// The checksum covers the length prefix, the header with the placeholder digits
	// and the data; its digits then replace the placeholder.
	crc := crc32.Update(0, castagnoli, b)
	for i := range c.tensors {
		crc = crc32.Update(crc, castagnoli, c.tensors[i].data)
	}
	putHex32(b[digits:digits+len(checksumPlaceholder)], crc)
	return b, nil
}

// putHex32 writes v into dst as eight lowercase hexadecimal digits.
func putHex32(dst []byte, v uint32) {
	const hexDigits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// appendString appends s as a JSON string. Names and metadata are validated as UTF-8
// when set, so the encoding is lossless.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // cannot happen: every string has a JSON encoding
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

// Read reads the copi checkpoint at path. It rejects files that are not valid
// safetensors (errors.Is(err, [ErrInvalid])), were damaged after they were written
// ([ErrCorrupt], with [ErrInvalid]), lack the copi format metadata
// ([ErrNotCheckpoint]) or have a newer format version ([ErrVersion]).
func Read(path string) (*Checkpoint, error) { return readFile(path, false) }

// ReadRaw reads any safetensors file with a supported dtype, such as one written by
// Python's safetensors library. It applies the layout rules but not the copi-specific
// checks: the "format" metadata keys may be absent or different, and the header need
// not be padded to a multiple of 8. The metadata is returned as found in the file. A
// file whose metadata says it is a copi checkpoint and has a checksum is still
// verified (see the package documentation).
func ReadRaw(path string) (*Checkpoint, error) { return readFile(path, true) }

// Decode reads a copi checkpoint from r, which must end where the checkpoint ends.
// It applies the same checks as [Read]. Memory use is bounded by the bytes r actually
// delivers, whatever the header claims.
func Decode(r io.Reader) (*Checkpoint, error) { return decode(r, "", sizeOf(r), false) }

// DecodeRaw reads any safetensors data from r, applying the checks of [ReadRaw].
func DecodeRaw(r io.Reader) (*Checkpoint, error) { return decode(r, "", sizeOf(r), true) }

// sizeOf returns the number of bytes left in r if r knows it (bytes.Reader,
// strings.Reader, bytes.Buffer), or -1.
func sizeOf(r io.Reader) int64 {
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

func readFile(path string, raw bool) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoint %s: %w", path, pathCause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoint %s: %w", path, pathCause(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("checkpoint %s: not a regular file", path)
	}
	return decode(f, path, st.Size(), raw)
}

// pathCause returns the cause of a file system error without the operation and path
// ("open x: no such file or directory" → "no such file or directory"), which the caller's
// message names already; errors.Is(err, fs.ErrNotExist) and the like still hold.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// formatError reports invalid input; its message names the source and the problem.
type formatError struct {
	src  string
	kind error // ErrInvalid, ErrNotCheckpoint or ErrVersion
	msg  string
}

// Error says, in one line, which file is wrong, how, and what to do; the kind is in the
// wording rather than a second prefix ("checkpoint x: invalid checkpoint: …").
func (e *formatError) Error() string {
	name := "checkpoint"
	if e.src != "" {
		name += " " + e.src
	}
	switch e.kind {
	case ErrVersion:
		return name + ": " + e.msg // says to upgrade copi
	case ErrNotCheckpoint:
		return name + " is not a copi checkpoint: " + e.msg + "; give a checkpoint written by copi (train --checkpoint, compare --checkpoint-dir, compress -o)"
	}
	return name + " is not a valid checkpoint: " + e.msg + "; it cannot be used (was it copied incompletely?) — use another checkpoint or start over"
}
func (e *formatError) Unwrap() error { return e.kind }

// entry is a tensor's header entry.
type entry struct {
	DType   string   `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets []int64  `json:"data_offsets"`
}

// decode reads a checkpoint from r. size is the number of bytes in r, or -1 if unknown;
// src names the input in errors.
func decode(r io.Reader, src string, size int64, raw bool) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return &formatError{src: src, kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
	}
	ioErr := func(what string, err error) error {
		return fmt.Errorf("%s%s: %w", prefix(src), what, err)
	}

	var lenBuf [8]byte
	if n, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("truncated: %d bytes, too short for the 8-byte header length", n)
		}
		return nil, ioErr("read header length", err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	switch {
	case hlen > MaxHeaderSize:
		return nil, bad("header length %d exceeds the maximum %d", hlen, MaxHeaderSize)
	case size >= 0 && int64(hlen) > size-8:
		return nil, bad("header length %d exceeds the %d bytes after the length prefix", hlen, size-8)
	case hlen < 2:
		return nil, bad("header length %d is too short for a JSON object", hlen)
	case !raw && hlen%8 != 0:
		return nil, bad("header length %d is not a multiple of 8 (the header must be space-padded)", hlen)
	}
	hdr, err := readN(r, int64(hlen), size >= 0)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("truncated: header length is %d but only %d header bytes follow", hlen, len(hdr))
		}
		return nil, ioErr("read header", err)
	}

	c, offs, dataLen, sumAt, err := parseHeader(hdr, bad)
	if err != nil {
		return nil, err
	}
	c.src = src

	if size >= 0 {
		if rest := size - 8 - int64(hlen); rest != dataLen {
			return nil, bad("data section is %d bytes, but the header's data_offsets cover %d", rest, dataLen)
		}
	}
	data, err := readN(r, dataLen, size >= 0)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("truncated: data section is %d bytes, but the header's data_offsets cover %d", len(data), dataLen)
		}
		return nil, ioErr("read data", err)
	}
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return nil, bad("trailing bytes after the %d-byte data section the header's data_offsets cover", dataLen)
	case err != io.EOF:
		return nil, ioErr("read data", err)
	}
	// The checksum, where there is one, comes first: a file that matches it is as
	// written, so a complaint about its content cannot be damage in disguise.
	if sum, ok := c.meta[MetaChecksum]; ok && (c.meta[MetaFormat] == FormatName || !raw && strings.HasPrefix(sum, checksumPrefix)) {
		if err := verifyChecksum(src, lenBuf[:], hdr, data, sum, sumAt); err != nil {
			return nil, err
		}
	}
	if !raw {
		if err := checkFormat(c.meta, src); err != nil {
			return nil, err
		}
	}
	for i := range c.tensors {
		// Tensors share the freshly read buffer, which nothing else references.
		c.tensors[i].data = data[offs[i][0]:offs[i][1]:offs[i][1]]
	}
	return c, nil
}

// readN reads exactly n bytes from r. If trusted is false, n comes from an unverified
// header, so the buffer grows with the data actually read rather than being allocated
// up front. On a short read it returns the bytes read and io.ErrUnexpectedEOF.
func readN(r io.Reader, n int64, trusted bool) ([]byte, error) {
	const chunk = 1 << 20
	if trusted || n <= chunk {
		buf := make([]byte, n)
		m, err := io.ReadFull(r, buf)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf[:m], err
	}
	buf := make([]byte, 0, chunk)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(n-int64(len(buf)), int64(cap(buf)))))
		}
		m, err := r.Read(buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if int64(len(buf)) < n {
				return buf, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// parseHeader parses and validates the JSON header. It returns a checkpoint whose
// tensors lack data, ordered as in the data section, their [begin, end) offsets, the
// data section length, and the offset in hdr of the [MetaChecksum] value's JSON
// text (-1 if there is none).
func parseHeader(hdr []byte, bad func(string, ...any) error) (*Checkpoint, [][2]int64, int64, int, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, 0, -1, bad("header is not valid UTF-8")
	}
	if hdr[0] != '{' {
		return nil, nil, 0, -1, bad("header does not start with '{'")
	}
	type parsed struct {
		tensor
		begin, end int64
	}
	var ts []parsed
	var meta map[string]string
	sumAt := -1
	err := parseObject(hdr, func(key string, val json.RawMessage, at int) error {
		if key == metadataKey {
			return parseMeta(val, at, &meta, &sumAt, bad)
		}
		if err := checkName(key); err != nil {
			return bad("%v", err)
		}
		if val[0] != '{' {
			return bad("tensor %q: entry %.40s is not an object", key, val)
		}
		var e entry
		if err := json.Unmarshal(val, &e); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return bad("tensor %q: %q is %s, want %s", key, te.Field, te.Value, jsonKind(te.Type))
			}
			return bad("tensor %q: %v", key, err)
		}
		dt := DType(e.DType)
		size := dt.Size()
		switch {
		case e.DType == "":
			return bad("tensor %q: missing dtype", key)
		case size == 0:
			return bad("tensor %q: unsupported dtype %q (want F32, F64, I64, I32 or U8)", key, e.DType)
		case e.Shape == nil:
			return bad("tensor %q: missing shape", key)
		case len(e.Offsets) != 2:
			return bad("tensor %q: data_offsets %v, want [begin, end]", key, e.Offsets)
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin < 0 || end < begin || end > maxDataSize {
			return bad("tensor %q: invalid data_offsets [%d, %d]", key, begin, end)
		}
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > maxDataSize {
				return bad("tensor %q: invalid dimension %d in shape %v", key, d, *e.Shape)
			}
			shape[i] = int(d)
		}
		n, err := numElements(shape, maxDataSize/int64(size))
		if err != nil {
			return bad("tensor %q: %v", key, err)
		}
		if n*int64(size) != end-begin {
			return bad("tensor %q: shape %v of %s needs %d bytes, but data_offsets [%d, %d] span %d",
				key, shape, dt, n*int64(size), begin, end, end-begin)
		}
		ts = append(ts, parsed{tensor{name: key, dtype: dt, shape: shape}, begin, end})
		return nil
	}, bad)
	if err != nil {
		return nil, nil, 0, -1, err
	}

	// The tensors must tile the data section: sorted by offset, each starts where the
	// previous one ends. Ties (empty tensors) keep header order.
	slices.SortStableFunc(ts, func(a, b parsed) int {
		if a.begin != b.begin {
			return cmpInt64(a.begin, b.begin)
		}
		return cmpInt64(a.end, b.end)
	})
	c := &Checkpoint{meta: meta, index: make(map[string]int, len(ts))}
	offs := make([][2]int64, len(ts))
	var pos int64
	prev := ""
	for i, t := range ts {
		switch {
		case t.begin < pos:
			return nil, nil, 0, -1, bad("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.name, t.begin, t.end, prev, pos)
		case t.begin > pos:
			return nil, nil, 0, -1, bad("tensor %q: data_offsets [%d, %d] leave bytes [%d, %d) of the data section unused", t.name, t.begin, t.end, pos, t.begin)
		}
		pos, prev = t.end, t.name
		c.index[t.name] = i
		c.tensors = append(c.tensors, t.tensor)
		offs[i] = [2]int64{t.begin, t.end}
	}
	return c, offs, pos, sumAt, nil
}

// jsonKind describes the JSON value expected for the Go type t of an entry field.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Pointer:
		return "an array of integers"
	}
	return t.String()
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseMeta parses the "__metadata__" object, found at offset at of the header, into
// *meta, and sets *sumAt to the header offset of the [MetaChecksum] value.
func parseMeta(val json.RawMessage, at int, meta *map[string]string, sumAt *int, bad func(string, ...any) error) error {
	if string(val) == "null" {
		return nil
	}
	*meta = make(map[string]string)
	return parseObject(val, func(key string, v json.RawMessage, vAt int) error {
		var s *string
		if err := json.Unmarshal(v, &s); err != nil || s == nil {
			return bad("metadata %q: value %.40s is not a string", key, v)
		}
		(*meta)[key] = *s
		if key == MetaChecksum {
			*sumAt = at + vAt
		}
		return nil
	}, bad)
}

// parseObject calls fn for each member of the JSON object in data, in order, with the
// offset of the member's value in data, and rejects duplicate keys and anything but
// whitespace after the object.
func parseObject(data []byte, fn func(key string, val json.RawMessage, at int) error, bad func(string, ...any) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	jsonErr := func(err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return bad("header JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if tok != json.Delim('{') {
		return bad("header JSON: %v where an object was expected", tok)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return bad("header JSON: object key %v is not a string", tok)
		}
		if seen[key] {
			return bad("duplicate key %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return jsonErr(err)
		}
		// The decoder stops right after the value. verifyChecksum checks the bytes
		// there, so a wrong offset could only make a file fail to load.
		at := int(dec.InputOffset()) - len(val)
		if err := fn(key, val, at); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return jsonErr(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonErr(err)
		}
		return bad("header JSON: unexpected %v after the object", tok)
	}
	return nil
}

// corruptError reports a checkpoint damaged after it was written; its message names
// the source, the damage and what to do.
type corruptError struct {
	src string
	msg string
}

func (e *corruptError) Error() string {
	name := "checkpoint"
	if e.src != "" {
		name += " " + e.src
	}
	return name + " is corrupt: " + e.msg + "; it cannot be used — resume from an earlier checkpoint or start over"
}

func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, ErrInvalid} }

// verifyChecksum checks the [MetaChecksum] value sum, whose JSON text starts at offset
// sumAt of hdr, against the CRC-32C of the length prefix lenBuf, the header with
// the checksum's digits replaced by zeros, and the data section.
func verifyChecksum(src string, lenBuf, hdr, data []byte, sum string, sumAt int) error {
	corrupt := func(format string, args ...any) error {
		return &corruptError{src: src, msg: fmt.Sprintf(format, args...)}
	}
	digits := sum[min(len(checksumPrefix), len(sum)):]
	if !strings.HasPrefix(sum, checksumPrefix) || len(digits) != len(checksumPlaceholder) ||
		strings.IndexFunc(digits, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) >= 0 {
		return corrupt("checksum %q is not %q followed by 8 lowercase hexadecimal digits", sum, checksumPrefix)
	}
	end := sumAt + len(sum) + 2
	if sumAt < 0 || end > len(hdr) || hdr[sumAt] != '"' || string(hdr[sumAt+1:end-1]) != sum || hdr[end-1] != '"' {
		return corrupt("checksum is not stored literally (it holds escape sequences)")
	}
	at := sumAt + 1 + len(checksumPrefix)
	crc := crc32.Update(0, castagnoli, lenBuf)
	crc = crc32.Update(crc, castagnoli, hdr[:at])
	crc = crc32.Update(crc, castagnoli, checksumPlaceholder)
	crc = crc32.Update(crc, castagnoli, hdr[at+len(checksumPlaceholder):])
	crc = crc32.Update(crc, castagnoli, data)
	var got [8]byte
	putHex32(got[:], crc)
	if string(got[:]) != digits {
		return corrupt("checksum mismatch (stored %s, computed %s%s)", sum, checksumPrefix, got[:])
	}
	return nil
}

// checkFormat verifies the copi format metadata. It runs after verifyChecksum.
func checkFormat(meta map[string]string, src string) error {
	fail := func(kind error, format string, args ...any) error {
		return &formatError{src: src, kind: kind, msg: fmt.Sprintf(format, args...)}
	}
	format, ok := meta[MetaFormat]
	if !ok {
		return fail(ErrNotCheckpoint, "metadata has no %q key (a plain safetensors file?)", MetaFormat)
	}
	if format != FormatName {
		return fail(ErrNotCheckpoint, "metadata %q is %q, want %q", MetaFormat, format, FormatName)
	}
	vs, ok := meta[MetaFormatVersion]
	if !ok {
		return fail(ErrNotCheckpoint, "metadata has no %q key", MetaFormatVersion)
	}
	v, err := strconv.Atoi(vs)
	if err != nil || v < 1 {
		return fail(ErrInvalid, "metadata %q is %q, want a positive integer", MetaFormatVersion, vs)
	}
	if v > FormatVersion {
		return fail(ErrVersion, "format_version %d is newer than this build reads (%d); upgrade copi", v, FormatVersion)
	}
	if _, ok := meta[MetaChecksum]; v >= 2 && !ok {
		return &corruptError{src: src, msg: fmt.Sprintf("metadata has no %q key, which format_version %d requires", MetaChecksum, v)}
	}
	return nil
}

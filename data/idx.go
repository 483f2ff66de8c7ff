package data

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// IDX is the content of an IDX file of unsigned bytes (the format of MNIST,
// Fashion-MNIST and KMNIST): its dimensions and its data in row-major order.
type IDX struct {
	Dims []int
	Data []byte
}

// idxTypeNames names the IDX element types that copi does not read.
var idxTypeNames = map[byte]string{
	0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// maxPayload bounds what a header may claim (16 GiB), so that a corrupt
// header produces an error rather than an enormous allocation.
const maxPayload = 16 << 30

// ReadIDX reads an IDX file of unsigned bytes from r. The data may be gzipped
// or raw; gzip is recognised by its magic number, not by the file name. name
// is used in error messages. ReadIDX checks the magic number, the element
// type, the dimensions, and that the data is exactly as long as the header
// says: neither truncated nor followed by trailing bytes.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	idx, _, err := readIDX(r, name, -1, -1)
	return idx, err
}

// ReadIDXFile reads the IDX file at path (gzipped or raw).
func ReadIDXFile(path string) (*IDX, error) {
	idx, _, err := readIDXFile(path)
	return idx, err
}

// digests holds the SHA-256 of a file and of its decompressed content.
type digests struct{ File, Content string }

// readIDXFile reads path and also returns the digests of its bytes and of its
// (decompressed) content.
func readIDXFile(path string) (*IDX, digests, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, digests{}, err
	}
	defer f.Close()
	size, isize := fileSizes(f)
	return readIDX(f, path, size, isize)
}

// fileSizes returns the size of a regular file and, when it is gzipped, the
// size its gzip trailer records for the content (modulo 2³²); -1 if unknown.
func fileSizes(f *os.File) (size, isize int64) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1, -1
	}
	size, isize = st.Size(), -1
	var b [4]byte
	if size >= 18 {
		if _, err := f.ReadAt(b[:2], 0); err == nil && b[0] == 0x1f && b[1] == 0x8b {
			if _, err := f.ReadAt(b[:], size-4); err == nil {
				isize = int64(binary.LittleEndian.Uint32(b[:]))
			}
		}
	}
	return size, isize
}

// sniffGzip wraps r in a gzip reader when it starts with the gzip magic. It
// returns the reader of the content and whether it was compressed.
func sniffGzip(r io.Reader, name string) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, formatErr(name, "corrupt gzip header: %v", err)
		}
		zr.Multistream(true)
		return zr, true, nil
	}
	return br, false, nil
}

// readIDX reads an IDX stream. fileSize, when known (>= 0) and the data is
// not compressed, lets truncation be reported before any allocation; isize,
// the gzip trailer's content size, lets the buffer be allocated once when it
// agrees with the header.
func readIDX(r io.Reader, name string, fileSize, isize int64) (*IDX, digests, error) {
	fileHash := sha256.New()
	teed := io.TeeReader(r, fileHash)
	content, gz, err := sniffGzip(teed, name)
	if err != nil {
		return nil, digests{}, err
	}
	contentHash := sha256.New()
	cr := io.TeeReader(content, contentHash)
	var head [4]byte
	if n, err := io.ReadFull(cr, head[:]); err != nil {
		return nil, digests{}, readErr(name, gz, err, "too short for an IDX header: %d bytes", n)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, digests{}, formatErr(name, "not an IDX file: magic bytes % x, want 00 00 08 0N%s", head[:], hintGz(gz))
	}
	if head[2] != 0x08 {
		if t, ok := idxTypeNames[head[2]]; ok {
			return nil, digests{}, formatErr(name, "IDX element type 0x%02x (%s) is not supported, want 0x08 (unsigned byte)", head[2], t)
		}
		return nil, digests{}, formatErr(name, "unknown IDX element type 0x%02x, want 0x08 (unsigned byte)", head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, digests{}, formatErr(name, "IDX header says %d dimensions, want 1 to 4", nd)
	}
	dimBytes := make([]byte, 4*nd)
	if n, err := io.ReadFull(cr, dimBytes); err != nil {
		return nil, digests{}, readErr(name, gz, err, "truncated IDX header: %d dimensions need %d bytes, file has %d", nd, 4*nd, n)
	}
	dims := make([]int, nd)
	want := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		dims[i] = int(d)
		if d != 0 && want > maxPayload/int64(d) {
			return nil, digests{}, formatErr(name, "IDX header claims an implausible size: %s", describeDims(dims[:i+1]))
		}
		want *= int64(d)
	}
	headerLen := int64(4 + 4*nd)
	if !gz && fileSize >= 0 && fileSize-headerLen < want {
		return nil, digests{}, formatErr(name, "truncated: header says %s (%d bytes), file has %d after the %d-byte header",
			describeDims(dims), want, fileSize-headerLen, headerLen)
	}
	prealloc := min(want, 1<<20)
	if (!gz && fileSize >= 0) || (gz && isize >= 0 && uint32(want+headerLen) == uint32(isize)) {
		prealloc = want
	}
	payload, got, err := readExactly(cr, want, prealloc)
	if err != nil {
		return nil, digests{}, readErr(name, gz, err, "reading data")
	}
	if got < want {
		return nil, digests{}, formatErr(name, "truncated: header says %s (%d bytes), file has %d after the %d-byte header%s",
			describeDims(dims), want, got, headerLen, ifGz(gz, " (decompressed)"))
	}
	// Trailing data: count it (to the end of the stream) for the message.
	extra, err := io.Copy(io.Discard, cr)
	if err != nil {
		return nil, digests{}, readErr(name, gz, err, "reading after the data")
	}
	if extra > 0 {
		return nil, digests{}, formatErr(name, "trailing data: header says %s (%d bytes), file has %d more bytes after them%s",
			describeDims(dims), want, extra, ifGz(gz, " (decompressed)"))
	}
	if gz {
		// Drain the compressed stream so that the file digest covers all of it.
		if _, err := io.Copy(io.Discard, teed); err != nil {
			return nil, digests{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &IDX{Dims: dims, Data: payload},
		digests{File: hexSum(fileHash), Content: hexSum(contentHash)}, nil
}

// readExactly reads want bytes from r. It returns fewer (and a nil error) when
// r ends early. Allocation grows with the data actually read, so a header
// that lies about the size cannot make it allocate much more than the input.
//
// prealloc is the initial capacity: up to want when the size is trusted.
func readExactly(r io.Reader, want, prealloc int64) ([]byte, int64, error) {
	buf := make([]byte, 0, min(want, prealloc))
	for int64(len(buf)) < want {
		if len(buf) == cap(buf) {
			next := min(want, max(int64(cap(buf))*2, 4096))
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return buf, int64(len(buf)), nil
		}
		if err != nil {
			return nil, int64(len(buf)), err
		}
	}
	return buf, want, nil
}

// readErr turns a read failure into a one-line error; an early end of input
// becomes the given format message.
func readErr(name string, gz bool, err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr(name, format, args...)
	}
	if gz && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || isFlateErr(err)) {
		return formatErr(name, "corrupt gzip stream: %v", err)
	}
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), err)
}

// isFlateErr reports whether err comes from the deflate decoder.
func isFlateErr(err error) bool {
	return strings.HasPrefix(err.Error(), "flate: ")
}

// describeDims renders dimensions as "60000 images of 28×28", "60000 labels"
// or "shape 2×3×4×5".
func describeDims(dims []int) string {
	switch len(dims) {
	case 1:
		return fmt.Sprintf("%d labels", dims[0])
	case 3:
		return fmt.Sprintf("%d images of %d×%d", dims[0], dims[1], dims[2])
	}
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return "shape " + strings.Join(s, "×")
}

func hintGz(gz bool) string {
	if gz {
		return " (after gunzip)"
	}
	return ""
}

func ifGz(gz bool, s string) string {
	if gz {
		return s
	}
	return ""
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// idxImages checks that idx holds images (N×H×W) and returns N, H, W.
func idxImages(idx *IDX, name string) (n, h, w int, err error) {
	if len(idx.Dims) != 3 {
		return 0, 0, 0, formatErr(name, "want an images file (3 dimensions: count×height×width), header has %s", describeDims(idx.Dims))
	}
	n, h, w = idx.Dims[0], idx.Dims[1], idx.Dims[2]
	if n == 0 || h == 0 || w == 0 {
		return 0, 0, 0, formatErr(name, "empty images file: header says %s", describeDims(idx.Dims))
	}
	return n, h, w, nil
}

// idxLabels checks that idx holds labels (N) below classes (when > 0).
func idxLabels(idx *IDX, name string, classes int) ([]uint8, error) {
	if len(idx.Dims) != 1 {
		return nil, formatErr(name, "want a labels file (1 dimension), header has %s", describeDims(idx.Dims))
	}
	if classes > 0 {
		if err := checkLabels(idx.Data, classes, name); err != nil {
			return nil, err
		}
	}
	return idx.Data, nil
}

// checkLabels reports the first label that is not below classes.
func checkLabels(labels []uint8, classes int, name string) error {
	for i, l := range labels {
		if int(l) >= classes {
			return formatErr(name, "label %d at index %d is out of range for %d classes", l, i, classes)
		}
	}
	return nil
}

// maxLabel returns the largest label, or -1 when there is none.
func maxLabel(labels ...[]uint8) int {
	m := -1
	for _, ls := range labels {
		for _, l := range ls {
			m = max(m, int(l))
		}
	}
	return m
}

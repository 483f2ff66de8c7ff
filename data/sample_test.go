package data

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/copi-learn/copi/data/internal/sampling"
)

const debianDir = "/usr/share/datasets/fashion-mnist"

func TestSample(t *testing.T) {
	ds, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 5000 || ds.Test.Len() != 1000 || ds.Classes != 10 || ds.Dim() != 784 || !ds.Embedded {
		t.Fatalf("got %v", ds)
	}
	if ds.Source != "embedded sample (5000 train / 1000 test)" {
		t.Errorf("source %q", ds.Source)
	}
	for _, s := range []Split{ds.Train, ds.Test} {
		count := make([]int, 10)
		for _, l := range s.Labels {
			count[l]++
		}
		for c, n := range count {
			if n != s.Len()/10 {
				t.Errorf("class %d: %d examples", c, n)
			}
		}
	}
	var total int64
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		st, err := os.Stat(filepath.Join("sample", name))
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size()
	}
	if total > 3<<20 {
		t.Errorf("embedded sample is %d bytes, want < 3 MiB", total)
	}
}

// TestSampleMatchesDebian re-derives the sample from the full dataset and
// compares it with the embedded files.
func TestSampleMatchesDebian(t *testing.T) {
	if _, missing := idxPaths(debianDir); len(missing) > 0 {
		t.Skipf("Debian's dataset-fashion-mnist is not installed (%s); apt-get install dataset-fashion-mnist to run this test", debianDir)
	}
	full, err := Load(context.Background(), "fashion-mnist", Options{Dirs: []string{debianDir}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range full.Files {
		if !f.Verified {
			t.Errorf("%s not verified", f.Path)
		}
	}
	sample, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	pairs := []struct {
		full, sample Split
		per          int
	}{{full.Train, sample.Train, sampling.TrainPerClass}, {full.Test, sample.Test, sampling.TestPerClass}}
	for _, p := range pairs {
		keep, err := sampling.Balanced(p.full.Labels, p.per, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(keep) != p.sample.Len() {
			t.Fatalf("%d kept, sample has %d", len(keep), p.sample.Len())
		}
		for i, k := range keep {
			if p.full.Labels[k] != p.sample.Labels[i] {
				t.Fatalf("row %d: label %d, want %d", i, p.sample.Labels[i], p.full.Labels[k])
			}
			a, b := p.full.X.Row(k), p.sample.X.Row(i)
			for j := range a {
				if a[j] != b[j] {
					t.Fatalf("row %d (full %d) differs at %d", i, k, j)
				}
			}
		}
	}
}

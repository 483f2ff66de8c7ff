package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// assertOnly fails if dir holds anything but the listed names (e.g. leftover temp files).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("unexpected file left in %s: %s", dir, e.Name())
		}
	}
	if len(ents) != len(names) {
		t.Errorf("dir has %d entries, want %d", len(ents), len(names))
	}
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	if err := Write(p, []byte("first"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("second, longer"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "second, longer" {
		t.Fatalf("content %q", got)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("perm %v, want 0640", st.Mode().Perm())
		}
	}
	assertOnly(t, dir, "f.bin")
}

func TestFailingWriterKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	if err := Write(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFile(p, 0o644, func(w io.Writer) error {
		// Write more than the buffer so that some bytes reach the temp file.
		if _, err := w.Write(bytes.Repeat([]byte("x"), 3*bufSize)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("old content lost: %q", got)
	}
	assertOnly(t, dir, "f.bin")
}

func TestFailingWriterNoTarget(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.bin")
	err := WriteFile(p, 0o644, func(w io.Writer) error { return errors.New("nope") })
	if err == nil {
		t.Fatal("want error")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("target created despite failure: %v", err)
	}
	assertOnly(t, dir)
}

func TestPanickingWriterCleansUp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	if err := Write(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("expected panic")
			}
		}()
		_ = WriteFile(p, 0o644, func(w io.Writer) error {
			w.Write([]byte("partial"))
			panic("writer panicked")
		})
	}()
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("old content lost: %q", got)
	}
	assertOnly(t, dir, "f.bin")
}

func TestMissingDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "f.bin")
	if err := Write(p, []byte("x"), 0o644); err == nil {
		t.Fatal("want error for missing directory")
	}
}

func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := Write("rel.bin", []byte("rel"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "rel.bin"))
	if err != nil || string(got) != "rel" {
		t.Fatalf("got %q, %v", got, err)
	}
	assertOnly(t, dir, "rel.bin")
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	const writers = 16
	const size = 200_000 // bigger than one buffer, so writes interleave
	content := func(i int) []byte {
		return bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	if err := Write(p, content(0), 0o644); err != nil {
		t.Fatal(err)
	}
	// A reader polls the path throughout and must only ever see complete contents.
	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := os.ReadFile(p)
			if err != nil {
				readerErr <- err
				return
			}
			if len(got) != size || !bytes.Equal(got, bytes.Repeat(got[:1], size)) {
				readerErr <- fmt.Errorf("reader saw a torn file of %d bytes", len(got))
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = WriteFile(p, 0o644, func(w io.Writer) error {
				// Write in small chunks to maximise interleaving.
				c := content(i)
				for len(c) > 0 {
					n := min(len(c), 4096)
					if _, err := w.Write(c[:n]); err != nil {
						return err
					}
					c = c[n:]
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(done)
	if err := <-readerErr; err != nil {
		t.Error(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for i := range writers {
		if bytes.Equal(got, content(i)) {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("final file (len %d, first byte %q) is not any writer's complete content", len(got), got[:min(1, len(got))])
	}
	assertOnly(t, dir, "f.bin")
}

func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "atomicfile-example")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "state.txt")
	err := WriteFile(p, 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "step=%d\n", 42)
		return err
	})
	fmt.Println(err)
	b, _ := os.ReadFile(p)
	fmt.Print(string(b))
	// Output:
	// <nil>
	// step=42
}

package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// skipWithoutCleanup skips tests of stale-temporary removal where it is not done.
func skipWithoutCleanup(t *testing.T) {
	t.Helper()
	if !cleansStale {
		t.Skipf("stale temporary files are not removed on %s", runtime.GOOS)
	}
}

// age sets the modification time of each file to an hour ago.
func age(t *testing.T, paths ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// temps returns the temporary files of dest in dir.
func temps(t *testing.T, dir, dest string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "."+dest+".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStaleTempRemoved leaves temporary files as a killed writer would and checks
// that the next write to the same destination removes the old ones, and only those.
func TestStaleTempRemoved(t *testing.T) {
	skipWithoutCleanup(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	stale := filepath.Join(dir, ".f.bin.tmp-123456789")
	fresh := filepath.Join(dir, ".f.bin.tmp-987654321") // a writer may just have created it
	others := []string{
		".f.bin.tmp-12x",     // not a name WriteFile makes
		".f.bin.tmp-",        // ditto
		"f.bin.tmp-123",      // ditto
		".g.bin.tmp-123",     // another destination's
		".f.bin.tmp-1.tmp-2", // ditto
		"f.bin.bak",
	}
	for _, name := range append([]string{stale, fresh}, others...) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), bytes.Repeat([]byte("x"), 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	age(t, stale)
	for _, name := range others {
		age(t, filepath.Join(dir, name))
	}
	// A directory with a temporary file's name is not touched either.
	sub := filepath.Join(dir, ".f.bin.tmp-555")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	age(t, sub)

	if err := Write(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file %s survived the next write: %v", stale, err)
	}
	assertOnly(t, dir, append([]string{"f.bin", filepath.Base(fresh), filepath.Base(sub)}, others...)...)
}

// TestLiveWriterTempKept checks that a write never removes the temporary file of a
// concurrent writer, however long that writer has been idle.
func TestLiveWriterTempKept(t *testing.T) {
	skipWithoutCleanup(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- WriteFile(p, 0o644, func(w io.Writer) error {
			if _, err := w.Write(bytes.Repeat([]byte("a"), 2*bufSize)); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	live := temps(t, dir, "f.bin")
	if len(live) != 1 {
		t.Fatalf("want the live writer's temporary file, found %v", live)
	}
	age(t, live[0]) // the writer has been stuck for an hour
	if err := Write(p, []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live[0]); err != nil {
		t.Fatalf("a concurrent write removed the live writer's temporary file: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("live writer: %v", err)
	}
	if got, _ := os.ReadFile(p); len(got) != 2*bufSize {
		t.Errorf("final content has %d bytes, want the live writer's %d", len(got), 2*bufSize)
	}
	assertOnly(t, dir, "f.bin")
}

// helperEnv names the destination for TestHelperKilledWriter.
const helperEnv = "ATOMICFILE_TEST_KILLED_WRITER"

// TestHelperKilledWriter is not a test: TestKilledWriterTempRemoved runs it in a child
// process, which starts a write, says so and waits to be killed.
func TestHelperKilledWriter(t *testing.T) {
	p := os.Getenv(helperEnv)
	if p == "" {
		t.Skip("helper process for TestKilledWriterTempRemoved")
	}
	_ = WriteFile(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("k"), 4*bufSize)); err != nil {
			return err
		}
		os.Stdout.WriteString("writing\n")
		time.Sleep(time.Hour)
		return nil
	})
}

// TestKilledWriterTempRemoved kills a process in the middle of a write, as SIGKILL or
// an out-of-memory kill would, and checks that the next write removes the temporary
// file it left once that file is old enough.
func TestKilledWriterTempRemoved(t *testing.T) {
	skipWithoutCleanup(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledWriter$")
	cmd.Env = append(os.Environ(), helperEnv+"="+p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "writing") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper did not start writing: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	left := temps(t, dir, "f.bin")
	if len(left) != 1 {
		t.Fatalf("want the killed writer's temporary file, found %v", left)
	}
	// A young file is kept: its writer may only just have created it.
	if err := Write(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "f.bin", filepath.Base(left[0]))
	age(t, left[0])
	if err := Write(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "f.bin")
}

// Package atomicfile replaces files atomically: a reader of the path sees either the
// complete old content or the complete new content, never a mixture or a truncated file,
// even if the process crashes or the machine loses power part way through.
//
// The new content is written to a temporary file in the same directory as the target
// (so that the final rename stays within one file system), flushed to stable storage,
// renamed over the target, and then the directory itself is flushed so that the rename
// survives a crash. If anything fails before the rename, the temporary file is removed
// and the old file is left exactly as it was.
//
// Concurrent writers to the same path do not corrupt each other: each uses its own
// temporary file, and the last rename wins.
//
// A writer killed part way (SIGKILL, an out-of-memory kill, a power cut) cannot remove
// its temporary file; the next write to the same path does, as [WriteFile] describes.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// bufSize is the size of the buffer placed between the write callback and the file.
const bufSize = 256 << 10

// WriteFile atomically replaces the file at path with the bytes that write produces.
//
// write is called once with a buffered writer onto a temporary file in path's directory;
// it must not retain the writer. If write returns an error (or panics), or if flushing,
// syncing, closing or renaming fails, the temporary file is removed, the file at path is
// left untouched, and the error is returned with context.
//
// The new file gets exactly the permission bits perm (the process umask is not applied).
// If path is a symbolic link, the link itself is replaced by a regular file.
//
// An error while syncing the directory after a successful rename is still reported: at
// that point path already holds the new content, but its durability across a crash is
// not guaranteed.
//
// The temporary file is named ".BASE.tmp-N", BASE being path's last element and N a
// random decimal number. Before creating its own, WriteFile removes the temporary files
// of the same path that writers which died left behind: those that no live writer holds
// and that have not been modified for a minute. Every writer holds an exclusive
// flock(2) lock on its temporary file from just after creating it until after the
// rename; the kernel drops the lock when the process dies however it dies, so a file
// that can be locked has no live writer. The minute covers the instant between
// creation and locking (and writers of older versions, which take no lock). Files
// that cannot be locked because the file system has no locks are kept, as is anything
// not named exactly like a temporary file of path. Where flock(2) does not exist
// (Windows, for one), nothing is removed. The removal is best effort and never makes
// the write fail.
func WriteFile(path string, perm fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base)
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	tmp := f.Name()
	// The lock, on a descriptor of its own, outlives f, which is closed before the rename.
	if lock := lockTemp(tmp); lock != nil {
		defer lock.Close()
	}
	renamed := false
	defer func() {
		// Runs on error returns and on panics from write alike.
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	if err := f.Chmod(perm.Perm()); err != nil {
		return fmt.Errorf("atomicfile: write %s: set permissions: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, bufSize)
	if err := write(bw); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: write %s: close: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("atomicfile: write %s: sync directory: %w", path, err)
	}
	return nil
}

// Write atomically replaces the file at path with data; see [WriteFile].
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir flushes the directory entry changes of dir to stable storage. Windows cannot
// open directories for syncing; there the rename is as durable as the OS makes it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		// Some file systems do not support fsync on directories.
		return nil
	}
	return err
}

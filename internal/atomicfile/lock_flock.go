//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package atomicfile

import (
	"os"
	"syscall"
)

// cleansStale reports whether WriteFile removes stale temporary files here: it needs
// flock(2) to tell a live writer's file from a dead one's.
const cleansStale = true

// lockTemp takes an exclusive lock on the temporary file at path through a descriptor
// of its own, which stays open, and the lock held, until the returned file is closed
// (or the process dies). It returns nil if the lock cannot be taken, as on file systems
// without locks; the file is then never taken for stale.
func lockTemp(path string) *os.File {
	f, err := openNoFollow(path)
	if err != nil {
		return nil
	}
	if !tryLock(f) {
		f.Close()
		return nil
	}
	return f
}

// tryLock takes an exclusive flock(2) lock on f without waiting, and reports whether
// it did. The lock is released when f is closed.
func tryLock(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var lockErr error
	if err := rc.Control(func(fd uintptr) {
		lockErr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return false
	}
	return lockErr == nil
}

// openNoFollow opens path for reading, refusing a symbolic link.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package atomicfile

import "os"

// cleansStale reports whether WriteFile removes stale temporary files here. Without
// flock(2) a live writer's file cannot be told from a dead one's, so it does not.
const cleansStale = false

// lockTemp does nothing here (see cleansStale).
func lockTemp(path string) *os.File { return nil }

// tryLock reports false here (see cleansStale).
func tryLock(f *os.File) bool { return false }

// openNoFollow opens path for reading.
func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

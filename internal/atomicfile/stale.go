package atomicfile

import (
	"os"
	"path/filepath"
	"time"
)

// staleAge is how long a temporary file must have gone unmodified before a later write
// may remove it, in addition to its writer being gone (see [WriteFile]).
const staleAge = time.Minute

// tempPrefix is the start of the name of every temporary file for the destination
// base; os.CreateTemp appends a decimal number.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// isTempName reports whether name is a temporary file name that WriteFile makes with
// prefix: the prefix followed by decimal digits only.
func isTempName(name, prefix string) bool {
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return false
	}
	for _, c := range name[len(prefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeStale removes the temporary files of the destination base in dir that were
// left by writers that died (see [WriteFile] for the rule). It is best effort: a
// directory it cannot read or a file it cannot remove is left as it is, since the write
// about to happen does not depend on it.
func removeStale(dir, base string) {
	if !cleansStale {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	prefix := tempPrefix(base)
	now := time.Now()
	for {
		ents, err := d.ReadDir(256)
		for _, e := range ents {
			if e.Type().IsRegular() && isTempName(e.Name(), prefix) {
				removeIfStale(filepath.Join(dir, e.Name()), now)
			}
		}
		if err != nil {
			return
		}
	}
}

// removeIfStale removes the temporary file at path if it has not been modified for
// staleAge and no writer holds its lock.
func removeIfStale(path string, now time.Time) {
	f, err := openNoFollow(path)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || now.Sub(st.ModTime()) < staleAge {
		return
	}
	if !tryLock(f) {
		return // a live writer holds it, or the file system has no locks
	}
	// The name must still be the file that was locked.
	if cur, err := os.Lstat(path); err != nil || !os.SameFile(cur, st) {
		return
	}
	os.Remove(path)
}

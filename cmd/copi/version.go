package main

import (
	"runtime/debug"
	"strings"
)

// version describes this build for `copi --version`: the main module's version ("(devel)"
// for a build from a checkout), then, when the build recorded them, the commit (with
// "-dirty" if the work tree had changes) and its date, e.g. "(devel) 488c546 2026-12-03".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	parts := []string{v}
	var rev, date string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		rev = rev[:min(7, len(rev))]
		if !strings.Contains(v, rev) { // a pseudo-version names the commit (and +dirty) already
			if dirty {
				rev += "-dirty"
			}
			parts = append(parts, rev)
		}
	}
	if date != "" {
		parts = append(parts, date)
	}
	return strings.Join(parts, " ")
}

package data

import (
	"errors"
	"fmt"
)

// ErrNotFound reports that a dataset's files are not present anywhere copi
// looks. Errors wrapping it say how to get the files.
var ErrNotFound = errors.New("dataset not found")

// ErrFormat is wrapped by every error about malformed file contents.
var ErrFormat = errors.New("malformed data file")

// ChecksumError reports a file whose SHA-256 differs from the registry's.
type ChecksumError struct {
	File string // the file (or archive member) checked
	What string // "file" or "decompressed content"
	Want string // expected hex digest
	Got  string // computed hex digest
}

// Error implements error: "FILE: SHA-256 mismatch: expected X, found Y".
func (e *ChecksumError) Error() string {
	what := ""
	if e.What != "" && e.What != "file" {
		what = " of " + e.What
	}
	return fmt.Sprintf("%s: SHA-256 mismatch%s: expected %s, found %s", e.File, what, e.Want, e.Got)
}

// formatErr builds a one-line error "file: problem" that wraps ErrFormat.
func formatErr(file, format string, args ...any) error {
	return fmt.Errorf("%s: %s%w", file, fmt.Sprintf(format, args...), errSilent{ErrFormat})
}

// errSilent wraps an error for errors.Is without adding text to the message.
type errSilent struct{ err error }

func (e errSilent) Error() string { return "" }
func (e errSilent) Unwrap() error { return e.err }

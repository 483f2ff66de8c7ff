package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/copi-learn/copi/internal/atomicfile"
)

// RecoverTornTail repairs a metrics file whose last line a killed run left torn, before
// anything is appended to it (appending onto a torn line would fuse the two into one
// corrupt line in the middle of the file, which every later read rejects).
//
// When the file's last line lacks its newline and is not a complete JSON object, its bytes
// are first written (atomically, durably) to a side file named path + ".torn-" + a UTC
// timestamp, and only then is the metrics file truncated to its last complete line and
// synced; the side file's name is returned. When the unterminated last line is complete
// JSON, or only blanks, the missing newline is appended and "" is returned. A file that is
// missing, empty or ends with a newline is left alone ("", nil).
//
// No other process may write the file meanwhile.
func RecoverTornTail(path string) (sideFile string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("recover torn tail: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recover torn tail of %s: %w", path, cerr)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("recover torn tail: %w", err)
	}
	start, tail, err := lastLine(f, fi.Size())
	if err != nil {
		return "", fmt.Errorf("recover torn tail of %s: %w", path, err)
	}
	if len(tail) == 0 || tail[len(tail)-1] == '\n' {
		return "", nil
	}
	if t := bytes.TrimSpace(tail); len(t) == 0 || (t[0] == '{' && json.Valid(t)) {
		// A complete line that only lacks its newline.
		if _, err := f.WriteAt([]byte{'\n'}, fi.Size()); err != nil {
			return "", fmt.Errorf("recover torn tail of %s: append newline: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return "", fmt.Errorf("recover torn tail of %s: sync: %w", path, err)
		}
		return "", nil
	}
	side, err := sideName(path)
	if err != nil {
		return "", fmt.Errorf("recover torn tail of %s: %w", path, err)
	}
	// The bytes are safe in the side file before the metrics file loses them.
	if err := atomicfile.Write(side, tail, fi.Mode().Perm()); err != nil {
		return "", fmt.Errorf("recover torn tail of %s: %w", path, err)
	}
	if err := f.Truncate(start); err != nil {
		return "", fmt.Errorf("recover torn tail of %s: truncate to %d bytes: %w", path, start, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("recover torn tail of %s: sync: %w", path, err)
	}
	return side, nil
}

// lastLine returns the offset and bytes of the file's unterminated last line, reading
// backwards from size; when the file ends with a newline it returns just that newline.
func lastLine(f io.ReaderAt, size int64) (int64, []byte, error) {
	if size == 0 {
		return 0, nil, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return 0, nil, err
	}
	if last[0] == '\n' {
		return size - 1, last, nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	for end > 0 {
		off := max(0, end-chunk)
		b := buf[:end-off]
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, nil, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			off += int64(i) + 1
			end = off
			break
		}
		end = off
	}
	tail := make([]byte, size-end)
	if _, err := f.ReadAt(tail, end); err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, err
	}
	return end, tail, nil
}

// sideName returns a name for the torn bytes of path that no file has yet.
func sideName(path string) (string, error) {
	base := path + ".torn-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	name := base
	for i := 2; ; i++ {
		_, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

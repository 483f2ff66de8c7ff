package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataListJSON(t *testing.T) {
	cache := t.TempDir()
	out, _, err := run(t, "data", "list", "--json", "--no-system", "--cache-dir", cache)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("want one line per dataset (4 registered and the sample):\n%s", out)
	}
	byName := map[string]map[string]string{}
	for _, l := range lines {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		for _, k := range []string{"name", "status", "where", "description"} {
			if m[k] == "" {
				t.Errorf("line %s lacks %s", l, k)
			}
		}
		byName[m["name"]] = m
	}
	if m := byName["kmnist"]; m["status"] != "missing" || m["where"] != "copi data get kmnist" {
		t.Errorf("kmnist: %v", m)
	}
	if m := byName["fashion-mnist-sample"]; m["status"] != "embedded" {
		t.Errorf("sample: %v", m)
	}
	// An installed dataset is present, where it is.
	writeIDX(t, filepath.Join(cache, "kmnist"))
	out, _, _ = run(t, "data", "list", "--json", "--no-system", "--cache-dir", cache)
	if !strings.Contains(out, `{"name":"kmnist","status":"present","where":"`+filepath.Join(cache, "kmnist")+`","kind":"cache"`) {
		t.Errorf("installed kmnist:\n%s", out)
	}
}

// writeIDX creates the four (empty) files of an IDX dataset in dir: enough for data list.
func writeIDX(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/copi-learn/copi/study"
)

// FuzzStudy: any study file is read and planned without a panic; either reading or planning
// fails with an error, or the planned runs are numbered 0..n-1 in order and have distinct keys
// (two runs with one key would share a line of results and a checkpoint).
func FuzzStudy(f *testing.F) {
	f.Add([]byte(studyYAML))
	f.Add([]byte("base: mnist/copi-bp\nrules: [copi-fa, nope]\nseeds: [1]\n"))
	f.Add([]byte("runs:\n  - {label: x, preset: cifar10/copi-bp, config: {sizes: [3072, 0, 10]}}\n"))
	f.Add([]byte("config: {optimizer: {name: adam, lr: -1}, batch_size: -3}\nepochs: -2\n"))
	f.Add([]byte("{\"base\": \"mnist/bp-adam\", \"seeds\": [], \"data\": [\"\"]}"))
	f.Add([]byte("seeds: [1, 1]\nruns:\n  - {label: x}\n  - {label: x}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "study.yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := study.Read(p)
		if err != nil {
			return
		}
		plan, err := st.Plan(nil)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for i, r := range plan {
			if r.Index != i {
				t.Fatalf("run %d has index %d", i, r.Index)
			}
			if seen[r.Key] {
				t.Fatalf("two planned runs have the key %q", r.Key)
			}
			seen[r.Key] = true
			_ = r.Cfg.Validate()
		}
	})
}

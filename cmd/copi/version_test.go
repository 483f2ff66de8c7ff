package main

import (
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	out, _, err := run(t, "--version")
	if err != nil || out != "copi "+version()+"\n" {
		t.Errorf("--version: %q, %v", out, err)
	}
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "488c546f00d1e2a3b4c5d6e7f8091a2b3c4d5e6f"}, {Key: "vcs.time", Value: "2026-12-03T10:11:12Z"},
		{Key: "vcs.modified", Value: "false"}}}
	if got := formatVersion(bi); got != "(devel) 488c546 2026-12-03" {
		t.Errorf("devel build: %q", got)
	}
	bi.Settings[2].Value = "true"
	if got := formatVersion(bi); got != "(devel) 488c546-dirty 2026-12-03" {
		t.Errorf("modified work tree: %q", got)
	}
	bi.Main.Version = "v0.0.0-20261203101112-488c546f00d1+dirty" // the pseudo-version names the commit
	if got := formatVersion(bi); got != "v0.0.0-20261203101112-488c546f00d1+dirty 2026-12-03" {
		t.Errorf("pseudo-version: %q", got)
	}
	if got := formatVersion(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}); got != "v1.2.0" {
		t.Errorf("release without VCS data: %q", got)
	}
}

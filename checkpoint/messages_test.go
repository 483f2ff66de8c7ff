package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The errors of Read reach the command line as they are: each names the file once, says
// what is wrong without a doubled prefix ("checkpoint x: invalid checkpoint: …"), says
// what to do, and gives no advice about this package's API (ReadRaw) to a user who
// cannot call it.
func TestReadErrorsAreOneLineWithoutDoubledPrefixOrAPIAdvice(t *testing.T) {
	u8 := `,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`
	valid := craft(`{`+copiMeta+u8, []byte{1, 2})
	cases := []struct {
		name  string
		file  []byte
		kind  error
		wants []string
	}{
		{"truncated", valid[:len(valid)-1], ErrInvalid, []string{"is not a valid checkpoint:", "use another checkpoint or start over"}},
		{"empty", nil, ErrInvalid, []string{"is not a valid checkpoint:", "too short"}},
		{"plain safetensors", craft(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}), ErrNotCheckpoint,
			[]string{"is not a copi checkpoint:", `no "format" key`, "give a checkpoint written by copi"}},
		{"other format", craft(`{"__metadata__":{"format":"pt"}`+u8, []byte{1, 2}), ErrNotCheckpoint,
			[]string{"is not a copi checkpoint:", `"format" is "pt"`}},
		{"newer version", craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"9"}`+u8, []byte{1, 2}), ErrVersion,
			[]string{"format_version 9 is newer", "upgrade copi"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		p := filepath.Join(dir, "bad.ckpt")
		if err := os.WriteFile(p, tc.file, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		t.Logf("%s: %s", tc.name, msg)
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v is not %v", tc.name, err, tc.kind)
		}
		if !strings.HasPrefix(msg, "checkpoint "+p) || strings.Count(msg, p) != 1 {
			t.Errorf("%s: %q does not start with the file, named once", tc.name, msg)
		}
		for _, bad := range []string{"ReadRaw", "Decode", ": invalid checkpoint:", ": not a copi checkpoint:", ": unsupported checkpoint version:", "\n"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%s: %q contains %q", tc.name, msg, bad)
			}
		}
		for _, w := range tc.wants {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not say %q", tc.name, msg, w)
			}
		}
	}
}

// A checkpoint that is not there is named once, without "open" or a doubled prefix, and
// is still fs.ErrNotExist for callers that check.
func TestMissingCheckpointError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.ckpt")
	_, err := Read(p)
	if err == nil || err.Error() != "cannot read checkpoint "+p+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing checkpoint: %v", err)
	}
}

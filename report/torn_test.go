package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	goodA = `{"run":"a@1","epoch":0,"epoch_fraction":1,"test_acc":0.5}` + "\n"
	goodB = `{"run":"a@1","epoch":1,"epoch_fraction":1,"test_acc":0.6}` + "\n"
	torn  = `{"run":"a@1","epoch":2,"epoch_fra`
)

// TestRecoverTornTail: a torn last line is moved, byte for byte, to a side file and the
// metrics file cut back to its complete lines, so that appending to it and reading it
// work again; a complete last line that only lacks its newline gets it; a sound, empty or
// missing file is left alone.
func TestRecoverTornTail(t *testing.T) {
	for _, c := range []struct {
		name, content, want, side string
	}{
		{"torn", goodA + goodB + torn, goodA + goodB, torn},
		{"only a torn line", torn, "", torn},
		{"torn with a long line before", goodA + strings.Repeat(" ", 200_000) + goodB + torn, goodA + strings.Repeat(" ", 200_000) + goodB, torn},
		{"complete without newline", goodA + strings.TrimSuffix(goodB, "\n"), goodA + goodB, ""},
		{"blanks without newline", goodA + "  ", goodA + "  \n", ""},
		{"sound", goodA + goodB, goodA + goodB, ""},
		{"empty", "", "", ""},
	} {
		p := filepath.Join(t.TempDir(), "m.jsonl")
		if err := os.WriteFile(p, []byte(c.content), 0o640); err != nil {
			t.Fatal(err)
		}
		side, err := RecoverTornTail(p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if b, _ := os.ReadFile(p); string(b) != c.want {
			t.Errorf("%s: metrics file now %q, want %q", c.name, b, c.want)
		}
		if c.side == "" {
			if side != "" {
				t.Errorf("%s: side file %s for nothing torn", c.name, side)
			}
			continue
		}
		if !strings.HasPrefix(side, p+".torn-") {
			t.Errorf("%s: side file %q not named after the metrics file", c.name, side)
		}
		b, err := os.ReadFile(side)
		if err != nil || string(b) != c.side {
			t.Errorf("%s: side file holds %q (%v), want the torn bytes %q", c.name, b, err, c.side)
		}
		if fi, err := os.Stat(side); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: side file mode %v (%v), want the metrics file's 0640", c.name, fi.Mode(), err)
		}
		// The next run appends, and the file reads whole.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(goodB)
		f.Close()
		s := &Set{}
		if err := s.ReadFile(p); err != nil || len(s.Torn) != 0 {
			t.Errorf("%s: after recovery and an append: %v, torn %v", c.name, err, s.Torn)
		}
	}
	if side, err := RecoverTornTail(filepath.Join(t.TempDir(), "none.jsonl")); side != "" || err != nil {
		t.Errorf("missing file: %q, %v", side, err)
	}
	// Two recoveries of the same file keep both torn tails.
	p := filepath.Join(t.TempDir(), "m.jsonl")
	os.WriteFile(p, []byte(goodA+torn), 0o644)
	s1, err1 := RecoverTornTail(p)
	os.WriteFile(p, []byte(goodA+torn+"2"), 0o644)
	s2, err2 := RecoverTornTail(p)
	if err1 != nil || err2 != nil || s1 == s2 {
		t.Errorf("second recovery: %q, %q, %v, %v", s1, s2, err1, err2)
	}
}

// TestReadFileTornTail: a torn last line is skipped with a warning naming the file and
// line; a line that cannot be read anywhere else is an error naming them, including a
// last line that a newline ends (not torn: corrupt) and a line a run appended onto a
// torn one.
func TestReadFileTornTail(t *testing.T) {
	p := writeTemp(t, goodA+goodB+torn)
	s := &Set{}
	if err := s.ReadFile(p); err != nil {
		t.Fatalf("a torn last line: %v", err)
	}
	if len(s.Runs) != 1 || len(s.Runs[0].Lines) != 2 {
		t.Errorf("read %d runs, want 1 with 2 lines", len(s.Runs))
	}
	if len(s.Torn) != 1 || s.Torn[0].Line != 3 || s.Torn[0].Bytes != len(torn) ||
		!strings.Contains(s.Torn[0].String(), p+" line 3: skipped a torn last line") {
		t.Errorf("warning: %+v", s.Torn)
	}
	for _, c := range []struct{ name, content, want string }{
		{"corrupt middle line", goodA + "{garbage\n" + goodB, "line 2"},
		{"appended onto a torn line", goodA + torn + goodB, "line 2"},
		{"corrupt last line with its newline", goodA + goodB + torn + "\n", "line 3"},
		{"complete last line of the wrong type", goodA + `{"epoch":"x"}`, "line 2"},
	} {
		p := writeTemp(t, c.content)
		s := &Set{}
		err := s.ReadFile(p)
		if err == nil || !strings.Contains(err.Error(), p+" "+c.want+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want a one-line error naming %s %s", c.name, err, p, c.want)
		}
	}
}

// TestNotAMetricsFile: a file that is not JSON lines at all (a checkpoint passed by mistake)
// is named as such, not reported as a bad character on line 1.
func TestNotAMetricsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.ckpt")
	if err := os.WriteFile(p, []byte("\x18\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "is not a metrics file") || strings.Contains(err.Error(), "invalid character") {
		t.Errorf("checkpoint read as metrics: %v", err)
	}
}

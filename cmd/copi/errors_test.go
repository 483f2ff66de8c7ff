package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Usage errors are one line each, exit 2, name the problem without Go internals
// (strconv, "arg(s)") or a doubled "copi: copi" prefix, and say what to do.
func TestUsageErrorsAreOneLineAndSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	trainOnly := strings.Join(strings.Split(arrays(t, 784, 10, 20), ",")[:2], ",")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"train", "--nope"}, []string{"unknown flag: --nope", "see 'copi train --help'"}},
		{[]string{"train", "--lr", "abc"}, []string{`--lr "abc": want a number`, "see 'copi train --help'"}},
		{[]string{"train", "--epochs", "1.5"}, []string{`--epochs "1.5": want a whole number`}},
		{[]string{"train", "--seed", "-1"}, []string{`--seed "-1": want a whole number from 0`}},
		{[]string{"train", "--bias=maybe"}, []string{`--bias "maybe": want true or false`}},
		{[]string{"bench", "gemm", "--duration", "5"}, []string{`--duration "5": want a duration`, "see 'copi bench gemm --help'"}},
		{[]string{"train", "--epochs"}, []string{"needs an argument: --epochs", "see 'copi train --help'"}},
		{[]string{"trian"}, []string{`unknown command "trian" for "copi" (did you mean train?)`, "'copi --help' lists the commands"}},
		{[]string{"data", "verfy", "x"}, []string{`unknown command "verfy" for "copi data" (did you mean verify?)`}},
		{[]string{"bench", "nope"}, []string{`unknown command "nope" for "copi bench"`}},
		{[]string{"analyze", "nope"}, []string{`unknown command "nope" for "copi analyze"`}},
		{[]string{"eval"}, []string{"missing argument", "usage: copi eval CHECKPOINT"}},
		{[]string{"eval", "a", "b"}, []string{"wrong number of arguments, 2", "usage: copi eval CHECKPOINT"}},
		{[]string{"report"}, []string{"missing argument", "usage: copi report METRICS.jsonl..."}},
		{[]string{"train", "extra"}, []string{`unexpected argument "extra": copi train takes none`, "usage: copi train [flags]"}},
		{[]string{"train", "--metrics", filepath.Join(dir, "no", "m.jsonl")}, []string{"cannot write", "create the directory"}},
		{[]string{"compare", "--metrics", filepath.Join(dir, "no", "m.jsonl")}, []string{"cannot write", "create the directory"}},
		{[]string{"compare", "--checkpoint-dir", filepath.Join(dir, "f", "sub")}, []string{"--checkpoint-dir", "choose a directory"}},
		{[]string{"bench", "gemm", "--threads", "1000", "--shapes", "8x8x8"}, []string{"--threads 1000", "cores"}},
		{[]string{"bench", "gemm", "--kernel", "foo", "--shapes", "8x8x8"}, []string{`kernel "foo" not available on this CPU (have `}},
		{[]string{"compress", "none.ckpt", "--sweep", "--plot", filepath.Join(dir, "no", "s.png")}, []string{"cannot write", "s.png"}},
		{[]string{"compress", "none.ckpt", "--remove", "1", "-o", filepath.Join(dir, "no", "c.ckpt")}, []string{"cannot write", "c.ckpt"}},
		{[]string{"analyze", "rf", "none.ckpt", "-o", filepath.Join(dir, "no", "rf.png")}, []string{"cannot write", "rf.png"}},
		{[]string{"train", "--data", trainOnly}, []string{"has no test split", "give test arrays too", "to train, hold out training examples with --validation N"}},
	}
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	for _, c := range cases {
		out, _, err := run(t, c.args...)
		if err == nil {
			t.Errorf("%q: no error (output %q)", c.args, out)
			continue
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: %q does not say %q", c.args, msg, w)
			}
		}
		for _, bad := range []string{"\n", "strconv", "arg(s)", "copi: ", "copi copi", "mat32:", "bench gemm:"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%q: %q contains %q", c.args, msg, bad)
			}
		}
		if exitCode(err) != exitInvalid {
			t.Errorf("%q: exit %d, want 2", c.args, exitCode(err))
		}
	}
	// bench gemm validates $COPI_THREADS as every other command does.
	t.Setenv("COPI_THREADS", "abc")
	if _, _, err := run(t, "bench", "gemm", "--shapes", "8x8x8", "--duration", "1ms"); err == nil || !strings.Contains(err.Error(), "$COPI_THREADS=\"abc\"") {
		t.Errorf("bench gemm with COPI_THREADS=abc: %v", err)
	}
	// A command group without a subcommand shows its help, and succeeds.
	for _, group := range []string{"data", "bench", "analyze"} {
		if out, _, err := run(t, group); err != nil || !strings.Contains(out, "Available Commands") {
			t.Errorf("copi %s: %v\n%s", group, err, out)
		}
	}
}

// writeNPY writes a uint8 .npy array.
func writeNPY(t *testing.T, path string, shape []int, data []byte) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", tuple)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), binary.LittleEndian.AppendUint16(nil, uint16(len(h)))...)
	b = append(append(b, h...), data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// arrays writes a dataset of n examples with the given inputs and classes as four .npy
// files and returns its --data value.
func arrays(t *testing.T, inputs, classes, n int) string {
	t.Helper()
	dir := t.TempDir()
	x, y := make([]byte, n*inputs), make([]byte, n)
	for i := range x {
		x[i] = byte(i * 7)
	}
	for i := range y {
		y[i] = byte(i % classes)
	}
	var paths []string
	for _, s := range []string{"train", "test"} {
		px, py := filepath.Join(dir, s+"_x.npy"), filepath.Join(dir, s+"_y.npy")
		writeNPY(t, px, []int{n, inputs}, x)
		writeNPY(t, py, []int{n}, y)
		paths = append(paths, px, py)
	}
	return strings.Join(paths, ",")
}

package checkpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// loaderScript is the numpy loader and the checksum check from the package
// documentation, plus a driver that prints every tensor as JSON (floats as their bit
// patterns, so NaN survives) and whether the checksum matches.
const loaderScript = `
import json, struct, sys
import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}

def load_checkpoint(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(buf)[8 + n :]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]])
        tensors[name] = arr.reshape(t["shape"])
    return tensors, meta

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

def checksum_ok(buf):
    (n,) = struct.unpack("<Q", buf[:8])
    key = b'"checksum":"crc32c:'
    i = buf.index(key, 8, 8 + n) + len(key)  # JSON strings cannot contain key
    return "%08x" % crc32c(buf[:i] + b"00000000" + buf[i + 8 :]) == buf[i : i + 8].decode()

tensors, meta = load_checkpoint(sys.argv[1])
bits = {"F32": "<u4", "F64": "<u8"}
with open(sys.argv[1], "rb") as f:
    out = {"meta": meta, "tensors": {}, "checksum_ok": checksum_ok(f.read())}
for name, arr in tensors.items():
    kind = {"f": "F", "i": "I", "u": "U"}[arr.dtype.kind] + str(arr.dtype.itemsize * 8)
    vals = arr.view(bits[kind]) if kind in bits else arr
    out["tensors"][name] = {"dtype": kind, "shape": list(arr.shape),
                            "values": [int(v) for v in vals.reshape(-1)]}
json.dump(out, sys.stdout)
`

// findNumpyPython returns a Python interpreter that can import numpy, or "".
func findNumpyPython() string {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	return ""
}

// TestReadableFromPython writes a checkpoint and reads it back with numpy.
func TestReadableFromPython(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	py := findNumpyPython()
	if py == "" {
		t.Skip("no python3 with numpy")
	}
	c := sample(t)
	p := filepath.Join(t.TempDir(), "model.ckpt")
	if err := Write(p, c); err != nil {
		t.Fatal(err)
	}
	got := runLoader(t, py, p)
	if !got.ChecksumOK {
		t.Error("python's checksum check failed on an intact checkpoint")
	}
	// The documented check catches a flipped data byte too.
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	damaged := filepath.Join(t.TempDir(), "damaged.ckpt")
	if err := os.WriteFile(damaged, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if runLoader(t, py, damaged).ChecksumOK {
		t.Error("python's checksum check passed a damaged checkpoint")
	}
	for _, k := range c.MetaKeys() {
		if v, _ := c.Meta(k); got.Meta[k] != v {
			t.Errorf("metadata %q: python read %q, want %q", k, got.Meta[k], v)
		}
	}
	if got.Meta[MetaFormat] != FormatName || got.Meta[MetaFormatVersion] != strconv.Itoa(FormatVersion) {
		t.Errorf("format metadata: %v", got.Meta)
	}
	if len(got.Tensors) != c.Len() {
		t.Errorf("python read %d tensors, want %d", len(got.Tensors), c.Len())
	}
	for _, name := range c.Names() {
		info, _ := c.Info(name)
		g, ok := got.Tensors[name]
		if !ok {
			t.Errorf("python did not read %q", name)
			continue
		}
		if g.DType != string(info.DType) || !slices.Equal(g.Shape, info.Shape) {
			t.Errorf("%q: python read %s %v, want %s %v", name, g.DType, g.Shape, info.DType, info.Shape)
			continue
		}
		var want []int64
		switch info.DType {
		case F32:
			v, _ := c.Float32s(name)
			for _, x := range v {
				want = append(want, int64(math.Float32bits(x)))
			}
		case F64:
			v, _ := c.Float64s(name)
			for _, x := range v {
				want = append(want, int64(math.Float64bits(x)))
			}
		case I64:
			want, _ = c.Int64s(name)
		case I32:
			v, _ := c.Int32s(name)
			for _, x := range v {
				want = append(want, int64(x))
			}
		case U8:
			v, _ := c.Bytes(name)
			for _, x := range v {
				want = append(want, int64(x))
			}
		}
		if len(g.Values) != len(want) {
			t.Errorf("%q: python read %d values, want %d", name, len(g.Values), len(want))
			continue
		}
		for i, n := range g.Values {
			// F64 bit patterns may exceed int64; compare as unsigned decimal strings.
			if n.String() != formatBits(want[i], info.DType) {
				t.Errorf("%q[%d]: python read %s, want %s", name, i, n, formatBits(want[i], info.DType))
			}
		}
	}
}

// loaderOutput is what loaderScript prints.
type loaderOutput struct {
	Meta       map[string]string
	ChecksumOK bool `json:"checksum_ok"`
	Tensors    map[string]struct {
		DType  string
		Shape  []int
		Values []json.Number
	}
}

// runLoader runs loaderScript with the interpreter py on the checkpoint at path.
func runLoader(t *testing.T, py, path string) loaderOutput {
	t.Helper()
	cmd := exec.Command(py, "-c", loaderScript, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", py, err, stderr.Bytes())
	}
	var got loaderOutput
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}
	return got
}

// formatBits renders v as the Python driver prints it: F64 bit patterns as unsigned
// integers, everything else as signed integers.
func formatBits(v int64, dt DType) string {
	if dt == F64 {
		return strconv.FormatUint(uint64(v), 10)
	}
	return strconv.FormatInt(v, 10)
}

package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// copiMeta is the metadata of a version 1 checkpoint, which needs no checksum, so the
// crafted files below test the layout rules alone.
const copiMeta = `"__metadata__":{"format":"copi.checkpoint","format_version":"1"}`

// craft assembles a file from a header (space-padded to a multiple of 8) and data.
func craft(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// withLen returns b with its header length field replaced by n.
func withLen(b []byte, n uint64) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b, n)
	return b
}

// decodeBoth decodes b from a sized reader, from a plain stream and from a file, and
// checks that all three agree on success or failure. It returns the file error.
func decodeBoth(t *testing.T, b []byte, raw bool) error {
	t.Helper()
	dec, rd := Decode, Read
	if raw {
		dec, rd = DecodeRaw, ReadRaw
	}
	_, err1 := dec(bytes.NewReader(b))
	_, err2 := dec(streamReader{bytes.NewReader(b)})
	p := filepath.Join(t.TempDir(), "bad.ckpt")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err3 := rd(p)
	if (err1 == nil) != (err2 == nil) || (err1 == nil) != (err3 == nil) {
		t.Fatalf("sized/stream/file disagree: %v / %v / %v", err1, err2, err3)
	}
	if err3 != nil {
		if !strings.Contains(err3.Error(), p) {
			t.Errorf("error does not name the file: %v", err3)
		}
		if strings.Contains(err3.Error(), "\n") {
			t.Errorf("error is not one line: %q", err3)
		}
	}
	return err3
}

func TestCorruptions(t *testing.T) {
	valid := encode(t, sample(t))
	f32 := func(name, rest string) string { return `"` + name + `":{"dtype":"F32",` + rest + `}` }
	eight := make([]byte, 8)
	cases := []struct {
		name string
		file []byte
		want string // substring of the error
	}{
		{"empty", nil, "too short for the 8-byte header length"},
		{"length only", valid[:8], "exceeds the 0 bytes"},
		{"header too long", withLen(valid, MaxHeaderSize+1), "exceeds the maximum"},
		{"header length huge", withLen(valid, 1<<63), "exceeds the maximum"},
		{"header past EOF", withLen(valid, uint64(len(valid))), "exceeds the"},
		{"header length zero", withLen(valid, 0), "too short for a JSON object"},
		{"header not aligned", withLen(craft("{"+copiMeta+"}", nil), 65), "not a multiple of 8"},
		{"truncated data", valid[:len(valid)-1], "data section is"},
		{"trailing bytes", append(bytes.Clone(valid), 0), "data section is"},
		{"not JSON", craft("{nope}", nil), "header JSON"},
		{"not an object", craft("[1,2]   ", nil), "does not start with '{'"},
		{"unterminated", craft(`{"__metadata__":{}`, nil), "header JSON"},
		{"trailing JSON", craft("{"+copiMeta+"} {}", nil), "after the object"},
		{"invalid UTF-8", craft("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"duplicate name", craft("{"+copiMeta+","+f32("a", `"shape":[],"data_offsets":[0,4]`)+","+f32("a", `"shape":[],"data_offsets":[4,8]`)+"}", eight), `duplicate key "a"`},
		{"duplicate escaped name", craft("{"+copiMeta+","+f32("a", `"shape":[],"data_offsets":[0,4]`)+","+f32(`\u0061`, `"shape":[],"data_offsets":[4,8]`)+"}", eight), `duplicate key "a"`},
		{"duplicate metadata key", craft(`{"__metadata__":{"format":"copi.checkpoint","format":"copi.checkpoint","format_version":"1"}}`, nil), `duplicate key "format"`},
		{"metadata not string", craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":1}}`, nil), "not a string"},
		{"metadata null value", craft(`{"__metadata__":{"format":null}}`, nil), "not a string"},
		{"metadata not object", craft(`{"__metadata__":[1]}`, nil), "where an object was expected"},
		{"entry not object", craft("{"+copiMeta+`,"a":5}`, nil), `tensor "a"`},
		{"unknown dtype", craft("{"+copiMeta+`,"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, eight[:4]), `unsupported dtype "BF16"`},
		{"missing dtype", craft("{"+copiMeta+`,"a":{"shape":[2],"data_offsets":[0,4]}}`, eight[:4]), "missing dtype"},
		{"missing shape", craft("{"+copiMeta+","+f32("a", `"data_offsets":[0,4]`)+"}", eight[:4]), "missing shape"},
		{"negative dimension", craft("{"+copiMeta+","+f32("a", `"shape":[-1],"data_offsets":[0,4]`)+"}", eight[:4]), "invalid dimension -1"},
		{"fractional dimension", craft("{"+copiMeta+","+f32("a", `"shape":[1.5],"data_offsets":[0,4]`)+"}", eight[:4]), `tensor "a"`},
		{"shape too big", craft("{"+copiMeta+","+f32("a", `"shape":[4294967296,4294967296],"data_offsets":[0,4]`)+"}", eight[:4]), "too many elements"},
		{"shape mismatch", craft("{"+copiMeta+","+f32("a", `"shape":[3],"data_offsets":[0,8]`)+"}", eight), "needs 12 bytes"},
		{"offsets wrong count", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[0]`)+"}", nil), "want [begin, end]"},
		{"offsets reversed", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[4,0]`)+"}", eight[:4]), "invalid data_offsets"},
		{"offsets negative", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[-4,0]`)+"}", eight[:4]), "invalid data_offsets"},
		{"offsets huge", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[1152921504606846976,1152921504606846980]`)+"}", eight[:4]), "invalid data_offsets"},
		{"gap at start", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[4,8]`)+"}", eight), "unused"},
		{"gap between", craft("{"+copiMeta+","+f32("a", `"shape":[],"data_offsets":[0,4]`)+","+f32("b", `"shape":[],"data_offsets":[8,12]`)+"}", make([]byte, 12)), "unused"},
		{"overlap", craft("{"+copiMeta+","+f32("a", `"shape":[2],"data_offsets":[0,8]`)+","+f32("b", `"shape":[],"data_offsets":[4,8]`)+"}", eight), "overlap"},
		{"same range", craft("{"+copiMeta+","+f32("a", `"shape":[2],"data_offsets":[0,8]`)+","+f32("b", `"shape":[2],"data_offsets":[0,8]`)+"}", eight), "overlap"},
		{"data too long", craft("{"+copiMeta+","+f32("a", `"shape":[1],"data_offsets":[0,4]`)+"}", eight), "data section is 8 bytes"},
		{"data too short", craft("{"+copiMeta+","+f32("a", `"shape":[2],"data_offsets":[0,8]`)+"}", eight[:4]), "data section is 4 bytes"},
		{"lying data length", craft("{"+copiMeta+","+f32("a", `"shape":[17179869184],"data_offsets":[0,68719476736]`)+"}", eight), "data section is 8 bytes"},
		{"reserved name", craft("{"+copiMeta+`,"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, nil), "empty tensor name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeBoth(t, tc.file, false)
			if err == nil {
				t.Fatal("decoded without error")
			}
			t.Log(err)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestEveryTruncation checks that every proper prefix of a valid file is rejected.
func TestEveryTruncation(t *testing.T) {
	valid := encode(t, sample(t))
	for n := range len(valid) {
		for _, dec := range []func([]byte) error{
			func(b []byte) error { _, err := Decode(bytes.NewReader(b)); return err },
			func(b []byte) error { _, err := DecodeRaw(streamReader{bytes.NewReader(b)}); return err },
		} {
			if err := dec(valid[:n]); !errors.Is(err, ErrInvalid) {
				t.Fatalf("prefix of %d/%d bytes: %v", n, len(valid), err)
			}
		}
	}
}

// TestLyingHeaderNoHugeAllocation streams a file whose header claims 64 GiB of data
// (and one claiming a 99 MB header) and checks that decoding allocates little.
func TestLyingHeaderNoHugeAllocation(t *testing.T) {
	lying := craft("{"+copiMeta+`,"a":{"dtype":"U8","shape":[68719476736],"data_offsets":[0,68719476736]}}`, make([]byte, 100))
	longHdr := withLen(craft("{}", nil), MaxHeaderSize-8)
	for _, b := range [][]byte{lying, longHdr} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(streamReader{bytes.NewReader(b)})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("decoding a %d-byte lying file allocated %d bytes", len(b), alloc)
		}
	}
}

func TestVersioning(t *testing.T) {
	data := []byte{1, 2}
	u8 := `,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`
	cases := []struct {
		name    string
		file    []byte
		kind    error // for Read; nil means success
		rawOK   bool  // whether ReadRaw accepts it
		wantMsg string
	}{
		{"current", craft(`{`+copiMeta+u8, data), nil, true, ""},
		{"plain safetensors", craft(`{"__metadata__":{"format":"pt"}`+u8, data), ErrNotCheckpoint, true, `"format" is "pt"`},
		{"no metadata", craft(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, data), ErrNotCheckpoint, true, `no "format" key`},
		{"null metadata", craft(`{"__metadata__":null`+u8, data), ErrNotCheckpoint, true, `no "format" key`},
		{"no version", craft(`{"__metadata__":{"format":"copi.checkpoint"}`+u8, data), ErrNotCheckpoint, true, `no "format_version"`},
		{"newer version", craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"3"}`+u8, data), ErrVersion, true, "newer than this build reads (2)"},
		{"bad version", craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"1.0"}`+u8, data), ErrInvalid, true, "positive integer"},
		{"zero version", craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"0"}`+u8, data), ErrInvalid, true, "positive integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeBoth(t, tc.file, false)
			t.Log(err)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.kind, tc.wantMsg)
			}
			rawErr := decodeBoth(t, tc.file, true)
			if (rawErr == nil) != tc.rawOK {
				t.Fatalf("raw err = %v", rawErr)
			}
		})
	}

	// Raw reading keeps foreign metadata and accepts unpadded headers; re-encoding
	// turns the file into a copi checkpoint.
	hdr := `{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`
	unpadded := append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr...)
	unpadded = append(unpadded, 1, 2)
	if len(hdr)%8 == 0 {
		t.Fatal("test header happens to be aligned")
	}
	c, err := DecodeRaw(bytes.NewReader(unpadded))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Meta("format"); v != "pt" {
		t.Errorf("raw metadata format = %q", v)
	}
	d, err := Decode(bytes.NewReader(encode(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := d.Bytes("a"); !bytes.Equal(b, []byte{1, 2}) {
		t.Errorf("converted data %v", b)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(filepath.Join(dir, "missing.ckpt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.ckpt"), New()); err == nil {
		t.Error("write into missing directory succeeded")
	}
}

package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corruptMsg is the start of the error for a file whose checksum does not match.
const corruptMsg = " is corrupt: checksum mismatch ("

// wantCorrupt checks that err is the one-line corruption error for the file path.
func wantCorrupt(t *testing.T, err error, path string) {
	t.Helper()
	if err == nil {
		t.Fatal("corrupt checkpoint loaded without error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "checkpoint "+path+corruptMsg) {
		t.Errorf("error %q does not say %q", msg, "checkpoint "+path+corruptMsg)
	}
	if !strings.Contains(msg, "resume from an earlier checkpoint or start over") {
		t.Errorf("error %q does not say what to do", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrInvalid) {
		t.Errorf("error wraps neither ErrCorrupt nor ErrInvalid: %v", err)
	}
}

// flipAt writes the sample checkpoint to a file, flips bits of the byte at the offset
// that locate returns, and returns the file's path.
func flipAt(t *testing.T, locate func(b []byte) int, mask byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.ckpt")
	if err := Write(p, sample(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := locate(b)
	if i < 0 {
		t.Fatal("byte to flip not found")
	}
	b[i] ^= mask
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChecksumDetectsFlippedBytes flips one byte in a tensor's data, in a metadata
// value and in several places of the header, each leaving a file that still parses:
// every one must fail to load with the corruption error naming the file.
func TestChecksumDetectsFlippedBytes(t *testing.T) {
	after := func(s string) func([]byte) int {
		return func(b []byte) int {
			i := bytes.Index(b, []byte(s))
			if i < 0 {
				return -1
			}
			return i + len(s)
		}
	}
	dataStart := func(b []byte) int { return 8 + int(binary.LittleEndian.Uint64(b)) }
	cases := []struct {
		name   string
		locate func([]byte) int
		mask   byte
	}{
		// The first element of layers.0.weight: -5.5 becomes a nearby, plausible value.
		{"tensor data", dataStart, 0x01},
		{"last data byte", func(b []byte) int { return len(b) - 1 }, 0x80},
		// "rule":"copi" becomes "rule":"cop(": a different, valid string.
		{"metadata value", after(`"rule":"cop`), 0x41},
		// A claim of a newer (or older) format version is itself corruption.
		{"format version", after(`"format_version":"`), 0x01},
		// F32 becomes I32, which has the same size: the layout stays valid.
		{"header dtype", after(`"layers.0.bias":{"dtype":"`), 'F' ^ 'I'},
		// layers.0.weight becomes layers.0.veight.
		{"header tensor name", after(`"layers.0.`), 0x01},
		// The stored checksum itself: a digit that ^1 turns into another hex digit
		// (0↔1, 2↔3, …, b↔c, d↔e).
		{"checksum digit", func(b []byte) int {
			at := after(`"checksum":"crc32c:`)(b)
			for i := at; i < at+8; i++ {
				if strings.IndexByte("0123456789bcde", b[i]) >= 0 {
					return i
				}
			}
			return -1
		}, 0x01},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flipAt(t, tc.locate, tc.mask)
			_, err := Read(p)
			t.Log(err)
			wantCorrupt(t, err, p)
		})
	}
}

// TestEveryByteFlipRejected flips each byte of a checkpoint in several ways: no
// damaged file may load.
func TestEveryByteFlipRejected(t *testing.T) {
	valid := encode(t, sample(t))
	for i := range valid {
		for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
			b := bytes.Clone(valid)
			b[i] ^= mask
			if _, err := Decode(bytes.NewReader(b)); err == nil {
				t.Fatalf("byte %d (%q) ^ %#x: damaged file loaded", i, valid[i], mask)
			}
		}
	}
}

// TestVersion1Loads reads a checkpoint written by the previous format version, which
// has no checksum: it must still load, with its content intact, and encode as the
// current version.
func TestVersion1Loads(t *testing.T) {
	const p = "testdata/version1.ckpt"
	c, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Meta(MetaFormatVersion); v != "1" {
		t.Fatalf("format_version %q, want 1", v)
	}
	if diff := sameContent(sample(t), c); diff != "" {
		t.Fatalf("version 1 file differs: %s", diff)
	}
	d, err := Decode(bytes.NewReader(encode(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Meta(MetaChecksum); !ok {
		t.Error("re-encoded version 1 checkpoint has no checksum")
	}
}

// TestChecksumRequired checks the checksum's presence and syntax in current-version
// files.
func TestChecksumRequired(t *testing.T) {
	u8 := `,"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`
	data := []byte{1, 2}
	for _, tc := range []struct {
		name, meta, want string
	}{
		{"missing", `{"format":"copi.checkpoint","format_version":"2"}`, `is corrupt: metadata has no "checksum" key`},
		{"not crc32c", `{"checksum":"sha256:00000000","format":"copi.checkpoint","format_version":"2"}`, `is corrupt: checksum "sha256:00000000" is not "crc32c:"`},
		{"too short", `{"checksum":"crc32c:0000000","format":"copi.checkpoint","format_version":"2"}`, `is corrupt: checksum "crc32c:0000000" is not "crc32c:"`},
		{"upper case", `{"checksum":"crc32c:0000000A","format":"copi.checkpoint","format_version":"2"}`, `is corrupt: checksum "crc32c:0000000A" is not "crc32c:"`},
		{"escaped", `{"checksum":"crc32c:0000000\u0030","format":"copi.checkpoint","format_version":"2"}`, `is corrupt: checksum is not stored literally`},
		{"wrong", `{"checksum":"crc32c:00000000","format":"copi.checkpoint","format_version":"2"}`, `is corrupt: checksum mismatch (stored crc32c:00000000, computed crc32c:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeBoth(t, craft(`{"__metadata__":`+tc.meta+u8, data), false)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
	c := New()
	if err := c.SetMeta(MetaChecksum, "crc32c:00000000"); err == nil {
		t.Error("SetMeta accepted the reserved checksum key")
	}
}

// seal returns a copy of file with the checksum placeholder "crc32c:00000000" that
// starts at offset at replaced by the file's checksum, computed here independently of
// the package's code.
func seal(file []byte, at int) []byte {
	file = bytes.Clone(file)
	digits := file[at+len("crc32c:") : at+len("crc32c:00000000")]
	if string(digits) != "00000000" {
		panic("no placeholder at offset")
	}
	sum := crc32.Checksum(file, crc32.MakeTable(crc32.Castagnoli))
	copy(digits, fmt.Sprintf("%08x", sum))
	return file
}

// TestChecksumAnyJSONLayout checks that a checksum is found and verified wherever the
// JSON puts it: other writers may add whitespace or order keys differently.
func TestChecksumAnyJSONLayout(t *testing.T) {
	u8 := `"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}`
	for _, hdr := range []string{
		`{"__metadata__":{"checksum":"crc32c:00000000","format":"copi.checkpoint","format_version":"2"},` + u8 + `}`,
		`{ "__metadata__" : { "format" : "copi.checkpoint" , "checksum" :  "crc32c:00000000" , "format_version":"2" } , ` + u8 + ` }`,
		// A look-alike inside a string value comes first; the real one is last.
		`{` + u8 + `,"__metadata__":{"a":"\"checksum\":\"crc32c:00000000\"","format_version":"2","format":"copi.checkpoint","checksum":"crc32c:00000000"}}`,
		// A version 1 file may carry a checksum too; it is verified.
		`{"__metadata__":{"checksum":"crc32c:00000000","format":"copi.checkpoint","format_version":"1"},` + u8 + `}`,
	} {
		file := craft(hdr, []byte{1, 2})
		good := seal(file, bytes.LastIndex(file, []byte(`crc32c:00000000`)))
		if err := decodeBoth(t, good, false); err != nil {
			t.Errorf("%s: %v", hdr, err)
		}
		bad := bytes.Clone(good)
		bad[len(bad)-1] ^= 1
		if err := decodeBoth(t, bad, false); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: damaged data: %v", hdr, err)
		}
		if err := decodeBoth(t, bad, true); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: damaged data read raw: %v", hdr, err)
		}
	}
	// Read raw, a foreign file's own "checksum" key is not the copi checksum.
	foreign := craft(`{"__metadata__":{"checksum":"crc32c:00000000","format":"pt"},`+u8+`}`, []byte{1, 2})
	if err := decodeBoth(t, foreign, true); err != nil {
		t.Errorf("foreign file read raw: %v", err)
	}
}

package checkpoint

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoders: they must never panic, must fail
// with an error wrapping one of the package's sentinels, and whatever they accept must
// survive an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	valid := encode(f, sample(f))
	f.Add(valid)
	f.Add(encode(f, New()))
	small := New()
	_ = small.SetFloat32s("w", []float32{1, 2}, 1, 2)
	_ = small.SetBytes("b", []byte{7})
	s := encode(f, small)
	f.Add(s)
	// Mutations of valid files: truncations, flipped bytes, lying lengths.
	f.Add(valid[:len(valid)/2])
	f.Add(withLen(s, 1<<40))
	f.Add(withLen(s, 8))
	for _, i := range []int{0, 8, 9, 20, 40, len(s) - 1} {
		m := bytes.Clone(s)
		m[i] ^= 0x41
		f.Add(m)
	}
	f.Add(bytes.Replace(s, []byte(`[0,8]`), []byte(`[0,4]`), 1))
	f.Add(bytes.Replace(s, []byte(`"F32"`), []byte(`"I32"`), 1))
	f.Add(bytes.Replace(s, []byte(`[1,2]`), []byte(`[2,2]`), 1))
	f.Add(craft(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}))
	f.Add(craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"3"}}`, nil))
	// Checksums: missing from a version 2 file, malformed, escaped, on a version 1
	// file, in a foreign file, and valid in a hand-made header with whitespace.
	f.Add(craft(`{"__metadata__":{"format":"copi.checkpoint","format_version":"2"}}`, nil))
	f.Add(craft(`{"__metadata__":{"checksum":"crc32c:0000000G","format":"copi.checkpoint","format_version":"2"}}`, nil))
	f.Add(craft(`{"__metadata__":{"checksum":"crc32c:0000000\u0030","format":"copi.checkpoint","format_version":"2"}}`, nil))
	f.Add(craft(`{"__metadata__":{"checksum":"crc32c:00000000","format":"pt"}}`, nil))
	v1 := craft(`{"__metadata__":{"checksum":"crc32c:00000000","format":"copi.checkpoint","format_version":"1"}}`, nil)
	f.Add(seal(v1, bytes.Index(v1, []byte("crc32c:"))))
	spaced := craft(`{ "__metadata__" : { "checksum" : "crc32c:00000000" , "format":"copi.checkpoint","format_version":"2"} , "a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]} }`, []byte{1, 2})
	spaced = seal(spaced, bytes.Index(spaced, []byte("crc32c:")))
	f.Add(spaced)
	for _, i := range []int{len(spaced) / 2, len(spaced) - 1} {
		m := bytes.Clone(spaced)
		m[i] ^= 1
		f.Add(m)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		for _, raw := range []bool{false, true} {
			dec := Decode
			if raw {
				dec = DecodeRaw
			}
			c, err := dec(bytes.NewReader(b))
			_, err2 := dec(streamReader{bytes.NewReader(b)})
			if (err == nil) != (err2 == nil) {
				t.Fatalf("raw=%v: sized and stream decoders disagree: %v / %v", raw, err, err2)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotCheckpoint) && !errors.Is(err, ErrVersion) {
					t.Fatalf("raw=%v: error wraps no sentinel: %v", raw, err)
				}
				continue
			}
			var buf bytes.Buffer
			if err := Encode(&buf, c); err != nil {
				t.Fatalf("raw=%v: encode of decoded checkpoint: %v", raw, err)
			}
			d, err := Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("raw=%v: decode of re-encoded checkpoint: %v", raw, err)
			}
			if diff := sameContent(c, d); diff != "" {
				t.Fatalf("raw=%v: round trip changed %s", raw, diff)
			}
			var buf2 bytes.Buffer
			if err := Encode(&buf2, d); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
				t.Fatalf("raw=%v: encoding is not stable: %v", raw, err)
			}
		}
	})
}

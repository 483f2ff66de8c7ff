// Package checkpoint reads and writes copi model checkpoints.
//
// # Format
//
// A checkpoint is a [safetensors] file, so it can be read from Python with the
// safetensors library or a few lines of numpy, and loading one can never execute code.
// The layout is:
//
//	bytes [0, 8)        N, the header length: an unsigned 64-bit little-endian integer
//	bytes [8, 8+N)      the header: a UTF-8 JSON object, padded with spaces so that N is
//	                    a multiple of 8 (the data section therefore starts 8-byte aligned)
//	bytes [8+N, EOF)    the data section: the raw bytes of every tensor, back to back
//
// The header maps each tensor name to an object
//
//	{"dtype": "F32", "shape": [784, 256], "data_offsets": [begin, end]}
//
// where begin and end are byte offsets relative to the start of the data section. Values
// are stored little-endian, row-major (C order), with no padding between elements. The
// special key "__metadata__" maps to an object of string keys and string values.
//
// Supported dtypes are F32 and F64 (IEEE 754 floats; NaN and infinities are stored as
// is—callers decide whether they are acceptable), I64 and I32 (two's-complement signed
// integers) and U8 (bytes; for RNG state, serialized data and the like). A shape of []
// is a scalar with one element; a dimension of 0 gives an empty tensor.
//
// # Layout rules
//
// Readers in this package enforce the safetensors rules, with a one-line error naming
// the file and the offending value, without panicking and without allocating more than
// the input's actual size: the header length is at most [MaxHeaderSize] and fits in the
// file; the header is valid UTF-8 JSON with no duplicate tensor names; every dtype is
// known; every dimension is non-negative and the element count times the dtype size
// equals end-begin; the tensors' byte ranges cover the data section exactly, without
// gaps or overlaps; and the data section ends at end of file. Copi checkpoints
// additionally require the header length to be a multiple of 8.
//
// Writers produce deterministic output: the same content always encodes to the same
// bytes, so checkpoints can be compared with cmp(1) or a hash. The header lists
// "__metadata__" first (keys sorted), then the tensors in the order they were first set
// in the [Checkpoint]; the data section follows the same order. Decoding a checkpoint
// written by this package and encoding it again reproduces it byte for byte.
//
// # Metadata and versioning
//
// Every copi checkpoint carries three metadata keys, written by [Encode] and checked by
// [Decode] and [Read]:
//
//	"format":         "copi.checkpoint"
//	"format_version": "2"                 (a decimal integer)
//	"checksum":       "crc32c:1a2b3c4d"   (see Checksum below)
//
// format_version is a major version: it is incremented only when a change would make
// older readers misinterpret a file, or when readers must insist on something older
// files lack. Additive changes—new tensors, new metadata keys—do not change it, and
// readers must ignore what they do not know. Version 2 made the checksum mandatory;
// version 1 files, which have none, are still read (unverified). A reader refuses files
// with a format_version greater than [FormatVersion] (errors.Is(err, [ErrVersion])) and
// files without the format keys (errors.Is(err, [ErrNotCheckpoint])), such as plain
// safetensors files produced elsewhere. Use [ReadRaw] or [DecodeRaw] to read those: they
// apply all layout rules except the copi-specific ones (format keys, 8-byte header
// alignment, a mandatory checksum).
//
// # Checksum
//
// The checksum catches damage done after a checkpoint was written—a flipped bit on disk
// or in a copy, a block of another file—which the layout rules miss whenever it leaves
// the structure intact: a changed weight, epoch number or metadata value would
// otherwise load silently. Its value is "crc32c:" and eight lowercase hexadecimal digits:
// the CRC-32C (Castagnoli polynomial, as in iSCSI and ext4) of the whole file—length
// prefix, header and data section—computed with those eight digits set to the ASCII
// text "00000000". The digits' position does not depend on their value, so [Encode]
// computes the checksum over the in-memory tensors before it writes anything and then
// streams the file in one pass; a reader computes it over the bytes it has just read.
//
// CRC-32C, not a cryptographic hash, because the threat is accidental damage: an
// adversary could recompute any unkeyed hash, SHA-256 included. Go computes CRC-32C
// with the CPU's CRC32 instruction (SSE 4.2 on amd64, the CRC extension on arm64), at
// about 6 GB/s on a machine where SHA-256 runs at 0.7 GB/s: some 15 ms for a 100 MB
// checkpoint. A 32-bit CRC detects every burst of damage up to 32 bits long, so any
// single damaged byte, and misses random damage with probability 2⁻³².
//
// [Read] and [Decode] verify the checksum whenever the metadata has the "checksum" key
// and either "format" is "copi.checkpoint" or the value starts with "crc32c:"; they
// verify it before the other metadata checks, so damage to the format keys is reported
// as damage. [ReadRaw] and [DecodeRaw] verify it when "format" is "copi.checkpoint", so
// foreign files with a "checksum" key of their own read as they are. A mismatch, a
// malformed value, or a missing checksum in a version-2 file is refused with a one-line
// error wrapping [ErrCorrupt] and [ErrInvalid]:
//
//	checkpoint FILE is corrupt: checksum mismatch (stored crc32c:…, computed crc32c:…); it cannot be used — resume from an earlier checkpoint or start over
//
// All other metadata keys are free-form strings owned by the code that writes the
// checkpoint (for example the learning rule, its configuration as JSON, the training
// step). Tensor names are likewise chosen by callers; a dotted hierarchy such as
// "layers.0.weight" reads well from Python.
//
// # Reading a checkpoint from Python
//
// With the safetensors library: safetensors.numpy.load_file(path). Without it:
//
//	import json, struct
//	import numpy as np
//
//	DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}
//
//	def load_checkpoint(path):
//	    with open(path, "rb") as f:
//	        buf = f.read()
//	    (n,) = struct.unpack("<Q", buf[:8])
//	    header = json.loads(buf[8 : 8 + n])
//	    meta = header.pop("__metadata__", {})
//	    data = memoryview(buf)[8 + n :]
//	    tensors = {}
//	    for name, t in header.items():
//	        begin, end = t["data_offsets"]
//	        arr = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]])
//	        tensors[name] = arr.reshape(t["shape"])
//	    return tensors, meta
//
// To verify the checksum (the bitwise CRC-32C below is slow for large files; a compiled
// CRC-32C package gives the same value much faster):
//
//	def crc32c(data, crc=0):
//	    crc ^= 0xFFFFFFFF
//	    for b in data:
//	        crc ^= b
//	        for _ in range(8):
//	            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
//	    return crc ^ 0xFFFFFFFF
//
//	def checksum_ok(buf):
//	    (n,) = struct.unpack("<Q", buf[:8])
//	    key = b'"checksum":"crc32c:'
//	    i = buf.index(key, 8, 8 + n) + len(key)  # JSON strings cannot contain key
//	    return "%08x" % crc32c(buf[:i] + b"00000000" + buf[i + 8 :]) == buf[i : i + 8].decode()
//
// [safetensors]: https://github.com/huggingface/safetensors
package checkpoint

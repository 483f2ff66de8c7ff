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
// Every copi checkpoint carries two metadata keys, written by [Encode] and checked by
// [Decode] and [Read]:
//
//	"format":         "copi.checkpoint"
//	"format_version": "1"   (a decimal integer)
//
// format_version is a major version: it is incremented only when a change would make
// older readers misinterpret a file. Additive changes—new tensors, new metadata keys—do
// not change it, and readers must ignore what they do not know. A reader refuses files
// with a format_version greater than [FormatVersion] (errors.Is(err, [ErrVersion])) and
// files without the format keys (errors.Is(err, [ErrNotCheckpoint])), such as plain
// safetensors files produced elsewhere. Use [ReadRaw] or [DecodeRaw] to read those: they
// apply all layout rules except the copi-specific ones (format keys, 8-byte header
// alignment).
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
// [safetensors]: https://github.com/huggingface/safetensors
package checkpoint

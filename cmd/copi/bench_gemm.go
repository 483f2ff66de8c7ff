package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/mat32"
)

// defaultGemmShapes are the reference shapes of `copi bench gemm`.
const defaultGemmShapes = "256x1000x1000,1000x1000x1000,50x784x784,50x500x500"

// trainingGemmShapes are the GEMMs of one training step of a 784-500×6-10 MLP at batch 50:
// forward X·Wᵀ, backward Δ·W, weight update Δᵀ·X and the decorrelation products.
const trainingGemmShapes = "nt:50x784x500,nt:50x500x500,nn:50x500x784,tn:500x50x784,nn:50x784x784,tn:784x50x784"

// gemmShape is one product to time: op(A) is m×k, op(B) k×n.
type gemmShape struct {
	tA, tB  mat32.Transpose
	m, k, n int
}

func (s gemmShape) ops() string {
	return map[bool]string{false: "N", true: "T"}[bool(s.tA)] + map[bool]string{false: "N", true: "T"}[bool(s.tB)]
}

// gemmResult is one line of `copi bench gemm --json`.
type gemmResult struct {
	M            int     `json:"m"`
	K            int     `json:"k"`
	N            int     `json:"n"`
	Op           string  `json:"op"`
	GFLOPS       float64 `json:"gflops"`
	Backend      string  `json:"backend"`
	Threads      int     `json:"threads"`
	PeakGFLOPS   float64 `json:"peak_gflops"`
	PeakFraction float64 `json:"peak_fraction"`
	Seconds      float64 `json:"seconds_per_call"`
}

func newBenchGemmCmd() *cobra.Command {
	var (
		shapes   string
		threads  int
		kernel   string
		asJSON   bool
		training bool
		dur      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "gemm",
		Short: "Measure float32 GEMM throughput (GFLOP/s) of the matrix engine",
		Long: `Measures the throughput of the mat32 engine's GEMM, C = op(A)·op(B), in GFLOP/s
(2·m·k·n floating-point operations per product), one line per shape.

Each shape is given as MxKxN (op(A) is MxK, op(B) is KxN, C is MxN), optionally prefixed
with the transposes of A and B: "nt:50x784x500" times X·Wᵀ. For each shape the product is
repeated for about --duration (default 0.5 s) in 5 rounds, and the best round is reported.

Before the shapes, the machine's physical peak is measured: a tight loop of independent
vector FMAs (AVX-512 and AVX2, the better of the two) on one core, best 1 ms chunk, times
the number of threads. "of peak" is the GEMM rate divided by that peak.

--kernel picks the micro-kernel (avx512, avx2, generic; default: the best for this CPU).
In a build with -tags openblas, --kernel openblas times OpenBLAS's cblas_sgemm instead
(see docs/gemm.md for its OPENBLAS_CORETYPE caveat). --threads defaults to $COPI_THREADS,
else GOMAXPROCS. --training adds the GEMMs of a batch-50 784-500×6-10 training step.`,
		Example: `  copi bench gemm
  copi bench gemm --threads 1 --kernel avx2 --shapes 1000x1000x1000
  copi bench gemm --training --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list := shapes
			switch {
			case training && strings.TrimSpace(shapes) == "":
				list = trainingGemmShapes // --shapes "" --training: only the training step's
			case training:
				list += "," + trainingGemmShapes
			}
			parsed, err := parseGemmShapes(list)
			if err != nil {
				return err
			}
			e, err := newEngineWith(threads, kernel)
			if err != nil {
				return err
			}
			defer e.Close()
			peak, peakLoop, err := mat32.MeasurePeakGFLOPS(e.Threads(), 300*time.Millisecond)
			if err != nil {
				peak = 0 // unknown: fractions are reported as 0
			}
			out := cmd.OutOrStdout()
			var tw *tabwriter.Writer
			if !asJSON {
				if peak > 0 {
					fmt.Fprintf(out, "physical peak: %.1f GFLOP/s on %d threads (%s FMA loop)\n", peak, e.Threads(), peakLoop)
				} else {
					fmt.Fprintf(out, "physical peak: unknown (%v)\n", err)
				}
				if core := mat32.OpenBLASCore(); core != "" {
					fmt.Fprintf(out, "OpenBLAS core type: %s\n", core)
				}
				tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "shape\top\tbackend\tthreads\tGFLOP/s\tof peak\tms/call\t")
			}
			for _, s := range parsed {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				sec := timeGemm(e, s, dur)
				r := gemmResult{M: s.m, K: s.k, N: s.n, Op: s.ops(), Backend: e.Kernel(), Threads: e.Threads(),
					PeakGFLOPS: peak, Seconds: sec}
				r.GFLOPS = 2 * float64(s.m) * float64(s.k) * float64(s.n) / sec / 1e9
				if peak > 0 {
					r.PeakFraction = r.GFLOPS / peak
				}
				if asJSON {
					if err := writeJSONLine(out, r); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%dx%dx%d\t%s\t%s\t%d\t%.1f\t%.1f%%\t%.3f\t\n", s.m, s.k, s.n, r.Op, r.Backend, r.Threads,
					r.GFLOPS, 100*r.PeakFraction, sec*1e3)
			}
			if tw != nil {
				return tw.Flush()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&shapes, "shapes", defaultGemmShapes, "comma-separated shapes [tAtB:]MxKxN, e.g. 50x784x784,nt:50x784x500")
	f.IntVar(&threads, "threads", 0, "worker threads (0: $COPI_THREADS, else GOMAXPROCS)")
	f.StringVar(&kernel, "kernel", "", "micro-kernel: "+strings.Join(mat32.AvailableKernels(), ", ")+" (default: best for this CPU)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per shape instead of a table")
	f.BoolVar(&training, "training", false, "also time the GEMMs of a batch-50 784-500×6-10 training step")
	f.DurationVar(&dur, "duration", 500*time.Millisecond, "approximate time spent on each shape")
	return cmd
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// parseGemmShapes parses --shapes, "[tAtB:]MxKxN,..." (tAtB is two of n/t, e.g. "nt").
func parseGemmShapes(list string) ([]gemmShape, error) {
	return parseList("shapes", list, "50x784x784,nt:50x784x500", parseGemmShape)
}

// parseGemmShape parses one shape, "[tAtB:]MxKxN" with positive whole dimensions.
func parseGemmShape(f string) (gemmShape, error) {
	var s gemmShape
	f = strings.ToLower(f)
	if ops, dims, ok := strings.Cut(f, ":"); ok {
		if len(ops) != 2 || strings.Trim(ops, "nt") != "" {
			return s, errors.New("has transposes other than nn, nt, tn or tt")
		}
		s.tA, s.tB = ops[0] == 't', ops[1] == 't'
		f = dims
	}
	parts := strings.Split(f, "x")
	if len(parts) != 3 {
		return s, errors.New("is not of the form MxKxN")
	}
	var d [3]int
	for i, p := range parts {
		v, err := wholeNumber(p)
		if err != nil || v <= 0 {
			return s, fmt.Errorf("has dimension %q, not a positive whole number", p)
		}
		d[i] = v
	}
	s.m, s.k, s.n = d[0], d[1], d[2]
	return s, nil
}

// timeGemm returns the best time per product over 5 rounds that together last about dur.
func timeGemm(e *mat32.Engine, s gemmShape, dur time.Duration) float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(r, c int) mat32.Matrix {
		x := mat32.New(r, c)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	a, b := mk(s.m, s.k), mk(s.k, s.n)
	if s.tA {
		a = mk(s.k, s.m)
	}
	if s.tB {
		b = mk(s.n, s.k)
	}
	c := mat32.New(s.m, s.n)
	e.Gemm(s.tA, s.tB, 1, a, b, 0, c) // warm up: packing buffers, caches, OpenBLAS threads
	reps := 1
	round := dur / 5
	for {
		t0 := time.Now()
		for i := 0; i < reps; i++ {
			e.Gemm(s.tA, s.tB, 1, a, b, 0, c)
		}
		if el := time.Since(t0); el >= round/4 || reps > 1<<24 {
			reps = max(1, int(float64(reps)*float64(round)/float64(el+1)))
			break
		}
		reps *= 2
	}
	best := 0.0
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		for i := 0; i < reps; i++ {
			e.Gemm(s.tA, s.tB, 1, a, b, 0, c)
		}
		if sec := time.Since(t0).Seconds() / float64(reps); best == 0 || sec < best {
			best = sec
		}
	}
	return best
}

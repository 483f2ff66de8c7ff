package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/rule"
	"github.com/copi-learn/copi/train"
)

// benchTrainResult is the output of `copi bench train --json`.
type benchTrainResult struct {
	Preset       string  `json:"preset"`
	Rule         string  `json:"rule"`
	Batch        int     `json:"batch"`
	Threads      int     `json:"threads"`
	Kernel       string  `json:"kernel"`
	MsPerStep    float64 `json:"ms_per_step"`
	GFLOPPerStep float64 `json:"gflop_per_step"`
	GFLOPS       float64 `json:"gflops"`
	GemmMs       float64 `json:"gemm_ms_per_step"`
	GemmGFLOPS   float64 `json:"gemm_gflops"`
}

func newBenchTrainCmd() *cobra.Command {
	var (
		preset         string
		steps, threads int
		asJSON         bool
		cpuProfile     string
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Time training steps of a preset's network (ms per step)",
		Long: `Times full training steps (forward pass, credit, weight and decorrelator updates) of a
preset's network on random data of the right shape, after a short warm-up, and
reports milliseconds per step.

It also counts the step's arithmetic (2·m·k·n per matrix product) and times the same
matrix products alone: arithmetic / step time is the step's effective GFLOP/s, and
the gap between the step time and the products' time is what the element-wise work
and the rest cost.`,
		Example: `  copi bench train --preset mnist/copi-bp --steps 200
  copi bench train --preset mnist/bp-adam --steps 200 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := train.Preset(preset)
			if err != nil {
				return err
			}
			if steps <= 0 {
				return fmt.Errorf("--steps %d must be positive", steps)
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			d, err := benchData(cmd, cfg)
			if err != nil {
				return err
			}
			t, err := train.NewTrainer(eng, cfg, d)
			if err != nil {
				return err
			}
			ph := rule.Phase{UpdateW: false, UpdateR: true}
			b := cfg.BatchSize
			nb := d.TrainX.Rows / b
			step := func(i int) error {
				k := i % nb
				loss := t.Learner.Step(d.TrainX.Slice(k*b, (k+1)*b, 0, cfg.Sizes[0]), d.TrainY[k*b:(k+1)*b], ph)
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					return fmt.Errorf("the network diverged on random data at step %d; timings would be meaningless", i)
				}
				return nil
			}
			// Warm up the way the reference schedule starts: decorrelation only, then full steps.
			for i := 0; i < nb; i++ {
				if err := step(i); err != nil {
					return err
				}
			}
			ph.UpdateW = true
			for i := 0; i < 5; i++ {
				if err := step(i); err != nil {
					return err
				}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			start := time.Now()
			for i := 0; i < steps; i++ {
				if err := step(i); err != nil {
					return err
				}
			}
			ms := time.Since(start).Seconds() * 1e3 / float64(steps)
			if cpuProfile != "" {
				pprof.StopCPUProfile()
			}
			shapes := stepGemms(t.Learner.Cfg, cfg.Sizes, cfg.BatchSize)
			var flop float64
			for _, s := range shapes {
				flop += 2 * float64(s.m) * float64(s.k) * float64(s.n)
			}
			gemmMs := timeGemmList(eng, shapes, steps) * 1e3
			res := benchTrainResult{Preset: preset, Rule: cfg.Rule, Batch: cfg.BatchSize, Threads: eng.Threads(),
				Kernel: eng.Kernel(), MsPerStep: ms, GFLOPPerStep: flop / 1e9, GFLOPS: flop / ms / 1e6,
				GemmMs: gemmMs, GemmGFLOPS: flop / gemmMs / 1e6}
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(res)
			}
			fmt.Fprintf(w, "%s (%s, batch %d, %d threads, %s kernel)\n", preset, cfg.Rule, cfg.BatchSize, res.Threads, res.Kernel)
			fmt.Fprintf(w, "  step:               %8.2f ms   %.3f GFLOP  → %.1f GFLOP/s\n", ms, res.GFLOPPerStep, res.GFLOPS)
			fmt.Fprintf(w, "  its GEMMs alone:    %8.2f ms   → %.1f GFLOP/s\n", gemmMs, res.GemmGFLOPS)
			fmt.Fprintf(w, "  everything else:    %8.2f ms   (%.0f%% of the step)\n", ms-gemmMs, 100*(ms-gemmMs)/ms)
			return nil
		},
	}
	cmd.Flags().StringVar(&preset, "preset", "mnist/copi-bp", "preset whose network and rule to time")
	cmd.Flags().IntVar(&steps, "steps", 100, "number of timed steps")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the timed steps to this file")
	return cmd
}

// stepGemms lists the matrix products of one training step of rule c on an MLP of the
// given sizes at batch n (the same products, in the same transposes, as rule.Learner.Step).
func stepGemms(c rule.Config, sizes []int, n int) []gemmShape {
	var out []gemmShape
	L := len(sizes) - 1
	decor := c.Decorrelates()
	for l := 0; l < L; l++ {
		in, o := sizes[l], sizes[l+1]
		if decor {
			out = append(out, gemmShape{mat32.NoTrans, mat32.Trans, n, in, in}) // x = y·Rᵀ
		}
		out = append(out, gemmShape{mat32.NoTrans, mat32.Trans, n, in, o}) // a = x·Wᵀ
		if l > 0 {                                                         // credit into layer l-1
			switch c.Credit {
			case rule.Backprop:
				out = append(out, gemmShape{mat32.NoTrans, mat32.NoTrans, n, o, in})
				if decor {
					out = append(out, gemmShape{mat32.NoTrans, mat32.NoTrans, n, in, in})
				}
			case rule.FeedbackAlignment:
				out = append(out, gemmShape{mat32.NoTrans, mat32.Trans, n, o, in})
			case rule.DirectFeedbackAlignment:
				out = append(out, gemmShape{mat32.NoTrans, mat32.Trans, n, sizes[L], in})
			}
		}
		out = append(out, gemmShape{mat32.Trans, mat32.NoTrans, o, n, in}) // weight update
		if decor {
			out = append(out, gemmShape{mat32.NoTrans, mat32.NoTrans, n, in, in}, // X·R
				gemmShape{mat32.Trans, mat32.NoTrans, in, n, in}) // Xᵀ·(X·R)
		}
	}
	return out
}

// timeGemmList returns the seconds one pass over shapes takes, averaged over reps passes.
func timeGemmList(e *mat32.Engine, shapes []gemmShape, reps int) float64 {
	type op struct{ a, b, c mat32.Matrix }
	ops := make([]op, len(shapes))
	for i, s := range shapes {
		ar, ac := s.m, s.k
		if s.tA {
			ar, ac = ac, ar
		}
		br, bc := s.k, s.n
		if s.tB {
			br, bc = bc, br
		}
		ops[i] = op{mat32.New(ar, ac), mat32.New(br, bc), mat32.New(s.m, s.n)}
		mat32.Fill(ops[i].a, 0.001)
		mat32.Fill(ops[i].b, 0.001)
	}
	run := func() {
		for i, s := range shapes {
			e.Gemm(s.tA, s.tB, 1, ops[i].a, ops[i].b, 1, ops[i].c)
		}
	}
	run()
	start := time.Now()
	for r := 0; r < reps; r++ {
		run()
	}
	return time.Since(start).Seconds() / float64(reps)
}

// benchData is real data of the preset's input size: the embedded Fashion-MNIST sample for
// 784 inputs (training on random inputs would diverge and time the wrong thing), random
// sparse images otherwise.
func benchData(cmd *cobra.Command, cfg train.Config) (*train.Data, error) {
	in, classes := cfg.Sizes[0], cfg.Sizes[len(cfg.Sizes)-1]
	if in == 784 {
		return loadData(cmd.Context(), "fashion-mnist-sample", 0, io.Discard)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 99))
	n := cfg.BatchSize * 20
	d := &train.Data{Name: "random", TrainX: mat32.New(n, in), TestX: mat32.New(cfg.BatchSize, in),
		TrainY: make([]uint8, n), TestY: make([]uint8, cfg.BatchSize), Classes: classes}
	for i := range d.TrainX.Data {
		if rng.IntN(4) == 0 {
			d.TrainX.Data[i] = rng.Float32()
		}
	}
	for i := range d.TrainY {
		d.TrainY[i] = uint8(rng.IntN(classes))
	}
	return d, nil
}

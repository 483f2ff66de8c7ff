package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/rule/credit"
	"github.com/copi-learn/copi/train"
)

// benchTrainResult is the output of `copi bench train --json`.
type benchTrainResult struct {
	Preset    string  `json:"preset"`
	Rule      string  `json:"rule"`
	Batch     int     `json:"batch"`
	Threads   int     `json:"threads"`
	Kernel    string  `json:"kernel"`
	MsPerStep float64 `json:"ms_per_step"`
	// CPUMsPerStep is the process's CPU time (user + system, all threads) per step: on a
	// busy shared machine it is steadier than wall time, and it is what a PyTorch peer's
	// time.process_time measures.
	CPUMsPerStep float64 `json:"cpu_ms_per_step"`
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
		lr             float64
		sets           []string
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Time training steps of a preset's network (ms per step)",
		Long: `Times full training steps (forward pass, credit, weight and decorrelator updates) of a
preset's network on random data of the right shape, after a short warm-up, and
reports milliseconds per step.

It also counts the step's arithmetic (2·m·k·n per matrix product) and times the same
matrix products alone, scheduled as the step schedules them (the forward pass and the
credit on all threads, product after product; the layers' updates side by side, each
thread taking the next layer, when the rule has no optimiser state): arithmetic / step
time is the step's effective GFLOP/s, and the gap between the step time and the
products' time is what the element-wise work and the rest cost.`,
		Example: `  copi bench train --preset mnist/copi-bp --steps 200
  copi bench train --preset mnist/bp-adam --steps 200 --json
  copi bench train --preset mnist/copi-fa --lr 1e-4    # copi-fa's own rate diverges here`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := train.Preset(preset)
			if err != nil {
				return err
			}
			if steps <= 0 {
				return fmt.Errorf("--steps %d must be positive", steps)
			}
			if cmd.Flags().Changed("lr") {
				if !(lr > 0) || math.IsInf(lr, 0) {
					return fmt.Errorf("--lr %v must be a positive number", lr)
				}
				key := "lr"
				for _, k := range cfg.ValidKeys() {
					if k == "optimizer.lr" {
						key = k
					}
				}
				if err := cfg.Set(fmt.Sprintf("%s=%v", key, lr)); err != nil {
					return err
				}
			}
			for _, kv := range sets {
				if err := cfg.Set(kv); err != nil {
					return err
				}
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			d, err := benchData(cmd, preset, cfg)
			if err != nil {
				return err
			}
			if d, err = normalizedData(cfg, d); err != nil {
				return err
			}
			cfg.InputMean, cfg.InputStd = nil, nil // d is normalised already
			t, err := train.NewTrainer(eng, cfg, d)
			if err != nil {
				return err
			}
			b := cfg.BatchSize
			nb := d.TrainX.Rows / b
			// The warm-up epoch is epoch 0 of a long run (the COPI presets train only R in
			// it, as the reference schedule starts); the timed steps are in epoch 1.
			at := learn.At{Epoch: 0, Epochs: 100, StepsPerEpoch: nb}
			step := func(i int) error {
				k := i % nb
				at.Step = k
				loss, _ := t.Learner.Step(learn.Batch{X: d.TrainX.Slice(k*b, (k+1)*b, 0, d.TrainX.Cols), Labels: d.TrainY[k*b : (k+1)*b]}, at)
				at.Global++
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					return fmt.Errorf("the network diverged at step %d of the benchmark (on %s); timings of NaN arithmetic would be meaningless: try a smaller --lr (the arithmetic does not depend on it)", i, d.Name)
				}
				return nil
			}
			for i := 0; i < nb; i++ {
				if err := step(i); err != nil {
					return err
				}
			}
			at.Epoch = 1
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
			start, cpuStart := time.Now(), processCPU()
			for i := 0; i < steps; i++ {
				if err := step(i); err != nil {
					return err
				}
			}
			ms := time.Since(start).Seconds() * 1e3 / float64(steps)
			cpuMs := (processCPU() - cpuStart).Seconds() * 1e3 / float64(steps)
			if cpuProfile != "" {
				pprof.StopCPUProfile()
			}
			res := benchTrainResult{Preset: preset, Rule: cfg.Rule, Batch: cfg.BatchSize, Threads: eng.Threads(),
				Kernel: eng.Kernel(), MsPerStep: ms, CPUMsPerStep: cpuMs}
			w := cmd.OutOrStdout()
			m, isCredit := t.Learner.(*credit.Model)
			if isCredit {
				shapes := stepGemms(m.Learner.Cfg, m.Opts.Sizes, cfg.BatchSize)
				var flop float64
				for _, s := range shapes {
					flop += 2 * float64(s.m) * float64(s.k) * float64(s.n)
				}
				order := m.Learner.UpdateOrder(m.Phase(at))
				gemmMs, err := timeGemmList(eng, shapes, order, steps)
				if err != nil {
					return err
				}
				gemmMs *= 1e3
				res.GFLOPPerStep, res.GFLOPS, res.GemmMs, res.GemmGFLOPS = flop/1e9, flop/ms/1e6, gemmMs, flop/gemmMs/1e6
			}
			if asJSON {
				return json.NewEncoder(w).Encode(res)
			}
			fmt.Fprintf(w, "%s (%s, batch %d, %d threads, %s kernel)\n", preset, cfg.Rule, cfg.BatchSize, res.Threads, res.Kernel)
			if res.CPUMsPerStep > 0 {
				fmt.Fprintf(w, "  CPU time:           %8.2f ms per step (all threads)\n", res.CPUMsPerStep)
			}
			if !isCredit {
				fmt.Fprintf(w, "  step:               %8.2f ms\n", ms)
				return nil
			}
			fmt.Fprintf(w, "  step:               %8.2f ms   %.3f GFLOP  → %.1f GFLOP/s\n", ms, res.GFLOPPerStep, res.GFLOPS)
			fmt.Fprintf(w, "  its GEMMs alone:    %8.2f ms   → %.1f GFLOP/s\n", res.GemmMs, res.GemmGFLOPS)
			fmt.Fprintf(w, "  everything else:    %8.2f ms   (%.0f%% of the step)\n", ms-res.GemmMs, 100*(ms-res.GemmMs)/ms)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a configuration key of the preset, key=value (repeatable)")
	cmd.Flags().StringVar(&preset, "preset", "mnist/copi-bp", "preset whose network and rule to time")
	cmd.Flags().IntVar(&steps, "steps", 100, "number of timed steps")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the timed steps to this file")
	cmd.Flags().Float64Var(&lr, "lr", 0, "learning rate instead of the preset's (for presets that diverge on the benchmark data)")
	return cmd
}

// stepGemm is one matrix product of a training step, C = op(A)·op(B), with its operands
// named after the step's matrices ("R3", "X3", "D2", …) so that a replay reuses a matrix
// wherever the step does; layer is the layer whose update it belongs to, or -1 for the
// forward pass and the credit.
type stepGemm struct {
	gemmShape
	a, b, c string
	layer   int
}

// stepGemms lists the matrix products of one training step of rule c on an MLP of the
// given sizes at batch n (the same products, in the same transposes and on the same
// matrices, as rule.Learner.Step): Y0 the batch, R/W/F the decorrelators, weights and
// feedback matrices, X/A/H a layer's decorrelated input, pre-activation and output, D its
// credit, K the credit before the R factor, P the decorrelation's X·R.
func stepGemms(c credit.Config, sizes []int, n int) []stepGemm {
	var out []stepGemm
	L := len(sizes) - 1
	decor := c.Decorrelates()
	add := func(layer int, a string, tA mat32.Transpose, b string, tB mat32.Transpose, cName string, m, k, nn int) {
		out = append(out, stepGemm{gemmShape{tA, tB, m, k, nn}, a, b, cName, layer})
	}
	name := func(s string, l int) string { return fmt.Sprintf("%s%d", s, l) }
	x := func(l int) string { // the input that layer l's W sees
		switch {
		case decor:
			return name("X", l)
		case l == 0:
			return "Y0"
		}
		return name("H", l-1)
	}
	for l := 0; l < L; l++ { // the forward pass
		in, o := sizes[l], sizes[l+1]
		if decor {
			y := "Y0"
			if l > 0 {
				y = name("H", l-1)
			}
			add(-1, y, mat32.NoTrans, name("R", l), mat32.Trans, x(l), n, in, in) // x = y·Rᵀ
		}
		add(-1, x(l), mat32.NoTrans, name("W", l), mat32.Trans, name("A", l), n, in, o) // a = x·Wᵀ
	}
	for l := L - 1; l > 0; l-- { // the credit into layer l-1
		in, o := sizes[l], sizes[l+1]
		switch c.Credit {
		case credit.Backprop:
			if decor {
				add(-1, name("D", l), mat32.NoTrans, name("W", l), mat32.NoTrans, name("K", l), n, o, in)
				add(-1, name("K", l), mat32.NoTrans, name("R", l), mat32.NoTrans, name("D", l-1), n, in, in)
			} else {
				add(-1, name("D", l), mat32.NoTrans, name("W", l), mat32.NoTrans, name("D", l-1), n, o, in)
			}
		case credit.FeedbackAlignment, credit.SignSymmetry:
			add(-1, name("D", l), mat32.NoTrans, name("F", l), mat32.Trans, name("D", l-1), n, o, in)
		case credit.DirectFeedbackAlignment:
			add(-1, name("D", L-1), mat32.NoTrans, name("F", l-1), mat32.Trans, name("D", l-1), n, sizes[L], in)
		}
	}
	for l := 0; l < L; l++ { // the updates
		in, o := sizes[l], sizes[l+1]
		add(l, name("D", l), mat32.Trans, x(l), mat32.NoTrans, name("W", l), o, n, in) // W += Zᵀ·X
		if decor {
			add(l, x(l), mat32.NoTrans, name("R", l), mat32.NoTrans, name("P", l), n, in, in) // P = X·R
			add(l, x(l), mat32.Trans, name("P", l), mat32.NoTrans, name("R", l), in, n, in)   // R += Xᵀ·P
		}
	}
	return out
}

// timeGemmList returns the seconds one pass over the step's products takes, averaged over
// reps passes, on matrices of random values (one per name, shared by the products that
// share it in the step). The forward and credit products run on e one after another; the
// update products run on e too when order is nil, and otherwise as rule.Learner.Step runs
// them: each of e's threads, with a one-thread engine of its own, takes the next layer of
// order until none is left. Updates accumulate (β = 1) with a small α, the rest
// overwrite, so that values stay of order 1 over any number of passes.
func timeGemmList(e *mat32.Engine, shapes []stepGemm, order []int, reps int) (float64, error) {
	mats := map[string]mat32.Matrix{}
	rng := rand.New(rand.NewPCG(1, 2))
	get := func(name string, rows, cols int) (mat32.Matrix, error) {
		if m, ok := mats[name]; ok {
			if m.Rows != rows || m.Cols != cols {
				return m, fmt.Errorf("bench: %s is %d×%d and %d×%d", name, m.Rows, m.Cols, rows, cols)
			}
			return m, nil
		}
		m := mat32.New(rows, cols)
		for i := range m.Data {
			m.Data[i] = 2*rng.Float32() - 1
		}
		mats[name] = m
		return m, nil
	}
	type op struct {
		stepGemm
		a, b, c     mat32.Matrix
		alpha, beta float32
	}
	var seq []op
	byLayer := map[int][]op{}
	for _, s := range shapes {
		ar, ac := s.m, s.k
		if s.tA {
			ar, ac = ac, ar
		}
		br, bc := s.k, s.n
		if s.tB {
			br, bc = bc, br
		}
		o := op{stepGemm: s, alpha: 1 / float32(math.Sqrt(float64(s.k)))}
		var err error
		if o.a, err = get(s.a, ar, ac); err == nil {
			if o.b, err = get(s.b, br, bc); err == nil {
				o.c, err = get(s.c, s.m, s.n)
			}
		}
		if err != nil {
			return 0, err
		}
		if s.layer >= 0 {
			o.alpha, o.beta = 1e-3*o.alpha, 1
		}
		if s.layer < 0 || order == nil {
			seq = append(seq, o)
		} else {
			byLayer[s.layer] = append(byLayer[s.layer], o)
		}
	}
	par := &laneGemms{}
	for _, l := range order {
		var run []func(*mat32.Engine)
		for _, o := range byLayer[l] {
			run = append(run, func(le *mat32.Engine) { le.Gemm(o.tA, o.tB, o.alpha, o.a, o.b, o.beta, o.c) })
		}
		par.layers = append(par.layers, run)
	}
	if order != nil {
		for range e.Threads() {
			le, err := mat32.NewEngine(mat32.Options{Threads: 1, Kernel: e.Kernel()})
			if err != nil {
				return 0, err
			}
			par.lanes = append(par.lanes, le)
		}
	}
	pass := func() {
		for _, o := range seq {
			e.Gemm(o.tA, o.tB, o.alpha, o.a, o.b, o.beta, o.c)
		}
		if len(par.lanes) > 0 {
			par.next.Store(0)
			e.ParallelFor(len(par.lanes), 1, 1, par)
		}
	}
	pass()
	start := time.Now()
	for r := 0; r < reps; r++ {
		pass()
	}
	return time.Since(start).Seconds() / float64(reps), nil
}

// laneGemms runs the update products of the layers, lane lo taking the next layer until
// none is left, as rule.Learner.Step does.
type laneGemms struct {
	lanes  []*mat32.Engine
	layers [][]func(*mat32.Engine)
	next   atomic.Int64
}

// Range implements [mat32.Ranger].
func (p *laneGemms) Range(lo, hi int) {
	if lo >= hi {
		return
	}
	for {
		k := int(p.next.Add(1)) - 1
		if k >= len(p.layers) {
			return
		}
		for _, f := range p.layers[k] {
			f(p.lanes[lo])
		}
	}
}

// benchData is real data of the preset's input size: the embedded Fashion-MNIST sample for
// the mnist/ presets (training on random inputs would diverge and time the wrong thing),
// random sparse 32×32 RGB images for the others.
func benchData(cmd *cobra.Command, preset string, cfg train.Config) (*train.Data, error) {
	if strings.HasPrefix(preset, "mnist/") {
		return loadData(cmd.Context(), "fashion-mnist-sample", 0, io.Discard)
	}
	const in, classes = 3072, 10
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

// Command parity runs the first K training steps of a copi preset in file order and writes
// what an independent implementation (parity.py, PyTorch) needs to replay them: the initial
// checkpoint, the per-step batch losses and the final checkpoint.
//
//	go run ./tools/parity --preset mnist/copi-bp --steps 300 --out /tmp/parity-copi
//	/usr/bin/python3 tools/parity/parity.py /tmp/parity-copi
//
// The run differs from the preset's schedule in one way only: DecorOnlyEpochs is forced to 0,
// so that W learns from the first step (with the reference schedule the first 1200 steps
// update R alone). Batch b is rows b·B..b·B+B−1 of the training set (file order, as epoch 0
// of the reference runs). It is not part of CI.
//
// With --snapshot-every P it also writes the state after steps k and k+1 for k = P, 2P, ...
// (DIR/step-<k>.ckpt; step 0 is init.ckpt), so that parity.py can check single steps taken from copi's own state
// along the whole run (teacher forcing), apart from the free-running trajectory, whose
// differences chaos may amplify.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/rule/credit"
	"github.com/copi-learn/copi/train"
)

type losses struct {
	Preset  string `json:"preset"`
	Dataset string `json:"dataset"`
	Steps   int    `json:"steps"`
	Batch   int    `json:"batch"`
	Threads int    `json:"threads"`
	// DecorOnlySteps is the number of initial steps that update only R.
	DecorOnlySteps int `json:"decor_only_steps"`
	// DivergedAt is the step whose forward pass gave a non-finite loss (-1: none); Steps
	// then counts the finite steps before it, and final.ckpt holds the state after them.
	DivergedAt int       `json:"diverged_at"`
	Loss       []float64 `json:"loss"`
}

func main() {
	preset := flag.String("preset", "mnist/copi-bp", "preset to run")
	steps := flag.Int("steps", 300, "number of training steps (epoch 0, file order)")
	dataset := flag.String("data", "fashion-mnist", "dataset name or path")
	out := flag.String("out", "", "output directory (required)")
	threads := flag.Int("threads", 0, "matrix engine threads (0: default)")
	decorSteps := flag.Int("decor-only-steps", 0, "run this many R-only steps (W frozen) first, as the reference's epoch 0 does (counted in --steps)")
	every := flag.Int("snapshot-every", 50, "also save the state after steps k and k+1 for k = P, 2P, ... < steps (0: none)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "parity: --out DIR is required")
		os.Exit(2)
	}
	if err := run(*preset, *steps, *decorSteps, *dataset, *out, *threads, *every); err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(1)
	}
}

func run(preset string, steps, decorSteps int, dataset, out string, threads, every int) error {
	cfg, err := train.Preset(preset)
	if err != nil {
		return err
	}
	cfg.Options.(*credit.Options).DecorOnlyEpochs = 0
	cfg.ShuffleFirstEpoch = false

	ds, err := data.Load(context.Background(), dataset, data.Options{Log: io.Discard})
	if err != nil {
		return err
	}
	d := &train.Data{Name: ds.Name, TrainX: ds.Train.X, TrainY: ds.Train.Labels,
		TestX: ds.Test.X, TestY: ds.Test.Labels, Classes: ds.Classes}
	b := cfg.BatchSize
	if decorSteps < 0 || decorSteps >= steps {
		return fmt.Errorf("--decor-only-steps %d must be in [0, --steps)", decorSteps)
	}
	if steps < 1 || steps*b > d.TrainX.Rows {
		return fmt.Errorf("--steps %d: epoch 0 of %s has %d batches of %d", steps, ds.Name, d.TrainX.Rows/b, b)
	}

	eng, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		return err
	}
	defer eng.Close()
	t, err := train.NewTrainer(eng, cfg, d)
	if err != nil {
		return err
	}
	m := t.Learner.(*credit.Model)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	stale, _ := filepath.Glob(filepath.Join(out, "step-*.ckpt"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := t.SaveCheckpoint(filepath.Join(out, "init.ckpt")); err != nil {
		return err
	}

	rec := losses{Preset: preset, Dataset: ds.Name + " (" + ds.Source + ")", Steps: steps, Batch: b,
		Threads: eng.Threads(), DecorOnlySteps: decorSteps, DivergedAt: -1}
	in := d.TrainX.Cols
	snapshot := func(s int) error {
		if every <= 0 || s == 0 || s >= steps || (s%every != 0 && (s-1)%every != 0) {
			return nil
		}
		t.Pos = train.Position{Epoch: 0, Step: s}
		return t.SaveCheckpoint(filepath.Join(out, fmt.Sprintf("step-%06d.ckpt", s)))
	}
	for s := 0; s < steps; s++ {
		if err := snapshot(s); err != nil {
			return err
		}
		x := d.TrainX.Slice(s*b, (s+1)*b, 0, in)
		ph := credit.Phase{UpdateW: s >= decorSteps, UpdateR: true}
		loss := m.Learner.Step(x, d.TrainY[s*b:(s+1)*b], ph)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			// Step changed nothing: the state is that after s finite steps.
			fmt.Fprintf(os.Stderr, "parity: %s diverged: non-finite loss at step %d (%s); keeping the %d finite steps\n",
				preset, s, m.NonFinite(), s)
			rec.DivergedAt, rec.Steps = s, s
			break
		}
		rec.Loss = append(rec.Loss, loss)
	}
	t.Pos = train.Position{Epoch: 0, Step: rec.Steps}
	if len(rec.Loss) == 0 {
		return fmt.Errorf("%s diverged at the first step", preset)
	}

	raw, err := json.MarshalIndent(rec, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "losses.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	if err := t.SaveCheckpoint(filepath.Join(out, "final.ckpt")); err != nil {
		return err
	}
	fmt.Printf("%s: %d steps on %s, loss %.5f → %.5f; wrote %s/{init.ckpt,final.ckpt,losses.json}\n",
		preset, rec.Steps, ds.Name, rec.Loss[0], rec.Loss[len(rec.Loss)-1], out)
	return nil
}

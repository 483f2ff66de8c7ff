package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/report"
	"github.com/copi-learn/copi/train"
)

func newTrainCmd() *cobra.Command {
	var (
		cf                      configFlags
		dataSpec, metrics, ckpt string
		resume                  string
		threads                 int
		quiet                   bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train one network with one learning rule",
		Long: `Trains one network and prints a summary table at the end.

The configuration starts from --preset (default mnist/copi-bp: the paper's
784-500x6-10 network with COPI and backprop perturbations), then applies the keys of
--config FILE (YAML or JSON, as 'copi presets show P' prints them), then --rule, then
the shorthand flags you give (--lr, --sizes, ...), then every --set key=value. Any
key of the configuration can be set with --set: the common ones (batch_size, epochs,
eval_every, seed, ...) and the rule's own options (e.g. optimizer.lr for the COPI
family, negatives or predict for forward-forward); an unknown key is an error that
lists the valid ones. Epoch 0 of the COPI presets only trains the decorrelators R
(the reference schedule); epochs are counted from 0.

A shorthand flag you do not give keeps the preset's value, whatever default this
help shows for it: 'copi presets show NAME' prints every value preset NAME sets,
and so does 'copi train --preset NAME --help', after this text.

--data takes a registered dataset (fashion-mnist, mnist, kmnist, cifar10; see
'copi data list') or a path (a directory of IDX files, CIFAR-10 batches or .npy
arrays). fashion-mnist falls back to the embedded sample when it is not installed.

Every evaluation goes to --metrics as one JSON line. --checkpoint receives the
whole training state after every epoch and when you press Ctrl-C; --resume continues
from one exactly as if never interrupted (same seed and threads give the same bits).
A diverging run (NaN or Inf) stops with the layer and step, keeping the last good
checkpoint.`,
		Example: `  copi train --preset mnist/copi-bp --data fashion-mnist --epochs 3
  copi train --preset mnist/bp-adam --data mnist --epochs 20 --metrics bp.jsonl
  copi train --rule copi-fa --lr 5e-4 --checkpoint run.ckpt --metrics run.jsonl
  copi train --preset mnist/ff --data mnist --set negatives=uniform --set predict=softmax
  copi train --resume run.ckpt --epochs 40 --checkpoint run.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := cmd.ErrOrStderr()
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			for _, path := range []string{ckpt, metrics} {
				if path != "" {
					if err := checkWritable(path); err != nil {
						return err
					}
				}
			}
			var t *train.Trainer
			if resume != "" {
				// The data come from the flags; the configuration from the checkpoint, with
				// the changes a resume may make (train.Resume refuses the others).
				ck, err := checkpoint.Read(resume)
				if err != nil {
					return err
				}
				saved, err := train.ReadConfig(ck)
				if err != nil {
					return fmt.Errorf("%s: %w", resume, err)
				}
				sets, err := cf.resumeOverrides(cmd, saved)
				if err != nil {
					return err
				}
				d, err := loadData(ctx, dataSpec, saved.Validation, log)
				if err != nil {
					return err
				}
				if t, err = train.ResumeCheckpoint(eng, ck, resume, d, sets...); err != nil {
					return err
				}
				fmt.Fprintf(log, "resuming %s at epoch %d step %d\n", resume, t.Pos.Epoch, t.Pos.Step)
			} else {
				cfg, err := cf.build(cmd)
				if err != nil {
					return err
				}
				if cfg.Epochs == 0 {
					return fmt.Errorf("--epochs 0: nothing to train (give at least 1)")
				}
				d, err := loadData(ctx, dataSpec, cfg.Validation, log)
				if err != nil {
					return err
				}
				if t, err = train.NewTrainer(eng, cfg, d); err != nil {
					return err
				}
			}
			cfg := t.Cfg
			fmt.Fprintf(log, "%s, batch %d, %d epochs, seed %d, %d threads (%s kernel)\n",
				t.Describe(), cfg.BatchSize, cfg.Epochs, cfg.Seed, eng.Threads(), eng.Kernel())
			opt := train.Options{CheckpointPath: ckpt, RunLabel: fmt.Sprintf("%s@%d", train.Label(cfg), cfg.Seed), EvalAtStart: true}
			if metrics != "" {
				side, err := report.RecoverTornTail(metrics)
				if err != nil {
					return fmt.Errorf("--metrics: %w", err)
				}
				if side != "" {
					fmt.Fprintf(log, "metrics: %s ended in a torn line (a run was killed while writing it); its bytes are in %s\n", metrics, side)
				}
				f, err := os.OpenFile(metrics, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return fmt.Errorf("--metrics: %w", err)
				}
				defer f.Close()
				opt.Metrics = f
			}
			remaining := (cfg.Epochs-t.Pos.Epoch)*t.StepsPerEpoch() - t.Pos.Step
			p := newProgress(log, train.Label(cfg), remaining, quiet)
			opt.OnStep = p.Step
			opt.OnEval = func(r train.Record) error { p.Eval(r); return nil }
			runErr := t.Run(ctx, opt)
			p.Done()
			var div *train.DivergenceError
			switch {
			case errors.As(runErr, &div):
				return runErr
			case runErr != nil && ctx.Err() != nil:
				if ckpt != "" {
					fmt.Fprintf(log, "interrupted at epoch %d step %d; checkpoint written to %s; continue with:\n  copi train --resume %s --data %s --checkpoint %s\n",
						t.Pos.Epoch, t.Pos.Step, ckpt, ckpt, dataSpec, ckpt)
				}
				return runErr
			case runErr != nil:
				return runErr
			}
			printRecords(cmd.OutOrStdout(), t.Records())
			if t.Stopped != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "stopped after epoch %d of %d: %s\n", t.Pos.Epoch-1, cfg.Epochs, t.Stopped)
			}
			return nil
		},
	}
	cf.register(cmd)
	// With --preset P, the help ends with the values P sets: the defaults that apply.
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		defaultHelp(c, args)
		if !c.Flags().Changed("preset") {
			return
		}
		y, err := presetYAML(cf.preset)
		if err != nil {
			fmt.Fprintf(c.OutOrStdout(), "\n%v\n", err)
			return
		}
		fmt.Fprintf(c.OutOrStdout(), "\nThe values --preset %s sets (as 'copi presets show %s' prints them):\n  %s\n",
			cf.preset, cf.preset, strings.ReplaceAll(strings.TrimSpace(y), "\n", "\n  "))
	})
	cmd.Flags().StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path")
	cmd.Flags().StringVar(&metrics, "metrics", "", "append one JSON line per evaluation to this file")
	cmd.Flags().StringVar(&ckpt, "checkpoint", "", "write the training state here after every epoch and on Ctrl-C")
	cmd.Flags().StringVar(&resume, "resume", "", "continue the run saved in this checkpoint")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default $COPI_THREADS, else all cores)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the summary table")
	return cmd
}

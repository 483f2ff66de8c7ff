package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/report"
	"github.com/copi-learn/copi/study"
	"github.com/copi-learn/copi/train"
)

// defaultComparePresets are compared when neither presets, rules nor a study are given.
const defaultComparePresets = "mnist/bp-adam,mnist/copi-bp"

func newCompareCmd() *cobra.Command {
	var (
		presets, rules, base, seeds, dataSpec string
		studyFile, metrics, ckptDir, shard    string
		format                                string
		sizes                                 string
		epochs, batch, threads                int
		lr                                    float64
		quiet, tableOnly, dryRun              bool
	)
	cmd := &cobra.Command{
		Use:   "compare [--table-only METRICS.jsonl...]",
		Short: "Run a study (presets/rules × datasets × seeds), resumably and in shards, and tabulate it",
		Long: `Runs a grid of configurations × datasets × seeds and prints a table: final and
peak test accuracy (mean ± sd over seeds), the epoch of the peak, the training seconds
per epoch and, per layer, the angle between the rule's update and the backprop gradient
before training and at the end; then the test accuracy at the end of every epoch. A run
that diverges (non-finite values) is recorded as such, named under the table, and the
study goes on.

The configurations are --presets as they are, then every rule of --rules applied over
the --base preset, then the explicit runs of a --study file (YAML or JSON). 'copi
presets' lists the presets, and 'copi presets show NAME' prints every value preset
NAME sets (the defaults of a run unless the study or a flag changes them):

  base: mnist/bp-adam            # preset under the rules
  rules: [bp, fa, dfa]           # one configuration per rule
  presets: [mnist/copi-bp]       # more configurations
  seeds: [1, 2, 3]
  data: [fashion-mnist, mnist]
  epochs: 10                     # shorthands: epochs, lr, batch
  config:                        # any keys of 'copi presets --show', over every run
    sizes: [784, 1024, 512, 10]
    activation: relu
    loss: cross-entropy
    optimizer: {name: adam, lr: 3.0e-4}
  runs:                          # explicit configurations (each may set its own seeds/data)
    - {label: fa-fast, preset: mnist/bp-adam, rule: fa, lr: 1.0e-3}

Flags given on the command line replace the study's axes and shorthands. The grid is
ordered dataset, then configuration, then seed; --dry-run lists it.

Every evaluation is appended to --metrics as a JSON line carrying the run's label,
a key (label|data|seed|config hash) and its whole configuration. Started again with the
same metrics file, compare skips the runs whose final epoch is recorded and runs the
incomplete ones again: from scratch, or from their checkpoint in --checkpoint-dir
(written after every epoch and on Ctrl-C), exactly as if never interrupted.

--shard i/n runs only the runs whose index is i modulo n, so that n machines (a Slurm
job array, a Kubernetes Indexed Job) share a study, each writing its own metrics file;
'copi compare --table-only FILES...' then tabulates them together, and 'copi report'
draws them. See docs/studies.md.

--format json prints, instead of the text table, one JSON object per configuration
and dataset, one a line: label, data, config_hash, seeds (complete runs), diverged,
incomplete, final_test_acc_pct, peak_test_acc_pct, peak_epoch and seconds_per_epoch
(each {mean, sd, n}; sd is null for one seed), test_acc_pct_per_epoch, and
update_angle_deg {first, last} per layer when the rule logs it. --format markdown
prints the summary table as a GitHub markdown table, to paste into a README.`,
		Example: `  copi compare --presets mnist/bp-adam,mnist/copi-bp --data fashion-mnist --epochs 3
  copi compare --base mnist/bp-adam --rules bp,fa,dfa --seeds 1,2,3 --epochs 10 --metrics fa.jsonl
  copi compare --study study.yaml --metrics study-0.jsonl --checkpoint-dir ckpt --shard 0/4
  copi compare --table-only study-*.jsonl
  copi compare --table-only study-*.jsonl --format markdown`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !tableOnly {
				return fmt.Errorf("compare takes metrics files only with --table-only (got %q)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if !slices.Contains(study.Formats, format) {
				return fmt.Errorf("--format %q: want %s", format, strings.Join(study.Formats, ", "))
			}
			if tableOnly {
				if len(args) == 0 {
					return fmt.Errorf("--table-only needs metrics files to tabulate")
				}
				set, err := report.Load(args...)
				if err != nil {
					return err
				}
				for _, w := range set.Torn {
					fmt.Fprintf(cmd.ErrOrStderr(), "compare: warning: %s\n", w)
				}
				return study.WriteTable(cmd.OutOrStdout(), set.Groups(nil), format)
			}
			fl := cmd.Flags()
			var st study.Study
			if studyFile != "" {
				if st, err = study.Read(studyFile); err != nil {
					return err
				}
				if len(st.Presets) == 0 && len(st.Rules) == 0 && len(st.Runs) == 0 && !fl.Changed("presets") && !fl.Changed("rules") {
					return fmt.Errorf("study %s has no configurations: give presets, rules or runs (see docs/studies.md)", studyFile)
				}
			}
			if fl.Changed("presets") {
				if st.Presets, err = parseNames("presets", presets, defaultComparePresets); err != nil {
					return err
				}
			}
			if fl.Changed("rules") {
				if st.Rules, err = parseNames("rules", rules, "bp,fa,dfa"); err != nil {
					return err
				}
			}
			if fl.Changed("base") || st.Base == "" {
				st.Base = base
			}
			if fl.Changed("seeds") || len(st.Seeds) == 0 {
				if st.Seeds, err = parseSeeds("seeds", seeds); err != nil {
					return err
				}
			}
			if fl.Changed("data") || len(st.Data) == 0 {
				if st.Data, err = parseNames("data", dataSpec, "fashion-mnist,mnist"); err != nil {
					return err
				}
			}
			if len(st.Presets) == 0 && len(st.Rules) == 0 && len(st.Runs) == 0 {
				st.Presets = strings.Split(defaultComparePresets, ",")
			}
			if fl.Changed("epochs") {
				st.Epochs = &epochs
			}
			if fl.Changed("lr") {
				st.LR = &lr
			}
			if fl.Changed("batch") {
				st.Batch = &batch
			}
			var sizeList []int
			if fl.Changed("sizes") {
				if sizeList, err = parseIntList("sizes", sizes); err != nil {
					return err
				}
			}
			plan, err := st.Plan(sizeList)
			if err != nil {
				return err
			}
			idx, n, err := study.ParseShard(shard)
			if err != nil {
				return err
			}
			if !dryRun {
				if metrics != "" {
					if err := checkWritable(metrics); err != nil {
						return err
					}
				}
				if ckptDir != "" {
					if err := os.MkdirAll(ckptDir, 0o755); err != nil {
						return fmt.Errorf("--checkpoint-dir %s: %w (choose a directory that can be created and written)", ckptDir, errors.Unwrap(err))
					}
					if err := checkWritable(filepath.Join(ckptDir, "x.ckpt")); err != nil {
						return err
					}
				}
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			log := cmd.ErrOrStderr()
			stdout := cmd.OutOrStdout()
			return study.Execute(cmd.Context(), stdout, log, plan, study.Options{
				ShardIndex: idx, Shards: n, Metrics: metrics, CheckpointDir: ckptDir,
				Engine: eng, Quiet: quiet, DryRun: dryRun, Format: format,
				LoadData: func(ctx context.Context, spec string, validation int) (*train.Data, error) {
					return loadData(ctx, spec, validation, log)
				},
				NewProgress: func(label string, steps int) study.Progress {
					return newProgress(log, label, steps, quiet)
				},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&presets, "presets", "", "comma-separated presets to compare (default "+defaultComparePresets+" when nothing else is given)")
	f.StringVar(&rules, "rules", "", "comma-separated rules, each applied over --base: "+strings.Join(learn.Names(), ", "))
	f.StringVar(&base, "base", "mnist/bp-adam", "preset that --rules are applied over")
	f.StringVar(&seeds, "seeds", "1", "comma-separated seeds")
	f.StringVar(&dataSpec, "data", "fashion-mnist", "comma-separated dataset names or paths")
	f.StringVar(&studyFile, "study", "", "YAML or JSON study file (grid axes, overrides, explicit runs)")
	f.IntVar(&epochs, "epochs", 0, "epochs per run (default: each configuration's)")
	f.Float64Var(&lr, "lr", 0, "learning rate of every run")
	f.IntVar(&batch, "batch", 0, "batch size of every run")
	f.StringVar(&sizes, "sizes", "", "layer widths of every run, input first, e.g. 784,1024,512,10")
	f.StringVar(&metrics, "metrics", "", "append every evaluation here as JSON lines; runs already complete in it are skipped")
	f.StringVar(&ckptDir, "checkpoint-dir", "", "keep one checkpoint per run here, to resume incomplete runs exactly")
	f.StringVar(&shard, "shard", "", "run only shard i/n: the runs whose grid index is i modulo n (i from 0)")
	f.BoolVar(&tableOnly, "table-only", false, "tabulate the metrics files given as arguments without training")
	f.StringVar(&format, "format", "table", "form of the table: table (text), json (one object per configuration and dataset, one a line) or markdown (GitHub table)")
	f.BoolVar(&dryRun, "dry-run", false, "list the grid (index, shard, key, status) without training")
	f.IntVar(&threads, "threads", 0, "worker threads")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the table")
	return cmd
}

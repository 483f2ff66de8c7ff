package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/train"
)

// compareRow is one configuration's results over seeds.
type compareRow struct {
	label                  string
	final, peak, peakEpoch []float64
	secPerEpoch            []float64
	// perEpoch[e] holds the test accuracy (%) at the end of epoch e, one entry per seed.
	perEpoch [][]float64
}

func newCompareCmd() *cobra.Command {
	var (
		presets, seeds, dataSpec, metrics string
		epochs, threads                   int
		quiet                             bool
	)
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Train several presets over several seeds on the same data and tabulate them",
		Long: `Runs every preset in --presets for every seed in --seeds on the same data, one after
another, then prints a table: final and peak test accuracy (mean ± sd over seeds),
the epoch of the peak, and the training seconds per epoch.

Every evaluation of every run is appended to --metrics as a JSON line (with the
run's label in "run"), ready for 'copi report' or your own plotting.`,
		Example: `  copi compare --presets mnist/bp-adam,mnist/copi-bp --data fashion-mnist --epochs 3
  copi compare --presets mnist/copi-bp,mnist/copi-fa,mnist/decor-bp --seeds 1,2,3 --epochs 20 --metrics cmp.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := cmd.ErrOrStderr()
			var seedList []uint64
			for _, s := range splitList(seeds) {
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return fmt.Errorf("--seeds: %q is not a seed", s)
				}
				seedList = append(seedList, v)
			}
			var cfgs []train.Config
			for _, p := range splitList(presets) {
				c, err := train.Preset(p)
				if err != nil {
					return err
				}
				if cmd.Flags().Changed("epochs") {
					c.Epochs = epochs
				}
				cfgs = append(cfgs, c)
			}
			if len(cfgs) == 0 || len(seedList) == 0 {
				return fmt.Errorf("nothing to compare: give --presets and --seeds")
			}
			d, err := loadData(ctx, dataSpec, 0, log)
			if err != nil {
				return err
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			var out io.Writer
			if metrics != "" {
				f, err := os.OpenFile(metrics, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return fmt.Errorf("metrics: %w", err)
				}
				defer f.Close()
				out = f
			}
			var rows []*compareRow
			for _, c := range cfgs {
				row := &compareRow{label: label(c)}
				rows = append(rows, row)
				for _, s := range seedList {
					c.Seed = s
					t, err := train.NewTrainer(eng, c, d)
					if err != nil {
						return err
					}
					runLabel := fmt.Sprintf("%s@%d", row.label, s)
					p := newProgress(log, runLabel, c.Epochs*t.StepsPerEpoch(), quiet)
					err = t.Run(ctx, train.Options{Metrics: out, RunLabel: runLabel, OnStep: p.step, OnEval: p.eval})
					p.done()
					if err != nil {
						return fmt.Errorf("%s: %w", runLabel, err)
					}
					row.add(t.Records(), t.Seconds(), c.Epochs)
				}
			}
			printCompare(cmd.OutOrStdout(), rows, len(seedList))
			return nil
		},
	}
	cmd.Flags().StringVar(&presets, "presets", "mnist/bp-adam,mnist/copi-bp", "comma-separated presets to compare")
	cmd.Flags().StringVar(&seeds, "seeds", "1", "comma-separated seeds")
	cmd.Flags().StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path (the same for every run)")
	cmd.Flags().IntVar(&epochs, "epochs", 0, "epochs per run (default: each preset's)")
	cmd.Flags().StringVar(&metrics, "metrics", "", "append every evaluation of every run to this JSON-lines file")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the table")
	return cmd
}

// add records one run: its last and best test accuracy at epoch ends.
func (r *compareRow) add(recs []train.Record, seconds float64, epochs int) {
	best, bestEpoch, last := -1.0, 0, 0.0
	for _, rec := range recs {
		if rec.EpochFraction < 1 {
			continue
		}
		last = rec.TestAcc
		for len(r.perEpoch) <= rec.Epoch {
			r.perEpoch = append(r.perEpoch, nil)
		}
		r.perEpoch[rec.Epoch] = append(r.perEpoch[rec.Epoch], 100*rec.TestAcc)
		if rec.TestAcc > best {
			best, bestEpoch = rec.TestAcc, rec.Epoch
		}
	}
	r.final = append(r.final, 100*last)
	r.peak = append(r.peak, 100*best)
	r.peakEpoch = append(r.peakEpoch, float64(bestEpoch))
	if epochs > 0 {
		r.secPerEpoch = append(r.secPerEpoch, seconds/float64(epochs))
	}
}

func printCompare(w io.Writer, rows []*compareRow, seeds int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run\tseeds\tfinal test acc %%\tpeak test acc %%\tepoch of peak\ts/epoch\n")
	for _, r := range rows {
		fm, fs := meanSD(r.final)
		pm, ps := meanSD(r.peak)
		em, _ := meanSD(r.peakEpoch)
		sm, _ := meanSD(r.secPerEpoch)
		fmt.Fprintf(tw, "%s\t%d\t%.2f ± %.2f\t%.2f ± %.2f\t%.1f\t%.1f\n", r.label, seeds, fm, fs, pm, ps, em, sm)
	}
	tw.Flush()
	printPerEpoch(w, rows)
}

// printPerEpoch writes the test accuracy at the end of every epoch (mean over seeds), one
// column per run, for studies short enough to read that way.
func printPerEpoch(w io.Writer, rows []*compareRow) {
	epochs := 0
	for _, r := range rows {
		epochs = max(epochs, len(r.perEpoch))
	}
	if epochs == 0 || epochs > 30 {
		return
	}
	fmt.Fprintln(w, "\ntest accuracy % at the end of each epoch (mean over seeds; epoch 0 trains only R in the COPI presets):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "epoch\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t", r.label)
	}
	fmt.Fprintln(tw)
	for e := 0; e < epochs; e++ {
		fmt.Fprintf(tw, "%d\t", e)
		for _, r := range rows {
			if e < len(r.perEpoch) {
				m, _ := meanSD(r.perEpoch[e])
				fmt.Fprintf(tw, "%.2f\t", m)
			} else {
				fmt.Fprint(tw, "\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/report"
)

func newReportCmd() *cobra.Command {
	var (
		out, figures, title, band string
		images                    []string
		logLoss                   bool
	)
	cmd := &cobra.Command{
		Use:   "report METRICS.jsonl... -o report.html",
		Short: "Write one self-contained HTML report (curves, table, configuration) from metrics files",
		Long: `Reads the JSON-lines metrics of 'copi train --metrics' and 'copi compare --metrics'
(any number of files, e.g. one per shard of a study) and writes one HTML file that
needs nothing else to open: no script, no network asset, the figures inline as SVG.

It shows a headline computed from the data (which configuration reached a common
test accuracy first, which ended highest or whether they are level, how the updates
aligned with the gradient), the summary table (final and peak test accuracy, mean ±
sd over seeds, epoch of the peak, seconds per epoch), learning curves (test accuracy
and loss with the training curves beside them, one line per configuration with a band
over seeds, points where there are few evaluations), and one small multiple for every
series any rule reported: the COPI family's decorrelation and per-layer alignment
angles, forward-forward's goodness on positive and negative data, per-layer accuracy
and dead units, each prediction mode's accuracy, and whatever a new rule adds. Every
figure has the same x axis, epochs trained: 0 is the evaluation before training, e+1
the end of epoch e. Then the runs' configuration (also for a single run). --log-loss
draws the loss figures on a log scale.

Runs are grouped by label, dataset and configuration; a run that appears in several
attempts (an interrupted, resumed study) keeps its latest history. --figures DIR also
writes every figure as DIR/NAME.svg and DIR/NAME.png. --image FILE.png[=caption] embeds
a picture, such as the receptive fields drawn by 'copi analyze rf'.`,
		Example: `  copi compare --rules bp,fa,dfa --seeds 1,2,3 --epochs 10 --metrics study.jsonl
  copi report study.jsonl -o report.html
  copi report results/study-*.jsonl -o report.html --figures figures --band sd
  copi analyze rf run.ckpt -o rf.png && copi report run.jsonl --image "rf.png=first-layer receptive fields"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if band != string(report.BandMinMax) && band != string(report.BandSD) {
				return fmt.Errorf("--band %q: want minmax or sd", band)
			}
			set, err := report.Load(args...)
			if err != nil {
				return err
			}
			for _, w := range set.Torn {
				fmt.Fprintf(cmd.ErrOrStderr(), "report: warning: %s\n", w)
			}
			opt := report.Options{Title: title, Sources: args, Band: report.Band(band), FiguresDir: figures, LogLoss: logLoss}
			for _, spec := range images {
				path, caption, _ := strings.Cut(spec, "=")
				png, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--image: %w", err)
				}
				opt.Images = append(opt.Images, report.Image{Title: filepath.Base(path), Caption: caption, PNG: png})
			}
			if err := report.RenderFile(out, set, opt); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "report: wrote %s (%d runs)\n", out, len(set.Runs))
			if figures != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "report: figures as SVG and PNG in %s\n", figures)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "report.html", "HTML file to write")
	f.StringVar(&figures, "figures", "", "also write every figure to this directory as SVG and PNG")
	f.StringVar(&title, "title", "copi report", "page title")
	f.StringVar(&band, "band", "minmax", "band over seeds: minmax (lowest to highest) or sd (mean ± sd)")
	f.StringArrayVar(&images, "image", nil, "embed this PNG (FILE or FILE=caption); repeatable")
	f.BoolVar(&logLoss, "log-loss", false, "draw the loss figures on a log scale")
	return cmd
}

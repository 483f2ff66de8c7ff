package main

import (
	"bytes"
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
	)
	cmd := &cobra.Command{
		Use:   "report METRICS.jsonl... -o report.html",
		Short: "Write one self-contained HTML report (curves, table, configuration) from metrics files",
		Long: `Reads the JSON-lines metrics of 'copi train --metrics' and 'copi compare --metrics'
(any number of files, e.g. one per shard of a study) and writes one HTML file that
needs nothing else to open: no script, no network asset, the figures inline as SVG.

It shows a headline computed from the data (which configuration reached a common
test accuracy first, which ended highest, how the updates aligned with the gradient),
the summary table (final and peak test accuracy, mean ± sd over seeds, epoch of the
peak, seconds per epoch), learning curves (test accuracy and test loss against the
epoch, one line per configuration with a band over seeds), the decorrelation measure,
per-layer alignment curves when the metrics have them, and the runs' configuration.

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
			var buf bytes.Buffer
			opt := report.Options{Title: title, Sources: args, Band: report.Band(band), FiguresDir: figures}
			for _, spec := range images {
				path, caption, _ := strings.Cut(spec, "=")
				png, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--image: %w", err)
				}
				opt.Images = append(opt.Images, report.Image{Title: filepath.Base(path), Caption: caption, PNG: png})
			}
			if err := report.Render(&buf, set, opt); err != nil {
				return err
			}
			if dir := filepath.Dir(out); dir != "." {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
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
	return cmd
}

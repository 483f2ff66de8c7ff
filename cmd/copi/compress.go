package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/analysis"
	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/nn"
	"github.com/copi-learn/copi/rule/credit"
	"github.com/copi-learn/copi/train"
)

// metaCompressed is the checkpoint metadata key that records how a model was compressed.
const metaCompressed = "copi.compressed"

// model is a credit-family network loaded from a checkpoint, with its trainer.
type model struct {
	path string
	ck   *checkpoint.Checkpoint
	t    *train.Trainer
	m    *credit.Model
	net  *nn.MLP
}

// mlpLearner is what the MLP-only tools (receptive fields, compression) ask of a learner.
type mlpLearner interface{ MLP() *nn.MLP }

// loadModel reads the learner of the checkpoint at path (written by copi train or copi
// compress) and pairs it with the data. Only the credit family's MLPs qualify: another
// rule's checkpoint is a clear error.
func loadModel(ctx context.Context, eng *mat32.Engine, path, dataSpec string, log io.Writer) (*model, *train.Data, error) {
	ck, err := checkpoint.Read(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := train.ReadConfig(ck)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	co, isCredit := cfg.Options.(*credit.Options)
	if !isCredit {
		return nil, nil, fmt.Errorf("%s: rule %s has no MLP with decorrelators to analyse: receptive fields and compression need a rule of the COPI/feedback-alignment family", path, cfg.Rule)
	}
	d, err := loadData(ctx, dataSpec, 0, log)
	if err != nil {
		return nil, nil, err
	}
	// The model is fixed: data of another shape are the wrong data, not a reason to
	// change the network's sizes (which is what the trainer's message would advise).
	if sz := co.Sizes; len(sz) > 0 && (d.TrainX.Cols != sz[0] || d.Classes > sz[len(sz)-1]) {
		return nil, nil, fmt.Errorf("%s: data %s have %d inputs and %d classes, but the model takes %d inputs and has %d outputs: pass the data it was trained on with --data",
			path, d.Name, d.TrainX.Cols, d.Classes, sz[0], sz[len(sz)-1])
	}
	t, err := train.NewTrainer(eng, cfg, d)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	// The analyses feed the network its inputs as it saw them in training.
	if d, err = normalizedData(cfg, d); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	ml, ok := t.Learner.(mlpLearner)
	cm, isCredit := t.Learner.(*credit.Model)
	if !ok || !isCredit {
		return nil, nil, fmt.Errorf("%s: rule %s has no MLP with decorrelators to analyse: receptive fields and compression need a rule of the COPI/feedback-alignment family", path, cfg.Rule)
	}
	if err := t.Learner.Load(ck); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &model{path: path, ck: ck, t: t, m: cm, net: ml.MLP()}, d, nil
}

// noDecorrelatorsHint turns the analysis package's error into a one-line message that says
// what to do.
func noDecorrelatorsHint(err error, path string) error {
	if errors.Is(err, analysis.ErrNoDecorrelators) {
		return fmt.Errorf("%s: %w; pass --allow-correlated to treat R as the identity", path, err)
	}
	return err
}

// compressedRecord is the JSON stored under metaCompressed.
type compressedRecord struct {
	Source        string `json:"source"`
	Removed       int    `json:"removed"`
	Layer         int    `json:"from_layer"`
	OriginalSizes []int  `json:"original_sizes"`
	Examples      int    `json:"examples"`
}

// saveCompressed writes net as a normal training checkpoint at path: the source's
// configuration with the compressed sizes, the network, the feedback matrices of the kept
// layers (fresh ones where the shape changed), a fresh optimiser state and the position at
// the end of the configured epochs, so that copi eval reads it and copi train --resume
// --epochs N continues training it.
func saveCompressed(eng *mat32.Engine, src *model, d *train.Data, net *nn.MLP, rec compressedRecord, path string) error {
	cfg := src.t.Cfg.Clone()
	cfg.Options.(*credit.Options).Sizes = append([]int(nil), net.Config.Sizes...)
	t, err := train.NewTrainer(eng, cfg, d)
	if err != nil {
		return fmt.Errorf("compressed model: %w", err)
	}
	dm := t.Learner.(*credit.Model)
	for i, l := range net.Layers {
		dst := dm.Net.Layers[i]
		mat32.Copy(dst.W, l.W)
		copy(dst.B, l.B)
		if l.HasR() != dst.HasR() {
			return fmt.Errorf("compressed model: layer %d decorrelator does not match the configuration", i+1)
		}
		if l.HasR() {
			mat32.Copy(dst.R, l.R)
		}
	}
	kept := len(net.Layers) - 1 // layers copied unchanged from the source
	for i, b := range dm.Learner.Feedback {
		if i < kept && b.Data != nil && mat32.SameShape(b, src.m.Learner.Feedback[i]) {
			mat32.Copy(b, src.m.Learner.Feedback[i])
		}
	}
	t.Pos = train.Position{Epoch: cfg.Epochs}
	if err := t.SaveCheckpoint(path); err != nil {
		return err
	}
	ck, err := checkpoint.Read(path)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("compressed model: %w", err)
	}
	if err := ck.SetMeta(metaCompressed, string(raw)); err != nil {
		return fmt.Errorf("compressed model: %w", err)
	}
	return checkpoint.Write(path, ck)
}

// sweepRow is one line of the compression table.
type sweepRow struct {
	label             string
	k, layers         int
	sizes             []int
	weights, decor    int
	testLoss, testAcc float64
}

func evaluateNet(eng *mat32.Engine, net *nn.MLP, m *credit.Model, d *train.Data) (loss, acc float64, err error) {
	tr := net.NewTrace(1000)
	loss, acc = credit.Evaluate(eng, net, tr, m.Learner.Cfg.Loss, d.TestX, d.TestY, make([]int, tr.Cap))
	return loss, acc, nil
}

func newSweepRow(label string, k int, net *nn.MLP) sweepRow {
	w, r := net.NumParams()
	return sweepRow{label: label, k: k, layers: len(net.Layers), sizes: net.Config.Sizes, weights: w, decor: r}
}

func printSweep(w io.Writer, rows []sweepRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "k\tlayers\tsizes\tweights\tdecorrelators\ttest loss\ttest acc %\t")
	for _, r := range rows {
		k := r.label
		if k == "" {
			k = fmt.Sprint(r.k)
		}
		sz := sizesText(r.sizes)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%.4f\t%.2f\t\n", k, r.layers, sz, r.weights, r.decor, r.testLoss, 100*r.testAcc)
	}
	tw.Flush()
}

// sizesText writes layer widths as 784-500-10.
func sizesText(sizes []int) string {
	return strings.Trim(strings.ReplaceAll(fmt.Sprint(sizes), " ", "-"), "[]")
}

func newCompressCmd() *cobra.Command {
	var (
		dataSpec, out, plot string
		remove, threads     int
		examples            int
		sweep, allowCorr    bool
	)
	cmd := &cobra.Command{
		Use:   "compress MODEL",
		Short: "Replace the last k+1 layers by one inferred map, without retraining",
		Long: `Compresses a trained network with COPI's inference formula (the paper's second
application). The last k+1 weight layers are replaced by the one map from the
decorrelated input x_s of layer s = L-k to the output,

    W~ = <a_L x_s^T> diag(<x_s^2>)^-1

averaged over the training split of --data (zeros in <x_s^2> are floored), with no
retraining. Layers 1..s-1 are kept as they are, layer s keeps its decorrelator R_s
and gets W~. k = 0 re-infers the last layer; k = L-1 leaves one linear map from the
decorrelated input. The map is exact when x_s is decorrelated and the removed layers
are linear; for a trained network it is an approximation whose quality shows how
well each layer's input is decorrelated.

-o writes the compressed model as a normal checkpoint: 'copi eval' evaluates it and
'copi train --resume OUT --epochs N' trains it further (its schedule position is the
end of the source's configured epochs, so give --epochs larger than that; the
optimiser state is fresh).

--sweep evaluates every k = 0..L-1 on the test split (the statistics of all of them
are gathered in one pass) and prints a table of k, remaining layers, parameters and
test accuracy, with the uncompressed model as the first row; --plot writes the test
accuracy against k as a PNG (the dashed line is the uncompressed model).

The formula assumes decorrelated layer inputs, so models without decorrelators
(bp, fa, dfa rules) are refused unless --allow-correlated treats R as the identity,
e.g. to compare with a BP-Adam model.`,
		Example: `  copi compress run.ckpt --remove 1 -o run-k1.ckpt --data fashion-mnist
  copi eval run-k1.ckpt --data fashion-mnist
  copi compress run.ckpt --sweep --plot sweep.png
  copi compress bp-adam.ckpt --sweep --allow-correlated`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := cmd.Flags().Changed
			if sweep == set("remove") {
				return fmt.Errorf("give either --remove k or --sweep")
			}
			if sweep && set("output") {
				return fmt.Errorf("-o writes one compressed model: use it with --remove k, not --sweep")
			}
			if !sweep && set("plot") {
				return fmt.Errorf("--plot draws the sweep: use it with --sweep")
			}
			for _, path := range []string{plot, out} {
				if path != "" {
					if err := checkWritable(path); err != nil {
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
			m, d, err := loadModel(cmd.Context(), eng, args[0], dataSpec, log)
			if err != nil {
				return err
			}
			net := m.net
			L := len(net.Layers)
			opt := analysis.CompressOptions{Options: analysis.Options{MaxExamples: examples, AllowCorrelated: allowCorr}}
			var ks []int
			if sweep {
				for k := 0; k < L; k++ {
					ks = append(ks, k)
				}
			} else {
				if remove < 0 || remove >= L {
					return fmt.Errorf("--remove %d: the network has %d weight layers, so k must be in 0..%d", remove, L, L-1)
				}
				ks = []int{remove}
			}
			nUsed := d.TrainX.Rows
			if examples > 0 {
				nUsed = min(examples, nUsed)
			}
			fmt.Fprintf(log, "compress: inferring %d map(s) from %d training examples\n", len(ks), nUsed)
			nets, err := analysis.CompressAll(eng, net, d.TrainX, ks, opt)
			if err != nil {
				return noDecorrelatorsHint(err, args[0])
			}
			full := newSweepRow("full", -1, net)
			if full.testLoss, full.testAcc, err = evaluateNet(eng, net, m.m, d); err != nil {
				return err
			}
			rows := []sweepRow{full}
			var accs []float64
			for i, c := range nets {
				r := newSweepRow("", ks[i], c)
				if r.testLoss, r.testAcc, err = evaluateNet(eng, c, m.m, d); err != nil {
					return err
				}
				rows = append(rows, r)
				accs = append(accs, r.testAcc)
			}
			printSweep(cmd.OutOrStdout(), rows)
			if plot != "" {
				img, err := analysis.PlotAccuracy([][]float64{accs}, analysis.PlotOptions{
					Title:     fmt.Sprintf("Compressing %s (%s, %s): test accuracy without retraining", filepath.Base(args[0]), m.t.Cfg.Rule, sizesText(net.Config.Sizes)),
					YLabel:    "test accuracy % on " + d.Name,
					Reference: full.testAcc,
					RefLabel:  "uncompressed model",
				})
				if err != nil {
					return err
				}
				if err := analysis.WritePNG(plot, img); err != nil {
					return err
				}
				fmt.Fprintf(log, "plot of test accuracy against layers removed written to %s\n", plot)
			}
			if out != "" {
				rec := compressedRecord{Source: args[0], Removed: remove, Layer: L - remove,
					OriginalSizes: net.Config.Sizes, Examples: nUsed}
				if err := saveCompressed(eng, m, d, nets[0], rec, out); err != nil {
					return err
				}
				fmt.Fprintf(log, "compressed model (%d weight layers) written to %s\n", len(nets[0].Layers), out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&remove, "remove", 0, "k: replace the last k+1 weight layers by one inferred map (0..L-1)")
	fl.BoolVar(&sweep, "sweep", false, "evaluate every k = 0..L-1 and print a table")
	fl.StringVarP(&out, "output", "o", "", "write the compressed model (--remove) to this checkpoint")
	fl.StringVar(&plot, "plot", "", "with --sweep, write a PNG of test accuracy against layers removed")
	fl.StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path (training split for the statistics, test split for accuracy)")
	fl.IntVar(&examples, "examples", 0, "use only the first N training examples for the statistics (0: all)")
	fl.BoolVar(&allowCorr, "allow-correlated", false, "accept a model without decorrelators, taking R = I")
	fl.IntVar(&threads, "threads", 0, "worker threads (default $COPI_THREADS, else all cores)")
	return cmd
}

// normalizedData returns d with its inputs normalised as cfg's run saw them (d itself when
// cfg normalises nothing).
func normalizedData(cfg train.Config, d *train.Data) (*train.Data, error) {
	if len(cfg.InputMean) == 0 {
		return d, nil
	}
	trainX, err := cfg.NormalizeInputs(d.TrainX)
	if err != nil {
		return nil, err
	}
	testX, err := cfg.NormalizeInputs(d.TestX)
	if err != nil {
		return nil, err
	}
	return &train.Data{Name: d.Name, TrainX: trainX, TrainY: d.TrainY, TestX: testX, TestY: d.TestY, Classes: d.Classes}, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/rule"
	"github.com/copi-learn/copi/train"
)

// newEngine starts the matrix engine with the --threads value (0: $COPI_THREADS or all cores).
func newEngine(threads int) (*mat32.Engine, error) {
	e, err := mat32.NewEngine(mat32.Options{Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("starting the matrix engine: %w", err)
	}
	return e, nil
}

// loadData reads a dataset by registered name or path and converts it for training,
// saying on log where it came from. validation > 0 holds out the last examples of train.
func loadData(ctx context.Context, spec string, validation int, log io.Writer) (*train.Data, error) {
	opts := data.Options{Log: log}
	if isTerminal(os.Stderr) {
		opts.Progress = os.Stderr
	}
	ds, err := data.Load(ctx, spec, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "data: %s from %s (%d train / %d test, %d classes)\n",
		ds.Name, ds.Source, ds.Train.Len(), ds.Test.Len(), ds.Classes)
	if validation > 0 {
		ds, err = data.ValidationSplit(ds, validation)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "data: evaluating on the last %d training examples (validation mode)\n", validation)
	}
	if ds.Test.Len() == 0 {
		return nil, fmt.Errorf("data %s has no test split: pass --validation N to hold out training examples", spec)
	}
	return &train.Data{Name: ds.Name, TrainX: ds.Train.X, TrainY: ds.Train.Labels,
		TestX: ds.Test.X, TestY: ds.Test.Labels, Classes: ds.Classes}, nil
}

// progress shows a progress bar over a run's steps on a terminal, and evaluation lines in
// any case, on w.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	label string
}

func newProgress(w io.Writer, label string, totalSteps int, quiet bool) *progress {
	p := &progress{w: w, label: label}
	if quiet {
		p.w = io.Discard
		return p
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) && totalSteps > 0 {
		p.bar = progressbar.NewOptions(totalSteps,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100_000_000),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) step(train.Progress) {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

func (p *progress) eval(r train.Record) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	if r.BeforeTraining() {
		fmt.Fprintf(p.w, "%s before training  test loss %.4f acc %5.2f%%  decorrelation %.4f\n",
			p.label, r.TestLoss, 100*r.TestAcc, r.Decorrelation)
		return
	}
	fmt.Fprintf(p.w, "%s epoch %d%s  train loss %.4f acc %5.2f%%  test loss %.4f acc %5.2f%%  decorrelation %.4f  %.1fs\n",
		p.label, r.Epoch, fraction(r.EpochFraction), r.TrainLoss, 100*r.TrainAcc, r.TestLoss, 100*r.TestAcc, r.Decorrelation, r.Seconds)
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func fraction(f float64) string {
	if f >= 1 {
		return ""
	}
	return fmt.Sprintf(" (%.0f%%)", 100*f)
}

// printRecords writes the summary table of one run.
func printRecords(w io.Writer, recs []train.Record) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "epoch\ttrain loss\ttrain acc %\ttest loss\ttest acc %\tdecorrelation\tseconds\t")
	for _, r := range recs {
		ep := fmt.Sprintf("%d", r.Epoch)
		if r.EpochFraction < 1 {
			ep = fmt.Sprintf("%.1f", float64(r.Epoch)+r.EpochFraction)
		}
		trainLoss, trainAcc := fmt.Sprintf("%.4f", r.TrainLoss), fmt.Sprintf("%.2f", 100*r.TrainAcc)
		if r.BeforeTraining() {
			ep, trainLoss, trainAcc = "start", "–", "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%.2f\t%.4f\t%.1f\t\n", ep, trainLoss, trainAcc, r.TestLoss, 100*r.TestAcc, r.Decorrelation, r.Seconds)
	}
	tw.Flush()
}

// meanSD returns the mean and the sample standard deviation.
func meanSD(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// configFlags are the flags that build a training configuration: a preset, an optional
// config file over it, then individual flags over both.
type configFlags struct {
	preset, file                                       string
	rule, activation, loss, sizes, optimizer, biasCorr string
	decor, feedbackInit                                string
	lr, lossMult, momentum, decorLR, kappa, decorFrac  float64
	activationParam, weightDecay, evalEvery            float64
	bias, outputDeriv, shuffleFirst                    bool
	batch, epochs, decorOnly, validation               int
	seed                                               uint64
}

func (f *configFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.preset, "preset", "mnist/copi-bp", "starting configuration (see `copi presets`)")
	fl.StringVar(&f.file, "config", "", "YAML or JSON file of configuration keys applied over the preset")
	fl.StringVar(&f.rule, "rule", "", "learning rule: "+strings.Join(rule.Names(), ", "))
	fl.StringVar(&f.sizes, "sizes", "", "layer widths, input first, e.g. 784,500,500,10")
	fl.StringVar(&f.activation, "activation", "", "hidden nonlinearity: leaky-relu, relu, tanh, elu, sigmoid")
	fl.Float64Var(&f.activationParam, "activation-param", 0, "leaky ReLU slope or ELU alpha")
	fl.BoolVar(&f.bias, "bias", false, "give every layer a bias")
	fl.StringVar(&f.loss, "loss", "", "mse (against one-hot targets) or cross-entropy")
	fl.Float64Var(&f.lossMult, "loss-multiplier", 0, "scale of the output error m (COPI presets: 1000)")
	fl.BoolVar(&f.outputDeriv, "output-derivative", false, "apply f' at the linear output (the COPI reference's quirk; on in the presets)")
	fl.StringVar(&f.optimizer, "optimizer", "", "sgd or adam")
	fl.Float64Var(&f.lr, "lr", 0, "learning rate eta")
	fl.Float64Var(&f.momentum, "momentum", 0, "SGD momentum")
	fl.Float64Var(&f.weightDecay, "weight-decay", 0, "L2 weight decay")
	fl.StringVar(&f.biasCorr, "adam-bias-correction", "", "standard (1-beta^t) or fixed (1-beta, the COPI reference's)")
	fl.StringVar(&f.decor, "decor", "", "decorrelation rule: default (dR=-C R), bio (dR=-R C), whiten (Dalm et al. 2024)")
	fl.Float64Var(&f.decorLR, "decor-lr", 0, "decorrelation learning rate (default: --lr)")
	fl.Float64Var(&f.kappa, "kappa", 0, "whitening strength of --decor whiten (Dalm et al.: 0.01)")
	fl.Float64Var(&f.decorFrac, "decor-fraction", 0, "estimate the R update on this random fraction of the batch (e.g. 0.1)")
	fl.StringVar(&f.feedbackInit, "feedback-init", "", "FA/DFA feedback matrices: xavier-normal or uniform")
	fl.IntVar(&f.batch, "batch", 0, "batch size")
	fl.IntVar(&f.epochs, "epochs", 0, "number of epochs, counting decorrelation-only ones")
	fl.IntVar(&f.decorOnly, "decor-only-epochs", 0, "initial epochs that only train R (reference: 1)")
	fl.BoolVar(&f.shuffleFirst, "shuffle-first-epoch", false, "shuffle before epoch 0 too (the reference keeps file order)")
	fl.Float64Var(&f.evalEvery, "eval-every", 0, "evaluate every this fraction of an epoch (1 or 0.1)")
	fl.IntVar(&f.validation, "validation", 0, "hold out the last N training examples and evaluate on them")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed")
}

// build returns the configuration: preset, then file, then the flags the user set.
func (f *configFlags) build(cmd *cobra.Command) (train.Config, error) {
	cfg, err := train.Preset(f.preset)
	if err != nil {
		return cfg, err
	}
	if f.file != "" {
		if cfg, err = train.LoadConfigFile(f.file, cfg); err != nil {
			return cfg, err
		}
	}
	set := cmd.Flags().Changed
	if set("rule") {
		cfg.Rule = f.rule
		if !set("decor") {
			// The rule decides whether there are decorrelators: keep the preset's variant for
			// rules with R, "none" for rules without, "default" when moving to a rule with R.
			rc := rule.Config{Decorrelation: cfg.Decorrelation}
			if err := rc.ForName(f.rule); err == nil {
				cfg.Decorrelation.Variant = rc.Decorrelation.Variant
			}
		}
	}
	if set("sizes") {
		cfg.Sizes = nil
		for _, s := range splitList(f.sizes) {
			var n int
			if _, err := fmt.Sscan(s, &n); err != nil {
				return cfg, fmt.Errorf("--sizes: %q is not a number", s)
			}
			cfg.Sizes = append(cfg.Sizes, n)
		}
	}
	str := map[string]*string{"activation": &cfg.Activation, "loss": &cfg.Loss, "optimizer": &cfg.Optimizer.Name,
		"adam-bias-correction": &cfg.Optimizer.BiasCorrection, "decor": &cfg.Decorrelation.Variant, "feedback-init": &cfg.FeedbackInit}
	strv := map[string]string{"activation": f.activation, "loss": f.loss, "optimizer": f.optimizer,
		"adam-bias-correction": f.biasCorr, "decor": f.decor, "feedback-init": f.feedbackInit}
	for k, p := range str {
		if set(k) {
			*p = strv[k]
		}
	}
	num := map[string]*float64{"activation-param": &cfg.ActivationParam, "loss-multiplier": &cfg.LossMultiplier,
		"lr": &cfg.Optimizer.LR, "momentum": &cfg.Optimizer.Momentum, "weight-decay": &cfg.Optimizer.WeightDecay,
		"decor-lr": &cfg.Decorrelation.LR, "kappa": &cfg.Decorrelation.Kappa, "decor-fraction": &cfg.Decorrelation.Fraction,
		"eval-every": &cfg.EvalEvery}
	numv := map[string]float64{"activation-param": f.activationParam, "loss-multiplier": f.lossMult, "lr": f.lr,
		"momentum": f.momentum, "weight-decay": f.weightDecay, "decor-lr": f.decorLR, "kappa": f.kappa,
		"decor-fraction": f.decorFrac, "eval-every": f.evalEvery}
	for k, p := range num {
		if set(k) {
			*p = numv[k]
		}
	}
	ints := map[string]*int{"batch": &cfg.BatchSize, "epochs": &cfg.Epochs, "decor-only-epochs": &cfg.DecorOnlyEpochs, "validation": &cfg.Validation}
	intv := map[string]int{"batch": f.batch, "epochs": f.epochs, "decor-only-epochs": f.decorOnly, "validation": f.validation}
	for k, p := range ints {
		if set(k) {
			*p = intv[k]
		}
	}
	if set("bias") {
		cfg.Bias = f.bias
	}
	if set("output-derivative") {
		cfg.OutputDerivative = f.outputDeriv
	}
	if set("shuffle-first-epoch") {
		cfg.ShuffleFirstEpoch = f.shuffleFirst
	}
	if set("seed") || f.file == "" {
		cfg.Seed = f.seed
	}
	return cfg, cfg.Validate()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	_ "github.com/copi-learn/copi/rule" // every rule in the registry
	"github.com/copi-learn/copi/train"
)

// maxThreadsPerCore bounds --threads and $COPI_THREADS: more threads than this many per
// core only slow the products down, and a larger number is almost always a typo.
const maxThreadsPerCore = 4

// newEngine starts the matrix engine with the --threads value (0: $COPI_THREADS or all cores).
// A thread count that is not a whole number, negative, or far above the machine's cores is
// refused with the machine's core count.
func newEngine(threads int) (*mat32.Engine, error) { return newEngineWith(threads, "") }

// newEngineWith is newEngine with a micro-kernel by name ("": the best for this CPU).
func newEngineWith(threads int, kernel string) (*mat32.Engine, error) {
	limit := maxThreadsPerCore * runtime.NumCPU()
	if threads < 0 || threads > limit {
		return nil, fmt.Errorf("--threads %d: this machine has %d cores; give 1 to %d (0 or no flag: $%s, else all cores)",
			threads, runtime.NumCPU(), limit, mat32.ThreadsEnv)
	}
	if v, ok := os.LookupEnv(mat32.ThreadsEnv); ok && threads == 0 {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > limit {
			return nil, fmt.Errorf("$%s=%q: want a whole number of threads from 1 to %d (this machine has %d cores), or unset it",
				mat32.ThreadsEnv, v, limit, runtime.NumCPU())
		}
		threads = n
	}
	e, err := mat32.NewEngine(mat32.Options{Threads: threads, Kernel: kernel})
	if err != nil {
		return nil, fmt.Errorf("starting the matrix engine: %s", strings.TrimPrefix(err.Error(), "mat32: "))
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
	if ds.Embedded && data.Resolve(spec, data.Options{}) == data.SampleName && !strings.Contains(spec, "sample") {
		fmt.Fprintf(log, "data: %s is not installed (copi data get %s): using the embedded sample, recorded as %s\n", spec, spec, ds.Name)
	}
	sizes := fmt.Sprintf(", %d train / %d test", ds.Train.Len(), ds.Test.Len())
	if strings.Contains(ds.Source, " train /") { // the sample's source says its sizes already
		sizes = ""
	}
	fmt.Fprintf(log, "data: %s from %s%s, %d classes\n", ds.Name, ds.Source, sizes, ds.Classes)
	if validation > 0 {
		ds, err = data.ValidationSplit(ds, validation)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "data: evaluating on the last %d training examples (validation mode)\n", validation)
	}
	if ds.Test.Len() == 0 {
		return nil, fmt.Errorf("data %s has no test split: give test arrays too (TRAIN_X.npy,TRAIN_Y.npy,TEST_X.npy,TEST_Y.npy), or, to train, hold out training examples with --validation N", spec)
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

// Step advances the bar by one training step.
func (p *progress) Step(train.Progress) {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

// Eval prints one evaluation.
func (p *progress) Eval(r train.Record) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	if r.BeforeTraining() {
		fmt.Fprintf(p.w, "%s before training  test loss %.4f acc %5.2f%%%s\n",
			p.label, r.TestLoss, 100*r.TestAcc, scalarsText(r.Scalars))
		return
	}
	fmt.Fprintf(p.w, "%s epoch %d%s  train loss %.4f acc %s%%  test loss %.4f acc %5.2f%%%s  %.1fs\n",
		p.label, r.Epoch, fraction(r.EpochFraction), r.TrainLoss, percentOrDash(r.TrainAcc), r.TestLoss, 100*r.TestAcc, scalarsText(r.Scalars), r.Seconds)
}

// scalarsText formats a record's scalars for a progress line ("  decorrelation 0.1234"),
// accuracies in percent, sorted by name.
func scalarsText(sc map[string]float64) string {
	var b strings.Builder
	for _, k := range sortedScalarKeys(sc) {
		if strings.Contains(k, "acc") {
			fmt.Fprintf(&b, "  %s %5.2f%%", strings.ReplaceAll(k, "_", " "), 100*sc[k])
		} else {
			fmt.Fprintf(&b, "  %s %.4f", strings.ReplaceAll(k, "_", " "), sc[k])
		}
	}
	return b.String()
}

func sortedScalarKeys(sc map[string]float64) []string {
	keys := make([]string, 0, len(sc))
	for k := range sc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Done finishes the bar.
func (p *progress) Done() {
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
	var keys []string
	if len(recs) > 0 {
		keys = sortedScalarKeys(recs[len(recs)-1].Scalars)
	}
	head := "epoch\ttrain loss\ttrain acc %\ttest loss\ttest acc %\t"
	withVal := len(recs) > 0 && recs[len(recs)-1].ValAcc != nil
	if withVal {
		head += "val loss\tval acc %\t"
	}
	for _, k := range keys {
		if strings.Contains(k, "acc") {
			head += strings.ReplaceAll(k, "_", " ") + " %\t"
		} else {
			head += strings.ReplaceAll(k, "_", " ") + "\t"
		}
	}
	fmt.Fprintln(tw, head+"seconds\t")
	for _, r := range recs {
		ep := fmt.Sprintf("%d", r.Epoch)
		if r.EpochFraction < 1 {
			ep = fmt.Sprintf("%.1f", float64(r.Epoch)+r.EpochFraction)
		}
		trainLoss, trainAcc := fmt.Sprintf("%.4f", r.TrainLoss), percentOrDash(r.TrainAcc)
		if r.BeforeTraining() {
			ep, trainLoss, trainAcc = "start", "–", "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%.2f\t", ep, trainLoss, trainAcc, r.TestLoss, 100*r.TestAcc)
		if withVal {
			if r.ValLoss != nil && r.ValAcc != nil {
				fmt.Fprintf(tw, "%.4f\t%.2f\t", *r.ValLoss, 100**r.ValAcc)
			} else {
				fmt.Fprint(tw, "–\t–\t")
			}
		}
		for _, k := range keys {
			v, ok := r.Scalars[k]
			switch {
			case !ok:
				fmt.Fprint(tw, "–\t")
			case strings.Contains(k, "acc"):
				fmt.Fprintf(tw, "%.2f\t", 100*v)
			default:
				fmt.Fprintf(tw, "%.4f\t", v)
			}
		}
		fmt.Fprintf(tw, "%.1f\t\n", r.Seconds)
	}
	tw.Flush()
	if best, ok := train.BestValidation(recs); ok {
		fmt.Fprintf(w, "best validation (loss %.4f, acc %.2f%%) at epoch %d: test acc %.2f%%\n",
			*best.ValLoss, 100**best.ValAcc, best.Epoch, 100*best.TestAcc)
	}
}

// configFlags are the flags that build a training configuration: a preset, an optional
// config file over it, then the shorthand flags, then every --set, each over the one before.
type configFlags struct {
	preset, file, rule string
	sets               []string
}

// shorthand is a flag that stands for a configuration key: the first of keys that the
// configuration's rule has (common keys first, then options; "lr" is optimizer.lr for the
// credit family and lr for forward-forward).
type shorthand struct {
	flag, usage string
	keys        []string
	kind        byte // 's' string, 'f' float, 'i' int, 'b' bool, 'l' list of ints, 'u' uint
}

var shorthands = []shorthand{
	{"sizes", "layer widths, input first, e.g. 784,500,500,10", []string{"sizes"}, 'l'},
	{"activation", "hidden nonlinearity: leaky-relu, relu, tanh, elu, sigmoid", []string{"activation"}, 's'},
	{"activation-param", "leaky ReLU slope or ELU alpha", []string{"activation_param"}, 'f'},
	{"bias", "give every layer a bias", []string{"bias"}, 'b'},
	{"loss", "mse (against one-hot targets) or cross-entropy", []string{"loss"}, 's'},
	{"loss-multiplier", "scale of the output error m (COPI presets: 1000)", []string{"loss_multiplier"}, 'f'},
	{"output-derivative", "apply f' at the linear output (the COPI reference's quirk; on in the presets)", []string{"output_derivative"}, 'b'},
	{"optimizer", "sgd or adam", []string{"optimizer.name"}, 's'},
	{"lr", "learning rate eta", []string{"optimizer.lr", "lr"}, 'f'},
	{"momentum", "SGD momentum", []string{"optimizer.momentum", "momentum"}, 'f'},
	{"weight-decay", "L2 weight decay", []string{"optimizer.weight_decay", "weight_decay"}, 'f'},
	{"adam-bias-correction", "standard (1-beta^t) or fixed (1-beta, the COPI reference's)", []string{"optimizer.bias_correction"}, 's'},
	{"decor", "decorrelation rule: default (dR=-C R), bio (dR=-R C), whiten (Dalm et al. 2024)", []string{"decorrelation.variant"}, 's'},
	{"decor-lr", "decorrelation learning rate (default: --lr)", []string{"decorrelation.lr"}, 'f'},
	{"kappa", "whitening strength of --decor whiten (Dalm et al.: 0.01)", []string{"decorrelation.kappa"}, 'f'},
	{"decor-fraction", "estimate the R update on this random fraction of the batch (e.g. 0.1)", []string{"decorrelation.fraction"}, 'f'},
	{"feedback-init", "FA/DFA feedback matrices: xavier-normal or uniform", []string{"feedback_init"}, 's'},
	{"decor-only-epochs", "initial epochs that only train R (reference: 1)", []string{"decor_only_epochs"}, 'i'},
	{"batch", "batch size", []string{"batch_size"}, 'i'},
	{"epochs", "number of epochs (for COPI presets counting the decorrelation-only one)", []string{"epochs"}, 'i'},
	{"shuffle-first-epoch", "shuffle before epoch 0 too (the COPI reference keeps file order)", []string{"shuffle_first_epoch"}, 'b'},
	{"eval-every", "evaluate every this fraction of an epoch (1 or 0.1)", []string{"eval_every"}, 'f'},
	{"validation", "hold out the last N training examples and evaluate on them", []string{"validation"}, 'i'},
	{"seed", "random seed", []string{"seed"}, 'u'},
}

func (f *configFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.preset, "preset", "mnist/copi-bp", "starting configuration (see `copi presets`)")
	fl.StringVar(&f.file, "config", "", "YAML or JSON file of configuration keys applied over the preset")
	fl.StringVar(&f.rule, "rule", "", "learning rule: "+strings.Join(learn.Names(), ", "))
	fl.StringArrayVar(&f.sets, "set", nil, "override any configuration key, key=value (repeatable; e.g. --set optimizer.lr=1e-3 --set sizes=[784,100,10]); 'copi presets show P' lists the keys")
	for _, s := range shorthands {
		switch s.kind {
		case 's', 'l':
			fl.String(s.flag, "", s.usage)
		case 'f':
			fl.Float64(s.flag, 0, s.usage)
		case 'i':
			fl.Int(s.flag, 0, s.usage)
		case 'b':
			fl.Bool(s.flag, false, s.usage)
		case 'u':
			fl.Uint64(s.flag, 1, s.usage)
		}
	}
}

// build returns the configuration: preset, then file, then --rule, then the shorthand flags
// the user set, then every --set.
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
	fl := cmd.Flags()
	if fl.Changed("rule") {
		if err := cfg.SetRule(f.rule); err != nil {
			return cfg, fmt.Errorf("--rule: %w", err)
		}
	}
	sets, err := f.overrides(cmd, cfg, f.file == "")
	if err != nil {
		return cfg, err
	}
	for _, kv := range sets {
		if err := cfg.Set(kv); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

// overrides turns the shorthand flags the user set (and, with defaultSeed, the --seed
// flag's default) into key=value settings for cfg's rule, followed by every --set.
func (f *configFlags) overrides(cmd *cobra.Command, cfg train.Config, defaultSeed bool) ([]string, error) {
	fl := cmd.Flags()
	valid := map[string]bool{}
	for _, k := range cfg.ValidKeys() {
		valid[k] = true
	}
	var out []string
	for _, s := range shorthands {
		changed := fl.Changed(s.flag)
		if s.flag == "seed" && defaultSeed {
			changed = true // the flag's default seed, unless a config file sets one
		}
		if !changed {
			continue
		}
		value := fl.Lookup(s.flag).Value.String()
		if s.kind == 'l' {
			list, err := parseIntList(s.flag, value)
			if err != nil {
				return nil, err
			}
			value = strings.ReplaceAll(fmt.Sprint(list), " ", ",")
		}
		key := ""
		for _, k := range s.keys {
			if valid[k] {
				key = k
				break
			}
		}
		if key == "" {
			return nil, fmt.Errorf("--%s does not apply to rule %s (its keys: %s)", s.flag, cfg.Rule, strings.Join(cfg.ValidKeys(), ", "))
		}
		out = append(out, key+"="+value)
	}
	return append(out, f.sets...), nil
}

// resumeOverrides returns the changes a resumed run asks for: the shorthand flags and --set
// (each checked by train.Resume against what may change). --preset and --config do not
// apply: the configuration comes from the checkpoint.
func (f *configFlags) resumeOverrides(cmd *cobra.Command, saved train.Config) ([]string, error) {
	for _, name := range []string{"preset", "config"} {
		if cmd.Flags().Changed(name) {
			return nil, fmt.Errorf("--%s does not go with --resume: the configuration comes from the checkpoint; change what may change (epochs, learning rates, …) with its flag or --set", name)
		}
	}
	sets, err := f.overrides(cmd, saved, false)
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("rule") {
		sets = append([]string{"rule=" + f.rule}, sets...)
	}
	return sets, nil
}

// checkWritable makes sure a file can be written at path before hours of training depend
// on it: its directory exists and accepts a new file. It leaves nothing behind.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".copi-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (create the directory or choose another path)", path, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// percentOrDash formats a fraction as a percentage, or "–" when it was not measured.
func percentOrDash(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", 100**v)
}

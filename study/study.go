// Package study runs grids of training runs: configurations (presets, rules over a base
// preset, explicit runs) × datasets × seeds, resumably (a metrics file records what is done;
// checkpoints resume what is not), in shards (so that many machines share one study), and
// tabulates them from their metrics alone.
package study

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/report"
	"github.com/copi-learn/copi/train"
)

// Study describes a grid of runs: configurations (presets, rules over a base preset, and
// explicit runs) × datasets × seeds. It is read from --study and/or built from flags.
type Study struct {
	// Base is the preset that every entry of Rules is applied over.
	Base string `yaml:"base"`
	// Presets are configurations compared as they are (after the overrides).
	Presets []string `yaml:"presets"`
	// Rules are learning rules, each applied over Base.
	Rules []string `yaml:"rules"`
	// Seeds and Data are the grid's other axes.
	Seeds []uint64 `yaml:"seeds"`
	Data  []string `yaml:"data"`
	// Epochs, LR and Batch are shorthands applied to every run after Config.
	Epochs *int     `yaml:"epochs"`
	LR     *float64 `yaml:"lr"`
	Batch  *int     `yaml:"batch"`
	// Config holds configuration keys (as `copi presets --show` prints them) applied over
	// every run.
	Config yaml.Node `yaml:"config"`
	// Runs are explicit configurations added after the presets and rules.
	Runs []runEntry `yaml:"runs"`
}

// runEntry is one explicit configuration of a study.
type runEntry struct {
	Label  string    `yaml:"label"`
	Preset string    `yaml:"preset"`
	Rule   string    `yaml:"rule"`
	Seeds  []uint64  `yaml:"seeds"`
	Data   []string  `yaml:"data"`
	Epochs *int      `yaml:"epochs"`
	LR     *float64  `yaml:"lr"`
	Batch  *int      `yaml:"batch"`
	Config yaml.Node `yaml:"config"`
}

// Run is one cell of the grid.
type Run struct {
	Index       int
	Label, Data string
	Seed        uint64
	Cfg         train.Config
	Hash, Key   string
}

// studyLine is what `copi compare` writes per evaluation: the trainer's record (all its
// fields, present and future) plus the run's identity in the study and its configuration.
type studyLine struct {
	train.Record
	Label      string       `json:"label"`
	Key        string       `json:"key"`
	ConfigHash string       `json:"config_hash"`
	Config     train.Config `json:"config"`
}

// divergedLine is the metrics line that records a run stopped on non-finite values, so that
// the table reports it and a resumed study does not train it again.
type divergedLine struct {
	Run        string            `json:"run"`
	Rule       string            `json:"rule"`
	Preset     string            `json:"preset,omitempty"`
	Dataset    string            `json:"dataset"`
	Seed       uint64            `json:"seed"`
	Diverged   report.Divergence `json:"diverged"`
	Label      string            `json:"label"`
	Key        string            `json:"key"`
	ConfigHash string            `json:"config_hash"`
	Config     train.Config      `json:"config"`
}

// Read reads a YAML or JSON study file, rejecting unknown keys.
func Read(path string) (Study, error) {
	var st Study
	raw, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("cannot read study %s: %w", path, errors.Unwrap(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&st); err != nil && !errors.Is(err, io.EOF) {
		return st, fmt.Errorf("study %s: %s", path, yamlMessage(err, "base, presets, rules, seeds, data, epochs, lr, batch, config, runs"))
	}
	return st, nil
}

// unknownField matches yaml's message for a key that no field takes.
var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

// yamlMessage turns a YAML decoding error into one line in the study file's terms: an
// unknown key is named with its line and the valid keys, not the Go type it missed.
func yamlMessage(err error, valid string) string {
	msg := strings.TrimPrefix(oneLine(err.Error()), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:; ")
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("line %s: unknown key %q (valid keys: %s)", m[1], m[2], valid)
	}
	return msg
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// withRule switches cfg to rule r: a rule of the same family keeps the options (and
// adapts them, e.g. turning decorrelation on or off); another family starts from its
// defaults.
func withRule(cfg train.Config, r string) (train.Config, error) {
	c := cfg.Clone()
	if err := c.SetRule(r); err != nil {
		return cfg, err
	}
	return c, nil
}

// setLR sets the learning rate of cfg, whichever key its rule names it by.
func setLR(cfg *train.Config, lr float64) error {
	key := "lr"
	for _, k := range cfg.ValidKeys() {
		if k == "optimizer.lr" {
			key = k
		}
	}
	return cfg.Set(fmt.Sprintf("%s=%v", key, lr))
}

// configHash is a short hash of the configuration without its seed.
func configHash(cfg train.Config) string {
	cfg.Seed = 0
	b, _ := json.Marshal(cfg)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// Plan expands the study into its grid, in a deterministic order: dataset, then
// configuration, then seed. sizes, if set, replaces every run's layer widths.
func (st *Study) Plan(sizes []int) ([]Run, error) {
	type entry struct {
		label       string
		cfg         train.Config
		seeds       []uint64
		data        []string
		epochs, bat *int
		lr          *float64
		node        *yaml.Node
	}
	var entries []entry
	for _, p := range st.Presets {
		c, err := train.Preset(p)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{label: p, cfg: c})
	}
	for _, r := range st.Rules {
		c, err := train.Preset(st.Base)
		if err != nil {
			return nil, fmt.Errorf("--base: %w", err)
		}
		if c, err = withRule(c, r); err != nil {
			return nil, err
		}
		entries = append(entries, entry{label: r, cfg: c})
	}
	for i := range st.Runs {
		sr := &st.Runs[i]
		p := sr.Preset
		if p == "" {
			p = st.Base
		}
		c, err := train.Preset(p)
		if err != nil {
			return nil, fmt.Errorf("study run %d: %w", i+1, err)
		}
		if sr.Rule != "" {
			if c, err = withRule(c, sr.Rule); err != nil {
				return nil, fmt.Errorf("study run %d: %w", i+1, err)
			}
		}
		lbl := sr.Label
		if lbl == "" {
			lbl = train.Label(c)
		}
		entries = append(entries, entry{label: lbl, cfg: c, seeds: sr.Seeds, data: sr.Data,
			epochs: sr.Epochs, bat: sr.Batch, lr: sr.LR, node: &sr.Config})
	}
	seen := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		if seen[e.label] {
			return nil, fmt.Errorf("two configurations of the study are labelled %q: give explicit runs distinct labels", e.label)
		}
		seen[e.label] = true
		var err error
		e.cfg = e.cfg.Clone()
		if err = e.cfg.Apply(&st.Config); err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
		apply := func(ep, b *int, lr *float64) error {
			if ep != nil {
				e.cfg.Epochs = *ep
			}
			if b != nil {
				e.cfg.BatchSize = *b
			}
			if lr != nil {
				return setLR(&e.cfg, *lr)
			}
			return nil
		}
		if err := apply(st.Epochs, st.Batch, st.LR); err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
		if e.node != nil {
			if err = e.cfg.Apply(e.node); err != nil {
				return nil, fmt.Errorf("study run %s: %w", e.label, err)
			}
			if err := apply(e.epochs, e.bat, e.lr); err != nil {
				return nil, fmt.Errorf("study run %s: %w", e.label, err)
			}
		}
		if sizes != nil {
			if err := e.cfg.Set("sizes=" + strings.ReplaceAll(fmt.Sprint(sizes), " ", ",")); err != nil {
				return nil, fmt.Errorf("%s: --sizes: %w", e.label, err)
			}
		}
		if err := e.cfg.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", e.label, err)
		}
	}
	var datasets []string
	inData := map[string]bool{}
	addData := func(ds []string) {
		for _, d := range ds {
			if !inData[d] {
				inData[d] = true
				datasets = append(datasets, d)
			}
		}
	}
	addData(st.Data)
	for _, e := range entries {
		addData(e.data)
	}
	var plan []Run
	for _, d := range datasets {
		for _, e := range entries {
			ds, seeds := st.Data, st.Seeds
			if e.data != nil {
				ds = e.data
			}
			if e.seeds != nil {
				seeds = e.seeds
			}
			if !contains(ds, d) {
				continue
			}
			h := configHash(e.cfg)
			seen := map[uint64]bool{}
			for _, s := range seeds {
				if seen[s] {
					return nil, fmt.Errorf("%s: seed %d is listed twice (two runs under one key would share their results): list each seed once", e.label, s)
				}
				seen[s] = true
				c := e.cfg.Clone()
				c.Seed = s
				// The key names the data as loading will find them: fashion-mnist that falls
				// back to the embedded sample is keyed as the sample, so that sample results
				// are never counted as (or instead of) full-dataset ones.
				plan = append(plan, Run{Index: len(plan), Label: e.label, Data: d, Seed: s, Cfg: c, Hash: h,
					Key: fmt.Sprintf("%s|%s|%d|%s", e.label, data.Resolve(d, data.Options{}), s, h)})
			}
		}
	}
	if len(plan) == 0 {
		return nil, fmt.Errorf("nothing to compare: the study has no configurations, datasets or seeds (give presets, rules or runs, and seeds and data)")
	}
	return plan, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ParseShard reads "i/n" (0 ≤ i < n); the empty string is shard 0 of 1.
func ParseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n, e.g. 0/4", s)
	}
	return i, n, nil
}

// Options are the run-time settings of a study.
type Options struct {
	// ShardIndex and Shards select the runs whose grid index is ShardIndex modulo Shards.
	ShardIndex, Shards int
	// Metrics is the JSON-lines file every evaluation is appended to ("" keeps them in
	// memory for the table only); CheckpointDir keeps one checkpoint per run.
	Metrics, CheckpointDir string
	// Engine runs the products of every run.
	Engine *mat32.Engine
	// Quiet prints only the table; DryRun lists the grid without training.
	Quiet, DryRun bool
	// LoadData reads a dataset by name or path (validation > 0 holds out that many
	// training examples).
	LoadData func(ctx context.Context, spec string, validation int) (*train.Data, error)
	// Format is the form of the table printed at the end: "table" (or "") for text, "json"
	// or "markdown" (see [Formats]).
	Format string
	// NewProgress, if set, shows a run's progress over its remaining steps.
	NewProgress func(label string, steps int) Progress
}

// Progress shows one run's progress.
type Progress interface {
	Step(train.Progress)
	Eval(train.Record)
	Done()
}

// silent is the Progress of quiet runs.
type silent struct{}

func (silent) Step(train.Progress) {}
func (silent) Eval(train.Record)   {}
func (silent) Done()               {}

// CheckpointName returns a file name for a run's checkpoint.
func CheckpointName(key string) string {
	b := []byte(key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b) + ".ckpt"
}

// Execute runs this shard's incomplete runs of the plan and prints the table of the whole
// plan from the metrics.
func Execute(ctx context.Context, stdout, log io.Writer, plan []Run, o Options) error {
	done := &report.Set{}
	if o.Metrics != "" {
		if !o.DryRun {
			// A run killed while writing a line leaves a torn tail: set it aside (in a side
			// file, never dropped) so that the lines appended now start on a line of their own.
			side, err := report.RecoverTornTail(o.Metrics)
			if err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			if side != "" {
				fmt.Fprintf(log, "metrics: %s ended in a torn line (a run was killed while writing it); its bytes are in %s\n", o.Metrics, side)
			}
		}
		if err := done.ReadFile(o.Metrics); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	status := func(p Run) string {
		r := done.Lookup(p.Key)
		switch {
		case r == nil:
			return "todo"
		case r.Complete():
			return "done"
		case r.Diverged != nil:
			return "diverged at " + r.Diverged.String()
		}
		l := r.Last()
		return fmt.Sprintf("partial (epoch %d of %d)", l.Epoch, p.Cfg.Epochs)
	}
	var mine []Run
	for _, p := range plan {
		if p.Index%o.Shards == o.ShardIndex {
			mine = append(mine, p)
		}
	}
	if o.DryRun {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "index\tshard\tkey\tepochs\tstatus")
		for _, p := range plan {
			st := "other shard"
			if p.Index%o.Shards == o.ShardIndex {
				st = status(p)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\n", p.Index, p.Index%o.Shards, p.Key, p.Cfg.Epochs, st)
		}
		return tw.Flush()
	}

	var out io.Writer
	var mem bytes.Buffer
	if o.Metrics != "" {
		f, err := os.OpenFile(o.Metrics, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		defer f.Close()
		out = f
	} else {
		out = &mem
	}
	if o.CheckpointDir != "" {
		if err := os.MkdirAll(o.CheckpointDir, 0o755); err != nil {
			return fmt.Errorf("checkpoint dir: %w", err)
		}
	}
	eng := o.Engine
	var err error
	var (
		d       *train.Data
		curData string
	)
	for i, p := range mine {
		tag := fmt.Sprintf("[%d/%d] %s@%d on %s", i+1, len(mine), p.Label, p.Seed, p.Data)
		if r := done.Lookup(p.Key); r != nil && (r.Complete() || r.Diverged != nil) {
			if !o.Quiet {
				msg := "done already"
				if r.Diverged != nil {
					msg = fmt.Sprintf("diverged at %s before (in the metrics); not trained again", r.Diverged)
				}
				fmt.Fprintf(log, "%s: %s\n", tag, msg)
			}
			continue
		}
		if d == nil || curData != p.Data {
			d = nil // let the previous dataset go before loading the next
			if d, err = o.LoadData(ctx, p.Data, p.Cfg.Validation); err != nil {
				return err
			}
			curData = p.Data
		}
		err := runOne(ctx, eng, d, p, out, o, tag, log)
		var div *train.DivergenceError
		if errors.As(err, &div) {
			// A run that diverges is a result of the study, not a failure of it: record
			// it and go on with the others.
			fmt.Fprintf(log, "%s: %v\n", tag, div)
			err = recordDivergence(out, p, div)
		}
		if err != nil {
			return err
		}
	}

	set := &report.Set{}
	if o.Metrics != "" {
		if err := set.ReadFile(o.Metrics); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	} else if err := set.Read(&mem, "metrics"); err != nil {
		return err
	}
	inPlan := map[string]bool{}
	for _, p := range plan {
		inPlan[p.Key] = true
	}
	groups := set.Groups(func(r *report.Run) bool { return inPlan[r.Key] })
	if o.Format != "" && o.Format != "table" {
		return WriteTable(stdout, groups, o.Format)
	}
	PrintTable(stdout, groups)
	return nil
}

// recordDivergence appends the line that marks run p as diverged.
func recordDivergence(out io.Writer, p Run, div *train.DivergenceError) error {
	b, err := json.Marshal(divergedLine{
		Run: fmt.Sprintf("%s@%d", p.Label, p.Seed), Rule: p.Cfg.Rule, Preset: p.Cfg.Preset,
		Dataset: p.Data, Seed: p.Seed,
		Diverged: report.Divergence{Epoch: div.Epoch, Step: div.Step, GlobalStep: div.GlobalStep, Where: div.Where},
		Label:    p.Label, Key: p.Key, ConfigHash: p.Hash, Config: p.Cfg,
	})
	if err == nil {
		_, err = out.Write(append(b, '\n'))
	}
	if err != nil {
		return &train.WriteError{What: "metrics", Err: err}
	}
	return nil
}

// runOne trains one run of the plan, from its checkpoint when one matches.
func runOne(ctx context.Context, eng *mat32.Engine, d *train.Data, p Run, out io.Writer, o Options, tag string, log io.Writer) error {
	var (
		t    *train.Trainer
		err  error
		ckpt string
	)
	if o.CheckpointDir != "" {
		ckpt = filepath.Join(o.CheckpointDir, CheckpointName(p.Key))
		if _, serr := os.Stat(ckpt); serr == nil {
			t, err = train.Resume(eng, ckpt, d, fmt.Sprintf("epochs=%d", p.Cfg.Epochs))
			switch {
			case err != nil:
				fmt.Fprintf(log, "%s: cannot resume from %s (%v); starting over\n", tag, ckpt, err)
				t = nil
			case configHash(t.Cfg) != p.Hash || t.Cfg.Seed != p.Seed:
				fmt.Fprintf(log, "%s: checkpoint %s is of another configuration; starting over\n", tag, ckpt)
				t = nil
			case t.Pos.Epoch >= p.Cfg.Epochs:
				// Finished, yet its last evaluation is not in the metrics: train it again.
				fmt.Fprintf(log, "%s: checkpoint %s is at the end but the metrics lack the run; starting over\n", tag, ckpt)
				t = nil
			case !o.Quiet:
				fmt.Fprintf(log, "%s: resuming from %s at epoch %d step %d\n", tag, ckpt, t.Pos.Epoch, t.Pos.Step)
			}
		}
	}
	if t == nil {
		if t, err = train.NewTrainer(eng, p.Cfg, d); err != nil {
			return fmt.Errorf("%s: %w", tag, err)
		}
	}
	runLabel := fmt.Sprintf("%s@%d", p.Label, p.Seed)
	remaining := (p.Cfg.Epochs-t.Pos.Epoch)*t.StepsPerEpoch() - t.Pos.Step
	var pr Progress = silent{}
	if o.NewProgress != nil && !o.Quiet {
		pr = o.NewProgress(tag, remaining)
	}
	onEval := func(rec train.Record) error {
		pr.Eval(rec)
		b, err := json.Marshal(studyLine{Record: rec, Label: p.Label, Key: p.Key, ConfigHash: p.Hash, Config: t.Cfg})
		if err == nil {
			_, err = out.Write(append(b, '\n'))
		}
		if err != nil {
			return &train.WriteError{What: "metrics", Err: err}
		}
		return nil
	}
	err = t.Run(ctx, train.Options{RunLabel: runLabel, CheckpointPath: ckpt, OnStep: pr.Step, OnEval: onEval, EvalAtStart: true})
	pr.Done()
	if err != nil {
		if ctx.Err() != nil && ckpt != "" {
			fmt.Fprintf(log, "%s: interrupted; run the same command again to resume from %s\n", tag, ckpt)
		}
		return fmt.Errorf("%s: %w", tag, err)
	}
	return nil
}

// PrintTable writes the summary of every group, then the test accuracy at the end of
// each epoch, then the runs that have not finished.
func PrintTable(w io.Writer, groups []*report.Group) {
	datasets := map[string]bool{}
	for _, g := range groups {
		datasets[g.Dataset] = true
	}
	angles := make([]string, len(groups))
	anyAngle := false
	for i, g := range groups {
		angles[i] = updateAngles(g)
		anyAngle = anyAngle || angles[i] != ""
	}
	anyVal := false
	for _, g := range groups {
		anyVal = anyVal || report.Summarise(g).AtBestVal.N > 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run\tdata\tseeds\tfinal test acc %%\tpeak test acc %%\tepoch of peak\ts/epoch")
	if anyVal {
		fmt.Fprint(tw, "\ttest acc % at best val\tepoch of best val")
	}
	if anyAngle {
		fmt.Fprint(tw, "\tupdate∠gradient ° per layer, first → last evaluation")
	}
	fmt.Fprintln(tw)
	var sums []report.Summary
	for i, g := range groups {
		s := report.Summarise(g)
		sums = append(sums, s)
		spe := fmt.Sprintf("%.1f", s.SecPerEpoch.Mean)
		if s.SecPerEpoch.Mean < 1 {
			spe = fmt.Sprintf("%.3f", s.SecPerEpoch.Mean)
		}
		seeds := fmt.Sprint(len(g.Runs))
		if len(g.Diverged) > 0 {
			seeds += fmt.Sprintf(" (+%d diverged)", len(g.Diverged))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s", g.Label, g.Dataset, seeds,
			s.Final.Format(2), s.Peak.Format(2), s.PeakEpoch.Mean, spe)
		if anyVal {
			fmt.Fprintf(tw, "\t%s\t%s", s.AtBestVal.Format(2), bestValEpoch(s))
		}
		if anyAngle {
			fmt.Fprintf(tw, "\t%s", angles[i])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	printPerEpoch(w, sums, len(datasets) > 1)
	var diverged []string
	for _, g := range groups {
		for _, r := range g.Diverged {
			diverged = append(diverged, fmt.Sprintf("%s@%d on %s at %s", r.Label, r.Seed, r.Dataset, r.Diverged))
		}
	}
	if len(diverged) > 0 {
		fmt.Fprintf(w, "\ndiverged (non-finite values; left out of the table): %s\n", strings.Join(diverged, ", "))
	}
	var pending []string
	for _, g := range groups {
		for _, r := range g.Incomplete {
			l := r.Last()
			pending = append(pending, fmt.Sprintf("%s@%d on %s (at epoch %d of %d)", r.Label, r.Seed, r.Dataset, l.Epoch, r.PlannedEpochs()))
		}
	}
	if len(pending) > 0 {
		fmt.Fprintf(w, "\nnot finished (left out of the table): %s\n", strings.Join(pending, ", "))
	}
}

// updateAngles formats the angle between each layer's update and the backprop gradient
// (mean over seeds) at the group's first and last evaluation, "75→66 83→77 0→0", or "" when
// the runs did not log it. Backprop itself shows 0→0: the column tells at a glance whether a
// rule's updates came to point along the gradient.
func updateAngles(g *report.Group) string {
	first := report.LayerStats(g, "update_angle_deg", true)
	last := report.LayerStats(g, "update_angle_deg", false)
	if len(first) == 0 || len(first) != len(last) {
		return ""
	}
	parts := make([]string, len(first))
	for i := range first {
		parts[i] = fmt.Sprintf("%.0f→%.0f", first[i].Mean, last[i].Mean)
	}
	return strings.Join(parts, " ")
}

// printPerEpoch writes the test accuracy at the end of every epoch (mean over seeds), one
// column per configuration, for studies short enough to read that way.
func printPerEpoch(w io.Writer, sums []report.Summary, withData bool) {
	epochs := 0
	for _, s := range sums {
		epochs = max(epochs, len(s.PerEpoch))
	}
	if epochs == 0 || epochs > 30 {
		return
	}
	fmt.Fprintln(w, "\ntest accuracy % at the end of each epoch (mean over seeds; epoch 0 trains only R in the COPI presets):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "epoch\t")
	for _, s := range sums {
		if withData {
			fmt.Fprintf(tw, "%s (%s)\t", s.Group.Label, s.Group.Dataset)
		} else {
			fmt.Fprintf(tw, "%s\t", s.Group.Label)
		}
	}
	fmt.Fprintln(tw)
	for e := 0; e < epochs; e++ {
		fmt.Fprintf(tw, "%d\t", e)
		for _, s := range sums {
			if e < len(s.PerEpoch) {
				fmt.Fprintf(tw, "%.2f\t", s.PerEpoch[e].Mean)
			} else {
				fmt.Fprint(tw, "\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// bestValEpoch formats the mean epoch of the best validation loss ("–" without a split).
func bestValEpoch(s report.Summary) string {
	if s.BestValEpoch.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", s.BestValEpoch.Mean)
}

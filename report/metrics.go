// Package report reads the metrics that `copi train` and `copi compare` append as JSON lines,
// groups the evaluations into runs and the runs into configurations, summarises each
// configuration over its seeds, and renders one self-contained HTML report with figures
// (inline SVG, no network assets), optionally also writing every figure as SVG and PNG.
//
// Reading is tolerant: lines written by older versions lack fields (the study key, the
// configuration, alignment metrics), and what they lack is simply not shown. A learning
// rule reports its own measurements in two open maps of every line: "layers" (one value
// per layer, e.g. update_angle_deg or goodness_pos) and "scalars" (one value, e.g.
// decorrelation or acc_goodness). Older lines carry the same series as top-level fields:
// every top-level array of numbers is read as a per-layer series and a top-level
// "decorrelation" number as the scalar of that name. Every series present is plotted,
// whatever its name.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Line is one evaluation read from a metrics file: the fields of a training record that
// the report uses, the study fields that `copi compare` adds, and every series the rule
// reported.
type Line struct {
	Run           string  `json:"run"`
	Rule          string  `json:"rule"`
	Preset        string  `json:"preset"`
	Dataset       string  `json:"dataset"`
	Seed          uint64  `json:"seed"`
	Epoch         int     `json:"epoch"`
	EpochFraction float64 `json:"epoch_fraction"`
	Step          int64   `json:"step"`
	// TrainLoss, TrainAcc and TestLoss are NaN when the line lacks them (a rule that
	// measures no loss, or a line written before the field existed).
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
	// ValLoss and ValAcc measure the run's held-out validation examples; NaN in runs
	// without a validation split.
	ValLoss float64 `json:"val_loss"`
	ValAcc  float64 `json:"val_acc"`
	Seconds float64 `json:"seconds"`

	// Label names the run's configuration in a study (without the seed).
	Label string `json:"label"`
	// Key identifies the run in a study: label, dataset, seed and configuration hash.
	Key string `json:"key"`
	// ConfigHash is a short hash of the run's configuration with the seed left out.
	ConfigHash string `json:"config_hash"`
	// Config is the run's whole configuration as decoded JSON, when the writer included
	// it: the rule's own settings under "options" in current files, flat in older ones.
	// Read it with [ConfigValue] and [ConfigEpochs].
	Config map[string]any `json:"config"`

	// Diverged, when set, makes the line not an evaluation but the record that the run
	// stopped there because its values became non-finite (written by `copi compare`).
	Diverged *Divergence `json:"diverged,omitempty"`

	// PerLayer holds the per-layer series by name: the "layers" map, and in older lines
	// every top-level field whose value is an array of numbers (null entries read as NaN).
	PerLayer map[string][]float64 `json:"-"`
	// Scalars holds the scalar series by name: the "scalars" map, and in older lines the
	// top-level "decorrelation" (null reads as NaN).
	Scalars map[string]float64 `json:"-"`
}

// Divergence is where a run's values became non-finite, and in which parameter or activity.
type Divergence struct {
	Epoch      int    `json:"epoch"`
	Step       int    `json:"step"`
	GlobalStep int64  `json:"global_step"`
	Where      string `json:"where"`
}

// String says where the run diverged, e.g. "epoch 1, step 704 (layer 2 pre-activation)".
func (d *Divergence) String() string {
	return fmt.Sprintf("epoch %d, step %d (%s)", d.Epoch, d.Step, d.Where)
}

// Position is the point of training the line was taken at, in epochs trained: 0 for the
// evaluation before training, e+1 at the end of epoch e (epochs count from 0). Every
// figure uses it as its x axis.
func (l *Line) Position() float64 { return float64(l.Epoch) + l.EpochFraction }

// EpochEnd reports whether the line was taken at the end of an epoch.
func (l *Line) EpochEnd() bool { return l.EpochFraction >= 1 }

// MaxEpoch is the largest epoch number a metrics line may carry; larger ones (and negative
// ones) are taken for corruption rather than allocated a row of the per-epoch table each.
const MaxEpoch = 1_000_000

// ParseLine decodes one JSON line and checks that its position in training is possible.
func ParseLine(b []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(b, &l); err != nil {
		return l, err
	}
	if l.Epoch < 0 || l.Epoch > MaxEpoch {
		return l, &invalidLineError{fmt.Sprintf("epoch %d outside 0..%d", l.Epoch, MaxEpoch)}
	}
	if !(l.EpochFraction >= 0 && l.EpochFraction <= 1) {
		return l, &invalidLineError{fmt.Sprintf("epoch_fraction %v outside [0, 1]", l.EpochFraction)}
	}
	if d := l.Diverged; d != nil && (d.Epoch < 0 || d.Epoch > MaxEpoch || d.Step < 0) {
		return l, &invalidLineError{fmt.Sprintf("diverged at epoch %d, step %d: not a position in training", d.Epoch, d.Step)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return l, err
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{{"train_loss", &l.TrainLoss}, {"train_acc", &l.TrainAcc}, {"test_loss", &l.TestLoss},
		{"val_loss", &l.ValLoss}, {"val_acc", &l.ValAcc}} {
		if v, ok := raw[f.key]; !ok || isNull(v) {
			*f.v = math.NaN()
		}
	}
	// Older lines: top-level arrays and the top-level decorrelation.
	for k, v := range raw {
		if s, ok := numbers(v); ok {
			if l.PerLayer == nil {
				l.PerLayer = map[string][]float64{}
			}
			l.PerLayer[k] = s
		}
	}
	if x, ok := number(raw["decorrelation"]); ok {
		l.Scalars = map[string]float64{"decorrelation": x}
	}
	// Current lines: the rule's open maps, which win over a top-level field of the same name.
	var layers, scalars map[string]json.RawMessage
	if json.Unmarshal(raw["layers"], &layers) == nil {
		for k, v := range layers {
			if s, ok := numbers(v); ok {
				if l.PerLayer == nil {
					l.PerLayer = map[string][]float64{}
				}
				l.PerLayer[k] = s
			}
		}
	}
	if json.Unmarshal(raw["scalars"], &scalars) == nil {
		for k, v := range scalars {
			if x, ok := number(v); ok {
				if l.Scalars == nil {
					l.Scalars = map[string]float64{}
				}
				l.Scalars[k] = x
			}
		}
	}
	return l, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// numbers decodes a non-empty JSON array of numbers (null entries read as NaN).
func numbers(v json.RawMessage) ([]float64, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	var xs []*float64
	if json.Unmarshal(v, &xs) != nil || len(xs) == 0 {
		return nil, false
	}
	s := make([]float64, len(xs))
	for i, x := range xs {
		s[i] = math.NaN()
		if x != nil {
			s[i] = *x
		}
	}
	return s, true
}

// number decodes a JSON number (null reads as NaN); anything else is not one.
func number(v json.RawMessage) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	if isNull(v) {
		return math.NaN(), true
	}
	var x float64
	if json.Unmarshal(v, &x) != nil {
		return 0, false
	}
	return x, true
}

// invalidLineError is a line that is well-formed JSON but cannot be a metrics record: a
// corrupt file rather than a torn last line.
type invalidLineError struct{ msg string }

func (e *invalidLineError) Error() string { return e.msg }

// ConfigValue returns the value at a dotted key of a decoded configuration, such as
// "epochs", "options.sizes" or "optimizer.lr", and whether it is there.
func ConfigValue(cfg map[string]any, key string) (any, bool) {
	var v any = cfg
	for part := range strings.SplitSeq(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// ConfigEpochs returns the number of epochs a configuration plans ("epochs", in current
// and older files alike), 0 when it is absent or not a possible number of epochs.
func ConfigEpochs(cfg map[string]any) int {
	v, _ := ConfigValue(cfg, "epochs")
	x, ok := v.(float64)
	if !ok || x != math.Trunc(x) || x < 0 || x > MaxEpoch+1 {
		return 0
	}
	return int(x)
}

// ConfigBool reports whether the rule's setting name is true in a configuration: under
// "options" in current files, at the top level in older ones.
func ConfigBool(cfg map[string]any, name string) bool {
	if v, ok := ConfigValue(cfg, "options."+name); ok {
		b, _ := v.(bool)
		return b
	}
	v, _ := ConfigValue(cfg, name)
	b, _ := v.(bool)
	return b
}

// FlattenConfig writes the leaves of a decoded configuration as dotted keys
// ("options.sizes", "optimizer.lr"); arrays become their elements joined by "-".
func FlattenConfig(cfg map[string]any) map[string]string {
	out := map[string]string{}
	flatten("", cfg, out)
	return out
}

// flatten writes the leaves of a decoded JSON value under prefix.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, y, out)
		}
	case []any:
		var s []string
		for _, y := range x {
			s = append(s, fmt.Sprint(y))
		}
		out[prefix] = strings.Join(s, "-")
	case nil:
		out[prefix] = ""
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

// label returns the configuration's name: the study label, else the run label without its
// "@seed", else the preset or rule.
func (l *Line) label() string {
	switch {
	case l.Label != "":
		return l.Label
	case l.Run != "":
		if i := strings.LastIndexByte(l.Run, '@'); i > 0 {
			if _, err := strconv.ParseUint(l.Run[i+1:], 10, 64); err == nil {
				return l.Run[:i]
			}
		}
		return l.Run
	case l.Preset != "":
		return l.Preset
	}
	return l.Rule
}

// Run is one training run (one configuration, dataset and seed): the evaluations of its
// latest attempt, in order.
type Run struct {
	Key, Label, Dataset, ConfigHash string
	Rule, Preset                    string
	Seed                            uint64
	// Config is the run's configuration when the lines carry it (see [Line.Config]).
	Config map[string]any
	Lines  []Line
	// Diverged is set when the run's latest attempt stopped on non-finite values.
	Diverged *Divergence
}

// PlannedEpochs returns the number of epochs the run was configured for, 0 when unknown.
func (r *Run) PlannedEpochs() int {
	return ConfigEpochs(r.Config)
}

// Complete reports whether the run has recorded the end of its final epoch. A run whose
// planned length is unknown counts as complete.
func (r *Run) Complete() bool {
	if len(r.Lines) == 0 || r.Diverged != nil {
		return false
	}
	n := r.PlannedEpochs()
	last := r.Lines[len(r.Lines)-1]
	return n == 0 || (last.Epoch >= n-1 && last.EpochEnd())
}

// Last returns the run's last evaluation.
func (r *Run) Last() Line { return r.Lines[len(r.Lines)-1] }

// Set is the runs read from metrics files, in order of first appearance.
type Set struct {
	Runs []*Run
	// Torn lists the torn last lines that reading skipped (see [Set.Read]); a caller
	// should show them as warnings.
	Torn  []TornLine
	byKey map[string]*Run
}

// TornLine is a last line that [Set.Read] skipped because it is incomplete: no newline
// ends it and it is not valid JSON, as a run killed while writing it leaves it.
// [RecoverTornTail] sets such bytes aside in a file of their own.
type TornLine struct {
	// Name is the file (or stream) name, Line the line number, Bytes the line's length.
	Name  string
	Line  int
	Bytes int
}

// String describes the skipped line for a warning.
func (t TornLine) String() string {
	return fmt.Sprintf("%s line %d: skipped a torn last line (%d bytes, no newline; a run killed while writing it?)", t.Name, t.Line, t.Bytes)
}

// Add files one evaluation under its run, or marks the run as diverged. A line at or before the run's latest position
// starts a new attempt (a restart from scratch, or a resume from an earlier checkpoint):
// the run's lines from that position on are dropped first, so that the run keeps one
// consistent history.
func (s *Set) Add(l Line) {
	key := l.Key
	if key == "" {
		key = fmt.Sprintf("%s|%s|%d|%s", l.label(), l.Dataset, l.Seed, l.ConfigHash)
	}
	if s.byKey == nil {
		s.byKey = map[string]*Run{}
	}
	r := s.byKey[key]
	if r == nil {
		r = &Run{Key: key, Label: l.label(), Dataset: l.Dataset, ConfigHash: l.ConfigHash,
			Rule: l.Rule, Preset: l.Preset, Seed: l.Seed}
		s.byKey[key] = r
		s.Runs = append(s.Runs, r)
	}
	if l.Config != nil {
		r.Config = l.Config
	}
	if l.Diverged != nil {
		r.Diverged = l.Diverged
		return
	}
	r.Diverged = nil // an evaluation after a divergence record belongs to a new attempt
	p := l.Position()
	i := len(r.Lines)
	for i > 0 && r.Lines[i-1].Position() >= p {
		i--
	}
	r.Lines = append(r.Lines[:i], l)
}

// Lookup returns the run with the given key, or nil.
func (s *Set) Lookup(key string) *Run { return s.byKey[key] }

// Read adds every line of a JSON-lines stream; name is used in error messages. Blank lines
// are skipped. A torn last line (no newline ends it and it is not valid JSON: a run was
// killed while writing it) is skipped too and recorded in s.Torn. Any other line that
// cannot be read, the last one included when a newline ends it, is corruption: Read
// returns an error naming the stream and the line, having added the lines before it.
func (s *Set) Read(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	unterminated := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		if tok != nil {
			unterminated = adv == 0 || data[adv-1] != '\n'
		}
		return adv, tok, err
	})
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		l, err := ParseLine(b)
		if err != nil {
			if n == 1 && !json.Valid(b) && !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
				return fmt.Errorf("%s is not a metrics file (JSON lines, as copi train --metrics and copi compare --metrics write them): line 1 is not JSON", name)
			}
			if unterminated && !json.Valid(b) {
				s.Torn = append(s.Torn, TornLine{Name: name, Line: n, Bytes: len(b)})
				continue
			}
			return fmt.Errorf("%s line %d: %w", name, n, err)
		}
		s.Add(l)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ReadFile adds every line of a JSON-lines file, as [Set.Read] does. A missing file is an
// error (matching os.ErrNotExist).
func (s *Set) ReadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.Read(f, path)
}

// Load reads JSON-lines metrics files into a new set; torn last lines it skipped are in
// the set's Torn.
func Load(paths ...string) (*Set, error) {
	s := &Set{}
	for _, p := range paths {
		if err := s.ReadFile(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Group is the runs of one configuration on one dataset, over seeds.
type Group struct {
	Label, Dataset, ConfigHash string
	// Runs are the group's complete runs, Diverged those stopped on non-finite values,
	// Incomplete the others.
	Runs, Diverged, Incomplete []*Run
}

// Name returns the label shown in tables and legends.
func (g *Group) Name() string { return g.Label }

// Groups gathers runs by label, dataset and configuration hash, in order of first
// appearance; keep, if not nil, selects the runs to include.
func (s *Set) Groups(keep func(*Run) bool) []*Group {
	var out []*Group
	idx := map[string]*Group{}
	for _, r := range s.Runs {
		if keep != nil && !keep(r) {
			continue
		}
		k := r.Label + "\x00" + r.Dataset + "\x00" + r.ConfigHash
		g := idx[k]
		if g == nil {
			g = &Group{Label: r.Label, Dataset: r.Dataset, ConfigHash: r.ConfigHash}
			idx[k] = g
			out = append(out, g)
		}
		switch {
		case r.Complete():
			g.Runs = append(g.Runs, r)
		case r.Diverged != nil:
			g.Diverged = append(g.Diverged, r)
		default:
			g.Incomplete = append(g.Incomplete, r)
		}
	}
	return out
}

// Stat is a mean and sample standard deviation over seeds (NaN mean when there is nothing).
type Stat struct {
	Mean, SD float64
	N        int
}

// NewStat summarises v.
func NewStat(v []float64) Stat {
	s := Stat{Mean: math.NaN(), SD: math.NaN(), N: len(v)}
	if len(v) == 0 {
		return s
	}
	s.Mean = 0
	for _, x := range v {
		s.Mean += x
	}
	s.Mean /= float64(len(v))
	s.SD = 0
	if len(v) > 1 {
		for _, x := range v {
			s.SD += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(len(v)-1))
	}
	return s
}

// Format writes the statistic as "mean ± sd" with the given number of decimals, or just
// the value when there is one (a single seed has no spread to show).
func (s Stat) Format(decimals int) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return fmt.Sprintf("%.*f", decimals, s.Mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", decimals, s.Mean, decimals, s.SD)
}

// Summary is one group's results over its complete runs. Accuracies are in percent.
type Summary struct {
	Group *Group
	// Final and Peak are the test accuracy at the last epoch end and the best one.
	Final, Peak Stat
	// PeakEpoch is the epoch of the peak; SecPerEpoch the training seconds per epoch.
	PeakEpoch, SecPerEpoch Stat
	// PerEpoch[e] is the test accuracy at the end of epoch e over the runs that reached it.
	PerEpoch []Stat
	// AtBestVal is the test accuracy at the epoch end of the lowest validation loss (the
	// highest validation accuracy for rules that measure no loss), and BestValEpoch that
	// epoch, over the runs with a validation split (N = 0 without one).
	AtBestVal, BestValEpoch Stat
}

// Summarise computes a group's summary.
func Summarise(g *Group) Summary {
	s := Summary{Group: g}
	var final, peak, peakEpoch, spe, atBestVal, bestValEpoch []float64
	var perEpoch [][]float64
	for _, r := range g.Runs {
		if acc, epoch, ok := bestValidation(r.Lines); ok {
			atBestVal = append(atBestVal, acc)
			bestValEpoch = append(bestValEpoch, float64(epoch))
		}
		best, bestEpoch, last, any := -1.0, 0, 0.0, false
		for _, l := range r.Lines {
			if !l.EpochEnd() {
				continue
			}
			any = true
			last = 100 * l.TestAcc
			for len(perEpoch) <= l.Epoch {
				perEpoch = append(perEpoch, nil)
			}
			perEpoch[l.Epoch] = append(perEpoch[l.Epoch], last)
			if last > best {
				best, bestEpoch = last, l.Epoch
			}
		}
		if !any {
			continue
		}
		final = append(final, last)
		peak = append(peak, best)
		peakEpoch = append(peakEpoch, float64(bestEpoch))
		if l := r.Last(); l.Position() > 0 {
			spe = append(spe, l.Seconds/l.Position())
		}
	}
	s.Final, s.Peak, s.PeakEpoch, s.SecPerEpoch = NewStat(final), NewStat(peak), NewStat(peakEpoch), NewStat(spe)
	s.AtBestVal, s.BestValEpoch = NewStat(atBestVal), NewStat(bestValEpoch)
	for _, v := range perEpoch {
		s.PerEpoch = append(s.PerEpoch, NewStat(v))
	}
	return s
}

// bestValidation returns the test accuracy (percent) and epoch of the epoch-end line with
// the lowest validation loss (the highest validation accuracy when no loss is measured;
// the earlier line on ties), as train.BestValidation picks it.
func bestValidation(lines []Line) (acc float64, epoch int, ok bool) {
	hasLoss := false
	for _, l := range lines {
		hasLoss = hasLoss || (!math.IsNaN(l.ValLoss) && l.ValLoss != 0)
	}
	var best Line
	for _, l := range lines {
		if !l.EpochEnd() || math.IsNaN(l.ValAcc) || math.IsNaN(l.ValLoss) {
			continue
		}
		if !ok || (hasLoss && l.ValLoss < best.ValLoss) || (!hasLoss && l.ValAcc > best.ValAcc) {
			best, ok = l, true
		}
	}
	return 100 * best.TestAcc, best.Epoch, ok
}

// LayerStats returns, for the per-layer metric key (such as "update_angle_deg"), one Stat per
// layer over the group's complete runs, taken from each run's first evaluation (first) or
// its last. It returns nil when no run logged the key.
func LayerStats(g *Group, key string, first bool) []Stat {
	var vals [][]float64
	for _, r := range g.Runs {
		if len(r.Lines) == 0 {
			continue
		}
		l := r.Last()
		if first {
			l = r.Lines[0]
		}
		for i, x := range l.PerLayer[key] {
			for len(vals) <= i {
				vals = append(vals, nil)
			}
			if !math.IsNaN(x) {
				vals[i] = append(vals[i], x)
			}
		}
	}
	if vals == nil {
		return nil
	}
	out := make([]Stat, len(vals))
	for i, v := range vals {
		out[i] = NewStat(v)
	}
	return out
}

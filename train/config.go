// Package train runs copi's training loop for any learning rule registered with package
// learn: configuration and presets, epochs with evaluation, metrics as JSON lines,
// checkpoints with exact resume, cancellation, and a guard that stops a diverging run with a
// message naming where and when.
//
// The loop knows nothing about a rule beyond the [learn.Learner] contract: it shuffles,
// batches, evaluates, records and checkpoints. Shuffles are drawn from a stream that depends
// only on the seed and the epoch, so a run resumed from a checkpoint continues exactly as an
// uninterrupted one would. The first epoch may run in file order, as the COPI reference does.
package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/copi-learn/copi/learn"
)

// Config is everything that defines a training run, apart from the data and the thread
// count: the loop's common settings and the rule's own options. It is stored in every
// checkpoint and metrics line.
//
// In YAML and JSON the common settings are top-level keys and the rule's options sit under
// "options". Reading also accepts an option's key at the top level (the layout before
// rules owned their options), so older configuration and study files keep working.
type Config struct {
	// Preset names the preset this configuration started from (informational).
	Preset string
	// Rule is the learning rule's registry name (see learn.Names).
	Rule string
	// BatchSize is the number of examples per step.
	BatchSize int
	// Epochs is the number of passes over the training data.
	Epochs int
	// EvalEvery is the evaluation interval as a fraction of an epoch (1 = every epoch,
	// 0.1 = ten times per epoch).
	EvalEvery float64
	// Validation holds out the last Validation training examples and evaluates on them
	// instead of the test set.
	Validation int
	// ValidationSplit holds out this fraction of the training examples, drawn at random
	// from the seed (the authors' random 90/10 split in counter-current learning is 0.1):
	// the loop trains on the rest and evaluates on them as well as on the test set at every
	// evaluation, and summaries read the test accuracy at the epoch of the best validation
	// loss. 0 turns it off.
	ValidationSplit float64
	// StopAtTrainAccuracy, in percent, ends the run after the first epoch whose training
	// accuracy (over that epoch's batches, each measured before its update) reaches it;
	// GEVB's authors stop at 100. 0 turns it off; Epochs stays the upper bound.
	StopAtTrainAccuracy float64
	// StopMeasure says which training accuracy StopAtTrainAccuracy reads: "running" (or
	// empty), the epoch's batches, each measured before its update; or "full", a pass over
	// the training set with the weights at the epoch's end, as GEVB's authors check it
	// (one extra forward pass over the training set per epoch).
	StopMeasure string
	// InputMean and InputStd normalise every input the learner sees, x → (x − mean)/std:
	// one value for all inputs, or one per channel (channels first). The authors of
	// counter-current learning normalise MNIST with 0.1307 and 0.3081, Fashion-MNIST with
	// 0.2860 and 0.3530. Empty: the data as read, in [0, 1].
	InputMean, InputStd []float64
	// ShuffleFirstEpoch shuffles before epoch 0 too; the COPI reference runs it in file
	// order.
	ShuffleFirstEpoch bool
	// Seed drives initialisation, shuffling and every other random choice.
	Seed uint64
	// Options are the rule's own options: a pointer of the type the rule's registration
	// returns (e.g. *credit.Options).
	Options any
}

// commonKeys are the configuration's own keys, in the order they are written.
var commonKeys = []string{"preset", "rule", "batch_size", "epochs", "eval_every", "validation", "validation_split", "stop_at_train_accuracy", "stop_measure", "input_mean", "input_std", "shuffle_first_epoch", "seed"}

// configDoc is the written form of a Config.
type configDoc struct {
	Preset              string    `json:"preset,omitempty" yaml:"preset,omitempty"`
	Rule                string    `json:"rule" yaml:"rule"`
	BatchSize           int       `json:"batch_size" yaml:"batch_size"`
	Epochs              int       `json:"epochs" yaml:"epochs"`
	EvalEvery           float64   `json:"eval_every" yaml:"eval_every"`
	Validation          int       `json:"validation,omitempty" yaml:"validation,omitempty"`
	ValidationSplit     float64   `json:"validation_split,omitempty" yaml:"validation_split,omitempty"`
	StopAtTrainAccuracy float64   `json:"stop_at_train_accuracy,omitempty" yaml:"stop_at_train_accuracy,omitempty"`
	StopMeasure         string    `json:"stop_measure,omitempty" yaml:"stop_measure,omitempty"`
	InputMean           []float64 `json:"input_mean,omitempty" yaml:"input_mean,omitempty"`
	InputStd            []float64 `json:"input_std,omitempty" yaml:"input_std,omitempty"`
	ShuffleFirstEpoch   bool      `json:"shuffle_first_epoch" yaml:"shuffle_first_epoch"`
	Seed                uint64    `json:"seed" yaml:"seed"`
	Options             any       `json:"options" yaml:"options"`
}

func (c Config) doc() configDoc {
	return configDoc(c)
}

// MarshalJSON writes the common keys, then the rule's options under "options".
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.doc()) }

// MarshalYAML writes the common keys, then the rule's options under "options".
func (c Config) MarshalYAML() (any, error) { return c.doc(), nil }

// YAML writes the configuration as YAML the way people write it: two-space indents, lists
// of numbers or words on one line ([784, 500, 10]).
func (c Config) YAML() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, err
	}
	var flow func(*yaml.Node)
	flow = func(n *yaml.Node) {
		if n.Kind == yaml.SequenceNode {
			scalars := true
			for _, c := range n.Content {
				scalars = scalars && c.Kind == yaml.ScalarNode
			}
			if scalars {
				n.Style = yaml.FlowStyle
			}
		}
		for _, c := range n.Content {
			flow(c)
		}
	}
	flow(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalJSON reads a configuration written by MarshalJSON (or in the older flat layout).
func (c *Config) UnmarshalJSON(b []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	var fresh Config
	if err := fresh.Apply(&n); err != nil {
		return err
	}
	*c = fresh
	return nil
}

// Clone returns a copy whose options are its own (changing one does not change the other).
func (c Config) Clone() Config {
	c.InputMean, c.InputStd = slices.Clone(c.InputMean), slices.Clone(c.InputStd)
	if c.Options == nil {
		return c
	}
	r, err := learn.Lookup(c.Rule)
	if err != nil {
		return c
	}
	b, err := json.Marshal(c.Options)
	if err != nil {
		return c
	}
	o := r.Options()
	if json.Unmarshal(b, o) != nil {
		return c
	}
	c.Options = o
	return c
}

// Apply sets the keys of a YAML (or JSON) mapping over c: "rule" first (switching to a rule
// of another family resets the options to that rule's defaults; within a family they are
// kept and adapted), then the common keys, then "options" and any option key given at the
// top level. An unknown key, or a value of the wrong type, is an error naming the valid
// keys.
func (c *Config) Apply(n *yaml.Node) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("configuration: want a mapping of keys to values, got %s", kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "rule" {
			var name string
			if err := n.Content[i+1].Decode(&name); err != nil {
				return fmt.Errorf("rule: %s", oneLine(err.Error()))
			}
			if err := c.SetRule(name); err != nil {
				return err
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if key == "rule" {
			continue
		}
		if err := c.applyKey(key, val); err != nil {
			return err
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

// SetRule switches the configuration to rule name (see [Config.Apply]).
func (c *Config) SetRule(name string) error {
	r, err := learn.Lookup(name)
	if err != nil {
		return err
	}
	fresh := r.Options()
	if learn.SameFamily(c.Options, fresh) {
		if r.Adapt != nil {
			r.Adapt(c.Options)
		}
	} else {
		c.Options = fresh
	}
	c.Rule = name
	return nil
}

// applyKey sets one top-level key.
func (c *Config) applyKey(key string, val *yaml.Node) error {
	var dst any
	switch key {
	case "preset":
		dst = &c.Preset
	case "batch_size":
		dst = &c.BatchSize
	case "epochs":
		dst = &c.Epochs
	case "eval_every":
		dst = &c.EvalEvery
	case "validation":
		dst = &c.Validation
	case "validation_split":
		dst = &c.ValidationSplit
	case "stop_at_train_accuracy":
		dst = &c.StopAtTrainAccuracy
	case "stop_measure":
		dst = &c.StopMeasure
	case "input_mean":
		dst = &c.InputMean
	case "input_std":
		dst = &c.InputStd
	case "shuffle_first_epoch":
		dst = &c.ShuffleFirstEpoch
	case "seed":
		dst = &c.Seed
	case "options":
		if c.Options == nil {
			return errors.New("configuration: options given before a rule: set rule first")
		}
		return decodeStrict(val, c.Options, "options")
	default:
		if c.Options != nil && hasKey(c.Options, key) {
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
				Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val}}
			return decodeStrict(m, c.Options, "options")
		}
		return fmt.Errorf("configuration: unknown key %q (valid keys: %s)", key, strings.Join(c.ValidKeys(), ", "))
	}
	if err := val.Decode(dst); err != nil {
		return fmt.Errorf("configuration key %s: %s", key, oneLine(err.Error()))
	}
	return nil
}

// decodeStrict decodes a YAML node into dst, refusing unknown keys.
func decodeStrict(n *yaml.Node, dst any, what string) error {
	raw, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s (valid keys: %s)", what, oneLine(err.Error()), strings.Join(optionKeys(dst, ""), ", "))
	}
	return nil
}

// oneLine joins a multi-line message (yaml lists several problems on separate lines).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// ValidKeys lists every key the configuration accepts: the common ones and the rule's
// options (dotted for nested ones, e.g. optimizer.lr).
func (c *Config) ValidKeys() []string {
	keys := append([]string(nil), commonKeys...)
	if c.Options != nil {
		keys = append(keys, optionKeys(c.Options, "")...)
	}
	return keys
}

// yamlName returns a struct field's YAML key, or "" for fields not written.
func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// optionKeys lists the YAML keys of the struct v points to, nested ones dotted.
func optionKeys(v any, prefix string) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, optionKeys(reflect.New(f.Type).Interface(), prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	sort.Strings(keys)
	return keys
}

// hasKey reports whether the options struct v points to has the top-level YAML key (a
// value, or a nested struct such as optimizer).
func hasKey(v any, key string) bool {
	for _, k := range optionKeys(v, "") {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// Set applies one "key=value" override, as `--set` gives it: the key is a common key or an
// option (nested ones dotted, e.g. optimizer.lr or options.optimizer.lr), the value is
// YAML (a number, a word, a list such as [784,100,10], or a mapping).
func (c *Config) Set(kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return fmt.Errorf("--set %q: want key=value, e.g. --set optimizer.lr=1e-3 (valid keys: %s)", kv, strings.Join(c.ValidKeys(), ", "))
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return fmt.Errorf("--set %s: the value %q is not valid YAML: %s", key, value, oneLine(err.Error()))
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(v.Content) > 0 {
		val = v.Content[0]
	}
	parts := strings.Split(strings.TrimPrefix(key, "options."), ".")
	if !strings.HasPrefix(key, "options.") && len(parts) == 1 && contains(commonKeys, key) {
		return c.Apply(mapping(key, val))
	}
	if c.Options == nil || !contains(optionKeys(c.Options, ""), strings.Join(parts, ".")) && !hasKey(c.Options, parts[0]) {
		return fmt.Errorf("--set %s: unknown key (valid keys: %s)", key, strings.Join(c.ValidKeys(), ", "))
	}
	for i := len(parts) - 1; i >= 1; i-- {
		val = mapping(parts[i], val)
	}
	return c.Apply(mapping("options", mapping(parts[0], val)))
}

func mapping(key string, val *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val}}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// LoadConfigFile reads a YAML or JSON configuration file over base: keys present in the file
// replace base's values, the others stay. Unknown keys are an error.
func LoadConfigFile(path string, base Config) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("cannot read config %s: %w", path, errors.Unwrap(err))
	}
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		return base, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(oneLine(err.Error()), "yaml: "))
	}
	c := base.Clone()
	if err := c.Apply(&n); err != nil {
		return base, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "configuration: "))
	}
	return c, nil
}

// Validate checks the configuration for values that cannot run: the loop's settings and,
// through learn.Validator, the rule's options.
func (c Config) Validate() error {
	r, err := learn.Lookup(c.Rule)
	if err != nil {
		return err
	}
	if c.Options == nil || !learn.SameFamily(c.Options, r.Options()) {
		return fmt.Errorf("rule %s: options of type %T, want %T", c.Rule, c.Options, r.Options())
	}
	if c.BatchSize <= 0 || c.BatchSize > 1<<20 {
		return fmt.Errorf("batch_size %d must be between 1 and %d", c.BatchSize, 1<<20)
	}
	if c.Epochs < 0 || c.Epochs > 1_000_000 {
		return fmt.Errorf("epochs %d must be between 0 and 1000000", c.Epochs)
	}
	if math.IsNaN(c.EvalEvery) || c.EvalEvery <= 0 || c.EvalEvery > 1 {
		return fmt.Errorf("eval_every %v must be in (0, 1] epochs", c.EvalEvery)
	}
	if c.Validation < 0 {
		return fmt.Errorf("validation %d must not be negative", c.Validation)
	}
	if math.IsNaN(c.ValidationSplit) || c.ValidationSplit < 0 || c.ValidationSplit > 0.5 {
		return fmt.Errorf("validation_split %v must be a fraction in [0, 0.5] of the training examples (0.1 holds out a tenth)", c.ValidationSplit)
	}
	if c.ValidationSplit > 0 && c.Validation > 0 {
		return fmt.Errorf("validation %d and validation_split %v both hold out training examples: set one of them", c.Validation, c.ValidationSplit)
	}
	if math.IsNaN(c.StopAtTrainAccuracy) || c.StopAtTrainAccuracy < 0 || c.StopAtTrainAccuracy > 100 {
		return fmt.Errorf("stop_at_train_accuracy %v must be a percentage in [0, 100] (0 turns it off)", c.StopAtTrainAccuracy)
	}
	if c.StopMeasure != "" && c.StopMeasure != "running" && c.StopMeasure != "full" {
		return fmt.Errorf("stop_measure %q: want running (the epoch's batches) or full (a pass over the training set)", c.StopMeasure)
	}
	if err := checkInputNorm(c.InputMean, c.InputStd); err != nil {
		return err
	}
	if v, ok := c.Options.(learn.Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("rule %s: %w", c.Rule, err)
		}
	}
	return nil
}

package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSetOverridesAnyKey: --set reaches common keys, top-level options and nested options
// (with or without the options. prefix), parses lists and numbers as YAML, and refuses
// unknown keys and wrongly typed values with one line that lists the valid keys.
func TestSetOverridesAnyKey(t *testing.T) {
	c, err := Preset("mnist/copi-bp")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"batch_size=7", "sizes=[784, 100, 10]", "optimizer.lr=2.5e-4", "options.decorrelation.variant=bio", "epochs=3", "seed=9"} {
		if err := c.Set(kv); err != nil {
			t.Fatalf("--set %s: %v", kv, err)
		}
	}
	o := opts(c)
	if c.BatchSize != 7 || c.Epochs != 3 || c.Seed != 9 || !reflect.DeepEqual(o.Sizes, []int{784, 100, 10}) ||
		o.Optimizer.LR != 2.5e-4 || o.Decorrelation.Variant != "bio" || o.Optimizer.Name != "sgd" {
		t.Errorf("after --set: %+v %+v", c, o)
	}
	for _, bad := range []struct{ kv, want string }{
		{"lrr=1", "optimizer.lr"},
		{"optimizer.lrr=1", "valid keys"},
		{"batch_size=many", "batch_size"},
		{"sizes=[784, x]", "sizes"},
		{"noequals", "key=value"},
	} {
		err := c.Set(bad.kv)
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("--set %s: %v (want one line mentioning %q)", bad.kv, err, bad.want)
		}
	}
}

// TestConfigRoundTripsAndReadsTheFlatLayout: a configuration written as JSON or YAML reads
// back equal; the layout before rules owned their options (option keys at the top level,
// as older study files and checkpoints have them) reads into the options.
func TestConfigRoundTripsAndReadsTheFlatLayout(t *testing.T) {
	for _, p := range Presets() {
		c, err := Preset(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, b)
		}
		if !reflect.DeepEqual(c, back) {
			t.Errorf("%s: JSON round trip\n%+v\n%+v", p, c, back)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(y, &n); err != nil {
			t.Fatal(err)
		}
		var fromYAML Config
		if err := fromYAML.Apply(&n); err != nil || !reflect.DeepEqual(c, fromYAML) {
			t.Errorf("%s: YAML round trip: %v\n%s", p, err, y)
		}
		pretty, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		var pn yaml.Node
		if err := yaml.Unmarshal(pretty, &pn); err != nil {
			t.Fatal(err)
		}
		var fromPretty Config
		if err := fromPretty.Apply(&pn); err != nil || !reflect.DeepEqual(c, fromPretty) || strings.Contains(string(pretty), "  - ") {
			t.Errorf("%s: Config.YAML round trip (lists of numbers on one line): %v\n%s", p, err, pretty)
		}
	}
	flat := `{"preset":"mnist/bp-adam","rule":"bp","sizes":[784,20,10],"activation":"relu","activation_param":0,"bias":true,"loss":"cross-entropy","loss_multiplier":1,"output_derivative":false,"optimizer":{"name":"adam","lr":0.0003},"decorrelation":{"variant":"none"},"batch_size":128,"epochs":10,"decor_only_epochs":0,"shuffle_first_epoch":false,"eval_every":1,"seed":3}`
	var c Config
	if err := json.Unmarshal([]byte(flat), &c); err != nil {
		t.Fatal(err)
	}
	o := opts(c)
	if c.Rule != "bp" || c.BatchSize != 128 || c.Seed != 3 || o.Sizes[1] != 20 || o.Optimizer.LR != 3e-4 || o.DecorOnlyEpochs != 0 || !o.Bias {
		t.Errorf("flat layout: %+v %+v", c, o)
	}
}

// TestRuleSwitchKeepsOrResetsOptions: switching within a family keeps the options and
// adapts them (decorrelation on for COPI rules, off for FA); switching to a rule without
// options of that type starts from its defaults.
func TestRuleSwitchKeepsOrResetsOptions(t *testing.T) {
	c, _ := Preset("mnist/copi-bio")
	if err := c.Set("optimizer.lr=0.123"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRule("fa"); err != nil {
		t.Fatal(err)
	}
	if o := opts(c); o.Optimizer.LR != 0.123 || o.Decorrelation.Variant != "none" {
		t.Errorf("copi-bio → fa: %+v", o)
	}
	if err := c.SetRule("copi-fa"); err != nil {
		t.Fatal(err)
	}
	if o := opts(c); o.Decorrelation.Variant != "default" {
		t.Errorf("fa → copi-fa: decorrelation %q", o.Decorrelation.Variant)
	}
	if err := c.SetRule("nope"); err == nil || !strings.Contains(err.Error(), "copi-bp") {
		t.Errorf("unknown rule: %v", err)
	}
}

// TestValidateRefusesNonFiniteOptions: NaN, infinities and out-of-range numbers in any option
// of the credit family are refused by name, before any training.
func TestValidateRefusesNonFiniteOptions(t *testing.T) {
	for _, kv := range []string{"loss_multiplier=.nan", "activation_param=.inf", "decorrelation.kappa=.nan",
		"decorrelation.lr=-1", "optimizer.momentum=.nan", "optimizer.weight_decay=-.inf", "optimizer.lr=.nan",
		"decorrelation.fraction=2", "eval_every=.nan", "batch_size=0"} {
		c, _ := Preset("mnist/copi-bp")
		if err := c.Set(kv); err != nil {
			t.Fatalf("--set %s: %v", kv, err)
		}
		key, _, _ := strings.Cut(kv, "=")
		key = key[strings.LastIndex(key, ".")+1:]
		err := c.Validate()
		if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "-", "_"), key) {
			t.Errorf("%s: %v (want an error naming %s)", kv, err, key)
		}
	}
	c, _ := Preset("mnist/copi-bp")
	opts(c).LossMultiplier = math.Inf(1)
	if err := c.Validate(); err == nil {
		t.Error("an infinite loss multiplier passed validation")
	}
}

// TestPresetFilesAreComplete: every embedded preset names its rule, has a one-line
// description, sets every common key explicitly, and builds a valid configuration.
func TestPresetFilesAreComplete(t *testing.T) {
	if len(Presets()) < 14 {
		t.Fatalf("%d presets", len(Presets()))
	}
	for _, p := range Presets() {
		src, err := PresetSource(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"about:", "rule:", "batch_size:", "epochs:", "seed:", "options:"} {
			if !strings.Contains(string(src), "\n"+k) && !strings.HasPrefix(string(src), k) {
				t.Errorf("%s lacks %s", p, k)
			}
		}
		about, err := PresetAbout(p)
		if err != nil || about == "" || strings.Contains(about, "\n") {
			t.Errorf("%s: about %q, %v", p, about, err)
		}
	}
	if _, err := Preset("../../etc/passwd"); err == nil {
		t.Error("a path outside the presets was read")
	}
}

// TestLoadConfigFileKeepsBase: a config file over a preset changes only its keys, and a
// failed read leaves the base untouched (options are not shared between the two).
func TestLoadConfigFileKeepsBase(t *testing.T) {
	base, _ := Preset("mnist/copi-bp")
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("options: {optimizer: {lr: 0.5}}\nbatch_sise: 3\n"), 0o644)
	if _, err := LoadConfigFile(p, base); err == nil {
		t.Fatal("unknown key accepted")
	}
	if opts(base).Optimizer.LR != 1e-3 {
		t.Errorf("a failed config file changed the base: lr %v", opts(base).Optimizer.LR)
	}
}

// TestImpossibleNetworkIsRefusedBeforeAllocating: a network far larger than any machine's
// memory (a million-unit layer: its decorrelator alone is 4 TB) is refused with the estimate
// and the machine's memory, instead of a crash; a small one passes.
func TestImpossibleNetworkIsRefusedBeforeAllocating(t *testing.T) {
	for _, rule := range []string{"copi-bp", "ff"} {
		c, _ := Preset("mnist/copi-bp")
		if err := c.SetRule(rule); err != nil {
			t.Fatal(err)
		}
		if err := c.Set("sizes=[20, 1000000, 1000000, 3]"); err != nil {
			t.Fatal(err)
		}
		_, err := NewTrainer(newEngine(t, 1), c, toyData(100, 20, 1))
		if err == nil || !strings.Contains(err.Error(), "memory") || !strings.Contains(err.Error(), "GiB available") {
			t.Errorf("%s with a million-unit layer: %v", rule, err)
		}
	}
	c := toyConfig("copi-bp")
	if _, err := NewTrainer(newEngine(t, 1), c, toyData(100, 20, 1)); err != nil {
		t.Errorf("a small network: %v", err)
	}
}

// TestConfigFileErrorsAreOneLineWithoutDoubledPrefixes: an unknown key, a YAML syntax error
// (with its line) and a missing file each read as one line naming the file once.
func TestConfigFileErrorsAreOneLineWithoutDoubledPrefixes(t *testing.T) {
	base, _ := Preset("mnist/copi-bp")
	dir := t.TempDir()
	for body, want := range map[string]string{"epochz: 3\n": `unknown key "epochz"`, "a: [1\n": "line 1"} {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		_, err := LoadConfigFile(p, base)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "configuration:") ||
			strings.Contains(err.Error(), ": yaml:") || strings.Count(err.Error(), "c.yaml") != 1 {
			t.Errorf("%q: %v", body, err)
		}
	}
	if _, err := LoadConfigFile(filepath.Join(dir, "none.yaml"), base); err == nil || !strings.HasPrefix(err.Error(), "cannot read config") || strings.Count(err.Error(), "none.yaml") != 1 {
		t.Errorf("missing file: %v", err)
	}
}

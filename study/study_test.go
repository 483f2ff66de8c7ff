package study

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/copi-learn/copi/rule" // every rule, for the presets
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "study.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanRefusesWhatWouldRunTwiceOrNothing: a seed listed twice would put two runs under
// one key (sharing their results and checkpoint), and a study with no configurations, seeds
// or data would run nothing or silently fall back to defaults: both are errors that say what
// to fix.
func TestPlanRefusesWhatWouldRunTwiceOrNothing(t *testing.T) {
	for body, want := range map[string]string{
		"presets: [mnist/bp-adam]\nseeds: [1, 2, 1]\ndata: [fashion-mnist-sample]\n":                         "seed 1 is listed twice",
		"runs:\n  - {label: x, preset: mnist/ff, seeds: [3, 3]}\nseeds: [1]\ndata: [fashion-mnist-sample]\n": "seed 3 is listed twice",
		"presets: [mnist/bp-adam]\nseeds: []\ndata: [fashion-mnist-sample]\n":                                "nothing to compare",
		"seeds: [1]\ndata: [fashion-mnist-sample]\n":                                                         "nothing to compare",
	} {
		st, err := Read(write(t, body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Plan(nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", body, err, want)
		}
	}
}

// TestPlanKeysNameTheDataLoaded: a run key names the data as they will be loaded, so the
// embedded sample (the fallback of fashion-mnist when it is not installed) is keyed as the
// sample; and the runs of a study share no options (changing one run's options leaves the
// others alone).
func TestPlanKeysNameTheDataLoaded(t *testing.T) {
	st, err := Read(write(t, "presets: [mnist/bp-adam, mnist/ff]\nseeds: [1, 2]\ndata: [sample]\nepochs: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := st.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 4 {
		t.Fatalf("%d runs, want 4", len(plan))
	}
	for _, p := range plan {
		if !strings.Contains(p.Key, "|fashion-mnist-sample|") {
			t.Errorf("key %q does not name the sample", p.Key)
		}
	}
	if err := plan[0].Cfg.Set("optimizer.lr=0.5"); err != nil {
		t.Fatal(err)
	}
	if v := plan[1].Cfg.Options; v == plan[0].Cfg.Options {
		t.Error("two runs share one options value")
	}
}

// TestReadErrorsSpeakTheFilesTerms: an unknown key in a study file is named with its line
// and the valid keys (not the Go type it missed); a missing file says it cannot be read.
func TestReadErrorsSpeakTheFilesTerms(t *testing.T) {
	_, err := Read(write(t, "seeds: [1]\nepochz: 3\n"))
	if err == nil || !strings.Contains(err.Error(), `line 2: unknown key "epochz"`) || !strings.Contains(err.Error(), "valid keys: base") ||
		strings.Contains(err.Error(), "study.Study") {
		t.Errorf("unknown key: %v", err)
	}
	_, err = Read(filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "cannot read study") || strings.Count(err.Error(), "none.yaml") != 1 {
		t.Errorf("missing file: %v", err)
	}
}

package train

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// presetFS holds the built-in configurations, one YAML file per preset: presets/<data>/<name>.yaml
// is the preset "<data>/<name>". Each file is a configuration (common keys and an options
// node) with one more key, "about", a one-line description.
//
//go:embed presets
var presetFS embed.FS

// Presets lists the names of the built-in configurations, sorted.
func Presets() []string {
	var names []string
	_ = fs.WalkDir(presetFS, "presets", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(path, "presets/"), ".yaml"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// PresetSource returns a preset's YAML file as it is embedded.
func PresetSource(name string) ([]byte, error) {
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, unknownPreset(name)
	}
	b, err := presetFS.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, unknownPreset(name)
	}
	return b, nil
}

func unknownPreset(name string) error {
	return fmt.Errorf("unknown preset %q (want one of %s; 'copi presets' lists them)", name, strings.Join(Presets(), ", "))
}

// Preset returns a built-in configuration (see [Presets]).
func Preset(name string) (Config, error) {
	c, _, err := presetWithAbout(name)
	return c, err
}

// PresetAbout returns a preset's one-line description.
func PresetAbout(name string) (string, error) {
	_, about, err := presetWithAbout(name)
	return about, err
}

func presetWithAbout(name string) (Config, string, error) {
	src, err := PresetSource(name)
	if err != nil {
		return Config{}, "", err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		return Config{}, "", fmt.Errorf("preset %s: %s", name, oneLine(err.Error()))
	}
	about := ""
	if m := n.Content[0]; m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "about" {
				about = m.Content[i+1].Value
				m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
				break
			}
		}
	}
	c := Config{Preset: name}
	if err := c.Apply(&n); err != nil {
		return Config{}, "", fmt.Errorf("preset %s: %w", name, err)
	}
	c.Preset = name
	return c, about, nil
}

// Label names a run in tables and logs: its preset when the rule is the preset's own, else
// the rule.
func Label(cfg Config) string {
	if cfg.Preset != "" {
		if p, err := Preset(cfg.Preset); err == nil && p.Rule == cfg.Rule {
			return cfg.Preset
		}
	}
	return cfg.Rule
}

package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/train"
)

// presetLine is one preset in `copi presets --json`.
type presetLine struct {
	Name  string `json:"name"`
	Rule  string `json:"rule"`
	About string `json:"about"`
}

func newPresetsCmd() *cobra.Command {
	var (
		show, format string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "presets [show NAME]",
		Short: "List the built-in configurations and the learning rules",
		Long: `Lists the presets (the published configurations of each rule's paper), one line
each, and the registered learning rules. 'copi presets show NAME' (or --show NAME)
prints a preset in full as YAML (or JSON with --format json): the common keys
(rule, batch_size, epochs, eval_every, seed, ...) and the rule's own options under
"options". Save it, edit it, and pass it to 'copi train --config FILE', or change
single keys with 'copi train --preset NAME --set key=value'.`,
		Example: `  copi presets
  copi presets show mnist/ff
  copi presets show mnist/copi-bp > my.yaml && copi train --config my.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || (len(args) == 2 && args[0] == "show") {
				return nil
			}
			return fmt.Errorf("usage: copi presets, or copi presets show NAME (got %q)", args)
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return completeWords(words([]string{"show"}))(nil, nil, toComplete)
			case 1:
				return completeWords(train.Presets)(nil, nil, toComplete)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if len(args) == 2 {
				show = args[1]
			}
			if show != "" {
				c, err := train.Preset(show)
				if err != nil {
					return err
				}
				switch format {
				case "json":
					b, _ := json.MarshalIndent(c, "", "  ")
					fmt.Fprintln(w, string(b))
				case "yaml":
					y, err := presetYAML(show)
					if err != nil {
						return err
					}
					fmt.Fprint(w, y)
				default:
					return fmt.Errorf("--format %q: want yaml or json", format)
				}
				return nil
			}
			if asJSON {
				enc := json.NewEncoder(w)
				for _, p := range train.Presets() {
					c, err := train.Preset(p)
					if err != nil {
						return err
					}
					about, _ := train.PresetAbout(p)
					if err := enc.Encode(presetLine{Name: p, Rule: c.Rule, About: about}); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "preset\trule\twhat it is")
			for _, p := range train.Presets() {
				c, err := train.Preset(p)
				if err != nil {
					return err
				}
				about, _ := train.PresetAbout(p)
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p, c.Rule, about)
			}
			tw.Flush()
			fmt.Fprintln(w)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "rule\twhat it is")
			for _, name := range learn.Names() {
				r, _ := learn.Lookup(name)
				fmt.Fprintf(tw, "%s\t%s\n", name, r.About)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&show, "show", "", "print this preset in full (same as 'copi presets show NAME')")
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml or json, with show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "list the presets as JSON lines")
	return cmd
}

// presetYAML returns preset name in full as YAML, headed by a comment saying what it is:
// every key, the ones the preset leaves at the rule's defaults included.
func presetYAML(name string) (string, error) {
	c, err := train.Preset(name)
	if err != nil {
		return "", err
	}
	b, err := c.YAML()
	if err != nil {
		return "", err
	}
	about, _ := train.PresetAbout(name)
	return fmt.Sprintf("# %s: %s\n%s", name, about, b), nil
}

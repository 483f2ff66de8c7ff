package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/copi-learn/copi/rule"
	"github.com/copi-learn/copi/train"
)

func newPresetsCmd() *cobra.Command {
	var show, format string
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "List the built-in configurations and the learning rules",
		Long: `Lists the presets (the paper's published configurations) and the learning rules.
With --show P, prints preset P in full as YAML (or JSON with --format json): save it,
edit it and pass it to 'copi train --config FILE'.`,
		Example: `  copi presets
  copi presets --show mnist/copi-bp > my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if show != "" {
				c, err := train.Preset(show)
				if err != nil {
					return err
				}
				if format == "json" {
					b, _ := json.MarshalIndent(c, "", "  ")
					fmt.Fprintln(w, string(b))
					return nil
				}
				b, err := yaml.Marshal(c)
				if err != nil {
					return err
				}
				fmt.Fprint(w, string(b))
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "preset\trule\tnetwork\toptimizer\tlr\tm\tdecorrelation")
			for _, p := range train.Presets() {
				c, _ := train.Preset(p)
				sizes := strings.Trim(strings.ReplaceAll(fmt.Sprint(c.Sizes), " ", "-"), "[]")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g\t%g\t%s\n", p, c.Rule, sizes, c.Optimizer.Name, c.Optimizer.LR, c.LossMultiplier, c.Decorrelation.Variant)
			}
			tw.Flush()
			fmt.Fprintln(w)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "rule\twhat it is")
			for _, r := range rule.Names() {
				fmt.Fprintf(tw, "%s\t%s\n", r, rule.About(r))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&show, "show", "", "print this preset in full")
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml or json, with --show")
	return cmd
}

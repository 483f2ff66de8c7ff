package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/train"
)

// evalResult is what `copi eval --json` prints.
type evalResult struct {
	Checkpoint string             `json:"checkpoint"`
	Rule       string             `json:"rule"`
	Dataset    string             `json:"dataset"`
	Examples   int                `json:"examples"`
	Loss       float64            `json:"loss"`
	Accuracy   float64            `json:"accuracy"`
	Scalars    map[string]float64 `json:"scalars,omitempty"`
}

func newEvalCmd() *cobra.Command {
	var (
		dataSpec string
		threads  int
		asJSON   bool
		sets     []string
	)
	cmd := &cobra.Command{
		Use:   "eval CHECKPOINT",
		Short: "Evaluate a saved model on a dataset's test split",
		Long: `Loads the model of any rule from a checkpoint written by 'copi train', 'copi compare'
or 'copi compress' and prints its loss and accuracy on the test split of --data, with
whatever else the rule measures (forward-forward: the accuracy of both prediction
modes). --set changes a test-time option of the rule before evaluating (for
forward-forward, --set predict=softmax makes the softmax mode the headline accuracy).`,
		Example: `  copi eval run.ckpt --data fashion-mnist
  copi eval ff.ckpt --data mnist --set predict=softmax --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			path := args[0]
			o, err := train.Open(eng, path, sets...)
			if err != nil {
				return err
			}
			cfg := o.Config
			d, err := loadData(cmd.Context(), dataSpec, 0, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ev, err := o.Evaluate(d.Name, d.TestX, d.TestY, d.Classes)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			res := evalResult{Checkpoint: path, Rule: cfg.Rule, Dataset: d.Name, Examples: d.TestX.Rows,
				Loss: ev.Loss, Accuracy: ev.Acc, Scalars: ev.Scalars}
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(res)
			}
			var extra []string
			keys := make([]string, 0, len(ev.Scalars))
			for k := range ev.Scalars {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.Contains(k, "acc") {
					extra = append(extra, fmt.Sprintf("%s %.2f%%", strings.ReplaceAll(k, "_", " "), 100*ev.Scalars[k]))
				} else {
					extra = append(extra, fmt.Sprintf("%s %.4f", strings.ReplaceAll(k, "_", " "), ev.Scalars[k]))
				}
			}
			tail := ""
			if len(extra) > 0 {
				tail = " (" + strings.Join(extra, ", ") + ")"
			}
			fmt.Fprintf(w, "%s (%s) on %s test (%d examples): loss %.4f, accuracy %.2f%%%s\n",
				path, cfg.Rule, d.Name, d.TestX.Rows, ev.Loss, 100*ev.Acc, tail)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "change a test-time option before evaluating, key=value (e.g. predict=softmax)")
	return cmd
}

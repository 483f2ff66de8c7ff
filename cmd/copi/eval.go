package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/train"
)

func newEvalCmd() *cobra.Command {
	var (
		dataSpec string
		threads  int
	)
	cmd := &cobra.Command{
		Use:   "eval CHECKPOINT",
		Short: "Evaluate a saved model on a dataset's test split",
		Long: `Loads the network from a checkpoint written by 'copi train' (or 'copi compress') and
prints its loss and accuracy on the test split of --data.`,
		Example: `  copi eval run.ckpt --data fashion-mnist`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ck, err := checkpoint.Read(args[0])
			if err != nil {
				return err
			}
			cfg, err := train.ReadConfig(ck)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			d, err := loadData(cmd.Context(), dataSpec, 0, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			t, err := train.NewTrainer(eng, cfg, d)
			if err != nil {
				return err
			}
			if err := train.LoadNetwork(ck, t.Net); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			loss, acc := t.Evaluate(d.TestX, d.TestY)
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s test (%d examples): loss %.4f, accuracy %.2f%%\n",
				args[0], d.Name, d.TestX.Rows, loss, 100*acc)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads")
	return cmd
}

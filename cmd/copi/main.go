// Command copi trains neural networks with constrained parameter inference (COPI) and other
// local, backprop-free learning rules, side by side, on real data.
//
// Run `copi --help` for the subcommands and `copi help <command>` for each one's flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "copi: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "copi:", err)
		os.Exit(1)
	}
}

// newRootCmd builds the command tree. Every subcommand lives in a file of its own.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "copi",
		Short: "Train networks with COPI and other local learning rules, side by side",
		Long: `copi trains multilayer networks with constrained parameter inference (COPI;
Ahmad, Schrader & van Gerven, TMLR 2023) and with baseline rules (backprop with SGD
or Adam, decorrelated backprop, feedback alignment, ...), on MNIST, Fashion-MNIST,
CIFAR-10 or your own arrays, and compares them with the same metrics.

Every layer of a COPI network has a learned decorrelating matrix R in front of it;
each weight relaxes toward the value it can infer from its own pre- and
post-synaptic activity, nudged by a top-down perturbation.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTrainCmd(), newEvalCmd(), newCompareCmd(), newPresetsCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newDataCmd())
	root.AddCommand(newAnalyzeCmd(), newCompressCmd())
	root.AddCommand(newReportCmd())
	return root
}

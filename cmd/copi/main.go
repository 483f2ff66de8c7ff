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

	"github.com/copi-learn/copi/train"
)

// Exit codes, documented in `copi --help` and the README.
const (
	exitFailure     = 1   // something failed while running: a file could not be written, …
	exitInvalid     = 2   // usage or invalid input: flags, options, configuration, data, checkpoints
	exitDiverged    = 3   // training diverged (non-finite values); the last good checkpoint is kept
	exitInterrupted = 130 // interrupted (Ctrl-C or SIGTERM); a checkpoint of the position is written
)

// failure marks an error as a failure of the run (exit 1) rather than of its input (exit 2).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

// exitCode maps an error to the process's exit status.
func exitCode(err error) int {
	var div *train.DivergenceError
	var werr *train.WriteError
	var f failure
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &div):
		return exitDiverged
	case errors.As(err, &werr), errors.As(err, &f):
		return exitFailure
	}
	return exitInvalid
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		code := exitCode(err)
		if code == exitInterrupted {
			fmt.Fprintln(os.Stderr, "copi: interrupted")
		} else {
			fmt.Fprintln(os.Stderr, "copi:", err)
		}
		os.Exit(code)
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
post-synaptic activity, nudged by a top-down perturbation. Forward-forward (Hinton
2022) trains each layer on its own goodness of positive and negative data.

Exit codes: 0 success; 1 a failure while running (a file could not be written);
2 usage or invalid input (flags, options, configuration, data, checkpoints);
3 training diverged (the last good checkpoint is kept); 130 interrupted (Ctrl-C or
SIGTERM; with --checkpoint the position is saved and --resume continues it).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.AddCommand(newTrainCmd(), newEvalCmd(), newCompareCmd(), newPresetsCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newDataCmd())
	root.AddCommand(newAnalyzeCmd(), newCompressCmd())
	root.AddCommand(newReportCmd())
	polishUsage(root)
	registerCompletions(root)
	return root
}

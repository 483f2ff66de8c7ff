package main

import "github.com/spf13/cobra"

// newBenchCmd groups the benchmarks: GEMM throughput and training-step time.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the speed of the matrix engine and of training steps",
	}
	cmd.AddCommand(newBenchGemmCmd(), newBenchTrainCmd())
	return cmd
}

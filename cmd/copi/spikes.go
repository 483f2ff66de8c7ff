package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/internal/atomicfile"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/train"
)

// spikingLearner is what 'copi analyze spikes' asks of a learner: figures of its
// reconstructions and of its spike raster (the csdp rule).
type spikingLearner interface {
	RenderReconstructions(w io.Writer, x mat32.Matrix, n int) error
	RenderRaster(w io.Writer, x mat32.Matrix, units int) error
}

func newAnalyzeSpikesCmd() *cobra.Command {
	var (
		dataSpec, dir string
		images, units int
	)
	cmd := &cobra.Command{
		Use:   "spikes CHECKPOINT",
		Short: "Draw a spiking circuit's reconstructions and spike raster (csdp)",
		Long: `For a spiking circuit (the csdp rule), draws two PNG figures into --dir:
reconstructions.png, the first --images test images over the circuit's reconstructions
of them (labels withheld), and raster.png, the spikes of the first test image over the
simulation window (the first --units units of each hidden layer, then the output
layer; time runs across).`,
		Example: `  copi analyze spikes csdp.ckpt --data mnist --dir figures`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if images < 1 || images > 100 || units < 1 || units > 10000 {
				return fmt.Errorf("--images %d and --units %d: want 1 to 100 images and 1 to 10000 units", images, units)
			}
			eng, err := newEngine(0)
			if err != nil {
				return err
			}
			defer eng.Close()
			o, err := train.Open(eng, args[0])
			if err != nil {
				return err
			}
			sl, ok := o.Learner.(spikingLearner)
			if !ok {
				return fmt.Errorf("%s: rule %s is not a spiking circuit: 'copi analyze spikes' draws csdp checkpoints", args[0], o.Config.Rule)
			}
			d, err := loadData(cmd.Context(), dataSpec, 0, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if d.TestX.Cols != o.Shape.Inputs || d.TestX.Rows == 0 {
				return fmt.Errorf("data %s have %d inputs, the circuit %d: pass --data with the data it was trained on", d.Name, d.TestX.Cols, o.Shape.Inputs)
			}
			n := min(images, d.TestX.Rows)
			x, err := o.Config.NormalizeInputs(d.TestX.Slice(0, n, 0, d.TestX.Cols))
			if err != nil {
				return err
			}
			for _, f := range []struct {
				name   string
				render func(io.Writer) error
			}{
				{"reconstructions.png", func(w io.Writer) error { return sl.RenderReconstructions(w, x, n) }},
				{"raster.png", func(w io.Writer) error { return sl.RenderRaster(w, x.Slice(0, 1, 0, x.Cols), units) }},
			} {
				path := filepath.Join(dir, f.name)
				if err := checkWritable(path); err != nil {
					return err
				}
				if err := atomicfile.WriteFile(path, 0o644, f.render); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataSpec, "data", "mnist", "dataset name or path (the test images are drawn)")
	cmd.Flags().StringVar(&dir, "dir", ".", "directory for reconstructions.png and raster.png")
	cmd.Flags().IntVar(&images, "images", 10, "test images to reconstruct")
	cmd.Flags().IntVar(&units, "units", 150, "units per hidden layer in the raster")
	return cmd
}

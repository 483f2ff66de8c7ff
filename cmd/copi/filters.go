package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/analysis"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/train"
)

// filterLearner is what 'copi analyze filters' asks of a learner: its first layer's
// convolution filters, one per row (channels first), with their channels and size.
type filterLearner interface {
	FirstLayerFilters() (w mat32.Matrix, channels, k int, ok bool)
}

func newAnalyzeFiltersCmd() *cobra.Command {
	var (
		out, paletteName string
		columns, scale   int
	)
	cmd := &cobra.Command{
		Use:   "filters CHECKPOINT",
		Short: "Draw a convolutional network's first-layer filters as images",
		Long: `Draws the first-layer filters of a convolutional network (a credit-family rule with
the option network set, e.g. the lenet presets) as a PNG grid (-o): one K×K tile per
filter, in RGB for three input channels, each tile normalised symmetrically around 0
(grey palette: black negative, grey zero, white positive). No data are needed: the
filters are the weights themselves.`,
		Example: `  copi analyze filters lenet.ckpt -o filters.png
  copi analyze filters cnn.ckpt -o filters.png --scale 16 --columns 8 --palette diverging`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			palette, err := analysis.ParsePalette(paletteName)
			if err != nil {
				return err
			}
			if columns < 1 || columns > 1024 || scale < 1 || scale > 64 {
				return fmt.Errorf("--columns %d and --scale %d: want 1 to 1024 columns and a scale of 1 to 64", columns, scale)
			}
			if err := checkWritable(out); err != nil {
				return err
			}
			eng, err := newEngine(1)
			if err != nil {
				return err
			}
			defer eng.Close()
			o, err := train.Open(eng, args[0])
			if err != nil {
				return err
			}
			fl, ok := o.Learner.(filterLearner)
			var w mat32.Matrix
			var ch, k int
			if ok {
				w, ch, k, ok = fl.FirstLayerFilters()
			}
			if !ok {
				return fmt.Errorf("%s: rule %s has no convolutional first layer to draw: train a network with the option network (e.g. --preset fashion-mnist/lenet-bp); for an MLP use 'copi analyze rf'", args[0], o.Config.Rule)
			}
			if ch != 1 && ch != 3 {
				return fmt.Errorf("%s: the first layer's filters have %d input channels; only 1 (grey) or 3 (RGB) can be drawn", args[0], ch)
			}
			tiles := make([][]float32, w.Rows)
			for i := range tiles {
				tiles[i] = w.Row(i)
			}
			img, err := analysis.RenderGrid(tiles, analysis.ImageShape{Channels: ch, Height: k, Width: k},
				analysis.GridOptions{Columns: columns, Scale: scale, Palette: palette, Normalization: analysis.Symmetric})
			if err != nil {
				return err
			}
			if err := analysis.WritePNG(out, img); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d filters of %d×%d×%d (%s) drawn to %s\n", w.Rows, ch, k, k, o.Config.Rule, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "filters.png", "PNG file to write")
	cmd.Flags().IntVar(&columns, "columns", 8, "tiles per row")
	cmd.Flags().IntVar(&scale, "scale", 12, "pixels per filter weight")
	cmd.Flags().StringVar(&paletteName, "palette", "grey", "grey or diverging")
	return cmd
}

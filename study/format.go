package study

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/copi-learn/copi/report"
)

// Formats are the forms of the study table: [PrintTable]'s text table, one JSON object per
// configuration group ([WriteJSON]), or a GitHub markdown table ([WriteMarkdown]).
var Formats = []string{"table", "json", "markdown"}

// WriteTable writes the summary of groups in format, one of [Formats].
func WriteTable(w io.Writer, groups []*report.Group, format string) error {
	switch format {
	case "table", "":
		PrintTable(w, groups)
		return nil
	case "json":
		return WriteJSON(w, groups)
	case "markdown", "md":
		return WriteMarkdown(w, groups)
	}
	return fmt.Errorf("--format %q: want %s", format, strings.Join(Formats, ", "))
}

// StatJSON is a mean and sample standard deviation over seeds; Mean is null when no
// seed has a value, SD when fewer than two have (a single seed has no spread).
type StatJSON struct {
	Mean *float64 `json:"mean"`
	SD   *float64 `json:"sd"`
	N    int      `json:"n"`
}

func statJSON(s report.Stat) StatJSON {
	out := StatJSON{N: s.N}
	if s.N > 0 && !math.IsNaN(s.Mean) {
		m := s.Mean
		out.Mean = &m
	}
	if s.N > 1 && !math.IsNaN(s.SD) {
		sd := s.SD
		out.SD = &sd
	}
	return out
}

// AnglesJSON is the angle in degrees between each layer's update and the backprop
// gradient (mean over seeds), at the first and at the last evaluation.
type AnglesJSON struct {
	First []float64 `json:"first"`
	Last  []float64 `json:"last"`
}

// GroupJSON is one line of `copi compare --format json`: one configuration on one dataset,
// over its complete seeds. Accuracies are in percent.
type GroupJSON struct {
	Label      string `json:"label"`
	Data       string `json:"data"`
	ConfigHash string `json:"config_hash"`
	// Seeds counts the complete runs the statistics are over; Diverged and Incomplete
	// the runs left out.
	Seeds      int `json:"seeds"`
	Diverged   int `json:"diverged"`
	Incomplete int `json:"incomplete"`
	// FinalAcc and PeakAcc are the test accuracy at the end of the last epoch and the best
	// epoch end; PeakEpoch the epoch of the peak; SecPerEpoch training seconds per epoch.
	FinalAcc    StatJSON `json:"final_test_acc_pct"`
	PeakAcc     StatJSON `json:"peak_test_acc_pct"`
	PeakEpoch   StatJSON `json:"peak_epoch"`
	SecPerEpoch StatJSON `json:"seconds_per_epoch"`
	// AtBestVal is the test accuracy at the epoch of the best validation loss and
	// BestValEpoch that epoch, present for runs with a validation split.
	AtBestVal    *StatJSON `json:"test_acc_pct_at_best_val,omitempty"`
	BestValEpoch *StatJSON `json:"best_val_epoch,omitempty"`
	// PerEpoch is the mean test accuracy at the end of each epoch (null where no run
	// reached it).
	PerEpoch []*float64 `json:"test_acc_pct_per_epoch"`
	// UpdateAngles is present when the runs logged update_angle_deg (the COPI and
	// feedback-alignment family).
	UpdateAngles *AnglesJSON `json:"update_angle_deg,omitempty"`
}

// Summary returns the JSON form of one group.
func Summary(g *report.Group) GroupJSON {
	s := report.Summarise(g)
	out := GroupJSON{Label: g.Label, Data: g.Dataset, ConfigHash: g.ConfigHash,
		Seeds: len(g.Runs), Diverged: len(g.Diverged), Incomplete: len(g.Incomplete),
		FinalAcc: statJSON(s.Final), PeakAcc: statJSON(s.Peak), PeakEpoch: statJSON(s.PeakEpoch),
		SecPerEpoch: statJSON(s.SecPerEpoch)}
	if s.AtBestVal.N > 0 {
		a, e := statJSON(s.AtBestVal), statJSON(s.BestValEpoch)
		out.AtBestVal, out.BestValEpoch = &a, &e
	}
	for _, e := range s.PerEpoch {
		out.PerEpoch = append(out.PerEpoch, statJSON(e).Mean)
	}
	first := report.LayerStats(g, "update_angle_deg", true)
	last := report.LayerStats(g, "update_angle_deg", false)
	if len(first) > 0 && len(first) == len(last) {
		a := &AnglesJSON{}
		for i := range first {
			a.First = append(a.First, first[i].Mean)
			a.Last = append(a.Last, last[i].Mean)
		}
		if finite(a.First) && finite(a.Last) {
			out.UpdateAngles = a
		}
	}
	return out
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// WriteJSON writes one JSON object per group, one a line.
func WriteJSON(w io.Writer, groups []*report.Group) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, g := range groups {
		if err := enc.Encode(Summary(g)); err != nil {
			return err
		}
	}
	return nil
}

// WriteMarkdown writes the summary table as a GitHub markdown table, the form of the
// README's tables, then the runs left out of it (diverged, not finished) as a sentence each.
func WriteMarkdown(w io.Writer, groups []*report.Group) error {
	angles := make([]string, len(groups))
	anyAngle := false
	for i, g := range groups {
		angles[i] = updateAngles(g)
		anyAngle = anyAngle || angles[i] != ""
	}
	anyVal := false
	for _, g := range groups {
		anyVal = anyVal || report.Summarise(g).AtBestVal.N > 0
	}
	var b strings.Builder
	head := []string{"run", "data", "seeds", "final test acc. %", "peak test acc. %", "epoch of peak", "s/epoch"}
	if anyVal {
		head = append(head, "test acc. % at best val.", "epoch of best val.")
	}
	if anyAngle {
		head = append(head, "update∠gradient ° per layer, first → last evaluation")
	}
	row := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	row(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for i, g := range groups {
		s := report.Summarise(g)
		seeds := fmt.Sprint(len(g.Runs))
		if len(g.Diverged) > 0 {
			seeds += fmt.Sprintf(" (+%d diverged)", len(g.Diverged))
		}
		peakEpoch := "–"
		if s.PeakEpoch.N > 0 {
			peakEpoch = fmt.Sprintf("%.1f", s.PeakEpoch.Mean)
		}
		cells := []string{"`" + mdEscape(g.Label) + "`", mdEscape(g.Dataset), seeds, s.Final.Format(2), s.Peak.Format(2),
			peakEpoch, secPerEpoch(s.SecPerEpoch)}
		if anyVal {
			cells = append(cells, s.AtBestVal.Format(2), bestValEpoch(s))
		}
		if anyAngle {
			a := angles[i]
			if a == "" {
				a = "–"
			}
			cells = append(cells, a)
		}
		row(cells)
	}
	var diverged, pending []string
	for _, g := range groups {
		for _, r := range g.Diverged {
			diverged = append(diverged, fmt.Sprintf("`%s@%d` on %s at %s", mdEscape(r.Label), r.Seed, mdEscape(r.Dataset), r.Diverged))
		}
		for _, r := range g.Incomplete {
			l := r.Last()
			pending = append(pending, fmt.Sprintf("`%s@%d` on %s (at epoch %d of %d)", mdEscape(r.Label), r.Seed, mdEscape(r.Dataset), l.Epoch, r.PlannedEpochs()))
		}
	}
	if len(diverged) > 0 {
		fmt.Fprintf(&b, "\nDiverged (non-finite values; left out of the table): %s.\n", strings.Join(diverged, ", "))
	}
	if len(pending) > 0 {
		fmt.Fprintf(&b, "\nNot finished (left out of the table): %s.\n", strings.Join(pending, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// secPerEpoch formats seconds per epoch as the text table does: one decimal, three below 1 s.
func secPerEpoch(s report.Stat) string {
	switch {
	case s.N == 0 || math.IsNaN(s.Mean):
		return "–"
	case s.Mean < 1:
		return fmt.Sprintf("%.3f", s.Mean)
	}
	return fmt.Sprintf("%.1f", s.Mean)
}

// mdEscape keeps a cell's text from ending the cell or the table row.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

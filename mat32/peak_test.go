package mat32

import (
	"testing"
	"time"
)

func TestMeasurePeak(t *testing.T) {
	if len(peakLoops()) == 0 {
		if _, _, err := MeasurePeakGFLOPS(1, time.Millisecond); err == nil {
			t.Error("no FMA loops, yet no error")
		}
		return
	}
	g1, name, err := MeasurePeakGFLOPS(1, 20*time.Millisecond)
	if err != nil || g1 <= 0 || name == "" {
		t.Fatalf("peak = %v, %q, %v", g1, name, err)
	}
	t.Logf("single-core peak %.1f GFLOP/s (%s)", g1, name)
}

package report

import (
	"bytes"
	"testing"
)

// FuzzRead: any bytes read as a metrics file give a set or an error, never a panic, and
// whatever was read can be grouped, summarised and tabulated per epoch without a panic and
// without a table longer than the epochs it holds (a corrupt line with epoch 2e9 must not
// make the table allocate two billion rows).
func FuzzRead(f *testing.F) {
	f.Add(synthetic(f))
	f.Add([]byte(`{"run":"a@1","epoch":0,"epoch_fraction":1,"test_acc":0.5,"update_angle_deg":[1,null,3]}`))
	f.Add([]byte(`{"run":"a@1","key":"k","diverged":{"epoch":1,"step":2,"where":"layer 1 W"}}` + "\n" + `{"run":"a@1","key":"k","epoch":0}`))
	f.Add([]byte("{\"epoch\":-5,\"epoch_fraction\":1}\n\n{}"))
	f.Add([]byte(`{"epoch":2000000000,"epoch_fraction":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Set{}
		if err := s.Read(bytes.NewReader(b), "fuzz"); err != nil {
			return
		}
		for _, g := range s.Groups(nil) {
			if n := len(Summarise(g).PerEpoch); n > MaxEpoch+1 {
				t.Fatalf("%d rows in the per-epoch table", n)
			}
			LayerStats(g, "update_angle_deg", true)
			finalLayerMean(g, "update_angle_deg")
		}
	})
}

package optim

import "testing"

// TestLRAt checks the step schedule at and around its milestones, and that optimisers take
// the new rate.
func TestLRAt(t *testing.T) {
	c := Config{Name: "sgd", LR: 0.1, Milestones: []int{50, 75}}
	for _, tc := range []struct {
		epoch int
		want  float64
	}{{0, 0.1}, {49, 0.1}, {50, 0.01}, {74, 0.01}, {75, 0.001}, {99, 0.001}} {
		if got := c.LRAt(tc.epoch); got < tc.want*(1-1e-12) || got > tc.want*(1+1e-12) {
			t.Errorf("epoch %d: lr %v, want %v", tc.epoch, got, tc.want)
		}
	}
	c.Gamma = 0.5
	if got := c.LRAt(80); got != 0.025 {
		t.Errorf("gamma 0.5, epoch 80: %v", got)
	}
	if (Config{LR: 0.3}).LRAt(1000) != 0.3 || (Config{}).Scheduled() {
		t.Error("no milestones must leave the rate alone")
	}
	for _, bad := range []Config{{Milestones: []int{0}}, {Milestones: []int{50, 50}}, {Milestones: []int{75, 50}}, {Milestones: []int{5}, Gamma: -1}} {
		if _, err := New(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	for _, name := range []string{"sgd", "adam"} {
		o, err := New(Config{Name: name, LR: 1})
		if err != nil {
			t.Fatal(err)
		}
		o.(LRSetter).SetLR(0.25)
		switch v := o.(type) {
		case *SGD:
			if v.LR != 0.25 {
				t.Errorf("sgd lr %v", v.LR)
			}
		case *Adam:
			if v.LR != 0.25 {
				t.Errorf("adam lr %v", v.LR)
			}
		}
	}
}

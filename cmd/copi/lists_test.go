package main

import (
	"slices"
	"strings"
	"testing"
)

// Every list flag is parsed by the same strict parser: a number in another notation
// ("5e2", "1.5", "0x10"), an empty item or an empty list is an error naming the flag and
// the item, exit code 2, before any data are loaded or anything is trained.
func TestEveryListFlagIsStrict(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"train", "--sizes", "784,5e2,10"}, []string{"--sizes", `"5e2"`, "not a whole number"}},
		{[]string{"train", "--sizes", "784,,10"}, []string{"--sizes", "item 2 is empty"}},
		{[]string{"compare", "--sizes", "784,1.5,10"}, []string{"--sizes", `"1.5"`, "not a whole number"}},
		{[]string{"compare", "--sizes", "784,10,"}, []string{"--sizes", "item 3 is empty"}},
		{[]string{"compare", "--seeds", "1,5e2"}, []string{"--seeds", `"5e2"`, "not a seed"}},
		{[]string{"compare", "--seeds", "1,-2"}, []string{"--seeds", `"-2"`}},
		{[]string{"compare", "--seeds", "1,,2"}, []string{"--seeds", "item 2 is empty"}},
		{[]string{"compare", "--seeds", " "}, []string{"--seeds", "empty list"}},
		{[]string{"compare", "--presets", "mnist/bp-adam,,mnist/copi-bp"}, []string{"--presets", "item 2 is empty"}},
		{[]string{"compare", "--rules", "bp,"}, []string{"--rules", "item 2 is empty"}},
		{[]string{"compare", "--data", ",mnist"}, []string{"--data", "item 1 is empty"}},
		{[]string{"bench", "gemm", "--shapes", "8x9x1e1"}, []string{"--shapes", `"1e1"`}},
		{[]string{"bench", "gemm", "--shapes", "8x9x10,,4x4x4"}, []string{"--shapes", "item 2 is empty"}},
		{[]string{"bench", "gemm", "--shapes", "xy:8x9x10"}, []string{"--shapes", "transposes"}},
		{[]string{"bench", "gemm", "--shapes", "8x9"}, []string{"--shapes", "MxKxN"}},
		{[]string{"analyze", "rf", "none.ckpt", "--units", "0-2,5e2"}, []string{"--units", `"5e2"`}},
		{[]string{"analyze", "rf", "none.ckpt", "--units", "0-2,"}, []string{"--units", "item 2 is empty"}},
	}
	for _, c := range cases {
		_, _, err := run(t, c.args...)
		if err == nil {
			t.Errorf("%q: accepted", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %v, want it to mention %s", c.args, err, w)
			}
		}
		if exitCode(err) != exitInvalid || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: exit %d, error %q: want exit 2 and one line", c.args, exitCode(err), err)
		}
	}
}

func TestListParsers(t *testing.T) {
	if v, err := parseIntList("sizes", " 784, 500 ,10 "); err != nil || !slices.Equal(v, []int{784, 500, 10}) {
		t.Errorf("sizes: %v %v", v, err)
	}
	if v, err := parseSeeds("seeds", "1,18446744073709551615"); err != nil || !slices.Equal(v, []uint64{1, 1<<64 - 1}) {
		t.Errorf("seeds: %v %v", v, err)
	}
	for _, bad := range []string{"", ",", "1,", "0x10", "1_000", "2.0", "+", "5e2"} {
		if v, err := parseIntList("sizes", bad); err == nil {
			t.Errorf("sizes %q: accepted as %v", bad, v)
		}
	}
	if s, err := parseGemmShapes("NT:50x784x500, 8x9x10"); err != nil || len(s) != 2 || !bool(s[0].tB) || bool(s[0].tA) || s[1].n != 10 {
		t.Errorf("shapes: %+v %v", s, err)
	}
	for _, bad := range []string{"", "0x1x1", "1x1x1x1", "nn:", "1x1x1.5"} {
		if s, err := parseGemmShapes(bad); err == nil {
			t.Errorf("shapes %q: accepted as %+v", bad, s)
		}
	}
	if l, err := parseLayers("1, 3", 3); err != nil || !slices.Equal(l, []int{1, 3}) {
		t.Errorf("layers: %v %v", l, err)
	}
	for _, bad := range []string{"", "0", "4", "1,1", "1,", "1.0", "2e0"} {
		if l, err := parseLayers(bad, 3); err == nil {
			t.Errorf("layers %q: accepted as %v", bad, l)
		}
	}
	if n, u, err := parseUnits("0-2, 7"); err != nil || n != 0 || !slices.Equal(u, []int{0, 1, 2, 7}) {
		t.Errorf("units 0-2,7: %d %v %v", n, u, err)
	}
	for _, bad := range []string{"0", "-3", "3-1", "a", "", "1,,2", "0-", "1e1", "1.5"} {
		if _, u, err := parseUnits(bad); err == nil {
			t.Errorf("units %q: accepted as %v", bad, u)
		}
	}
}

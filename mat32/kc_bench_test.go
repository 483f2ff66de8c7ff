package mat32

import (
	"fmt"
	"testing"
)

// BenchmarkBlocking compares kc (and mc) choices for the avx512 kernel on one thread.
func BenchmarkBlocking(b *testing.B) {
	e, err := NewEngine(Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	orig := e.kern
	defer func() { e.kern = orig }()
	for _, s := range benchShapes {
		for _, kc := range []int{384, 512} {
			for _, mc := range []int{120, 240, 480} {
				for _, packB := range []bool{false, true} {
					b.Run(fmt.Sprintf("%s/kc=%d/mc=%d/packB=%v", s.name, kc, mc, packB), func(b *testing.B) {
						kn := *orig
						kn.kc, kn.mc = kc, mc
						e.kern = &kn
						e.tweak = func(j *gemmJob) { j.packB = j.packB || packB }
						defer func() { e.tweak = nil }()
						x, y, c := benchOperands(s)
						cpuRate(b, 2*float64(s.m)*float64(s.n)*float64(s.k), func() { e.Gemm(s.tA, s.tB, 1, x, y, s.beta, c) })
					})
				}
			}
		}
	}
}

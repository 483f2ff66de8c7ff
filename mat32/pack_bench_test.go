package mat32

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPack measures packing throughput (values per second) for the four layouts.
func BenchmarkPack(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const kc = 256
	src := randView(rng, 512, 512, 0)
	dst := make([]float32, 512*kc+64)
	for _, c := range []struct {
		name string
		run  func()
	}{
		{"A_NoTrans_12", func() { packA(dst, src, NoTrans, 0, 480, 0, kc, 12, nil, nil) }},
		{"A_NoTrans_12_asm", func() { packA(dst, src, NoTrans, 0, 480, 0, kc, 12, nil, archKernels[0].transposeMR) }},
		{"A_Trans_12", func() { packA(dst, src, Trans, 0, 480, 0, kc, 12, nil, nil) }},
		{"B_NoTrans_32", func() { packB(dst, src, NoTrans, 0, kc, 0, 480, 32, nil) }},
		{"B_Trans_32", func() { packB(dst, src, Trans, 0, kc, 0, 480, 32, nil) }},
		{"B_Trans_32_asm", func() { packB(dst, src, Trans, 0, kc, 0, 480, 32, fastTransposer()) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.run()
			}
			b.ReportMetric(float64(480*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
		})
	}
}

package mat32

import "testing"

// BenchmarkMicroKernel measures the bare micro-kernel on packed, cache-resident panels.
func BenchmarkMicroKernel(b *testing.B) {
	for _, kn := range append(append([]*kernel{}, archKernels...), genericKernel) {
		b.Run(kn.name, func(b *testing.B) {
			const kc = 256
			a := make([]float32, kc*kn.mr)
			bb := make([]float32, kc*kn.nr)
			c := make([]float32, kn.mr*kn.nr)
			for i := range a {
				a[i] = 1
			}
			cpuRate(b, 2*float64(kc*kn.mr*kn.nr), func() { kn.fn(kn.mr, kc, &a[0], kn.mr*4, &bb[0], kn.nr*4, &c[0], kn.nr, 1, 1) })
		})
	}
}

package mat32

import "golang.org/x/sys/cpu"

// archKernels are the assembly micro-kernels this CPU supports, best first. It is computed
// once from the CPU's features and never changes afterwards.
var archKernels = detectKernels()

func detectKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &kernel{name: "avx512", mr: 12, nr: 32, kc: 512, mc: 480, nc: 4096, fn: gemmKernelAVX512, half: gemmKernelAVX512Half, transpose: transposeAVX512, transposeMR: transposeRowsAVX512,
			adam: adamStepAVX512, scaleRow: scaleRowAVX512, lanes: 16})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{name: "avx2", mr: 6, nr: 16, kc: 384, mc: 240, nc: 4096, fn: gemmKernelAVX2,
			adam: adamStepAVX2, scaleRow: scaleRowAVX2, lanes: 8})
	}
	return ks
}

// peakLoops are the FMA-throughput loops for measuring the peak, with the FLOPs of one
// iteration (12 FMAs of 16 or 8 lanes, 2 FLOPs per lane).
func peakLoops() []peakLoop {
	var ls []peakLoop
	if cpu.X86.HasAVX512F {
		ls = append(ls, peakLoop{name: "avx512", flopsPerIter: 12 * 16 * 2, run: fmaPeakAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ls = append(ls, peakLoop{name: "avx2", flopsPerIter: 12 * 8 * 2, run: fmaPeakAVX2})
	}
	return ls
}

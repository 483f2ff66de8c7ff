//go:build !amd64

package mat32

// archKernels is empty off amd64: every Engine uses the portable Go kernel.
var archKernels []*kernel

// peakLoops is empty off amd64: the peak is not measured there.
func peakLoops() []peakLoop { return nil }

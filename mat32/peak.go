package mat32

// peakLoop is an FMA-throughput loop: run(n) executes n iterations of flopsPerIter FLOPs.
type peakLoop struct {
	name         string
	flopsPerIter int
	run          func(n int)
}

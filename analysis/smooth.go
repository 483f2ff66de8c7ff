package analysis

import (
	"math/rand/v2"
)

// SpatialAutocorrelation returns the lag-1 spatial autocorrelation (Moran's I with the four
// nearest neighbours) of an h×w image given row-major: the mean product of the deviations
// from the image mean over horizontally and vertically adjacent pixel pairs, divided by the
// variance. Smooth, localised patterns (strokes, blobs) score near 1, white noise near 0.
//
// mask, if not nil, restricts the statistic to the pixels where it is true (pairs count
// only when both pixels are in the mask), e.g. to the pixels whose input ever varies, so
// that a constant border does not count as structure. It returns 0 for a constant image.
func SpatialAutocorrelation(img []float32, h, w int, mask []bool) float64 {
	in := func(i int) bool { return mask == nil || mask[i] }
	var mean float64
	n := 0
	for i, v := range img[:h*w] {
		if in(i) {
			mean += float64(v)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	mean /= float64(n)
	var variance float64
	for i, v := range img[:h*w] {
		if in(i) {
			d := float64(v) - mean
			variance += d * d
		}
	}
	variance /= float64(n)
	if variance == 0 {
		return 0
	}
	var cross float64
	pairs := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if !in(i) {
				continue
			}
			d := float64(img[i]) - mean
			if x+1 < w && in(i+1) {
				cross += d * (float64(img[i+1]) - mean)
				pairs++
			}
			if y+1 < h && in(i+w) {
				cross += d * (float64(img[i+w]) - mean)
				pairs++
			}
		}
	}
	if pairs == 0 {
		return 0
	}
	return cross / float64(pairs) / variance
}

// ShuffledAutocorrelation returns the mean [SpatialAutocorrelation] of img with its pixels
// (those in mask, if given) randomly permuted, over the given number of shuffles: the
// baseline a structured image must beat.
func ShuffledAutocorrelation(img []float32, h, w int, mask []bool, shuffles int, rng *rand.Rand) float64 {
	var idx []int
	for i := 0; i < h*w; i++ {
		if mask == nil || mask[i] {
			idx = append(idx, i)
		}
	}
	tmp := append([]float32(nil), img[:h*w]...)
	var sum float64
	for s := 0; s < shuffles; s++ {
		rng.Shuffle(len(idx), func(a, b int) {
			tmp[idx[a]], tmp[idx[b]] = tmp[idx[b]], tmp[idx[a]]
		})
		sum += SpatialAutocorrelation(tmp, h, w, mask)
	}
	return sum / float64(max(shuffles, 1))
}

// ActiveMask marks the inputs whose mean square is above frac times the largest one (e.g.
// the output of [InputMeanSquares] with frac = 0.01): the pixels that carry signal.
func ActiveMask(meanSquares []float64, frac float64) []bool {
	var top float64
	for _, v := range meanSquares {
		top = max(top, v)
	}
	mask := make([]bool, len(meanSquares))
	for i, v := range meanSquares {
		mask[i] = v > frac*top
	}
	return mask
}

package data

import (
	"fmt"
	"math/rand/v2"

	"github.com/copi-learn/copi/mat32"
)

// Augment holds the usual CIFAR training augmentation: a random crop of the image padded by
// Pad zeros on every side (torchvision's RandomCrop(size, padding=Pad)), then a horizontal
// flip with probability ½ (RandomHorizontalFlip) when Flip is set. Images are rows of
// C·H·W values, channels first.
type Augment struct {
	C, H, W int
	Pad     int
	Flip    bool
}

// Active reports whether the augmentation changes anything.
func (a Augment) Active() bool { return a.Pad > 0 || a.Flip }

// Validate checks the image shape and the padding.
func (a Augment) Validate() error {
	if a.C <= 0 || a.H <= 0 || a.W <= 0 {
		return fmt.Errorf("augmentation: image shape %d×%d×%d must be positive", a.C, a.H, a.W)
	}
	if a.Pad < 0 || a.Pad > max(a.H, a.W) {
		return fmt.Errorf("augmentation: crop padding %d must be in [0, %d]", a.Pad, max(a.H, a.W))
	}
	return nil
}

// Apply writes an augmented copy of every row of src into dst (same shape), drawing each
// image's offsets (dy, dx ∈ [0, 2·Pad]) and flip from rng, in that order:
//
//	dst[c][y][x] = src[c][y+dy−Pad][x'+dx−Pad], x' = W−1−x if flipped else x
//
// (0 where that falls outside the image). It allocates nothing.
func (a Augment) Apply(dst, src mat32.Matrix, rng *rand.Rand) {
	plane := a.H * a.W
	for i := 0; i < src.Rows; i++ {
		s, d := src.Row(i), dst.Row(i)
		dy, dx := 0, 0
		if a.Pad > 0 {
			dy, dx = rng.IntN(2*a.Pad+1)-a.Pad, rng.IntN(2*a.Pad+1)-a.Pad
		}
		flip := a.Flip && rng.IntN(2) == 1
		for c := 0; c < a.C; c++ {
			sp, dp := s[c*plane:(c+1)*plane], d[c*plane:(c+1)*plane]
			for y := 0; y < a.H; y++ {
				row := dp[y*a.W : (y+1)*a.W]
				sy := y + dy
				if sy < 0 || sy >= a.H {
					clear(row)
					continue
				}
				srow := sp[sy*a.W : (sy+1)*a.W]
				for x := range row {
					xx := x
					if flip {
						xx = a.W - 1 - x
					}
					xx += dx
					if xx < 0 || xx >= a.W {
						row[x] = 0
					} else {
						row[x] = srow[xx]
					}
				}
			}
		}
	}
}

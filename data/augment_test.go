package data

import (
	"math/rand/v2"
	"testing"

	"github.com/copi-learn/copi/mat32"
)

// TestAugmentCropFlip checks that every augmented image is a shifted (and possibly
// mirrored) copy of its source with zeros where the shift leaves the image, that both flips
// and several offsets occur, and that no padding and no flip is the identity.
func TestAugmentCropFlip(t *testing.T) {
	a := Augment{C: 3, H: 5, W: 4, Pad: 2, Flip: true}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	n := 200
	src := mat32.New(n, 60)
	for i := range src.Data {
		src.Data[i] = float32(i%60 + 1) // nonzero: a zero in dst comes from the padding
	}
	dst := mat32.New(n, 60)
	a.Apply(dst, src, rand.New(rand.NewPCG(1, 2)))
	shifts := map[[3]int]bool{}
	for i := 0; i < n; i++ {
		found := false
		for dy := -2; dy <= 2 && !found; dy++ {
			for dx := -2; dx <= 2 && !found; dx++ {
				for f := 0; f < 2 && !found; f++ {
					ok := true
					for c := 0; c < 3 && ok; c++ {
						for y := 0; y < 5 && ok; y++ {
							for x := 0; x < 4 && ok; x++ {
								xx := x
								if f == 1 {
									xx = 3 - x
								}
								sy, sx := y+dy, xx+dx
								want := float32(0)
								if sy >= 0 && sy < 5 && sx >= 0 && sx < 4 {
									want = src.At(i, c*20+sy*4+sx)
								}
								ok = dst.At(i, c*20+y*4+x) == want
							}
						}
					}
					if ok {
						found = true
						shifts[[3]int{dy, dx, f}] = true
					}
				}
			}
		}
		if !found {
			t.Fatalf("image %d is no crop or flip of its source: %v", i, dst.Row(i))
		}
	}
	if len(shifts) < 20 {
		t.Errorf("only %d distinct crops/flips in %d images", len(shifts), n)
	}
	id := Augment{C: 3, H: 5, W: 4}
	id.Apply(dst, src, rand.New(rand.NewPCG(1, 2)))
	for i := range src.Data {
		if dst.Data[i] != src.Data[i] {
			t.Fatal("no padding and no flip changed the image")
		}
	}
	if (Augment{C: 1, H: 4, W: 4, Pad: 9}).Validate() == nil || (Augment{H: 4, W: 4}).Validate() == nil {
		t.Error("bad augmentation accepted")
	}
}

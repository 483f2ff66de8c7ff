package mat32

import "unsafe"

// gemmKernelGo is the portable micro-kernel (mr ≤ 4 rows, 8 columns); see [kernelFunc].
// It keeps the 4×8 tile in locals and walks a and b with the same byte strides as the
// assembly kernels, so the driver treats all kernels alike.
func gemmKernelGo(mr, k int, a *float32, aStep int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32) {
	var acc [4][8]float32
	a0, b0 := unsafe.Pointer(a), unsafe.Pointer(b)
	for p := 0; p < k; p++ {
		// Addresses are formed only for steps that exist: a pointer one step past the end
		// of an operand would be invalid in Go (checkptr rejects it).
		pa, pb := unsafe.Add(a0, p*aStep), unsafe.Add(b0, p*bStep)
		bv := (*[8]float32)(pb)
		switch mr {
		case 4:
			av := (*[4]float32)(pa)
			for i := 0; i < 4; i++ {
				ai := av[i]
				r := &acc[i]
				r[0] += ai * bv[0]
				r[1] += ai * bv[1]
				r[2] += ai * bv[2]
				r[3] += ai * bv[3]
				r[4] += ai * bv[4]
				r[5] += ai * bv[5]
				r[6] += ai * bv[6]
				r[7] += ai * bv[7]
			}
		default:
			for i := 0; i < mr; i++ {
				ai := *(*float32)(unsafe.Add(pa, i*4))
				r := &acc[i]
				for j := range r {
					r[j] += ai * bv[j]
				}
			}
		}
	}
	for i := 0; i < mr; i++ {
		row := (*[8]float32)(unsafe.Add(unsafe.Pointer(c), i*ldc*4))
		if beta == 0 {
			for j := range row {
				row[j] = alpha * acc[i][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		}
	}
}

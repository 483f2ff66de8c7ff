//go:build !linux

package mat32

import "runtime"

// osYield lets other goroutines run; off Linux it does not yield the OS thread.
func osYield() { runtime.Gosched() }

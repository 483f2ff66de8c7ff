//go:build !race

package data

// raceEnabled is true when the race detector slows everything down.
const raceEnabled = false

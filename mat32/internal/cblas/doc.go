// Package cblas loads Debian's OpenBLAS with dlopen and calls its cblas_sgemm. It is a
// separate package because a package with cgo cannot also hold Go assembly (mat32's kernels).
//
// It is only built with the openblas build tag; without it the package is empty.
package cblas

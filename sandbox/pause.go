package sandbox

// The pause program lives in pause.c: a C constructor that takes over the process when it was
// started as /pause (see PauseArgs) before the Go runtime exists. This file only makes the
// package a cgo package so that pause.c is compiled into every binary importing sandbox.

/*
#cgo CFLAGS: -O2 -Wall
*/
import "C"

// PauseArgs is the argv of the pause container's process: the podrun binary bind-mounted at
// /pause (the argv[0] the constructor recognises), with "pause" for whoever reads ps.
var PauseArgs = []string{"/pause", "pause"}

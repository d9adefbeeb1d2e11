//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package mom

import "os"

// isTerminal is false where mom cannot turn off echo: the value is read from
// standard input as from a pipe.
func isTerminal(*os.File) bool { return false }

func readHidden(f *os.File) ([]byte, error) { return readLine(f) }

//go:build !linux

package httpboot

import "os"

// beneathOpener opens files below an [os.Root] (elsewhere than Linux:
// through os.Root itself).
type beneathOpener struct{}

func (*beneathOpener) open(root *os.Root, p string) (*os.File, error) { return root.Open(p) }

//go:build !unix

package flock

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

func tryLock(*os.File) error { return nil }

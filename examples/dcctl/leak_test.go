package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Commands (and the progress bar) leave no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

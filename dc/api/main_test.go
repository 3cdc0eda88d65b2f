package api_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test closes its servers and Managers: no goroutine may outlive them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

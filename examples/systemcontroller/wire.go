//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"
)

// initApp assembles the System Controller. Phases come from simPhaseSet:
// replace it (or bind Phases to another provider) to run real phases.
func initApp(ctx context.Context, cfg Config, stderr stderrWriter) (*App, func(), error) {
	wire.Build(coreSet, simPhaseSet, dcSet)
	return nil, nil, nil
}

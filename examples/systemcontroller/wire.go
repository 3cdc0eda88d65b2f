//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"
	"github.com/prometheus/client_golang/prometheus"
)

// Provider sets, composed by initApp. They live here, with the injector,
// because only wire reads them (wire_gen.go is the code that runs).
var (
	// coreSet: logging, metrics, the data directory's store and key.
	coreSet = wire.NewSet(newLogger, newRegistry, wire.Bind(new(prometheus.Registerer), new(*prometheus.Registry)),
		openStore, newSealer, simDurationOf)
	// bootSet: the boot server, its image store, the host status routing
	// and, under --demo, the simulated fleet.
	bootSet = wire.NewSet(listenBoot, openImages, newCompletions, newBootServer, newDemoFleet)
	// phaseSet: the deploy phases (Redfish install, simulated, or none).
	phaseSet = wire.NewSet(newPhases)
	// dcSet: the Manager, its auditor, the API and the HTTP mux.
	dcSet = wire.NewSet(newManager, newHealthChecker, newAuditor, loadToken, newAPI, newMux, newApp)
)

// initApp assembles the System Controller. Phases come from phaseSet:
// replace it (or bind Phases to another provider) to run other phases.
func initApp(ctx context.Context, cfg Config, stderr stderrWriter) (*App, func(), error) {
	wire.Build(coreSet, bootSet, phaseSet, dcSet)
	return nil, nil, nil
}

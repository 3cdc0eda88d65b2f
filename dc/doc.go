// Package dc is the distributed-cloud core of Atoll: the subcloud model,
// its deploy-status state machine, validation of bootstrap and install
// values, and the Manager that owns the subcloud lifecycle on top of a
// narrow Store backend.
//
// # Sections
//
// Model. Subcloud, Group, InstallValues, BootstrapValues and LogEntry carry
// the JSON keys dcmanager's v1.0 API uses, so that its clients work
// unchanged.
//
// State machine. Transition is the one table of deploy-status edges; the
// Manager moves subclouds only through it.
package dc

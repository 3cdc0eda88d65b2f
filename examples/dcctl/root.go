package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/atoll-edge/atoll/dc/client"
)

// app is the state shared by the commands of one invocation.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	url, token, dataDir string
	output              string
	timeout             time.Duration
}

func newRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:   "dcctl",
		Short: "Manage subclouds and subcloud groups of an Atoll System Controller",
		Long: `dcctl manages the subclouds of an Atoll System Controller, as dcmanager does for StarlingX.

The controller URL and token come from --url/--token, then $ATOLL_URL/$ATOLL_TOKEN,
then the files "url" and "token" in the controller's data directory
(--data-dir, then $ATOLL_DATA_DIR, then ./.demo).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch a.output {
			case formatTable, formatJSON, formatYAML:
				return nil
			}
			return fmt.Errorf("-o %q: must be table, json or yaml", a.output)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.url, "url", "", "System Controller URL (default $ATOLL_URL, then DATA_DIR/url)")
	pf.StringVar(&a.token, "token", "", "API token (default $ATOLL_TOKEN, then DATA_DIR/token)")
	pf.StringVar(&a.dataDir, "data-dir", "", "systemcontroller data directory (default $ATOLL_DATA_DIR, then ./.demo)")
	pf.StringVarP(&a.output, "output", "o", formatTable, "output format: table, json or yaml")
	pf.DurationVar(&a.timeout, "timeout", 30*time.Second, "timeout of each API request")
	root.AddCommand(a.subcloudCmd(), a.groupCmd())
	return root
}

// client returns an API client for the resolved endpoint.
func (a *app) client() (*client.Client, error) {
	ep, err := resolve(a.url, a.token, a.dataDir, a.getenv)
	if err != nil {
		return nil, err
	}
	return newClient(ep, a.timeout)
}

// print writes v as JSON/YAML, or the table t makes of it.
func (a *app) print(v any, t func() table) error {
	if a.output == formatTable {
		return writeTable(a.stdout, t())
	}
	return writeData(a.stdout, a.output, v)
}

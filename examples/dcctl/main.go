// Command dcctl is Atoll's command line for the System Controller. It mirrors
// the dcmanager CLI:
//
//	dcctl subcloud add --bootstrap-address IP --bootstrap-values FILE [--install-values FILE] [--group G] [--bmc-password P] [--wait]
//	dcctl subcloud list | show REF [--detail] | manage REF [--force] | unmanage REF | delete REF | errors REF | update REF ...
//	dcctl subcloud deploy resume REF | abort REF | log REF
//	dcctl subcloud-group add --name N | list | show REF | update REF ... | delete REF | list-subclouds REF
//
// It finds the controller's URL and token from --url/--token, then
// ATOLL_URL/ATOLL_TOKEN, then the files "url" and "token" the systemcontroller
// daemon writes in its data directory (--data-dir, ATOLL_DATA_DIR, ./.demo).
// Output is an aligned table, or JSON/YAML with -o json|yaml. It exits 1 on
// any error, printing the API's message.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one dcctl command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRoot(stdout, stderr, getenv)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

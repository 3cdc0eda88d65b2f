// Command pxebench measures Atoll's HTTP boot server against nginx in the
// same run and prints one table with ratios: a 40 MiB image under wrk at
// several connection counts, and `ostree pull` of a ~40 MB archive
// repository (~3,000 objects), plain and through a static delta. It is run
// by `make bench-pxe`.
//
// # Sections
//
// # Method
//
// Both servers run as separate processes on loopback, each with two worker
// threads (GOMAXPROCS=2 for Atoll, worker_processes 2 for nginx with
// sendfile on, its config in a temporary directory and a free high port;
// the system nginx is never touched). They serve the same bytes: Atoll from
// its image store, nginx from the same files. Runs alternate between the
// two servers so that load from other work on the machine hits both. The
// wrk figure is the transfer rate; the pull figure the median wall time of
// three pulls into fresh repositories, each followed by nothing else.
//
// # Flags
//
// -wrk-duration, -pulls, -files and -bytes size the runs; -serve is the
// internal mode in which the command is Atoll's server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/atoll-edge/atoll/pxe"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
)

func main() {
	serve := flag.String("serve", "", "internal: serve the image store in this directory and print the address")
	duration := flag.Duration("wrk-duration", defaultWrkDuration, "duration of each wrk run")
	pulls := flag.Int("pulls", 3, "ostree pulls per server (the median is reported)")
	files := flag.Int("files", 2900, "files in the generated OSTree tree")
	bytes := flag.Int64("bytes", 78<<20, "total size of the generated tree (about half of it compresses)")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if *serve != "" {
		if err := serveStore(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "pxebench -serve:", err)
			os.Exit(1)
		}
		return
	}
	cfg := benchConfig{wrkDuration: *duration, pulls: *pulls, files: *files, bytes: *bytes, keep: *keep}
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pxebench:", err)
		os.Exit(1)
	}
}

// serveStore is the Atoll side: an HTTP-only pxe.Server over the store in
// dir on a free loopback port.
func serveStore(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	store, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv, err := pxe.New(pxe.Config{HTTP: &pxe.HTTPConfig{
		Listener: ln,
		Options:  httpboot.Options{Images: store, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))},
	}}, pxe.Options{})
	if err != nil {
		return err
	}
	fmt.Printf("LISTEN %s\n", srv.HTTPAddr())
	return srv.Serve(ctx)
}

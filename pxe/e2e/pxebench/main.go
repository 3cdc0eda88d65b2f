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
	rounds := flag.Int("rounds", 6, "alternating wrk runs per server and concurrency (medians are reported)")
	pulls := flag.Int("pulls", 5, "alternating ostree pulls per server and mode (medians are reported)")
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
	if *rounds < 1 || *pulls < 1 {
		fmt.Fprintln(os.Stderr, "pxebench: -rounds and -pulls must be at least 1")
		os.Exit(2)
	}
	cfg := benchConfig{rounds: *rounds, wrkDuration: *duration, pulls: *pulls, files: *files, bytes: *bytes, keep: *keep}
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

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
// its image store, nginx from the same files. Figures on these shared
// machines swing by tens of percent between seconds, so every case runs in
// rounds that alternate the servers in ABBA order (-rounds wrk runs of
// -wrk-duration each, -pulls pulls into fresh repositories): a figure is
// the median over its rounds, and a ratio the median of the per-round
// ratios, so both servers see the same load from other work.
//
// # Flags
//
// -rounds, -wrk-duration, -pulls, -files and -bytes size the runs; -serve is the
// internal mode in which the command is Atoll's server.
package main

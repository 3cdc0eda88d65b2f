package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvDSN names the environment variable that points the tests at an
// existing server instead of a private one.
const EnvDSN = "ATOLL_TEST_POSTGRES_DSN"

// ErrNotInstalled reports that the PostgreSQL server binaries are missing.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found: " +
	"install them with `apt-get install -y postgresql`, or set " + EnvDSN + " to a server's DSN")

// Server is a PostgreSQL server for tests.
type Server struct {
	dsn    string  // the maintenance database's DSN
	admin  *sql.DB // connected to it
	prefix string  // of the databases NewDatabase creates

	// A private server only.
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	logf   string

	mu      sync.Mutex
	seq     int
	created []string
	closed  bool
}

// Start returns a running server for tb and closes it in tb's cleanup. It
// skips tb if the server binaries are missing and fails it if the server
// does not start.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(ctx)
	if errors.Is(err, ErrNotInstalled) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// New returns the server EnvDSN names if it is set, or else starts a
// private server. The error wraps ErrNotInstalled if the server binaries
// are missing. Close stops it.
func New(ctx context.Context) (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return connect(ctx, dsn, nil)
	}
	return startPrivate(ctx)
}

// connect opens the admin connection to dsn; s, if not nil, is the private
// server being started.
func connect(ctx context.Context, dsn string, s *Server) (*Server, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %s: %w", EnvDSN, err)
	}
	if s == nil {
		s = &Server{}
	}
	var tag [4]byte
	rand.Read(tag[:])
	s.dsn, s.prefix = dsn, "atoll_test_"+hex.EncodeToString(tag[:])+"_"
	s.admin = stdlib.OpenDB(*cfg)
	s.admin.SetMaxOpenConns(2)
	if err := s.admin.PingContext(ctx); err != nil {
		s.admin.Close()
		return nil, fmt.Errorf("pgtest: connect to %s: %w", cfg.Host, err)
	}
	return s, nil
}

// NewDatabase creates a fresh, empty database and returns its DSN.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", errors.New("pgtest: server closed")
	}
	s.seq++
	name := s.prefix + strconv.Itoa(s.seq)
	s.created = append(s.created, name)
	s.mu.Unlock()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return withDatabase(s.dsn, name)
}

// withDatabase returns dsn naming database name instead of its own.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("pgtest: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// In keyword/value form the last setting of a keyword wins.
	return dsn + " dbname=" + name, nil
}

// Close drops the databases NewDatabase created on a shared server, or
// stops a private server and removes its files.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	created := s.created
	s.mu.Unlock()
	var errs []error
	if s.cmd == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range created {
			if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				errs = append(errs, fmt.Errorf("pgtest: drop database %s: %w", name, err))
			}
		}
	}
	errs = append(errs, s.admin.Close())
	if s.cmd != nil {
		errs = append(errs, s.stop())
	}
	return errors.Join(errs...)
}

// findBinary returns the path of a PostgreSQL server binary.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// versionOf returns the major version in /usr/lib/postgresql/N/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// startPrivate runs initdb and postgres in a new temporary directory.
func startPrivate(ctx context.Context) (_ *Server, err error) {
	initdb, err := findBinary("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := findBinary("postgres")
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	sweepStale(time.Now())
	// Short: the socket path must fit in sun_path.
	dir, err := os.MkdirTemp("/tmp", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, logf: filepath.Join(dir, "server.log")}
	defer func() {
		if err != nil {
			if s.cmd != nil {
				s.stop()
			}
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	init := s.command(ctx, cred, initdb, "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--no-locale", "--no-sync", "--no-instructions")
	if out, err := init.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	logFile, err := os.Create(s.logf)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	// Not CommandContext: the server outlives ctx, which bounds only the start.
	s.cmd = s.command(context.Background(), cred, postgres, "-D", data, "-k", dir, "-p", "5432",
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "logging_collector=off")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Immediate shutdown if the test binary dies without stopping it. Go
	// sets the signal after switching to cred, which would clear it.
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	dsn := fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", dir)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := connect(pctx, dsn, s)
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("pgtest: postgres exited: %s\n%s", s.cmd.ProcessState, s.logTail())
		case <-ctx.Done():
			return nil, fmt.Errorf("pgtest: postgres did not accept connections: %w\n%s", err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dirPrefix names the private servers' directories in /tmp.
const dirPrefix = "atoll-pg-"

// sweepStale removes the directories of private servers whose test binary
// was killed (SIGKILL skips cleanups; Pdeathsig stops the server, but its
// directory stays): those whose postmaster.pid names a process that is
// gone, and those without one (initdb interrupted) older than ten minutes.
func sweepStale(now time.Time) {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", dirPrefix+"*"))
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		if err != nil {
			if now.Sub(fi.ModTime()) > 10*time.Minute {
				os.RemoveAll(dir)
			}
			continue
		}
		line, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// command returns name with args, run as cred (if not nil) in the server's
// directory.
func (s *Server) command(ctx context.Context, cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// serverCredential returns the postgres system user's credential when
// running as root (PostgreSQL refuses to run as root), or nil.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres system user (the postgresql package creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// stop shuts the private server down (fast shutdown, then a kill) and
// removes its directory.
func (s *Server) stop() error {
	var err error
	if s.exited != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			err = fmt.Errorf("pgtest: postgres did not stop within 15s; killed\n%s", s.logTail())
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logf)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

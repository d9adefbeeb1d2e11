package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running throwaway PostgreSQL cluster.
type Server struct {
	// DSN connects to the "postgres" database as user postgres.
	DSN string
	// BinDir holds the server's binaries; its pg_dump matches the server.
	BinDir string
	// Port is the TCP port on 127.0.0.1.
	Port int

	dir  string              // temporary root: data/, server.log, socket
	cred *syscall.Credential // the postgres user when running as root
}

// Run initializes and starts a new cluster. Stop it with Stop.
func Run(ctx context.Context) (*Server, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	reapOrphans(binDir, cred)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create the cluster directory: %w", err)
	}
	s := &Server{BinDir: binDir, dir: dir, cred: cred}
	if err := s.init(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

const dirPrefix = "atlas-pgtest-"

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// serverCredential returns nil when not root, else the postgres user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root, but there is no postgres user to run it as (%v): `apt-get install postgresql` creates it", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func (s *Server) init(ctx context.Context) error {
	if err := writeOwnerPID(s.dir); err != nil {
		return err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("chown the cluster directory to postgres: %w", err)
		}
	}
	// --no-sync only skips syncing the initial files; the server runs with
	// fsync=on.
	out, err := s.Command(ctx, "initdb", "-D", s.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, lastLines(out, 20))
	}
	conf := fmt.Sprintf("\n# pgtest\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = on\nsynchronous_commit = on\nmax_connections = 100\n", s.dir)
	f, err := os.OpenFile(filepath.Join(s.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure the cluster: %w", err)
	}
	_, err = f.WriteString(conf)
	return errors.Join(err, f.Close())
}

// start picks a free port and starts the server, retrying on another port
// if a concurrent process took the first one between probe and bind.
func (s *Server) start(ctx context.Context) error {
	var err error
	for range 3 {
		s.Port, err = freePort()
		if err != nil {
			return err
		}
		out, runErr := s.Command(ctx, "pg_ctl", "-D", s.dataDir(), "-l", s.logFile(), "-w", "-t", "60",
			"-o", "-p "+strconv.Itoa(s.Port), "start").CombinedOutput()
		if runErr == nil {
			s.DSN = s.DSNFor("postgres")
			return nil
		}
		log, _ := os.ReadFile(s.logFile())
		err = fmt.Errorf("pg_ctl start on 127.0.0.1:%d: %w\n%s\nserver log:\n%s", s.Port, runErr, lastLines(out, 5), lastLines(log, 20))
		if !bytes.Contains(log, []byte("could not bind")) && !bytes.Contains(log, []byte("in use")) {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSNFor returns a DSN for database db on this server.
func (s *Server) DSNFor(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Command returns a command running a PostgreSQL program from BinDir, as
// the postgres user when the caller is root, in the cluster directory.
func (s *Server) Command(ctx context.Context, program string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, program), args...)
	cmd.Dir = s.dir // root's cwd may not be readable by postgres
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGHOST=127.0.0.1", "PGUSER=postgres")
	if s.Port != 0 {
		cmd.Env = append(cmd.Env, "PGPORT="+strconv.Itoa(s.Port))
	}
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// CreateDatabase creates an empty database and returns its DSN, so tests
// sharing one server stay isolated.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	out, err := s.Command(ctx, "createdb", name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("createdb %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return s.DSNFor(name), nil
}

// Dump returns a plain-SQL pg_dump of database db, made by the pg_dump
// next to the server.
func (s *Server) Dump(ctx context.Context, db string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := s.Command(ctx, "pg_dump", "--no-owner", db)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pg_dump %s: %w: %s", db, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Stop stops the server immediately (no checkpoint: it is thrown away)
// and removes its directory.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Command(ctx, "pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		err = fmt.Errorf("pg_ctl stop (cluster left in %s): %w: %s", s.dir, err, strings.TrimSpace(string(out)))
		return err
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove the cluster directory: %w", err)
	}
	return nil
}

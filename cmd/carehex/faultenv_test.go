package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/testenv"
)

// Servers the fault tests own: they kill and restart them mid-run, which the
// shared test servers (scripts/test-servers.sh) must never suffer.

// ownRedis is a redis-server (or a 3-master cluster of them) that this test
// starts, kills and restarts by itself, without persistence: a restart comes
// back empty, as after a crash of an in-memory cache.
type ownRedis struct {
	dir     string
	ports   []int
	buses   []int
	cluster bool
	mu      sync.Mutex
	procs   []*exec.Cmd
}

func startOwnRedis(t *testing.T, cluster bool) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Unavailable(t, "redis-server is not installed (scripts/test-deps.sh installs it)")
	}
	r := &ownRedis{dir: t.TempDir(), cluster: cluster}
	n := 1
	if cluster {
		n = 3
	}
	for range n {
		r.ports = append(r.ports, freePort(t))
		r.buses = append(r.buses, freePort(t))
	}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	if cluster {
		args := []string{"--cluster", "create"}
		for _, p := range r.ports {
			args = append(args, fmt.Sprintf("127.0.0.1:%d", p))
		}
		args = append(args, "--cluster-replicas", "0", "--cluster-yes")
		if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
			t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
		}
		if err := r.waitClusterOK(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// URL is CAREHEX_REDIS_URL for this Redis.
func (r *ownRedis) URL() string {
	u := fmt.Sprintf("redis://127.0.0.1:%d", r.ports[0])
	for i, p := range r.ports[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += fmt.Sprintf("%saddr=127.0.0.1:%d", sep, p)
	}
	return u
}

func (r *ownRedis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.procs = r.procs[:0]
	for i, p := range r.ports {
		dir := filepath.Join(r.dir, strconv.Itoa(p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		args := []string{"--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"}
		if r.cluster {
			args = append(args, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(r.buses[i]),
				"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		}
		cmd := exec.Command("redis-server", args...)
		log, err := os.OpenFile(filepath.Join(dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start redis-server: %w", err)
		}
		go func() { _ = cmd.Wait(); log.Close() }()
		r.procs = append(r.procs, cmd)
	}
	for _, p := range r.ports {
		ok := false
		for range 100 {
			if exec.Command("redis-cli", "-p", strconv.Itoa(p), "ping").Run() == nil {
				ok = true
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !ok {
			return fmt.Errorf("redis-server on port %d did not answer", p)
		}
	}
	return nil
}

func (r *ownRedis) waitClusterOK() error {
	for range 200 {
		ok := true
		for _, p := range r.ports {
			out, err := exec.Command("redis-cli", "-p", strconv.Itoa(p), "cluster", "info").Output()
			if err != nil || !strings.Contains(string(out), "cluster_state:ok") {
				ok = false
			}
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the Redis Cluster did not reach cluster_state:ok")
}

func (r *ownRedis) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.procs {
		_ = c.Process.Kill()
	}
}

// Restart kills every node with SIGKILL, leaves Redis down for two seconds,
// and starts it again empty (a cluster keeps its slot map in nodes.conf).
func (r *ownRedis) Restart() error {
	r.stop()
	time.Sleep(2 * time.Second)
	if err := r.start(); err != nil {
		return err
	}
	if r.cluster {
		return r.waitClusterOK()
	}
	return nil
}

// ownPostgres is a PostgreSQL cluster of the test's own, in a temporary
// directory on a free port, that Restart stops hard (immediate mode: no
// checkpoint, as after a crash) and starts again.
type ownPostgres struct {
	bin, dir string
	port     int
}

func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		testenv.Unavailable(t, "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb (scripts/test-deps.sh installs it)")
	}
	pg := &ownPostgres{bin: filepath.Dir(initdbs[len(initdbs)-1]), port: freePort(t)}
	dir, err := os.MkdirTemp("", "carehex-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg.dir = dir
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := pg.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pg.run("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "stop") })
	return pg
}

func (pg *ownPostgres) run(tool string, args ...string) ([]byte, error) {
	name, argv := filepath.Join(pg.bin, tool), args
	if os.Geteuid() == 0 {
		name, argv = "runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, tool)}, args...)
	}
	return exec.Command(name, argv...).CombinedOutput()
}

func (pg *ownPostgres) start() error {
	out, err := pg.run("pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-l", filepath.Join(pg.dir, "pg.log"), "-w",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", pg.port, pg.dir), "start")
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// URL is the postgres:// URL of database postgres on this cluster.
func (pg *ownPostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// Restart stops the cluster at once (connections drop, no checkpoint),
// leaves it down for two seconds and starts it again; crash recovery replays
// the WAL, so every committed transaction is still there.
func (pg *ownPostgres) Restart() error {
	if out, err := pg.run("pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Second)
	return pg.start()
}

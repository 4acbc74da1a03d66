package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carehex/carehex/internal/testenv"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// built is the carehex binary the end-to-end and fault tests run: compiled
// once per test binary run, however many tests ask, into a directory TestMain
// removes at the end.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
	out      []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	if smallDay.dir != "" {
		os.RemoveAll(smallDay.dir)
	}
	os.Exit(code)
}

// buildBinary returns the path of the compiled cmd/carehex, building it on
// the first call.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "carehex-e2e-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "carehex")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// server is a running `carehex serve` process.
type server struct {
	cmd     *exec.Cmd
	url     string
	metrics string // the metrics listener's base URL
}

// startServer runs the real binary on a free port and waits for /healthz.
func startServer(t *testing.T, bin string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &testLogWriter{t: t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	var metrics string
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("server exited before listening")
			}
			if u, found := strings.CutPrefix(line, "carehex metrics on "); found {
				metrics = strings.TrimSuffix(u, "/metrics")
			}
			if u, found := strings.CutPrefix(line, "carehex listening on "); found {
				go func() {
					for range lines { // keep draining so the server never blocks on stdout
					}
				}()
				waitHealthy(t, u)
				return &server{cmd: cmd, url: u, metrics: metrics}
			}
		case <-deadline:
			t.Fatal("server did not start within 60s")
		}
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", url)
}

type testLogWriter struct{ t *testing.T }

func (w *testLogWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func addUser(t *testing.T, bin string, env []string, data, username, role, password string) {
	t.Helper()
	cmd := exec.Command(bin, "user", "add", "--data", data, "--username", username, "--role", role, "--password-stdin")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
}

func login(t *testing.T, url, username, password string) context.Context {
	t.Helper()
	resp, err := pb.NewAuthServiceProtobufClient(url, http.DefaultClient).Login(context.Background(),
		&pb.LoginRequest{Username: username, Password: password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+resp.Token)
	ctx, err := twirp.WithHTTPRequestHeaders(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestAcknowledgedRequestSurvivesSIGKILL is invariant 2: a request the
// operator saw acknowledged is committed before the reply, so killing the
// server right after the answer loses nothing, and retrying with the same
// idempotency key after the restart returns the same request.
func TestAcknowledgedRequestSurvivesSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	backends := []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return nil }},
		{"postgres+redis", func(t *testing.T) []string {
			return []string{"CAREHEX_DATABASE_URL=" + testenv.PostgresURL(t), "CAREHEX_REDIS_URL=" + testenv.RedisURL(t)}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			env := b.env(t)
			data := t.TempDir()
			addUser(t, bin, env, data, "op1", "operator", "correct-horse-battery")

			srv := startServer(t, bin, env, "--data", data)
			ctx := login(t, srv.url, "op1", "correct-horse-battery")
			res, err := pb.NewResidentServiceJSONClient(srv.url, http.DefaultClient).CreateResident(ctx, &pb.CreateResidentRequest{
				Name: "王桂兰", Phone: "13905330001", Address: "张店区华光路56号3单元201",
				Location: &pb.LatLng{Lat: 36.80, Lng: 118.05},
			})
			if err != nil {
				t.Fatalf("CreateResident: %v", err)
			}
			intake := pb.NewIntakeServiceJSONClient(srv.url, http.DefaultClient)
			create := &pb.CreateServiceRequestRequest{
				ResidentId: res.Resident.Id, ServiceCode: firstServiceCode(t, ctx, srv.url),
				Urgency: pb.Urgency_URGENCY_SOON, Notes: "needs lunch", IdempotencyKey: "call-0001",
			}
			first, err := intake.CreateServiceRequest(ctx, create)
			if err != nil {
				t.Fatalf("CreateServiceRequest: %v", err)
			}
			// SIGKILL right after the answer: no graceful shutdown, no flush.
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = srv.cmd.Wait()

			srv2 := startServer(t, bin, env, "--data", data)
			ctx2 := login(t, srv2.url, "op1", "correct-horse-battery")
			intake2 := pb.NewIntakeServiceJSONClient(srv2.url, http.DefaultClient)
			got, err := intake2.GetServiceRequest(ctx2, &pb.GetServiceRequestRequest{Id: first.Request.Id})
			if err != nil {
				t.Fatalf("request lost after SIGKILL: %v", err)
			}
			if got.Request.Status != pb.RequestStatus_REQUEST_STATUS_PENDING || len(got.Events) == 0 {
				t.Fatalf("after restart: status %v, %d events", got.Request.Status, len(got.Events))
			}
			// The operator's console retries after the crash with the same key.
			again, err := intake2.CreateServiceRequest(ctx2, create)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if again.Request.Id != first.Request.Id || !again.Replayed {
				t.Fatalf("retry made %s (replayed=%v), want %s replayed", again.Request.Id, again.Replayed, first.Request.Id)
			}
		})
	}
}

func firstServiceCode(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	types, err := pb.NewCatalogServiceJSONClient(url, http.DefaultClient).ListServiceTypes(ctx, &pb.ListServiceTypesRequest{Category: "daily_life"})
	if err != nil || len(types.ServiceTypes) == 0 {
		t.Fatalf("ListServiceTypes: %v (%d types)", err, len(types.GetServiceTypes()))
	}
	return types.ServiceTypes[0].Code
}

// TestConfigFailsFast checks that bad settings stop the server at start with
// a message naming the setting.
func TestConfigFailsFast(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad addr", []string{"serve", "--addr", "nonsense"}, nil, "--addr"},
		{"bad database url", []string{"serve"}, map[string]string{"CAREHEX_DATABASE_URL": "mysql://x"}, "CAREHEX_DATABASE_URL"},
		{"bad redis url", []string{"serve"}, map[string]string{"CAREHEX_REDIS_URL": "http://x"}, "CAREHEX_REDIS_URL"},
		{"bad log level", []string{"serve"}, map[string]string{"CAREHEX_LOG_LEVEL": "loud"}, "CAREHEX_LOG_LEVEL"},
		{"bad metrics addr", []string{"serve", "--metrics-addr", "9090"}, nil, "--metrics-addr"},
		{"bad role", []string{"user", "add", "--username", "u", "--role", "king", "--password-stdin"}, nil, "--role"},
		{"unknown command", []string{"fly"}, nil, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var out, errOut strings.Builder
			err := run(context.Background(), tt.args, getenv, strings.NewReader(""), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%v) = %v; want an error naming %s", tt.args, err, tt.want)
			}
		})
	}
}

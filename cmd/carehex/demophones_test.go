package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// TestDemoPhonesOnlyWhenAsked: a plain serve (production, the tests) plays
// no demo phones; --demo-phones N adds N carers marked （演示） with every
// skill, once, however often the server starts.
func TestDemoPhonesOnlyWhenAsked(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	env := []string{"CAREHEX_DATA=" + data}
	addUser(t, bin, env, data, "op", "operator", "op-password-123")
	demoCarers := func(url string) []*pb.Provider {
		t.Helper()
		ctx := login(t, url, "op", "op-password-123")
		out, err := pb.NewProviderServiceJSONClient(url, http.DefaultClient).ListProviders(ctx, &pb.ListProvidersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var demo []*pb.Provider
		for _, p := range out.Providers {
			if strings.HasSuffix(p.Name, "（演示）") {
				demo = append(demo, p)
			}
		}
		return demo
	}

	s := startServer(t, bin, env)
	if got := demoCarers(s.url); len(got) != 0 {
		t.Fatalf("serve without --demo made %d demo carers", len(got))
	}
	stopServer(t, s)

	for range 2 {
		s = startServer(t, bin, env, "--demo-phones", "3")
		got := demoCarers(s.url)
		if len(got) != 3 {
			t.Fatalf("--demo-phones 3: %d demo carers", len(got))
		}
		if len(got[0].Skills) < 10 {
			t.Errorf("a demo carer has only the skills %v; it should take any service", got[0].Skills)
		}
		stopServer(t, s)
	}
}

// stopServer interrupts serve, as Ctrl-C does, and waits for a clean exit:
// the demo phones must not hold the shutdown up.
func stopServer(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after an interrupt", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of an interrupt")
	}
}

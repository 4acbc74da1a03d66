package rpc_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/notify"
	"github.com/carehex/carehex/rpc"
)

// The console stream sends one coalesced "changed" event for a burst of
// console notices, refuses a request without a console session, and ends
// when its session is revoked and a notice wakes it.
func TestConsoleStream(t *testing.T) {
	ts := newServer(t, backends[0])
	hub := notify.NewHub()
	ts.Store.SetPublisher(hub, nil)
	cs := &rpc.ConsoleStream{Store: ts.Store, Notices: hub, Coalesce: 200 * time.Millisecond}
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)

	open := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := open(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: HTTP %d, want 401", resp.StatusCode)
	}
	if resp := open("chs_not-a-token"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: HTTP %d, want 401", resp.StatusCode)
	}

	token := ts.issue(t, carehex.RoleOperator)
	resp := open(token)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("console stream: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() { // ends when the body closes (the stream ends or the test cleans up)
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- ev
			}
		}
	}()
	// The stream subscribes before its first write; wait for a subscriber.
	deadline := time.Now().Add(5 * time.Second)
	for hub.Subscriptions() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream never subscribed")
		}
		time.Sleep(time.Millisecond) // no other signal from the handler
	}
	start := time.Now()
	for range 20 {
		_ = hub.Publish(context.Background(), carehex.ConsoleNotice)
	}
	next := func(within time.Duration) (string, bool) {
		select {
		case ev, ok := <-events:
			return ev, ok
		case <-time.After(within):
			return "", true
		}
	}
	if ev, _ := next(2 * time.Second); ev != "changed" {
		t.Fatalf("first event %q, want changed", ev)
	}
	t.Logf("changed %v after the notices", time.Since(start).Round(time.Millisecond))
	// Twenty notices: the first is sent at once, the rest are one more
	// "changed" at most, after the coalescing window.
	extra := 0
	for {
		ev, _ := next(600 * time.Millisecond)
		if ev == "" {
			break
		}
		extra++
	}
	if extra > 1 {
		t.Errorf("%d more events for one burst, want at most 1", extra)
	}

	// Revoked: the next notice ends the stream instead of sending.
	if err := ts.Store.RevokeToken(context.Background(), auth.HashToken(token)); err != nil {
		t.Fatal(err)
	}
	_ = hub.Publish(context.Background(), carehex.ConsoleNotice)
	select {
	case ev, ok := <-events:
		if ok {
			t.Fatalf("revoked session's stream sent %q", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("revoked session's stream still open 2 s after a notice")
	}
}

// A console that names its extension gets a "call" event when the
// telephone system records a call event there (the screen pop).
func TestConsoleStreamCall(t *testing.T) {
	ts := newServer(t, backends[0])
	hub := notify.NewHub()
	ts.Store.SetPublisher(hub, nil)
	srv := httptest.NewServer(&rpc.ConsoleStream{Store: ts.Store, Calls: ts.Store, Notices: hub})
	t.Cleanup(srv.Close)
	token := ts.issue(t, carehex.RoleOperator)
	req, _ := http.NewRequest("GET", srv.URL+"?extension=8001", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("console stream: HTTP %d", resp.StatusCode)
	}
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- ev
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for hub.Subscriptions() < 2 { // the board's notices and the extension's calls
		if time.Now().After(deadline) {
			t.Fatal("the stream never subscribed to its extension")
		}
		time.Sleep(time.Millisecond) // no other signal from the handler
	}
	ctx := context.Background()
	ring := func(ext string) {
		t.Helper()
		if _, err := ts.Store.RecordCallEvent(ctx, &carehex.CallEvent{CallID: "c-" + ext, Event: carehex.CallRinging,
			Caller: "13800000000", Extension: ext}); err != nil {
			t.Fatal(err)
		}
	}
	ring("8001")
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended before the call event")
			}
			if ev == "call" {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no call event 5 s after the ringing at this extension")
		}
	}
}

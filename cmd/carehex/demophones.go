package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/demo/phones"
	"github.com/carehex/carehex/mobile-api/mobileclient"
	"github.com/carehex/carehex/sqlstore"
)

// defaultDemoPhones is how many simulated carer phones `serve --demo` (make
// run) plays unless --demo-phones says otherwise; without --demo there are
// none unless asked for.
const defaultDemoPhones = 30

// demoPhoneSeed draws the demo carers from their own stream, apart from
// the 300 demo providers, so they are the same carers on every start.
const demoPhoneSeed = 0x64656d6f // "demo"

// startDemoPhones makes sure n demo carers exist (named …（演示）, every
// skill, homes around Zibo), gives each phone a device token and plays them
// against the server at baseURL, over HTTP as real phones, until ctx ends.
// The returned func waits until they have stopped.
func startDemoPhones(ctx context.Context, store *sqlstore.DB, n int, baseURL string, stdout io.Writer, log *slog.Logger) (wait func(), err error) {
	all, err := store.Providers(ctx, 100_000)
	if err != nil {
		return nil, err
	}
	var carers []*carehex.Provider
	for _, p := range all {
		if phones.IsDemo(p) && p.Active && len(carers) < n {
			carers = append(carers, p)
		}
	}
	if len(carers) < n {
		types, err := catalog.Load()
		if err != nil {
			return nil, err
		}
		skills := catalog.Skills(types)
		more := demo.SeedProviders(demoPhoneSeed, n, skills)[len(carers):]
		phones.Prepare(more, skills)
		for _, p := range more {
			if err := store.CreateProvider(ctx, p); err != nil {
				return nil, fmt.Errorf("demo phones: create %s: %w", p.Name, err)
			}
			carers = append(carers, p)
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n, IdleConnTimeout: time.Minute}}
	list := make([]phones.Phone, 0, n)
	for _, p := range carers {
		token, err := auth.Issue(ctx, store, carehex.Principal{Kind: carehex.KindProvider, Subject: p.ID, Name: p.Name}, time.Now().Add(7*24*time.Hour))
		if err != nil {
			return nil, fmt.Errorf("demo phones: device token of %s: %w", p.Name, err)
		}
		list = append(list, phones.Phone{ProviderID: p.ID, Home: p.Home, API: mobileclient.New(baseURL, token, hc)})
	}
	cfg := phones.DefaultConfig()
	cfg.Log = log
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := phones.Run(ctx, list, cfg); err != nil {
			log.Error("demo.phones", "err", err)
		}
	}()
	fmt.Fprintln(stdout, phones.Describe(len(list)))
	log.Info("demo.phones", "phones", len(list), "mark", phones.Mark)
	return func() {
		<-done
		hc.CloseIdleConnections()
	}, nil
}

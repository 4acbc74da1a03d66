package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/loadbench"
	pb "github.com/carehex/carehex/rpc/carehex/v1"
	"github.com/twitchtv/twirp"
)

// remoteLoad is `bench load --addr`: the settings that apply to a server the
// bench did not build.
type remoteLoad struct {
	addr, username, password string
	metricsURL               string // the server's metrics listener (its --metrics-addr)
	rate                     float64
	duration, drain          time.Duration
	residents, providers     int
	visitShare               float64
}

// benchLoadAddr drives an already-running server, so that the generator's
// CPU is not counted with the server's: it logs in as an operator, creates
// its city there through the Twirp API (providers with device tokens,
// residents), and runs loadbench over Twirp with the server's CPU read from
// its /metrics before and after. The plain net/http twin of the create call
// exists only in the in-process bench, and the database and Redis are the
// server's own, so the flags about them are refused here.
func benchLoadAddr(ctx context.Context, fs *flag.FlagSet, rl remoteLoad, stdout, stderr io.Writer) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "database-url", "backend", "redis-url", "cpuprofile":
			bad = append(bad, "--"+f.Name)
		case "transport":
			if f.Value.String() != loadbench.Twirp {
				bad = append(bad, "--transport "+f.Value.String())
			}
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("--addr drives a running server over Twirp; %s apply only to the in-process bench", strings.Join(bad, ", "))
	}
	u, err := url.Parse(rl.addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--addr %q must be a URL like http://127.0.0.1:8080", rl.addr)
	}
	if rl.username == "" || rl.password == "" {
		return errors.New("--addr needs an operator account on that server: --username and --password (or CAREHEX_BENCH_USERNAME, CAREHEX_BENCH_PASSWORD)")
	}
	base := strings.TrimRight(rl.addr, "/")
	progress := func(msg string) { fmt.Fprintln(stderr, msg) }
	if err := raiseFileLimit(uint64(rl.providers)*2 + 1024); err != nil {
		progress("load: " + err.Error())
	}
	tr := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: rl.providers + 256, IdleConnTimeout: 2 * time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	login, err := pb.NewAuthServiceJSONClient(base, hc).Login(ctx, &pb.LoginRequest{Username: rl.username, Password: rl.password})
	if err != nil {
		return fmt.Errorf("log in to %s as %s: %w", base, rl.username, err)
	}
	op := func(ctx context.Context) context.Context {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+login.Token)
		ctx, _ = twirp.WithHTTPRequestHeaders(ctx, h)
		return ctx
	}
	progress(fmt.Sprintf("load: %s: creating %d providers and %d residents through its API…", base, rl.providers, rl.residents))
	phones, residents, err := seedRemoteCity(ctx, hc, base, op, rl.residents, rl.providers)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	dispatchAPI := pb.NewDispatchServiceJSONClient(base, hc)
	res, err := loadbench.Run(ctx, loadbench.Options{
		BaseURL: base, Transport: loadbench.Twirp, Rate: rl.rate, Duration: rl.duration, Drain: rl.drain,
		OperatorToken: login.Token, Residents: residents, ServiceCodes: loadServiceCodes, Phones: phones,
		VisitShare: rl.visitShare, Seed: 1, Progress: progress,
		Offers: func(ctx context.Context, requestID string) ([]*carehex.Offer, error) {
			out, err := dispatchAPI.ListRequestOffers(op(ctx), &pb.ListRequestOffersRequest{RequestId: requestID})
			if err != nil {
				return nil, err
			}
			os := make([]*carehex.Offer, len(out.Offers))
			for i, o := range out.Offers {
				os[i] = &carehex.Offer{ID: o.Id, RequestID: o.RequestId, ProviderID: o.ProviderId, CreateTime: o.CreateTime.AsTime()}
			}
			return os, nil
		},
		ServerCPU: func(ctx context.Context) (time.Duration, error) {
			cpu, _, err := processMetrics(ctx, hc, strings.TrimRight(rl.metricsURL, "/"))
			return time.Duration(cpu * float64(time.Second)), err
		},
	})
	if err != nil {
		return fmt.Errorf("bench load --addr %s: %w", base, err)
	}
	res.Backend = "server"
	fmt.Fprintf(stdout, "carehex bench load against %s: %d residents, %d providers online, visit share %.0f%%, %s\n",
		base, rl.residents, rl.providers, 100*rl.visitShare, machine())
	loadbench.PrintTable(stdout, []*loadbench.Result{res})
	return loadbench.PrintJSON(stdout, loadbench.Report{Bench: "load", Machine: machine(), Runs: []*loadbench.Result{res}})
}

// seedRemoteCity creates the demo city's first providers (with device
// tokens) and residents on the server through the Twirp API.
func seedRemoteCity(ctx context.Context, hc *http.Client, base string, op func(context.Context) context.Context,
	nResidents, nProviders int) ([]loadbench.Phone, []string, error) {
	types, err := catalog.Load()
	if err != nil {
		return nil, nil, err
	}
	ps := demo.SeedProviders(1, nProviders, catalog.Skills(types))
	provs := pb.NewProviderServiceJSONClient(base, hc)
	phones := make([]loadbench.Phone, len(ps))
	err = parallel(ctx, len(ps), 8, func(ctx context.Context, i int) error {
		p := ps[i]
		cp, err := provs.CreateProvider(op(ctx), &pb.CreateProviderRequest{Name: p.Name, Phone: p.Phone, Skills: p.Skills,
			Location: &pb.LatLng{Lat: p.Home.Lat, Lng: p.Home.Lng}})
		if err != nil {
			return fmt.Errorf("create provider %d: %w", i, err)
		}
		tok, err := provs.IssueDeviceToken(op(ctx), &pb.IssueDeviceTokenRequest{ProviderId: cp.Provider.Id})
		if err != nil {
			return fmt.Errorf("device token of %s: %w", cp.Provider.Id, err)
		}
		phones[i] = loadbench.Phone{ProviderID: cp.Provider.Id, Token: tok.Token, At: p.Home}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rs := demo.SeedResidents(1, nResidents)
	ress := pb.NewResidentServiceJSONClient(base, hc)
	ids := make([]string, len(rs))
	var mu sync.Mutex
	err = parallel(ctx, len(rs), 8, func(ctx context.Context, i int) error {
		r := rs[i]
		out, err := ress.CreateResident(op(ctx), &pb.CreateResidentRequest{Name: r.Name, Phone: r.Phone, Address: r.Address,
			Location: &pb.LatLng{Lat: r.Location.Lat, Lng: r.Location.Lng}})
		if err != nil {
			return fmt.Errorf("create resident %d: %w", i, err)
		}
		mu.Lock()
		ids[i] = out.Resident.Id
		mu.Unlock()
		return nil
	})
	return phones, ids, err
}

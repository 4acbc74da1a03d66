package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/demo"
	"github.com/carehex/carehex/sqlstore"
)

// Demo sizes: `make run` loads a district's worth; `carehex demo seed`
// defaults to the full city.
const (
	demoResidents = 3000
	demoProviders = 300
	cityResidents = 90000
	cityProviders = 2000
)

// demoAccounts are created by `serve --demo`, for trying the system out only.
// The organisation accounts belong to the first demo organisation
// (demoOrgName).
var demoAccounts = []struct {
	username, password string
	role               carehex.Role
}{
	{"operator", "operator-demo-pw", carehex.RoleOperator},
	{"supervisor", "supervisor-demo-pw", carehex.RoleSupervisor},
	{"admin", "admin-demo-pw", carehex.RoleAdmin},
	{"orgdispatch", "orgdispatch-demo-pw", carehex.RoleOrgDispatcher},
	{"orgadmin", "orgadmin-demo-pw", carehex.RoleOrgAdmin},
}

// demoOrgName is the organisation the demo's organisation accounts work for.
func demoOrgName() string { return demo.Organisations()[0].Name }

// demoOrgID finds the demo organisation, creating the demo organisations
// and their contracts first if they are missing.
func demoOrgID(ctx context.Context, store *sqlstore.DB) (string, error) {
	types, err := catalog.Load()
	if err != nil {
		return "", err
	}
	if err := demo.SeedOrganisations(ctx, store, serviceCodes(types), demo.SettlementFrom); err != nil {
		return "", err
	}
	os, err := store.Organisations(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range os {
		if o.Name == demoOrgName() {
			return o.ID, nil
		}
	}
	return "", fmt.Errorf("demo organisation %s is missing", demoOrgName())
}

// seedDemo fills an empty database with demo people and accounts and prints
// the logins.
func seedDemo(ctx context.Context, store *sqlstore.DB, stdout io.Writer, log *slog.Logger) error {
	existing, err := store.Providers(ctx, 1)
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		fmt.Fprintf(stdout, "loading demo data: %d residents, %d providers around Zibo…\n", demoResidents, demoProviders)
		if err := seed(ctx, store, demoResidents, demoProviders, nil); err != nil {
			return err
		}
	}
	if err := seedHours(ctx, store, stdout); err != nil {
		return err
	}
	orgID, err := demoOrgID(ctx, store)
	if err != nil {
		return err
	}
	for _, a := range demoAccounts {
		if _, err := store.UserByUsername(ctx, a.username); err == nil {
			continue
		}
		u := &carehex.User{Username: a.username, Role: a.role}
		if a.role.OrgRole() {
			u.OrgID = orgID
		}
		if err := saveUser(ctx, store, u, a.password); err != nil {
			return fmt.Errorf("demo account %s: %w", a.username, err)
		}
		log.Info("demo.account", "username", a.username, "role", a.role)
	}
	fmt.Fprintln(stdout, "demo logins (username / password):")
	for _, a := range demoAccounts {
		fmt.Fprintf(stdout, "  %-11s / %-20s %s\n", a.username, a.password, a.role)
	}
	fmt.Fprintf(stdout, "  (orgdispatch and orgadmin work for %s)\n", demoOrgName())
	return nil
}

func seed(ctx context.Context, store *sqlstore.DB, residents, providers int, progress func(done, total int)) error {
	types, err := catalog.Load()
	if err != nil {
		return err
	}
	// Organisations first, so that each provider joins the one it names.
	if err := demo.SeedOrganisations(ctx, store, serviceCodes(types), demo.SettlementFrom); err != nil {
		return err
	}
	return demo.Seed(ctx, store, 1, residents, providers, catalog.Skills(types), progress)
}

// demoSeed loads the full-scale synthetic city.
func demoSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("demo seed", flag.ContinueOnError)
	cfg.storeFlags(fs)
	residents := fs.Int("residents", cityResidents, "how many residents")
	providers := fs.Int("providers", cityProviders, "how many providers")
	historyText := fs.String("history", "", "also write this much past of requests and visits, e.g. 365d, and build the dashboard's rollups (people are seeded first only into an empty database)")
	perDay := fs.Int("per-day", historyPerDay, "with --history: requests a day on average")
	endText := fs.String("history-end", "", "with --history: the China day after the last one written (default today), to extend a history backwards")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var history time.Duration
	if *historyText != "" {
		var err error
		if history, err = parseRetention("--history", *historyText, 0); err != nil {
			return err
		}
		if *perDay < 1 || *perDay > 100_000 {
			return fmt.Errorf("--per-day must be 1…100000, got %d", *perDay)
		}
	}
	end := time.Now()
	if *endText != "" {
		var err error
		if end, err = time.ParseInLocation("2006-01-02", *endText, carehex.CST); err != nil {
			return fmt.Errorf("--history-end %q must be a date like 2026-12-03", *endText)
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if *residents < 0 || *residents > 1_000_000 || *providers < 0 || *providers > 20_000 {
		return fmt.Errorf("--residents must be 0…1000000 and --providers 0…20000")
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	if history > 0 {
		existing, err := store.Providers(ctx, 1)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return seedHistory(ctx, store, int(history/(24*time.Hour)), *perDay, end, cfg.Dash.targets(), stdout)
		}
	}
	last := -1
	err = seed(ctx, store, *residents, *providers, func(done, total int) {
		if pct := done * 100 / max(total, 1); pct/10 != last/10 {
			last = pct
			fmt.Fprintf(stdout, "seeded %d/%d\n", done, total)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d residents and %d providers\n", *residents, *providers)
	if err := seedHours(ctx, store, stdout); err != nil {
		return err
	}
	if history > 0 {
		return seedHistory(ctx, store, int(history/(24*time.Hour)), *perDay, end, cfg.Dash.targets(), stdout)
	}
	return nil
}

// seedHours gives every demo carer without working hours the demo's
// (demo.WorkingHoursFor), so the roster has someone to place planned
// visits with; carers that have hours keep them.
func seedHours(ctx context.Context, store *sqlstore.DB, stdout io.Writer) error {
	ps, err := store.Providers(ctx, cityProviders*10)
	if err != nil {
		return err
	}
	n, err := demo.SeedWorkingHours(ctx, store, ps)
	if n > 0 {
		fmt.Fprintf(stdout, "set working hours of %d carers\n", n)
	}
	return err
}

// serviceCodes lists the catalogue's codes: what the demo contracts cover.
func serviceCodes(types []*carehex.ServiceType) []string {
	codes := make([]string, len(types))
	for i, t := range types {
		codes[i] = t.Code
	}
	return codes
}

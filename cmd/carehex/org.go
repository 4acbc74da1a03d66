package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/carehex/carehex"
)

// orgAdd is `carehex org add --name N --kind K --price-fen N [--services
// CODES] [--requires-card-scan]`: a service organisation and its contract
// paying a price per visit for the services (every service of the
// catalogue by default) from the start of this month, open-ended. It is
// how a district registers a contractor without the demo data, and how
// the browser test gets one whose contract asks for the card.
func orgAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("org add", flag.ContinueOnError)
	cfg.storeFlags(fs)
	name := fs.String("name", "", "the organisation's name (required)")
	kind := fs.String("kind", string(carehex.OrgContractor), "contractor, community_centre or volunteer_station")
	price := fs.Int64("price-fen", 0, "the contract's price per visit in fen (required), e.g. 4000 for 40 元")
	services := fs.String("services", "", "comma-separated service codes the contract pays for; empty: every service")
	card := fs.Bool("requires-card-scan", false, "a visit is payable only with the elder's service card scanned at arrival and completion")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" || *price <= 0 {
		return errors.New("--name and a positive --price-fen are required")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	codes := strings.FieldsFunc(*services, func(r rune) bool { return r == ',' || r == ' ' })
	if len(codes) == 0 {
		types, err := store.ServiceTypes(ctx)
		if err != nil {
			return err
		}
		codes = serviceCodes(types)
	}
	o := &carehex.Organisation{Name: strings.TrimSpace(*name), Kind: carehex.OrgKind(*kind), Active: true}
	if err := store.CreateOrganisation(ctx, o); err != nil {
		return err
	}
	from, _ := carehex.MonthOf(time.Now(), carehex.CST).Bounds(carehex.CST)
	c := &carehex.Contract{OrgID: o.ID, Services: codes, Unit: carehex.UnitVisit, PriceFen: *price, ValidFrom: from,
		RequiresCardScan: *card}
	if err := store.CreateContract(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "organisation %s (%s), contract %s\n", o.ID, o.Name, c.ID)
	return nil
}

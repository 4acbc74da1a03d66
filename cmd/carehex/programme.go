package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/plan"
)

// programmeCompliance is `carehex programme compliance [--month YYYY-MM]
// [--category C] [--data DIR]`: the visiting programmes' (探访关爱) month
// per category, street and organisation, then who is overdue; its last
// line is one JSON object. The same figures as
// PlanCareService/GetProgrammeCompliance.
func programmeCompliance(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("programme compliance", flag.ContinueOnError)
	cfg.storeFlags(fs)
	monthFlag := fs.String("month", "", "the month, YYYY-MM (default this month, China Standard Time)")
	category := fs.String("category", "", "one subsidy category's programme (default all)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	month := time.Now().In(carehex.CST)
	if *monthFlag != "" {
		m, err := time.ParseInLocation("2006-01", *monthFlag, carehex.CST)
		if err != nil {
			return fmt.Errorf("--month must be a month as YYYY-MM, e.g. 2026-03 (got %q)", *monthFlag)
		}
		month = m
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := plan.New(store, nil, time.Now, nil, 0).Compliance(ctx, month, carehex.Trimmed(*category))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tcategory\tstreet\torganisation\tresidents\tmet\toverdue\n", c.Month)
	total := struct {
		Month     string `json:"programme_compliance"`
		Residents int    `json:"residents"`
		Met       int    `json:"met"`
		Overdue   int    `json:"overdue"`
	}{Month: c.Month}
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "\t%s\t%s\t%s\t%d\t%d\t%d\n", r.Category, r.Street, r.OrganisationID, r.Residents, r.Met, r.Overdue)
		total.Residents, total.Met, total.Overdue = total.Residents+r.Residents, total.Met+r.Met, total.Overdue+r.Overdue
	}
	tw.Flush()
	if len(c.Overdue) > 0 {
		fmt.Fprintln(stdout, "\noverdue:")
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, s := range c.Overdue {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d of %d done\n", s.ResidentID, s.ResidentName, s.Street, s.OrganisationID, s.Done, s.Required)
		}
		tw.Flush()
	}
	line, err := json.Marshal(total)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}

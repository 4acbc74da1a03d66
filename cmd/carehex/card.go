package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/cardprint"
	"github.com/carehex/carehex/settle"
)

// cardPrint is `carehex card print --resident ID|--all --out DIR`: each
// resident's service card as <out>/card-<resident number>.png (the QR of
// the signed code, the short code and the pseudonymous number), signed
// with CAREHEX_CARD_KEY or the key kept in the database. Each card printed
// is in the audit trail.
func cardPrint(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("card print", flag.ContinueOnError)
	cfg.storeFlags(fs)
	resident := fs.String("resident", "", "the resident whose card to print")
	all := fs.Bool("all", false, "print the card of every resident the hotline serves")
	out := fs.String("out", "", "directory for the PNG files (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *out == "":
		return errors.New("--out DIR is required")
	case (*resident == "") == !*all:
		return errors.New("give either --resident ID or --all")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := carehex.LoadCardKey(ctx, cfg.CardKey, store)
	if err != nil {
		return err
	}
	ids := []string{*resident}
	if *all {
		if ids, err = store.ServedResidentIDs(ctx); err != nil {
			return err
		}
	} else if _, err := store.Resident(ctx, *resident); err != nil {
		return fmt.Errorf("--resident %q: %w", *resident, err)
	}
	if err := os.MkdirAll(*out, 0o750); err != nil {
		return err
	}
	for _, id := range ids {
		number := settle.Pseudonym(id)
		img, err := cardprint.PNG(key.Payload(id), key.ShortCode(id), number)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, "card-"+number+".png")
		if err := os.WriteFile(path, img, 0o640); err != nil {
			return err
		}
		if err := store.Audit(ctx, &carehex.AuditRecord{Actor: "cli:card print", Action: "resident.card_print", ObjectType: "resident", ObjectID: id,
			Detail: number}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d service cards to %s\n", len(ids), *out)
	return nil
}

package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/auth"
)

// userAdd creates a console account; the password comes on stdin so it never
// appears in a process list or shell history.
func userAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	cfg.storeFlags(fs)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", "operator, supervisor, admin, org_dispatcher or org_admin")
	area := fs.String("area", "", "with --role supervisor: the one district (e.g. 张店区) or street (张店区/车站街道) the account sees; default the whole city")
	org := fs.String("org", "", "with --role org_dispatcher or org_admin: the organisation ID (org_…) the account belongs to")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if strings.TrimSpace(*username) == "" {
		return fmt.Errorf("--username is required")
	}
	r, err := carehex.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("--role: %s", carehex.ErrorMessage(err))
	}
	if !*fromStdin {
		return fmt.Errorf("--password-stdin is required: pipe the password in (echo \"$PASSWORD\" | carehex user add …)")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password: %w", err)
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	u := &carehex.User{Username: strings.TrimSpace(*username), Role: r, Area: strings.TrimSpace(*area), OrgID: strings.TrimSpace(*org)}
	if err := saveUser(ctx, store, u, strings.TrimRight(line, "\r\n")); err != nil {
		switch carehex.ErrorField(err) {
		case "area":
			return fmt.Errorf("--area: %s", carehex.ErrorMessage(err))
		case "org_id":
			return fmt.Errorf("--org: %s", carehex.ErrorMessage(err))
		}
		return err
	}
	if u.Area != "" {
		fmt.Fprintf(stdout, "created %s user %s (%s), limited to %s\n", u.Role, u.Username, u.ID, u.Area)
		return nil
	}
	if u.OrgID != "" {
		fmt.Fprintf(stdout, "created %s user %s (%s) of organisation %s\n", u.Role, u.Username, u.ID, u.OrgID)
		return nil
	}
	fmt.Fprintf(stdout, "created %s user %s (%s)\n", u.Role, u.Username, u.ID)
	return nil
}

func createUser(ctx context.Context, store carehex.AuthStore, username string, role carehex.Role, password string) (*carehex.User, error) {
	u := &carehex.User{Username: strings.TrimSpace(username), Role: role}
	return u, saveUser(ctx, store, u, password)
}

// saveUser hashes password into u and saves u.
func saveUser(ctx context.Context, store carehex.AuthStore, u *carehex.User, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("password: %s", carehex.ErrorMessage(err))
	}
	u.PasswordHash = hash
	if err := store.CreateUser(ctx, u); err != nil {
		if carehex.ErrorCode(err) == carehex.ECONFLICT {
			return fmt.Errorf("user %q already exists", u.Username)
		}
		return err
	}
	return nil
}

// userAccess runs `carehex user unlock|disable|enable --username U`: lift a
// login lockout, or withdraw and restore an account, for an administrator at
// the server (e.g. when the only admin is the one locked out). Disabling
// revokes every session of the account at once.
func userAccess(ctx context.Context, verb string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultConfig(getenv)
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	cfg.storeFlags(fs)
	username := fs.String("username", "", "login name")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	name := carehex.Trimmed(*username)
	if name == "" {
		return fmt.Errorf("--username is required")
	}
	store, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	switch verb {
	case "unlock":
		cleared, err := store.UnlockLogin(ctx, carehex.UserThrottleKey(name))
		if err != nil {
			return err
		}
		if !cleared {
			fmt.Fprintf(stdout, "user %s had no failed logins to clear\n", name)
			return nil
		}
		fmt.Fprintf(stdout, "unlocked logins of user %s\n", name)
	default:
		u, err := store.SetUserDisabled(ctx, name, verb == "disable")
		if carehex.ErrorCode(err) == carehex.ENOTFOUND {
			return fmt.Errorf("no user %q", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%sd user %s (%s)\n", verb, u.Username, u.ID)
	}
	return nil
}

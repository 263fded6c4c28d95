package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/blobdir"
	"github.com/wxlogin/wxlogin/store/pgstore"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

func init() {
	commands["migrate"] = command{Summary: "apply the store's embedded migrations (--status lists them), or copy a SQLite store to PostgreSQL (--from, --to)", Run: runMigrate}
}

func runMigrate(ctx context.Context, args []string, e env) int {
	flags := flag.NewFlagSet("migrate", flag.ContinueOnError)
	flags.SetOutput(e.Stderr)
	configPath := flags.String("config", "", "YAML config file; the store URL may also come from WXLOGIN_STORE")
	from := flags.String("from", "", "copy from this sqlite:/// store (with --to)")
	to := flags.String("to", "", "copy into this postgres:// store (with --from); the password from WXLOGIN_STORE_PASSWORD(_FILE)")
	fromData := flags.String("from-data", "", "the source's data folder holding avatars/ (default: the folder of the SQLite file)")
	status := flags.Bool("status", false, "print the applied and pending migrations and change nothing; exit 0 when up to date, 3 when migrations are pending, 1 when the schema is newer than this wxlogin")
	force := flags.Bool("force", false, "copy into a target that already holds data; records are upserted by id, so this also resumes an interrupted copy")
	if flags.Parse(args) != nil {
		return 2
	}
	if *from != "" || *to != "" {
		if *from == "" || *to == "" {
			fmt.Fprintln(e.Stderr, "wxlogin migrate: --from and --to go together")
			return 2
		}
		if err := copyStore(ctx, e, *from, *to, *fromData, *force); err != nil {
			fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
			return 1
		}
		return 0
	}
	if *configPath == "" {
		*configPath = e.Getenv("WXLOGIN_CONFIG")
	}
	c, err := readConfig(*configPath, e.Getenv)
	if err == nil {
		err = c.resolveStorePassword(e.Getenv)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	if *status {
		return migrateStatus(ctx, e, &c)
	}
	s, err := openStores(ctx, &c, openOptions{noMigrate: true})
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	defer s.Close()
	db := s.migrator
	before, err := db.AppliedMigrations(ctx)
	if err != nil {
		// A PostgreSQL database never migrated has no schema_migrations.
		before = nil
	}
	err = db.Migrate(ctx)
	var after []string
	if err == nil {
		after, err = db.AppliedMigrations(ctx)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	for _, name := range after[len(before):] {
		fmt.Fprintf(e.Stdout, "wxlogin migrate: applied %s\n", name)
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: %s is up to date (%d migrations)\n", redactURL(c.Store), len(after))
	return 0
}

// Exit codes of migrate --status, so that a deploy script can tell "nothing
// to do" from "run migrate" from "wrong version".
const (
	statusUpToDate = 0
	statusNewer    = 1
	statusPending  = 3
)

// migrateStatus prints every migration this build knows as applied or
// pending, and any the database records that it does not know.
func migrateStatus(ctx context.Context, e env, c *config) int {
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	kind, path, err := parseStore(c.Store)
	if err != nil {
		return fail(err)
	}
	var st schemaStatus
	if _, serr := os.Stat(path); kind == kindSQLite && errors.Is(serr, fs.ErrNotExist) {
		// Opening would create the file: a status check changes nothing.
		st = statusOf(sqlitestore.KnownMigrations(), nil)
		fmt.Fprintf(e.Stdout, "wxlogin migrate: no database at %s yet\n", path)
	} else {
		s, err := openStores(ctx, c, openOptions{noMigrate: true})
		if err != nil {
			return fail(err)
		}
		defer s.Close()
		if st, err = readSchemaStatus(ctx, s.migrator); err != nil {
			return fail(err)
		}
	}
	for _, name := range st.Applied {
		fmt.Fprintf(e.Stdout, "applied  %s\n", name)
	}
	for _, name := range st.Pending {
		fmt.Fprintf(e.Stdout, "pending  %s\n", name)
	}
	for _, name := range st.Unknown {
		fmt.Fprintf(e.Stdout, "unknown  %s (applied by a newer wxlogin)\n", name)
	}
	switch {
	case len(st.Unknown) > 0:
		fmt.Fprintf(e.Stdout, "wxlogin migrate: %s has a schema newer than this wxlogin; it will not serve it\n", redactURL(c.Store))
		return statusNewer
	case len(st.Pending) > 0:
		fmt.Fprintf(e.Stdout, "wxlogin migrate: %s: %d applied, %d pending (run wxlogin migrate)\n", redactURL(c.Store), len(st.Applied), len(st.Pending))
		return statusPending
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: %s is up to date (%d migrations)\n", redactURL(c.Store), len(st.Applied))
	return statusUpToDate
}

// copyPage is how many records one step of a copy reads and writes.
const copyPage = 500

// copyStore copies every user, session and avatar of a SQLite store into a
// PostgreSQL store. It walks each table in id order and upserts, so running
// it again after an interruption finishes the copy; it holds the source's
// instance lock throughout, so no server changes the source meanwhile.
func copyStore(ctx context.Context, e env, from, to, fromData string, force bool) error {
	kind, path, err := parseStore(from)
	if err != nil || kind != kindSQLite {
		return fmt.Errorf("--from: %s is not a sqlite:/// store URL", redactURL(from))
	}
	if kind, _, err := parseStore(to); err != nil {
		return fmt.Errorf("--to: %v", err)
	} else if kind != kindPostgres {
		return fmt.Errorf("--to: %s is not a postgres:// store URL", redactURL(to))
	}
	unlock, err := lockInstance(path)
	if err != nil {
		return fmt.Errorf("--from: %v; stop the server first: a copy of a live store would bring back sessions revoked during the copy", err)
	}
	defer unlock()
	src, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("--from: %v", err)
	}
	defer src.Close()
	if fromData == "" {
		fromData = filepath.Dir(path)
	}
	blobs, err := blobdir.New(filepath.Join(fromData, "avatars"))
	if err != nil {
		return fmt.Errorf("--from-data: %v", err)
	}
	var c config
	if err := c.resolveStorePassword(e.Getenv); err != nil {
		return err
	}
	dst, err := pgstore.Open(ctx, to, pgstore.Options{Password: c.storePassword})
	if err != nil {
		return fmt.Errorf("--to: %v", err)
	}
	defer dst.Close()

	srcUsers, srcSessions, err := src.Counts(ctx)
	if err != nil {
		return fmt.Errorf("--from: %v", err)
	}
	dstUsers, dstSessions, dstBlobs, err := dst.Counts(ctx)
	if err != nil {
		return fmt.Errorf("--to: %v", err)
	}
	if dstUsers+dstSessions+dstBlobs > 0 && !force {
		return fmt.Errorf("--to: %s already holds %d users, %d sessions and %d blobs; pass --force to copy into it anyway (this also resumes an interrupted copy)",
			redactURL(to), dstUsers, dstSessions, dstBlobs)
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: copying %d users and %d sessions from %s to %s\n", srcUsers, srcSessions, path, redactURL(to))

	progress := newProgress(e, time.Second)
	var (
		users, avatars, missingAvatars int
		after                          string
	)
	for {
		page, err := src.ExportUsers(ctx, after, copyPage)
		if err != nil {
			return fmt.Errorf("--from: %v", err)
		}
		if len(page) == 0 {
			break
		}
		if err := dst.ImportUsers(ctx, page); err != nil {
			return fmt.Errorf("--to: %v", err)
		}
		for _, u := range page {
			if u.Profile.AvatarID == "" {
				continue
			}
			b, err := blobs.Blob(ctx, u.Profile.AvatarID)
			if errors.Is(err, wxlogin.ErrNotFound) {
				missingAvatars++
				continue
			}
			if err != nil {
				return fmt.Errorf("--from-data: avatar of user %s: %v", u.ID, err)
			}
			if err := dst.PutBlob(ctx, b); err != nil {
				return fmt.Errorf("--to: %v", err)
			}
			avatars++
		}
		users += len(page)
		after = page[len(page)-1].ID
		progress.report("users", users, srcUsers)
	}
	sessions := 0
	after = ""
	for {
		page, err := src.ExportSessions(ctx, after, copyPage)
		if err != nil {
			return fmt.Errorf("--from: %v", err)
		}
		if len(page) == 0 {
			break
		}
		if err := dst.ImportSessions(ctx, page); err != nil {
			return fmt.Errorf("--to: %v", err)
		}
		sessions += len(page)
		after = page[len(page)-1].ID
		progress.report("sessions", sessions, srcSessions)
	}

	// The webhook outbox: events not yet delivered must survive the move,
	// and the finished ones stay listed.
	deliveries := 0
	after = ""
	for {
		page, err := src.ExportDeliveries(ctx, after, copyPage)
		if err != nil {
			return fmt.Errorf("--from: %v", err)
		}
		if len(page) == 0 {
			break
		}
		if err := dst.ImportDeliveries(ctx, page); err != nil {
			return fmt.Errorf("--to: %v", err)
		}
		deliveries += len(page)
		after = page[len(page)-1].ID
	}
	if deliveries > 0 {
		fmt.Fprintf(e.Stdout, "wxlogin migrate: copied %d webhook deliveries\n", deliveries)
	}

	gotUsers, gotSessions, _, err := dst.Counts(ctx)
	if err != nil {
		return fmt.Errorf("--to: %v", err)
	}
	// Without --force the target was empty and must now hold exactly the
	// source; with it, at least the source.
	if users != srcUsers || sessions != srcSessions ||
		(!force && (gotUsers != srcUsers || gotSessions != srcSessions)) ||
		gotUsers < srcUsers || gotSessions < srcSessions {
		return fmt.Errorf("counts differ: source %d users, %d sessions; copied %d, %d; target holds %d, %d",
			srcUsers, srcSessions, users, sessions, gotUsers, gotSessions)
	}
	if missingAvatars > 0 {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %d users name an avatar that is not in %s\n", missingAvatars, filepath.Join(fromData, "avatars"))
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: copied %d users, %d sessions and %d avatars; counts match\n", users, sessions, avatars)
	return nil
}

// progress prints how far a long copy has got, at most once per interval.
type progress struct {
	e     env
	every time.Duration
	last  time.Time
}

func newProgress(e env, every time.Duration) *progress {
	return &progress{e: e, every: every, last: time.Now()}
}

func (p *progress) report(what string, done, total int) {
	if done < total && time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.e.Stdout, "wxlogin migrate: %s %d/%d\n", what, done, total)
}

package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/store/blobdir"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

func init() {
	commands["backup"] = command{Summary: "write a consistent copy of a live SQLite store and its avatars to one archive (--to)", Run: runBackup}
	commands["restore"] = command{Summary: "bring a backup archive back into a stopped server's data folder (--from)", Run: runRestore}
}

// A backup archive is a gzipped tar of three kinds of entries, in this
// order: the manifest, the database file, and avatars/<id>.blob for every
// avatar the database references (blobdir's files, byte for byte).
const (
	manifestName   = "wxlogin-backup.json"
	databaseName   = "wxlogin.db"
	avatarsPrefix  = "avatars/"
	blobSuffix     = ".blob"
	backupFormat   = "wxlogin-backup 1"
	snapshotTrials = 3
)

// manifest says what an archive holds; restore checks the archive against
// it. It holds no secret: counts, names and a time.
type manifest struct {
	Format     string    `json:"format"`
	CreatedAt  time.Time `json:"created_at"`
	Users      int       `json:"users"`
	Sessions   int       `json:"sessions"`
	Avatars    int       `json:"avatars"`
	Migrations []string  `json:"migrations"`
}

// postgresBackupAdvice is the answer to backup and restore of a
// PostgreSQL store: its own tools copy it consistently, avatars included.
const postgresBackupAdvice = "a postgres:// store is backed up with PostgreSQL's tools, avatars included: pg_dump --format=custom --file=wxlogin.dump DBNAME, and pg_restore --clean --dbname=DBNAME wxlogin.dump (see the README)"

func runBackup(ctx context.Context, args []string, e env) int {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	flags.SetOutput(e.Stderr)
	configPath := flags.String("config", "", "YAML config file; the store URL and data folder may also come from WXLOGIN_STORE and WXLOGIN_DATA")
	to := flags.String("to", "", "the archive to write (a .tar.gz); written to a temporary file beside it and renamed when complete")
	if flags.Parse(args) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin backup: %v\n", err)
		return 1
	}
	if *to == "" {
		fmt.Fprintln(e.Stderr, "wxlogin backup: --to FILE is required")
		return 2
	}
	path, avatars, err := sqliteLocation(*configPath, e)
	if err != nil {
		return fail(err)
	}
	if _, err := os.Stat(path); err != nil {
		return fail(fmt.Errorf("store: %v", err))
	}
	m, err := backupSQLite(ctx, path, avatars, *to)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(e.Stdout, "wxlogin backup: wrote %s: %d users, %d sessions, %d avatars\n", *to, m.Users, m.Sessions, m.Avatars)
	fmt.Fprintln(e.Stdout, "wxlogin backup: keep the master key too, apart from this file: without it the sealed session keys and personal data in it cannot be read")
	return 0
}

// sqliteLocation returns the SQLite file and the avatar folder of the
// configured store, refusing a PostgreSQL store with advice.
func sqliteLocation(configPath string, e env) (path, avatars string, err error) {
	if configPath == "" {
		configPath = e.Getenv("WXLOGIN_CONFIG")
	}
	c, err := readConfig(configPath, e.Getenv)
	if err != nil {
		return "", "", err
	}
	kind, path, err := parseStore(c.Store)
	if err != nil {
		return "", "", err
	}
	if kind == kindPostgres {
		return "", "", errors.New(postgresBackupAdvice)
	}
	dataDir := c.Data
	if dataDir == "" {
		dataDir = filepath.Dir(path)
	}
	return path, filepath.Join(dataDir, "avatars"), nil
}

// backupSQLite writes the archive of the live store at path to the file
// to, atomically. A server may be writing meanwhile; it is never stopped
// or slowed beyond sharing the disk.
//
// The database is copied in one read transaction (SnapshotTo). Avatars are
// files beside it that the server writes before a user references one and
// deletes after no user does, so the copy runs in three steps: every
// avatar file present, then the database, then the avatar files created
// since. An avatar the snapshot references is then in hand unless it was
// both created and deleted around the snapshot (a user replacing an avatar
// twice within those milliseconds); the snapshot is then taken again.
func backupSQLite(ctx context.Context, path, avatarDir, to string) (manifest, error) {
	absTo, err := filepath.Abs(to)
	if err != nil {
		return manifest{}, err
	}
	// Staging beside the archive: the same filesystem, so the final rename
	// is atomic, and never inside the live data folder.
	staging, err := os.MkdirTemp(filepath.Dir(absTo), ".wxlogin-backup-")
	if err != nil {
		return manifest{}, fmt.Errorf("--to: %v", err)
	}
	defer os.RemoveAll(staging)
	stagedAvatars := filepath.Join(staging, "avatars")
	if err := os.Mkdir(stagedAvatars, 0o700); err != nil {
		return manifest{}, err
	}

	live, err := sqlitestore.OpenOptions(ctx, path, sqlitestore.Options{NoMigrate: true})
	if err != nil {
		return manifest{}, fmt.Errorf("store: %v", err)
	}
	defer live.Close()

	copied := map[string]bool{}
	copyNew := func() error {
		entries, err := os.ReadDir(avatarDir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no avatar uploaded yet
		}
		if err != nil {
			return fmt.Errorf("avatars: %v", err)
		}
		for _, ent := range entries {
			id, ok := strings.CutSuffix(ent.Name(), blobSuffix)
			if !ok || !blobdir.ValidID(id) || copied[id] || !ent.Type().IsRegular() {
				continue // blobdir's temporary files, and files not its own
			}
			err := copyFile(filepath.Join(avatarDir, ent.Name()), filepath.Join(stagedAvatars, ent.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since the listing: no longer referenced
			}
			if err != nil {
				return fmt.Errorf("avatars: %v", err)
			}
			copied[id] = true
		}
		return nil
	}

	if err := copyNew(); err != nil {
		return manifest{}, err
	}
	dbCopy := filepath.Join(staging, databaseName)
	var snap sqlitestore.Snapshot
	for trial := 1; ; trial++ {
		os.Remove(dbCopy)
		if snap, err = live.SnapshotTo(ctx, dbCopy); err != nil {
			return manifest{}, err
		}
		if err := copyNew(); err != nil {
			return manifest{}, err
		}
		var missing []string
		for _, id := range snap.AvatarIDs {
			if !copied[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if trial == snapshotTrials {
			return manifest{}, fmt.Errorf("avatars: %d avatars the database references are not in %s (%s); the store may be damaged", len(missing), avatarDir, strings.Join(missing, ", "))
		}
	}

	// Two users never share an avatar id, but the archive must not hold an
	// entry twice even if a damaged store says they do.
	ids := slices.Compact(snap.AvatarIDs)
	m := manifest{
		Format:     backupFormat,
		CreatedAt:  time.Now().UTC(),
		Users:      snap.Users,
		Sessions:   snap.Sessions,
		Avatars:    len(ids),
		Migrations: snap.Migrations,
	}
	if err := writeArchive(absTo, m, dbCopy, stagedAvatars, ids); err != nil {
		return manifest{}, fmt.Errorf("--to: %v", err)
	}
	return m, nil
}

// writeArchive writes the archive to a temporary file beside to, syncs it
// and renames it into place, so that to is either the old file or the
// whole new archive. Only referenced avatars go in: an unreferenced file
// may be the avatar of a user erased since.
func writeArchive(to string, m manifest, dbFile, avatarDir string, avatarIDs []string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(to), ".wxlogin-backup-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	if err := addFile(tw, databaseName, dbFile, m.CreatedAt); err != nil {
		return err
	}
	for _, id := range avatarIDs {
		if err := addFile(tw, avatarsPrefix+id+blobSuffix, filepath.Join(avatarDir, id+blobSuffix), m.CreatedAt); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func addFile(tw *tar.Writer, name, path string, mtime time.Time) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// copyFile copies src to a new file dst (mode 0600).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func runRestore(ctx context.Context, args []string, e env) int {
	flags := flag.NewFlagSet("restore", flag.ContinueOnError)
	flags.SetOutput(e.Stderr)
	configPath := flags.String("config", "", "YAML config file; the store URL and data folder may also come from WXLOGIN_STORE and WXLOGIN_DATA")
	from := flags.String("from", "", "the archive wxlogin backup wrote")
	force := flags.Bool("force", false, "replace a database and avatars already in the data folder (they are lost)")
	if flags.Parse(args) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(e.Stderr, "wxlogin restore: %v\n", err)
		return 1
	}
	if *from == "" {
		fmt.Fprintln(e.Stderr, "wxlogin restore: --from FILE is required")
		return 2
	}
	path, avatars, err := sqliteLocation(*configPath, e)
	if err != nil {
		return fail(err)
	}
	m, err := restoreSQLite(ctx, *from, path, avatars, *force)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(e.Stdout, "wxlogin restore: restored %d users, %d sessions and %d avatars as they were at %s into %s\n",
		m.Users, m.Sessions, m.Avatars, m.CreatedAt.Format(time.RFC3339), path)
	fmt.Fprintln(e.Stdout, "wxlogin restore: start the server with the master key it had then; sessions revoked and users erased since the backup are back")
	return 0
}

// restoreSQLite unpacks the archive from into the database file path and
// the avatar folder, holding the instance lock so that no server starts
// meanwhile (and refusing while one runs). Everything is unpacked and
// checked beside its destination first; only then does it replace what is
// there.
func restoreSQLite(ctx context.Context, from, path, avatarDir string, force bool) (manifest, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return manifest{}, fmt.Errorf("store: %v", err)
	}
	unlock, err := lockInstance(path)
	if err != nil {
		return manifest{}, fmt.Errorf("store: %v; stop the server first", err)
	}
	defer unlock()
	if !force {
		if _, err := os.Stat(path); err == nil {
			return manifest{}, fmt.Errorf("store: %s already holds a database; pass --force to replace it and its avatars (they are lost)", path)
		}
		if entries, err := os.ReadDir(avatarDir); err == nil && len(entries) > 0 {
			return manifest{}, fmt.Errorf("data: %s already holds files; pass --force to replace them", avatarDir)
		}
	}
	if err := os.MkdirAll(filepath.Dir(avatarDir), 0o700); err != nil {
		return manifest{}, fmt.Errorf("data: %v", err)
	}
	dbStaging, err := os.MkdirTemp(filepath.Dir(path), ".wxlogin-restore-")
	if err != nil {
		return manifest{}, fmt.Errorf("store: %v", err)
	}
	defer os.RemoveAll(dbStaging)
	avatarStaging, err := os.MkdirTemp(filepath.Dir(avatarDir), ".wxlogin-restore-avatars-")
	if err != nil {
		return manifest{}, fmt.Errorf("data: %v", err)
	}
	defer os.RemoveAll(avatarStaging)

	dbFile := filepath.Join(dbStaging, databaseName)
	m, avatarIDs, err := unpack(from, dbFile, filepath.Join(avatarStaging, "avatars"))
	if err != nil {
		return manifest{}, fmt.Errorf("--from %s: %v", from, err)
	}
	snap, err := sqlitestore.CheckSnapshot(ctx, dbFile)
	if err != nil {
		return manifest{}, fmt.Errorf("--from %s: %v", from, err)
	}
	if snap.Users != m.Users || snap.Sessions != m.Sessions {
		return manifest{}, fmt.Errorf("--from %s: the database holds %d users and %d sessions, the manifest says %d and %d", from, snap.Users, snap.Sessions, m.Users, m.Sessions)
	}
	for _, id := range snap.AvatarIDs {
		if !avatarIDs[id] {
			return manifest{}, fmt.Errorf("--from %s: avatar %s, which the database references, is not in the archive", from, id)
		}
	}
	if err := syncDir(filepath.Join(avatarStaging, "avatars")); err != nil {
		return manifest{}, err
	}

	// Install. A -wal or -shm file beside path belongs to the database
	// being replaced: SQLite would replay that log into the restored file.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return manifest{}, fmt.Errorf("store: %v", err)
		}
	}
	if err := os.Rename(dbFile, path); err != nil {
		return manifest{}, fmt.Errorf("store: %v", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return manifest{}, fmt.Errorf("store: %v", err)
	}
	old := filepath.Join(avatarStaging, "replaced")
	if err := os.Rename(avatarDir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return manifest{}, fmt.Errorf("data: %v", err)
	}
	if err := os.Rename(filepath.Join(avatarStaging, "avatars"), avatarDir); err != nil {
		return manifest{}, fmt.Errorf("data: %v", err)
	}
	if err := syncDir(filepath.Dir(avatarDir)); err != nil {
		return manifest{}, fmt.Errorf("data: %v", err)
	}
	return m, nil
}

// maxManifestBytes bounds the manifest read into memory.
const maxManifestBytes = 1 << 20

// unpack reads the archive at from, writing its database to dbFile and its
// avatars into the new folder avatarDir. It accepts only the entries
// backup writes, so that no name in the archive can place a file anywhere
// else.
func unpack(from, dbFile, avatarDir string) (manifest, map[string]bool, error) {
	f, err := os.Open(from)
	if err != nil {
		return manifest{}, nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return manifest{}, nil, fmt.Errorf("not a wxlogin backup (%v)", err)
	}
	if err := os.Mkdir(avatarDir, 0o700); err != nil {
		return manifest{}, nil, err
	}
	tr := tar.NewReader(gz)
	var (
		m      manifest
		seenDB bool
		ids    = map[string]bool{}
	)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return manifest{}, nil, fmt.Errorf("damaged archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			return manifest{}, nil, fmt.Errorf("unexpected entry %q", h.Name)
		}
		switch id, isAvatar := strings.CutPrefix(h.Name, avatarsPrefix); {
		case h.Name == manifestName:
			b, err := io.ReadAll(io.LimitReader(tr, maxManifestBytes))
			if err != nil {
				return manifest{}, nil, fmt.Errorf("damaged archive: %v", err)
			}
			if err := json.Unmarshal(b, &m); err != nil || m.Format != backupFormat {
				return manifest{}, nil, fmt.Errorf("the manifest is not %q", backupFormat)
			}
		case m.Format == "":
			return manifest{}, nil, errors.New("not a wxlogin backup (no manifest first)")
		case h.Name == databaseName && !seenDB:
			if err := writeNew(dbFile, tr); err != nil {
				return manifest{}, nil, err
			}
			seenDB = true
		case isAvatar && strings.HasSuffix(id, blobSuffix) && blobdir.ValidID(strings.TrimSuffix(id, blobSuffix)) && !ids[strings.TrimSuffix(id, blobSuffix)]:
			id = strings.TrimSuffix(id, blobSuffix)
			if err := writeNew(filepath.Join(avatarDir, id+blobSuffix), tr); err != nil {
				return manifest{}, nil, err
			}
			ids[id] = true
		default:
			return manifest{}, nil, fmt.Errorf("unexpected entry %q", h.Name)
		}
	}
	if !seenDB {
		return manifest{}, nil, errors.New("the archive holds no database")
	}
	if len(ids) != m.Avatars {
		return manifest{}, nil, fmt.Errorf("the archive holds %d avatars, the manifest says %d", len(ids), m.Avatars)
	}
	return m, ids, nil
}

// writeNew writes r to a new file at path (mode 0600) and syncs it.
func writeNew(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("damaged archive: %v", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

package sqlitestore

import (
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/wxlogin/wxlogin"
)

// stRdonly is ST_RDONLY of statfs(2)'s f_flags.
const stRdonly = 0x1

// checkFilesystem reports the filesystem of the database read-only or
// (nearly) full. SQLite only finds out at a commit, and a commit is not
// something a health check may make.
func checkFilesystem(path string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return fmt.Errorf("%w: statfs %s: %v", wxlogin.ErrUnavailable, filepath.Dir(path), err)
	}
	if st.Flags&stRdonly != 0 {
		return readOnlyError(path)
	}
	if free := uint64(st.Bavail) * uint64(st.Bsize); free < minFreeBytes {
		return fmt.Errorf("%w: the filesystem of %s is full (%d bytes free)", wxlogin.ErrUnavailable, path, free)
	}
	return nil
}

// checkReadOnly reports the filesystem of the database read-only. Writes
// check it first: a filesystem made read-only under a running server (a
// read-only bind mount, an operator's remount) still takes writes through
// the files SQLite already has open, while /readyz says the store cannot
// write; refusing them keeps the two in agreement, and a filesystem that
// went read-only on its own fails those writes anyway.
func checkReadOnly(path string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return nil // the write itself will tell
	}
	if st.Flags&stRdonly != 0 {
		return readOnlyError(path)
	}
	return nil
}

func readOnlyError(path string) error {
	return fmt.Errorf("%w: the filesystem of %s is read-only", wxlogin.ErrUnavailable, path)
}

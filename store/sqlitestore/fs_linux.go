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
		return fmt.Errorf("%w: the filesystem of %s is read-only", wxlogin.ErrUnavailable, path)
	}
	if free := uint64(st.Bavail) * uint64(st.Bsize); free < minFreeBytes {
		return fmt.Errorf("%w: the filesystem of %s is full (%d bytes free)", wxlogin.ErrUnavailable, path, free)
	}
	return nil
}

//go:build unix

package sqlitestore

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, user and system. On a
// shared machine a benchmark's wall time carries everyone's load and the
// disk's fsync of the moment; the CPU it spent per operation does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

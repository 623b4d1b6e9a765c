//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts the process in its own process group, so a Ctrl-C in the
// terminal reaches only its owner, which then stops it, and a signal to the
// group reaches everything the process started.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

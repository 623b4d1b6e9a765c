package proc

import "syscall"

// sysProcAttr puts the process in its own process group, so a Ctrl-C in the
// terminal reaches only its owner, which then stops it, and a signal to the
// group reaches everything the process started. Pdeathsig kills the process
// if its owner dies without stopping it (a test binary killed by -timeout,
// say), so no orphan keeps its ports. (Linux sends it when the OS thread that
// started the process ends; Go ends a thread only when a goroutine exits
// while locked to it, which callers of Start don't do.) Go sets Pdeathsig
// after switching to cred, so the switch does not clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

package mat32

import "syscall"

// osYield gives the CPU to another runnable thread of the machine, if any (sched_yield), so
// that an idle helper polling for work does not starve other processes on a busy machine.
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }

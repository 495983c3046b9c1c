"""
Runs a command and reports its peak resident memory as the kernel keeps it: VmHWM from
/proc/PID/status, read at the moment the process exits (a ptrace exit stop, before its
memory is released), so nothing between the last sample and the exit can be missed.

    python3 vmhwm.py OUT_FILE CMD ARG...

Writes "VmHWM_KIB EXIT_CODE" (EXIT_CODE is -SIGNAL when killed) to OUT_FILE; the child's
stdout and stderr are its own. ru_maxrss is not used: a child started with vfork (as Bun
and posix_spawn do) inherits the parent's high-water mark at exec.
"""
import ctypes, os, signal, sys

PTRACE_TRACEME, PTRACE_CONT, PTRACE_SETOPTIONS = 0, 7, 0x4200
PTRACE_O_TRACEEXIT, PTRACE_O_EXITKILL = 0x40, 0x100000
PTRACE_EVENT_EXIT = 6
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
out, argv = sys.argv[1], sys.argv[2:]

pid = os.fork()
if pid == 0:
    libc.ptrace(PTRACE_TRACEME, 0, None, None)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)

def hwm():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1

peak, code = -1, None
_, status = os.waitpid(pid, 0)  # the stop at exec
libc.ptrace(PTRACE_SETOPTIONS, pid, None, ctypes.c_void_p(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL))
libc.ptrace(PTRACE_CONT, pid, None, None)
while code is None:
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    elif os.WIFSTOPPED(status):
        sig = os.WSTOPSIG(status)
        if sig == signal.SIGTRAP and status >> 16 == PTRACE_EVENT_EXIT:
            peak = hwm()
            sig = 0
        elif sig == signal.SIGTRAP:
            sig = 0
        libc.ptrace(PTRACE_CONT, pid, None, ctypes.c_void_p(sig))
with open(out, "w") as f:
    f.write(f"{peak} {code}\n")
sys.exit(0)

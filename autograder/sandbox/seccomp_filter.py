"""The seccomp filter of the 'chroot' level (libseccomp through PyPI's ``pyseccomp``).

``pyseccomp`` is pure Python over ``libseccomp.so.2`` (ctypes), so it works with any
interpreter, unlike Debian's ``python3-seccomp`` which only serves the distro's own
python3.  The filter is built in the grader and loaded in the child (``preexec_fn``)
after chroot, the uid drop and no_new_privs, just before exec; every descendant of
the worker inherits it and cannot remove it.
"""

from __future__ import annotations

import errno
import functools

# Denied with EPERM: tracing and reading other processes, new namespaces, mounts,
# chroot (a root-less escape needs none, but no reason to allow it), kernel keyrings,
# BPF, personality, io_uring and perf (large kernel attack surface), SysV IPC objects
# (they outlive every process of the uid and nothing would clean them up).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "keyctl", "add_key", "request_key", "bpf", "personality", "userfaultfd",
    "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init", "syslog", "acct",
    "quotactl", "swapon", "swapoff", "reboot", "mknod", "mknodat",
    "shmget", "msgget", "semget", "mq_open")
# clone() flags that make a new namespace: refused like unshare().
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000,   # NS CGROUP UTS IPC
                   0x10000000, 0x20000000, 0x40000000)                # USER PID NET


def seccomp_available() -> str | None:
    """None when a filter can be built here, else why not."""
    try:
        build_filter()
    except Exception as exc:                   # ImportError, OSError from ctypes, ...
        return f"{type(exc).__name__}: {exc}"
    return None


@functools.lru_cache(maxsize=None)
def build_filter():
    """The filter: allow by default, refuse the syscalls above and socket() itself, of
    every family: inet, inet6, netlink, packet, and AF_UNIX too, whose abstract names
    would reach the host's services (the chroot hides only paths).  socketpair() stays:
    it makes an unnamed connected pair.  Built once; loading copies it."""
    import pyseccomp as sc
    refuse = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.add_rule(refuse, "socket")
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(refuse, name)
        except (OSError, ValueError, RuntimeError):
            pass                               # unknown to an older libseccomp
    # clone3 passes its flags in memory, which seccomp cannot read: say "not here", as
    # Docker does, and the C library falls back to clone(), whose flags are checked.
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in NAMESPACE_FLAGS:
        flt.add_rule(refuse, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    return flt

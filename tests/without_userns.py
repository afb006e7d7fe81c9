"""Run a command as a default Docker container would let it run: no new namespaces.

    python tests/without_userns.py CMD [ARG...]

Loads the part of Docker's default seccomp profile that matters to the sandbox (unshare,
setns, mount and namespace-making clone flags refused with EPERM, clone3 answered with
ENOSYS) and execs CMD.  Like Docker, it does not set no_new_privs (root may load a
filter without it).  Bubblewrap then fails for real, as on Gradescope; chroot, setuid
and seccomp keep working, as they do there.
"""

import errno
import os
import sys

import pyseccomp as sc

NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def main() -> None:
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.CTL_NNP, 0)
    for name in ("unshare", "setns", "mount", "umount2", "pivot_root"):
        flt.add_rule(sc.ERRNO(errno.EPERM), name)
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in NAMESPACE_FLAGS:
        flt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.load()
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()

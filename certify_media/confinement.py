"""Confining the decoder beyond a clean environment and rlimits (Linux).

A decoder that a crafted file takes over runs code with the decoder's rights.
Without more than rlimits those were the worker's: same uid, same network, so
it could read the worker's environment (the Redis URL and its password) from
`/proc/<worker>/environ` and log in to Redis. Here:

- `hide_environment` (the worker, at start): `PR_SET_DUMPABLE` 0, so no
  process of the same uid may read its `/proc/<pid>/environ` or ptrace it
  (only root, or a holder of CAP_SYS_PTRACE, still may).
- `confine_decoder_server` (the decoder server, before its first fork; every
  child inherits it): `PR_SET_NO_NEW_PRIVS` (no setuid binary or file
  capability can raise its rights); when started as root, it drops to
  `nobody` (65534), since root reads every process's environment anyway; and a
  seccomp filter makes `socket`, `socketpair` and `io_uring_setup` fail with
  EACCES (no network, no Unix socket to Redis, no io_uring way around it), and
  refuses any system call made through another ABI (i386 or x32).

Each step reports whether it took effect; the server logs what it could not do
(a platform without seccomp, or a seccomp-less container runtime) and goes on:
the rlimits and the clean environment still hold.
"""

import ctypes
import errno
import os
import platform
import struct

PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
NOBODY = 65534

# seccomp_data: int nr at offset 0, u32 arch at offset 4.
ARCHES = {  # machine -> (AUDIT_ARCH_*, socket, socketpair, io_uring_setup)
    "x86_64": (0xC000003E, 41, 53, 425),
    "aarch64": (0xC00000B7, 198, 199, 425),
}
X32_SYSCALL_BIT = 0x40000000
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
RET_ALLOW = 0x7FFF0000
RET_EACCES = 0x00050000 | errno.EACCES


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def _prctl(option: int, value: int, pointer: object = 0) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    return int(libc.prctl(option, value, pointer, 0, 0)) == 0


def hide_environment() -> bool:
    """Make this process's `/proc/<pid>/environ` (and ptrace) closed to its own uid."""
    return _prctl(PR_SET_DUMPABLE, 0)


def set_no_new_privs() -> bool:
    return _prctl(PR_SET_NO_NEW_PRIVS, 1)


def drop_root(uid: int = NOBODY) -> bool:
    """When root, become `uid` (and its group), with no supplementary groups; else nothing."""
    if os.geteuid() != 0:
        return False
    try:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except OSError:  # a user namespace that forbids it: stay as we are
        return False
    return True


def network_filter(machine: str) -> bytes | None:
    """The BPF program (packed `sock_filter`s) for `machine`, or None when it is not known."""
    if machine not in ARCHES:
        return None
    arch, *denied = ARCHES[machine]
    deny = 6 + len(denied)  # index of the final "return EACCES"
    program = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 1, 0, arch), (RET_K, 0, 0, RET_EACCES),
               (LD_W_ABS, 0, 0, 0)]
    program.append((JGE_K, deny - len(program) - 1, 0, X32_SYSCALL_BIT))
    for number in denied:
        program.append((JEQ_K, deny - len(program) - 1, 0, number))
    program += [(RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_EACCES)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def deny_network() -> bool:
    """Install the seccomp filter (needs no_new_privs first); False where it cannot."""
    program = network_filter(platform.machine())
    if program is None:
        return False
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))
    return _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def confine_decoder_server() -> dict[str, bool]:
    """All of the above that applies to the decoder server; by name, whether each holds."""
    no_new_privs = set_no_new_privs()
    drop_root()
    return {"no_new_privs": no_new_privs, "not_root": os.geteuid() != 0,
            "network_denied": no_new_privs and deny_network()}

"""Worker processes of the default ensemble pool die with the process that started them (Linux).

The default pool of :func:`nqlib.ensemble.run_ensemble` starts its workers from a forkserver, a
child of the caller. If the caller is killed outright (SIGKILL, e.g. an out-of-memory killed
Jupyter kernel), nothing tells them: the workers wait for work forever and keep the forkserver
(they hold its "caller alive" pipe) and the resource tracker alive with them. On Linux the kernel
can tell them instead: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks for SIGKILL when the parent dies.
The forkserver calls :func:`become_forkserver` (by importing :mod:`nqlib._forkserver`, which is
in its preload list), so it dies with the caller, and :func:`die_with_forkserver` in each worker
makes the worker die with the forkserver. No Python code has to run in the dying processes, so a
realization busy in compiled code (Numba, LAPACK) is stopped too. Elsewhere than on Linux this is
a no-op.

The parent-death signal is sent when the *thread* that started the process ends: the forkserver is
started by the thread that first starts workers (the one calling ``run_ensemble``), which waits
for its workers, and the forkserver itself is single-threaded.
"""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_FORKSERVER_PID = "NQLIB_FORKSERVER_PID"  # set in the forkserver, inherited by its workers


def die_with_parent() -> bool:
    """Ask the kernel for SIGKILL when this process's parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return True


def become_forkserver():
    """Forkserver side: die with the caller; tell the workers forked from here who their parent is."""
    os.environ[_FORKSERVER_PID] = str(os.getpid())  # this process's environment only
    die_with_parent()


def die_with_forkserver():
    """Worker side: die with the forkserver, or now if it is already gone."""
    expected = os.environ.get(_FORKSERVER_PID)
    if die_with_parent() and expected is not None and os.getppid() != int(expected):
        os._exit(1)  # the forkserver died before the request took effect

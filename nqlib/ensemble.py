"""Ensembles of independent random realizations.

The notebooks of the book average observables over many realizations of a
stochastic simulation (disorder, measurement outcomes, noise). This module
runs those realizations in parallel, reproducibly, and optionally keeps each
finished one on disk so that a long run can be interrupted and resumed.

Seeding contract
----------------
A realization function is called as ``fn(rng=rng, **params)`` and must draw
all of its randomness from ``rng``. Realization ``i`` of ``run_ensemble(fn, n,
seed=seed)`` receives::

    child = numpy.random.SeedSequence(seed).spawn(n)[i]
    rng = numpy.random.Generator(numpy.random.PCG64(child))

Child ``i`` does not depend on ``n``, so a run with a larger ``n`` extends a
smaller one, and the result of realization ``i`` does not depend on which
worker computed it or when. An explicit ``seed`` is mandatory.

What is promised: on one machine, with the same versions of Python, NumPy,
SciPy, Numba and nqlib, realization ``i`` is bit-identical whichever executor
computes it (the default pool, a thread or process pool, Dask), whatever the
number of workers, and whether it was computed now or loaded from the cache.
This holds because each realization draws only from its own ``rng`` and runs
with ONE BLAS/OpenMP thread (a multi-threaded BLAS may add up in an order that
depends on its thread count). The limit (threadpoolctl) is set around the call
in the process that computes it, and around the whole run in the caller's
process: threadpoolctl lets only one thread of a process change OpenBLAS's
process-wide limit, so realizations in a thread pool rely on the caller's.
Hence, while realizations run, the caller's own BLAS calls use one thread too,
and run_ensemble must not be called from one thread while another thread of
the same process holds a ``threadpool_limits``. Not promised: the same bits on
another CPU or with another BLAS build (their kernels round differently), nor
for a ``fn`` that uses other randomness or starts threads of its own (e.g.
Numba ``parallel=True``).

Executors
---------
By default the realizations run in a local process pool with one worker per
available core. Workers are started by a "forkserver" (a clean single-threaded
process that has imported nqlib once), never forked from the caller: forking a
Jupyter kernel, whose threads may hold locks at that instant, occasionally
deadlocks the child. Any ``concurrent.futures.Executor`` can be passed
instead, for instance a thread pool, or a Dask cluster::

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    results = run_ensemble(fn, 1000, seed=1, executor=client.get_executor())

Work sent to other processes is pickled by reference, so ``fn`` must be
defined in an importable module (e.g. in ``nqlib``). A function defined in a
notebook works with a ``ThreadPoolExecutor`` only. A script that uses the
default pool needs the usual ``if __name__ == "__main__":`` guard.

Interruption: when the caller is interrupted (Ctrl-C, "interrupt kernel",
i.e. ``KeyboardInterrupt``) or a realization fails, the realizations not yet
started are cancelled, the running ones are awaited (at most about one
realization's time) and stored when a cache is used, and then the exception
is raised. A second interrupt stops that wait (the default pool's workers are
then terminated and their running realizations lost). The default pool keeps
at most one realization per worker in flight, and its workers ignore SIGINT
so that a Ctrl-C in a terminal does not kill their running realizations.
If the caller is killed outright (SIGKILL, e.g. a kernel killed for lack of
memory), the kernel kills the default pool's forkserver and workers with it on
Linux (``prctl`` parent-death signals, see :mod:`nqlib._lifeline`), so none
is left computing or holding memory; on other systems they may stay behind.

Scale
-----
Every notebook runs at one of three sizes, chosen with the environment
variable ``NQLIB_SCALE``: ``quick`` (tests and CI), ``book`` (the default,
what the rendered book shows) and ``paper`` (publication quality)::

    params = by_scale(quick=dict(L=24), book=dict(L=64), paper=dict(L=128))

or, one row per parameter with its three values side by side::

    params = scale_table(L=(24, 64, 128), samples=(100, 400, 4000))

Settings for every ensemble of a session
----------------------------------------
Two more environment variables, read at every call, give the defaults of
``executor`` and ``cache`` for every ``run_ensemble`` call that does not pass
them, so that a whole chapter (or ``make book``) goes to a cluster or keeps
its realizations without editing a single call:

* ``NQLIB_EXECUTOR``: unset, empty or ``local`` for the default pool; the
  address of a Dask scheduler (``tcp://host:8786``, ``tls://...``) to send
  the realizations there (needs the ``cluster`` extra; one client per call).
* ``NQLIB_CACHE``: a directory used as ``cache=`` (see below). ``cache=False``
  turns it off for one call.

The chapters of the book pass neither argument, so they follow these
variables; ``make test`` sets ``NQLIB_CACHE`` so that its second execution
of the chapters (the HTML check) loads what the first one computed.

Cache
-----
With ``cache=<directory>`` each finished realization is written to
``<directory>/<fn name>-<key>/r<index>.npz``. The key is a hash of the
function's qualified name, its code hash (below), the parameters, the seed and
the nqlib version. Parameters are normalised first: numbers compare by value
(``1``, ``1.0``, ``np.float64(1.0)`` and ``np.int64(1)`` are the same
parameter; ``True`` is not ``1``, ``-0.0`` is not ``0.0``, and single
precision ``np.float32(1.0)`` is not ``1.0``), tuples and arrays become lists.
``fn`` itself receives the parameters exactly as given.

The code hash is coarse on purpose: any edit of what it covers gives a new
key, not only an edit that matters. It covers the function's module and qualified
name, its default arguments (normalised like the parameters, so a new
``burn_in`` default recomputes), and the source of nqlib modules: for a
function of nqlib, its module and every nqlib module that it imports,
directly or through others (found from the ``import`` statements of the
sources), plus ``ensemble.py`` and ``__init__.py``, so that an edit of, say,
``plotting.py`` does not throw away a paper-scale archive of Anderson
realizations, while any edit of the code they run (even of a comment)
recomputes them; for a function defined outside nqlib, every module of nqlib
(``nqlib/*.py``), and the source file of its module (any edit of it,
comments and docstrings included) or, for one without a source file (defined
in a notebook or interactively), its bytecode, names and constants (its
docstring aside) and those of the functions nested in it. It is made of bytes
and reprs of plain data only, never ``hash()`` or ``id()``, so it is the same
in every process. Not covered: other code ``fn`` uses (other modules of a
project, functions of other notebook cells, NumPy, SciPy, Numba: ``meta.json``
records versions only), files read by ``fn``, and the state of other objects.

Every ``.npz`` carries its own identity: an entry ``__record__`` holding a
JSON object with the record format, the realization ``index``, the ``seed``
(``entropy`` and ``spawn_key`` of its SeedSequence), the ``function`` name,
the ``code`` hash, the normalised ``params``, the ``nqlib_version`` and a
SHA-256 ``checksum`` of the stored arrays. A stored file is used only if its
record is exactly the one this call expects and its data match the checksum;
otherwise (unreadable, truncated, swapped, foreign or stale) a warning
(:class:`CacheWarning`) names the file and the reason, and the realization is
recomputed and the file overwritten. ``meta.json`` in the folder describes the
run for people; it is not used to decide anything. Files are written to a
temporary name and renamed, so a crash never leaves a half-written ``.npz``.
No pickle is used on disk.
"""

import ast
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import inspect
import itertools
import json
import math
import multiprocessing
import numbers
import os
import queue
import signal
import sys
import threading
import types
import uuid
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits
from tqdm import tqdm

import nqlib
from nqlib import _checks, _lifeline
from nqlib.stats import jackknife, stack  # re-exported: ensemble.stack and ensemble.jackknife

__all__ = [
    "SCALES",
    "active_scale",
    "by_scale",
    "scale_table",
    "run_ensemble",
    "adopt_cache",
    "stack",
    "jackknife",
    "check_sample_count",
    "CacheWarning",
    "EXECUTOR_VARIABLE",
    "CACHE_VARIABLE",
]

SCALES = ("quick", "book", "paper")

_SCALE_VARIABLE = "NQLIB_SCALE"
EXECUTOR_VARIABLE = "NQLIB_EXECUTOR"  # default executor of every run_ensemble call (a Dask address)
CACHE_VARIABLE = "NQLIB_CACHE"  # default cache directory of every run_ensemble call
_DASK_SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")
_WORKER_CONTEXT = multiprocessing.get_context("forkserver")
# the forkserver imports the physics modules once, so that no worker of any pool pays for them
_WORKER_CONTEXT.set_forkserver_preload(
    ["nqlib._forkserver", *(f"nqlib.{m}" for m in nqlib.PHYSICS)]
)
_DEFAULT_SCALE = "book"
_RECORD_FORMAT = 1


class CacheWarning(UserWarning):
    """A stored realization was unusable (named in the message) and is recomputed."""


def active_scale() -> str:
    """Return the scale named by ``NQLIB_SCALE`` (``"book"`` when unset or empty)."""
    value = os.environ.get(_SCALE_VARIABLE) or _DEFAULT_SCALE
    if value not in SCALES:
        raise ValueError(
            f"environment variable {_SCALE_VARIABLE}={value!r} is not a valid scale; "
            f"allowed values are {', '.join(map(repr, SCALES))} "
            f"(unset or empty means {_DEFAULT_SCALE!r})"
        )
    return value


def by_scale(*, quick, book, paper, scale=None):
    """Return the argument named by ``scale`` (default: :func:`active_scale`)."""
    if scale is None:
        scale = active_scale()
    elif scale not in SCALES:
        raise ValueError(
            f"scale={scale!r} is not valid; allowed values are "
            f"{', '.join(map(repr, SCALES))} or None for the active scale"
        )
    return {"quick": quick, "book": book, "paper": paper}[scale]


def scale_table(*, scale=None, **rows) -> dict:
    """Pick one column of a table of parameters, one row per parameter.

    Every keyword names a parameter and gives its values at the scales
    ``quick``, ``book`` and ``paper``, in that order, as a tuple of three;
    the result maps each name to its value at ``scale`` (default:
    :func:`active_scale`), in the order given. Equivalent to
    :func:`by_scale` with one dict per scale, but each parameter's three
    values stand on one line.
    """
    for name, values in rows.items():
        if not (isinstance(values, tuple) and len(values) == len(SCALES)):
            raise ValueError(
                f"{name}={values!r} is not valid; give a tuple of its "
                f"{len(SCALES)} values at the scales {', '.join(SCALES)}"
            )
    column = SCALES.index(by_scale(quick="quick", book="book", paper="paper", scale=scale))
    return {name: values[column] for name, values in rows.items()}


def run_ensemble(fn, n, *, seed, executor=None, progress=True, cache=None, **params) -> list:
    """Run ``n`` independent realizations of ``fn`` and return their results.

    Parameters
    ----------
    fn : callable
        Called as ``fn(rng=numpy.random.Generator, **params)``. To be cached,
        it must be a named module-level function returning a number, a numpy
        array, or a dict mapping strings to numbers and arrays.
    n : int
        Number of realizations, at least 1.
    seed : int or sequence of int
        Entropy for ``numpy.random.SeedSequence``; realization ``i`` uses its
        ``i``-th spawned child (see the module docstring).
    executor : concurrent.futures.Executor, optional
        Where to run the realizations; it is not shut down. By default the
        Dask scheduler named by ``$NQLIB_EXECUTOR`` if set, otherwise a
        local process pool with one worker per available core.
    progress : bool
        Show a progress bar.
    cache : str or os.PathLike or False, optional
        Directory in which to store each finished realization; stored ones
        are loaded instead of recomputed after their identity record has been
        checked (see "Cache" in the module docstring). Requires
        JSON-representable params. By default ``$NQLIB_CACHE`` if set;
        ``False``: no cache whatever the environment.
    **params
        Keyword arguments passed on to ``fn``. The names ``fn``, ``n``,
        ``seed``, ``executor``, ``progress``, ``cache`` and ``rng`` cannot be
        used.

    Returns
    -------
    list
        The results in realization order. Numbers come back as numpy scalars,
        arrays as numpy arrays and dicts as dicts of those, whether computed
        or loaded; other return values (possible only without a cache) are
        passed through unchanged. Each result is bit-identical for a given
        machine and library versions, whatever the executor and its number of
        workers (see the module docstring).

    Warns
    -----
    CacheWarning
        For each stored file that cannot be used (unreadable, or written for
        another realization, function, code, parameters or seed); it is
        recomputed and overwritten.

    Raises
    ------
    KeyboardInterrupt, or the exception of a failed realization
        After cancelling the realizations not yet started and storing those
        that finish meanwhile (see "Interruption" in the module docstring).
    """
    _check_run_arguments(fn, n, seed, executor, progress, cache, params)
    cache = _configured_cache() if cache is None else cache
    address = _configured_scheduler() if executor is None else None
    children = np.random.SeedSequence(seed).spawn(n)
    store = None if cache in (None, False) else _open_cache(Path(cache), fn, seed, params)
    results = {} if store is None else _load_stored(store, children)
    name = getattr(fn, "__name__", type(fn).__name__)
    todo = {i: children[i] for i in range(n) if i not in results}
    # one BLAS thread for realizations computed in this process's threads (a thread pool); the
    # limit is set here because threadpoolctl lets one thread of a process set OpenBLAS limits
    with tqdm(total=n, desc=name, disable=not progress) as bar, threadpool_limits(limits=1):
        bar.update(len(results))
        if todo and executor is None and address is None:
            _compute_in_default_pool(fn, todo, params, store, bar, results)
        elif todo and executor is None:
            with _dask_executor(address) as dask:
                _compute(dask, fn, todo, params, store, bar, results, window=None)
        elif todo:
            window = getattr(executor, "_max_workers", None)  # thread and process pools
            _compute(executor, fn, todo, params, store, bar, results, window)
    return [results[i] for i in range(n)]


def adopt_cache(fn, n, *, seed, cache, verify=(0,), **params) -> dict:
    """Carry cached realizations of ``fn`` over a code change that does not alter them.

    The cache key of :func:`run_ensemble` includes a hash of ``fn``'s code (its nqlib module and
    every nqlib module that imports), so any edit there orphans the stored realizations, also an
    edit of a function the realization never calls. This looks in ``cache`` for realizations
    ``0 .. n-1`` of ``fn`` with this ``seed`` and ``params`` stored under another code hash,
    recomputes the realizations ``verify`` with the current code, requires them to equal the
    stored ones bit for bit (same keys, dtypes, shapes and values), and then stores every orphaned
    realization under the current key, where :func:`run_ensemble` finds it.

    Returns ``dict(codes=[the other code hashes], adopted=count, verified=[indices])``; nothing
    is adopted (and nothing recomputed) when no realization is orphaned.

    Raises
    ------
    ValueError
        On bad arguments; when a verified realization differs from its stored version (the
        stored ones were made by code that computes something else: nothing is adopted); when
        none of ``verify`` is among the orphaned realizations.
    """
    _check_run_arguments(fn, n, seed, None, False, cache, params)
    if cache in (None, False):
        raise ValueError(f"cache must name a cache folder, got {cache!r}")
    verify = sorted(set(verify)) if isinstance(verify, (list, tuple, range)) else verify
    if (
        not isinstance(verify, list)
        or not verify
        or not all(_is_int(i) and 0 <= i < n for i in verify)
    ):
        raise ValueError(f"verify must be a non-empty list of indices in [0, {n}), got {verify!r}")
    children = np.random.SeedSequence(seed).spawn(n)
    store = _open_cache(Path(cache), fn, seed, params)
    present = set(_load_stored(store, children))
    orphans, codes = {}, set()  # index -> (path, expected record)
    for folder in sorted(Path(cache).glob(f"{fn.__name__}-*")):
        meta_path = folder / "meta.json"
        if folder == store.folder or not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        same = {k: meta.get(k) for k in store.identity if k not in ("code", "nqlib_version")}
        if same != {k: v for k, v in store.identity.items() if k in same}:
            continue
        if _dumps(meta.get("seed")) != _dumps(_canonical(seed, "seed")):
            continue
        for index, child in enumerate(children):
            path = folder / f"r{index:06d}.npz"
            if index in present or index in orphans or not path.exists():
                continue
            expected = {**store.record(index, child), "code": meta["code"]}
            expected["nqlib_version"] = meta["nqlib_version"]
            orphans[index] = (path, expected)
            codes.add(meta["code"])
    if not orphans:
        return {"codes": [], "adopted": 0, "verified": []}
    checked = [i for i in verify if i in orphans]
    if not checked:
        raise ValueError(
            f"verify={verify} names no orphaned realization (orphaned: {len(orphans)}, the first "
            f"{sorted(orphans)[:5]})"
        )
    for index in checked:
        stored = _load(*orphans[index])
        with threadpool_limits(limits=1):
            fresh = _realize(fn, children[index], params)
        if not _identical(stored, fresh):
            raise ValueError(
                f"realization {index} recomputed with the current code differs from the one stored "
                f"in {orphans[index][0]}: the code change alters the realizations; nothing adopted"
            )
    for index, (path, expected) in sorted(orphans.items()):
        _store(store, index, children[index], _load(path, expected))
    return {"codes": sorted(codes), "adopted": len(orphans), "verified": checked}


def _identical(a, b):
    """Whether two realization results have the same structure, dtypes, shapes and bits."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and list(a) == list(b)
            and all(_identical(a[k], b[k]) for k in a)
        )
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _check_run_arguments(fn, n, seed, executor, progress, cache, params):
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {fn!r}")
    if not _is_int(n) or n < 1:
        raise ValueError(f"n must be a positive int (at least 1), got {n!r}")
    if not _is_seed(seed):
        raise ValueError(
            f"seed must be a non-negative int or a non-empty sequence of non-negative "
            f"ints (as accepted by numpy.random.SeedSequence), got {seed!r}; "
            "an explicit seed is required so that every ensemble is reproducible"
        )
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ValueError(
            f"executor must be None or a concurrent.futures.Executor, got {executor!r}"
        )
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    if cache not in (None, False) and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(f"cache must be None, False, a str or an os.PathLike, got {cache!r}")
    if "rng" in params:
        raise ValueError("params must not contain 'rng': run_ensemble passes rng itself")


def _configured_cache():
    """The cache directory named by $NQLIB_CACHE, or None."""
    return os.environ.get(CACHE_VARIABLE, "").strip() or None


def _configured_scheduler():
    """The Dask scheduler address named by $NQLIB_EXECUTOR, or None for the default pool."""
    value = os.environ.get(EXECUTOR_VARIABLE, "").strip()
    if value in ("", "local"):
        return None
    if not value.startswith(_DASK_SCHEMES):
        raise ValueError(
            f"{EXECUTOR_VARIABLE}={value!r} is not understood: use 'local' (the default process "
            "pool) or a Dask scheduler address such as 'tcp://scheduler:8786'"
        )
    return value


@contextlib.contextmanager
def _dask_executor(address):
    """An executor on the Dask scheduler at ``address`` for one run (the cluster stays up)."""
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            f"{EXECUTOR_VARIABLE}={address!r} needs Dask: pip install -e '.[cluster]'"
        ) from None
    with Client(address, set_as_default=False) as client:
        yield client.get_executor()


def check_sample_count(n_samples) -> int:
    """Return ``n_samples`` after checking it is a positive integer (:func:`nqlib._checks.sample_count`;
    kept here for callers outside nqlib)."""
    return _checks.sample_count(n_samples)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_seed(seed) -> bool:
    if isinstance(seed, (list, tuple, np.ndarray)):
        return len(seed) > 0 and all(_is_int(entry) and entry >= 0 for entry in seed)
    return _is_int(seed) and seed >= 0


# --- computing -------------------------------------------------------------


def _compute_in_default_pool(fn, todo, params, store, bar, results):
    workers = min(len(todo), len(os.sched_getaffinity(0)))
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=_WORKER_CONTEXT, initializer=_start_worker
    )
    try:
        _compute(pool, fn, todo, params, store, bar, results, window=workers)
    except BaseException:
        # _compute awaited the running realizations unless it was interrupted twice: what is
        # still running then is abandoned, and idle workers go as well
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        raise
    pool.shutdown(wait=True)


def _start_worker():
    # on Linux, the kernel kills this worker when the forkserver dies, which it does with the
    # caller: a SIGKILLed caller (an out-of-memory killed kernel) leaves no orphans behind
    _lifeline.die_with_forkserver()
    threadpool_limits(limits=1)
    # Ctrl-C in a terminal reaches the whole process group: the caller decides what to do,
    # a worker finishes its realization
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _compute(executor, fn, todo, params, store, bar, results, window):
    """Run the realizations in ``todo`` (index -> SeedSequence) into ``results``.

    At most ``window`` realizations are submitted at a time (all when None), so that an
    interrupt finds none queued inside the executor. Each finished one is stored at once. On
    any exception, KeyboardInterrupt included, the realizations not started are cancelled, the
    running ones awaited and kept, and the exception re-raised; a second interrupt ends the wait.
    """
    pending = iter(todo.items())
    running = {}  # future -> (index, child)
    finished = queue.SimpleQueue()

    def submit(count):
        for index, child in itertools.islice(pending, count):
            future = executor.submit(_realize, fn, child, params)
            running[future] = (index, child)
            future.add_done_callback(finished.put)

    def keep(future):
        index, child = running[future]
        result = _normalize(future.result())
        if store is not None:
            _store(store, index, child, result)
        results[index] = result
        del running[future]  # only now: an interrupt before this point leaves it to the wait below
        bar.update()

    submit(len(todo) if window is None else max(1, window))
    try:
        while running:
            future = finished.get()
            if future in running:
                keep(future)
                submit(1)
    except BaseException:
        for future in list(running):
            future.cancel()
        with contextlib.suppress(KeyboardInterrupt):
            started = [future for future in running if not future.cancelled()]
            for future in concurrent.futures.as_completed(started):
                with contextlib.suppress(Exception):
                    keep(future)
        raise


def _realize(fn, child, params):
    """Worker side: one realization with one BLAS thread."""
    with _ONE_BLAS_THREAD:
        return fn(rng=np.random.Generator(np.random.PCG64(child)), **params)


class _OneBlasThread:
    """Context manager: BLAS/OpenMP libraries use one thread while any realization runs here.

    The limits of a pthreads OpenBLAS are process-wide, so in a process that runs realizations in
    several threads (a Dask worker) they are set by the first realization that finds a library
    with more threads and restored when the last one leaves, never while one still runs. (In the
    caller's own threads run_ensemble has already set them.) threadpoolctl ignores a restore
    from another thread than the one that set them: the limit then stays at one thread.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._limiters = []
        self._users = 0

    def __enter__(self):
        with self._lock:
            controller = ThreadpoolController()
            if any(library["num_threads"] != 1 for library in controller.info()):
                self._limiters.append(controller.limit(limits=1))
            self._users += 1

    def __exit__(self, *exception):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                while self._limiters:
                    self._limiters.pop().restore_original_limits()


_ONE_BLAS_THREAD = _OneBlasThread()


# --- cache ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Store:
    """The cache folder of one run and the identity shared by all its records."""

    folder: Path
    identity: dict

    def path(self, index):
        return self.folder / f"r{index:06d}.npz"

    def record(self, index, child):
        """The identity record realization ``index`` (SeedSequence ``child``) must carry."""
        spawn_key = [int(k) for k in child.spawn_key]
        seed = {"entropy": _canonical(child.entropy, "seed"), "spawn_key": spawn_key}
        return {**self.identity, "index": index, "seed": seed}


class _Unusable(Exception):
    """A stored file is not the realization asked for; the message says why."""


def _open_cache(cache, fn, seed, params):
    """Create (if needed) the cache folder of this run and return its _Store."""
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None or "<" in qualname or getattr(fn, "__module__", None) is None:
        raise ValueError(
            f"fn={fn!r} cannot be cached: it must be a named module-level function "
            "(not a lambda, a local function or a functools.partial)"
        )
    identity = {
        "format": _RECORD_FORMAT,
        "function": _function_name(fn),
        "code": _code_hash(fn),
        "params": _canonical(params, "params"),
        "nqlib_version": nqlib.__version__,
    }
    seed = _canonical(seed, "seed")
    digest = hashlib.sha256(_dumps({**identity, "seed": seed}).encode()).hexdigest()[:16]
    folder = cache / f"{fn.__name__}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        **identity,
        "seed": seed,
        "python": ".".join(map(str, sys.version_info[:3])),
        "numpy": np.__version__,
        "note": "for people only: each rNNNNNN.npz carries its own identity record (__record__)",
    }
    text = json.dumps(meta, sort_keys=True, indent=2) + "\n"
    path = folder / "meta.json"
    if not path.exists() or path.read_text() != text:
        _write_atomically(path, lambda file: file.write(text.encode()))
    return _Store(folder, identity)


def _function_name(fn):
    # a script's functions are in "__main__" in the caller and "__mp_main__" in its workers
    module = "__main__" if fn.__module__ == "__mp_main__" else fn.__module__
    return f"{module}.{fn.__qualname__}"


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _canonical(value, path):
    """Return ``value`` as plain JSON data with numbers normalised, or raise ValueError naming ``path``.

    Integral floats become ints (1.0 -> 1, but -0.0 stays), so that 1, 1.0, np.int64(1) and
    np.float64(1.0) are one parameter; bools stay bools; tuples and arrays become lists. Floats
    of another precision than double (np.float32, ...) compute differently and stay apart, as
    ``{"__dtype__": "float32", "value": ...}``.
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    dtype = getattr(value, "dtype", None) if isinstance(value, (np.floating, np.ndarray)) else None
    if dtype is not None and dtype.kind == "f" and dtype.itemsize != 8:
        doubles = _canonical(value.astype(np.float64).tolist(), path)
        return {"__dtype__": dtype.name, "value": doubles}
    if isinstance(value, (float, np.floating)):
        number = float(value)
        negative_zero = number == 0 and math.copysign(1.0, number) < 0
        return int(number) if number.is_integer() and not negative_zero else number
    if isinstance(value, np.ndarray):
        return _canonical(value.tolist(), path)
    if isinstance(value, (list, tuple)):
        return [_canonical(entry, f"{path}[{i}]") for i, entry in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {str(key): _canonical(entry, f"{path}[{key!r}]") for key, entry in value.items()}
    raise ValueError(
        f"{path}={value!r} cannot be cached: params must be JSON-representable "
        "(None, bools, numbers, strings, lists/tuples, dicts with str keys, "
        "numpy scalars and non-complex numpy arrays)"
    )


def _load_stored(store, children):
    """Return {index: result} for the usable realizations stored in ``store``; warn about the rest."""
    stored = {path.name for path in store.folder.iterdir()}
    results = {}
    for index, child in enumerate(children):
        path = store.path(index)
        if path.name not in stored:
            continue
        try:
            results[index] = _load(path, store.record(index, child))
        except _Unusable as reason:
            warnings.warn(
                f"cache file {path} is not used: {reason}; realization {index} is "
                "recomputed and the file overwritten",
                CacheWarning,
                stacklevel=3,
            )
    return results


def _load(path, expected):
    """Return the result stored in ``path`` if its record is ``expected``, else raise _Unusable."""
    try:
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as error:  # noqa: BLE001 (BadZipFile, EOFError, CRC, "pickled data", ...)
        raise _Unusable(f"it cannot be read ({type(error).__name__}: {error})") from None
    if "__record__" not in arrays:
        raise _Unusable("it has no __record__ entry (written by an older nqlib?)")
    try:
        record = json.loads(str(arrays.pop("__record__")))
    except ValueError as error:
        raise _Unusable(f"its __record__ is not JSON ({error})") from None
    if not isinstance(record, dict):
        raise _Unusable("its __record__ is not a JSON object")
    for key, want in expected.items():
        have = record.get(key)
        if _dumps(have) != _dumps(want):
            hint = " (fn's module, a default argument or nqlib changed)" if key == "code" else ""
            raise _Unusable(
                f"its record has {key}={_dumps(have)}, this call expects {_dumps(want)}{hint}"
            )
    if record.get("checksum") != _checksum(arrays):
        raise _Unusable("its data do not match the checksum of its record")
    try:
        kind = str(arrays["kind"])
        if kind != "dict":
            return _unpack(kind, arrays["value"])
        entries = enumerate(zip(arrays["keys"], arrays["kinds"]))
        return {str(key): _unpack(str(entry), arrays[f"value{j}"]) for j, (key, entry) in entries}
    except Exception as error:  # noqa: BLE001 (anything malformed)
        raise _Unusable(f"its data are malformed ({type(error).__name__}: {error})") from None


def _store(store, index, child, result):
    kind = _kind(result)
    if kind is None:
        raise TypeError(
            f"realization {index} returned {type(result).__name__}, which cannot be "
            "cached; return a number, a numpy array (not of dtype object) or a dict "
            "mapping str to numbers and arrays"
        )
    if kind == "dict":
        entries = list(result.values())
        arrays = {
            "kind": np.array(kind),
            "keys": np.array(list(result), dtype=str),
            "kinds": np.array([_kind(entry) for entry in entries], dtype=str),
        }
        arrays.update({f"value{j}": np.asarray(entry) for j, entry in enumerate(entries)})
    else:
        arrays = {"kind": np.array(kind), "value": np.asarray(result)}
    record = {**store.record(index, child), "checksum": _checksum(arrays)}
    arrays["__record__"] = np.array(_dumps(record))
    _write_atomically(store.path(index), lambda file: np.savez(file, **arrays))


def _checksum(arrays):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        digest.update(_dumps([name, array.dtype.str, list(array.shape)]).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


# --- code hash --------------------------------------------------------------


def _code_hash(fn) -> str:
    """Hash of the code behind ``fn`` (see "Cache" in the module docstring).

    Not cached: reading and hashing the library's sources takes about a millisecond, and the
    files may change while the process runs.
    """
    digest = hashlib.sha256()

    def add(label, data):
        data = data if isinstance(data, bytes) else _dumps(data).encode()
        digest.update(_dumps([label, len(data)]).encode())
        digest.update(data)

    library = dict(_library_sources())
    names = sorted(library)
    if fn.__module__.startswith("nqlib."):
        names = sorted(
            _nqlib_closure(fn.__module__.split(".")[1], library) | {"ensemble.py", "__init__.py"}
        )
    at_import = dict(_LIBRARY_AT_IMPORT)
    changed = [name for name in names if library.get(name) != at_import.get(name)]
    if changed:
        raise RuntimeError(
            f"nqlib's source files changed after this process imported nqlib ({', '.join(changed)}): "
            "the code that would run is not the code the cache key describes. Restart the "
            "kernel (or Python) before using cache=."
        )
    add("function", _function_name(fn))
    parameters = inspect.signature(fn).parameters.values()
    add("defaults", {p.name: _default(p.default) for p in parameters if p.default is not p.empty})
    for name in names:
        add(f"nqlib/{name}", library[name])
    if fn.__module__ != "nqlib" and not fn.__module__.startswith("nqlib."):
        function = inspect.unwrap(fn)
        try:
            source = inspect.getsourcefile(function)
        except TypeError:  # a built-in, or a class defined in a notebook
            source = None
        if source is not None and os.path.isfile(source):
            add("module source", Path(source).read_bytes())
        elif isinstance(getattr(function, "__code__", None), types.CodeType):
            add("code", _describe_code(function.__code__, function.__doc__))
        else:
            raise ValueError(f"fn={fn!r} cannot be cached: it has neither a source file nor code")
    return digest.hexdigest()[:32]


def _library_files():
    """The source files of nqlib, sorted."""
    return sorted(Path(nqlib.__file__).parent.glob("*.py"))


def _library_sources():
    """(name, bytes) of every source file of nqlib."""
    return [(path.name, path.read_bytes()) for path in _library_files()]


def _nqlib_closure(module, library):
    """File names of the nqlib module ``module`` and of every nqlib module it imports, directly or
    through others (from the import statements of the sources in ``library``: name -> bytes)."""
    found, todo = set(), [module]
    while todo:
        name = f"{todo.pop()}.py"
        if name in found or name not in library:
            continue
        found.add(name)
        for node in ast.walk(ast.parse(library[name])):
            if isinstance(node, ast.ImportFrom) and node.module == "nqlib":
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nqlib."):
                todo.append(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                todo += [a.name.split(".")[1] for a in node.names if a.name.startswith("nqlib.")]
    return found


_LIBRARY_AT_IMPORT = (
    _library_sources()
)  # what this process imported (approximately: nqlib's import)


def _default(value):
    """A default argument as plain data: normalised like a parameter, else a name or repr."""
    try:
        return _canonical(value, "default")
    except ValueError:  # a function or a class by its name, another object by its repr
        name = getattr(value, "__qualname__", None)
        return [getattr(value, "__module__", None), name] if name else repr(value)


def _describe_code(code, doc=None):
    """Bytecode, names and constants of ``code`` and of the code nested in it (docstring aside)."""
    consts = list(code.co_consts)
    if doc is not None and consts and consts[0] == doc:
        consts[0] = None
    return {
        "code": code.co_code.hex(),
        "names": list(code.co_names),
        "consts": [_describe_const(const) for const in consts],
    }


def _describe_const(const):
    if isinstance(const, types.CodeType):
        return _describe_code(const)
    if isinstance(const, (tuple, frozenset)):  # a frozenset's order depends on PYTHONHASHSEED
        entries = [_describe_const(entry) for entry in const]
        if isinstance(const, frozenset):
            entries.sort(key=_dumps)
        return [type(const).__name__, entries]
    return [type(const).__name__, repr(const)]


# --- result kinds -----------------------------------------------------------


def _kind(value):
    """Return "number", "array" or "dict" for a supported result, else None."""
    if isinstance(value, np.ndarray):
        return None if value.dtype.hasobject else "array"
    if isinstance(value, (numbers.Number, np.generic)):
        return "number" if np.asarray(value).dtype.kind in "biufc" else None
    if isinstance(value, dict):
        supported = all(
            isinstance(key, str) and _kind(entry) in ("number", "array")
            for key, entry in value.items()
        )
        return "dict" if supported else None
    return None


def _normalize(value):
    """Return ``value`` as the cache would load it; unsupported values unchanged."""
    kind = _kind(value)
    if kind == "number":
        return np.asarray(value)[()]
    if kind == "array":
        return np.asarray(value)
    if kind == "dict":
        return {key: _normalize(entry) for key, entry in value.items()}
    return value


def _unpack(kind, array):
    return array[()] if kind == "number" else array


def _write_atomically(path, write):
    """Call ``write(file)`` on a temporary file, then move it to ``path``."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file:
            write(file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

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

Executors
---------
By default the realizations run in a local process pool with one worker per
available core. Workers are started by a "forkserver" (a clean single-threaded
process that has imported nqlib once), never forked from the caller: forking a
Jupyter kernel, whose threads may hold locks at that instant, occasionally
deadlocks the child. Each worker limits its BLAS/OpenMP libraries to one thread
(threadpoolctl), since the parallelism is across realizations and busy-waiting
BLAS threads of several workers on the same cores slow a run down several-fold.
Any ``concurrent.futures.Executor`` can be passed instead,
for instance a thread pool, or a Dask cluster::

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    results = run_ensemble(fn, 1000, seed=1, executor=client.get_executor())

Work sent to other processes is pickled by reference, so ``fn`` must be
defined in an importable module (e.g. in ``nqlib``). A function defined in a
notebook works with a ``ThreadPoolExecutor`` only. A script that uses the
default pool needs the usual ``if __name__ == "__main__":`` guard.

Scale
-----
Every notebook runs at one of three sizes, chosen with the environment
variable ``NQLIB_SCALE``: ``quick`` (tests and CI), ``book`` (the default,
what the rendered book shows) and ``paper`` (publication quality)::

    params = by_scale(quick=dict(L=24), book=dict(L=64), paper=dict(L=128))

Cache
-----
With ``cache=<directory>`` each finished realization is written to
``<directory>/<fn name>-<hash>/r<index>.npz`` together with a ``meta.json``
describing the run. The hash covers the function's qualified name, the
parameters, the seed and the nqlib version, but not the function's source
code: delete the folder after changing what ``fn`` computes.
"""

import concurrent.futures
import hashlib
import multiprocessing
import json
import numbers
import os
import uuid
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import nqlib

__all__ = ["SCALES", "active_scale", "by_scale", "run_ensemble", "stack", "jackknife", "check_sample_count"]

SCALES = ("quick", "book", "paper")

_SCALE_VARIABLE = "NQLIB_SCALE"
_WORKER_CONTEXT = multiprocessing.get_context("forkserver")
_WORKER_CONTEXT.set_forkserver_preload(["nqlib"])
_DEFAULT_SCALE = "book"


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


def run_ensemble(fn, n, *, seed, executor=None, progress=True, cache=None, **params) -> list:
    """Run ``n`` independent realizations of ``fn`` and return their results.

    Parameters
    ----------
    fn : callable
        Called as ``fn(rng=numpy.random.Generator, **params)``. To be cached,
        it must return a number, a numpy array, or a dict mapping strings to
        numbers and arrays.
    n : int
        Number of realizations, at least 1.
    seed : int or sequence of int
        Entropy for ``numpy.random.SeedSequence``; realization ``i`` uses its
        ``i``-th spawned child (see the module docstring).
    executor : concurrent.futures.Executor, optional
        Where to run the realizations; it is not shut down. By default a
        local process pool with one worker per available core.
    progress : bool
        Show a progress bar.
    cache : str or os.PathLike, optional
        Directory in which to store each finished realization; stored ones
        are loaded instead of recomputed. Requires JSON-representable params.
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
        passed through unchanged.
    """
    _check_run_arguments(fn, n, seed, executor, progress, cache, params)
    children = np.random.SeedSequence(seed).spawn(n)
    folder = None if cache is None else _cache_folder(Path(cache), fn, seed, params)
    results = {} if folder is None else _load_stored(folder, n)
    name = getattr(fn, "__name__", type(fn).__name__)
    with tqdm(total=n, desc=name, disable=not progress) as bar:
        bar.update(len(results))
        todo = {i: children[i] for i in range(n) if i not in results}
        if todo and executor is None:
            workers = min(len(todo), len(os.sched_getaffinity(0)))
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=_WORKER_CONTEXT, initializer=_one_thread_per_worker) as pool:
                _compute(pool, fn, todo, params, folder, bar, results)
        elif todo:
            _compute(executor, fn, todo, params, folder, bar, results)
    return [results[i] for i in range(n)]


def stack(results):
    """Stack a list of results of :func:`run_ensemble` along a new first axis.

    A list of numbers or arrays becomes one array; a list of dicts becomes a
    dict of arrays, one per key (all dicts must have the same keys).
    """
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f"results must be a non-empty list, got {results!r}")
    first = results[0]
    if not isinstance(first, dict):
        if any(isinstance(result, dict) for result in results):
            raise ValueError("results mixes dicts with numbers or arrays; expected one kind")
        return np.stack(results)
    for index, result in enumerate(results):
        if not isinstance(result, dict) or result.keys() != first.keys():
            keys = sorted(result) if isinstance(result, dict) else type(result).__name__
            raise ValueError(
                f"results[{index}] has keys {keys}, expected a dict with keys {sorted(first)}"
            )
    return {key: np.stack([result[key] for result in results]) for key in first}


def jackknife(estimator, data):
    """Estimate and jackknife standard error of ``estimator`` over independent realizations.

    ``data`` is an array whose first axis runs over realizations, or a dict of such arrays (the
    output of :func:`stack`); ``estimator`` maps data of that structure (any number of
    realizations) to a number or an array. Returns ``(estimate, error)`` where ``estimate`` uses
    all n realizations and ``error = sqrt((n-1)/n * sum_i (theta_(i) - mean theta_(.))**2)``
    from the n leave-one-out estimates theta_(i). Needs n >= 2.
    """
    if not callable(estimator):
        raise ValueError(f"estimator must be callable, got {estimator!r}")
    arrays = data if isinstance(data, dict) else {None: data}
    sizes = {len(np.asarray(value)) for value in arrays.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise ValueError(f"data must hold >= 2 realizations along axis 0 (same for every key), got {sorted(sizes)}")
    n = sizes.pop()

    def subset(keep):
        picked = {key: np.asarray(value)[keep] for key, value in arrays.items()}
        return picked if isinstance(data, dict) else picked[None]

    estimate = np.asarray(estimator(data))
    leave_one_out = np.array([estimator(subset(np.arange(n) != i)) for i in range(n)])
    spread = leave_one_out - leave_one_out.mean(axis=0)
    return estimate, np.sqrt((n - 1) / n * np.sum(spread**2, axis=0))


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
    if cache is not None and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(f"cache must be None, a str or an os.PathLike, got {cache!r}")
    if "rng" in params:
        raise ValueError("params must not contain 'rng': run_ensemble passes rng itself")


def check_sample_count(n_samples) -> int:
    """Return ``n_samples`` after checking it is a positive integer (for realization functions)."""
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got n_samples={n_samples!r}")
    return int(n_samples)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_seed(seed) -> bool:
    if isinstance(seed, (list, tuple, np.ndarray)):
        return len(seed) > 0 and all(_is_int(entry) and entry >= 0 for entry in seed)
    return _is_int(seed) and seed >= 0


def _compute(executor, fn, todo, params, folder, bar, results):
    """Run the realizations in ``todo`` (index -> SeedSequence) into ``results``."""
    futures = {executor.submit(_realize, fn, child, params): i for i, child in todo.items()}
    try:
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            results[index] = _normalize(future.result())
            if folder is not None:
                _store(folder, index, results[index])
            bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _one_thread_per_worker():
    threadpool_limits(limits=1)


def _realize(fn, child, params):
    return fn(rng=np.random.Generator(np.random.PCG64(child)), **params)


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


def _cache_folder(cache, fn, seed, params):
    """Create (if needed) and return the cache folder of this run."""
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None or "<" in qualname or getattr(fn, "__module__", None) is None:
        raise ValueError(
            f"fn={fn!r} cannot be cached: it must be a named module-level function "
            "(not a lambda, a local function or a functools.partial)"
        )
    meta = {
        "function": f"{fn.__module__}.{qualname}",
        "params": _jsonable(params, "params"),
        "seed": _jsonable(seed, "seed"),
        "nqlib_version": nqlib.__version__,
    }
    canonical = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    folder = cache / f"{fn.__name__}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "meta.json").exists():
        text = json.dumps(meta, sort_keys=True, indent=2) + "\n"
        _write_atomically(folder / "meta.json", lambda file: file.write(text.encode()))
    return folder


def _jsonable(value, path):
    """Return ``value`` as plain JSON data, or raise ValueError naming ``path``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), path)
    if isinstance(value, (list, tuple)):
        return [_jsonable(entry, f"{path}[{i}]") for i, entry in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _jsonable(entry, f"{path}[{key!r}]") for key, entry in value.items()}
    raise ValueError(
        f"{path}={value!r} cannot be cached: params must be JSON-representable "
        "(None, bools, numbers, strings, lists/tuples, dicts with str keys, "
        "numpy scalars and non-complex numpy arrays)"
    )


def _store(folder, index, result):
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
    _write_atomically(folder / f"r{index:06d}.npz", lambda file: np.savez(file, **arrays))


def _load_stored(folder, n):
    """Return {index: result} for the realizations below ``n`` stored in ``folder``."""
    stored = {path.name for path in folder.iterdir()}
    return {i: _load(folder / f"r{i:06d}.npz") for i in range(n) if f"r{i:06d}.npz" in stored}


def _load(path):
    with np.load(path, allow_pickle=False) as data:
        kind = str(data["kind"])
        if kind != "dict":
            return _unpack(kind, data["value"])
        return {
            str(key): _unpack(str(entry_kind), data[f"value{j}"])
            for j, (key, entry_kind) in enumerate(zip(data["keys"], data["kinds"]))
        }


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

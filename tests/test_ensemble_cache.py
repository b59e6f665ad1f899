"""The on-disk cache of nqlib.ensemble.run_ensemble cannot return wrong or stale results.

Each stored realization carries its identity (index, seed path, normalised parameters, function,
code hash, nqlib version, checksum); unusable files are named in a CacheWarning and recomputed.
Also: one BLAS thread per realization whatever the executor, and what an interrupt keeps.
"""

import contextlib
import functools
import importlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from test_ensemble import assert_same  # bit-for-bit comparison of results
from threadpoolctl import threadpool_info, threadpool_limits

from nqlib import ensemble
from nqlib.ensemble import CacheWarning, run_ensemble

# Realization functions live at module level (and contain no assert, which pytest would
# rewrite) so that worker processes import the same code.


def logged(rng, log, delta=0.5):
    with open(log, "a") as file:
        file.write("called\n")
    return {"x": rng.normal() * delta, "v": rng.integers(0, 10, size=4)}


def other(rng, log):
    with open(log, "a") as file:
        file.write("called\n")
    return {"x": rng.normal(), "v": rng.integers(0, 10, size=4)}


def blas_heavy(rng, size=120):
    """Eigenvalues of a random product (BLAS level 3 + LAPACK) and the BLAS threads in use."""
    a = rng.normal(size=(size, size))
    b = a @ a.T + np.eye(size)
    threads = max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    inverse = np.linalg.inv(b)[0]
    return {"eigenvalues": np.linalg.eigvalsh(b), "inverse": inverse, "threads": threads}


def slow(rng, log, duration):
    """Log "start <index> <pid>", sleep ``duration`` seconds, log "done <index> <pid>"."""
    index = rng.bit_generator.seed_seq.spawn_key[-1]
    with open(log, "a") as file:
        file.write(f"start {index} {os.getpid()}\n")
    time.sleep(duration)
    with open(log, "a") as file:
        file.write(f"done {index} {os.getpid()}\n")
    return rng.normal(size=2)


def _count_lines(path):
    path = Path(path)
    return len(path.read_text().splitlines()) if path.exists() else 0


def _folder(cache):
    (folder,) = [path for path in Path(cache).iterdir() if path.is_dir()]
    return folder


def _record(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["__record__"]))


def _rewrite_record(path, **changes):
    """Rewrite the __record__ of a stored file (as a file written by other code would be)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    record = json.loads(str(arrays["__record__"]))
    record.update(changes)
    arrays["__record__"] = np.array(json.dumps(record))
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def _run(cache, log, n=4, seed=5, **params):
    with ThreadPoolExecutor(2) as pool:
        return run_ensemble(
            logged, n, seed=seed, executor=pool, progress=False, cache=cache, log=str(log), **params
        )


def _fresh(tmp_path, n=4, seed=5, **params):
    """The same ensemble without a cache."""
    with ThreadPoolExecutor(2) as pool:
        return run_ensemble(
            logged,
            n,
            seed=seed,
            executor=pool,
            progress=False,
            log=str(tmp_path / "fresh.log"),
            **params,
        )


# --- records --------------------------------------------------------------


def test_each_file_records_its_identity(tmp_path):
    log = tmp_path / "log"
    _run(tmp_path / "cache", log, seed=[5, 6], delta=np.float64(2.0))
    folder = _folder(tmp_path / "cache")
    children = np.random.SeedSequence([5, 6]).spawn(4)
    codes = set()
    for i in range(4):
        record = _record(folder / f"r{i:06d}.npz")
        assert record["index"] == i
        assert record["seed"] == {"entropy": [5, 6], "spawn_key": list(children[i].spawn_key)}
        assert record["params"] == {"log": str(log), "delta": 2}
        assert record["function"] == f"{logged.__module__}.logged"
        assert record["nqlib_version"] == ensemble.nqlib.__version__
        assert re.fullmatch(r"[0-9a-f]{64}", record["checksum"])
        codes.add(record["code"])
        with np.load(folder / f"r{i:06d}.npz", allow_pickle=False) as data:
            assert all(data[name].dtype != object for name in data.files)
    assert len(codes) == 1
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["code"] == codes.pop() and meta["seed"] == [5, 6]


# --- unusable files are named, recomputed and overwritten -------------------


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path):
    path.write_bytes(b"")


def _garbage(path):
    path.write_bytes(b"not a zip file at all" * 10)


def _flip_a_data_byte(path):
    """Change one byte of the stored numbers (the zip CRC or the record checksum catches it)."""
    data = bytearray(path.read_bytes())
    with np.load(path, allow_pickle=False) as npz:
        needle = npz["value1"].tobytes()  # the integers of "v"
    start = bytes(data).index(needle)
    data[start] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage", [_truncate, _empty, _garbage, _flip_a_data_byte], ids=lambda f: f.__name__.strip("_")
)
def test_damaged_file_is_named_recomputed_and_overwritten(tmp_path, damage):
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    path = _folder(cache) / "r000002.npz"
    damage(path)
    with pytest.warns(CacheWarning, match=re.escape(str(path))) as caught:
        results = _run(cache, log)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "realization 2 is recomputed" in messages[0], messages
    assert _count_lines(log) == 5  # only the damaged one was recomputed
    for a, b in zip(results, _fresh(tmp_path)):
        assert_same(a, b)
    # the file was overwritten: a third call loads everything silently
    with _no_cache_warning():
        again = _run(cache, log)
    assert _count_lines(log) == 5
    for a, b in zip(results, again):
        assert_same(a, b)


def test_swapped_files_are_detected(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    folder = _folder(cache)
    first, third = folder / "r000001.npz", folder / "r000003.npz"
    swap = folder / "swap"
    os.replace(first, swap)
    os.replace(third, first)
    os.replace(swap, third)
    with pytest.warns(CacheWarning) as caught:
        results = _run(cache, log)
    messages = sorted(str(warning.message) for warning in caught)
    assert len(messages) == 2
    assert str(first) in messages[0] and "index=3, this call expects 1" in messages[0]
    assert str(third) in messages[1] and "index=1, this call expects 3" in messages[1]
    assert _count_lines(log) == 6
    for a, b in zip(results, _fresh(tmp_path)):
        assert_same(a, b)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"code": "0" * 32}, "code="),
        ({"nqlib_version": "0.0.1"}, "nqlib_version="),
        ({"format": 0}, "format="),
        ({"seed": {"entropy": 6, "spawn_key": [0]}}, "seed="),
    ],
    ids=["code", "version", "format", "seed"],
)
def test_stale_file_is_recomputed(tmp_path, changes, reason):
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    path = _folder(cache) / "r000000.npz"
    _rewrite_record(path, **changes)
    with pytest.warns(CacheWarning, match=re.escape(str(path)) + ".*" + re.escape(reason)):
        results = _run(cache, log)
    assert _count_lines(log) == 5
    for a, b in zip(results, _fresh(tmp_path)):
        assert_same(a, b)
    assert _record(path)["code"] != "0" * 32


def test_file_without_record_is_recomputed(tmp_path):
    """A file in the format of older nqlib versions (no __record__) is not trusted."""
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    path = _folder(cache) / "r000001.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "__record__"}
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.warns(CacheWarning, match=re.escape(str(path)) + ".*no __record__"):
        results = _run(cache, log)
    assert _count_lines(log) == 5
    for a, b in zip(results, _fresh(tmp_path)):
        assert_same(a, b)


@pytest.mark.parametrize("source", ["other function", "other params", "other seed"])
def test_foreign_file_is_recomputed(tmp_path, source):
    """A valid file of another ensemble copied into this one's folder is not used."""
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    elsewhere = tmp_path / "elsewhere"
    with ThreadPoolExecutor(2) as pool:
        if source == "other function":
            run_ensemble(
                other, 4, seed=5, executor=pool, progress=False, cache=elsewhere, log=str(log)
            )
        elif source == "other params":
            run_ensemble(
                logged,
                4,
                seed=5,
                executor=pool,
                progress=False,
                cache=elsewhere,
                log=str(log),
                delta=0.25,
            )
        else:
            run_ensemble(
                logged, 4, seed=6, executor=pool, progress=False, cache=elsewhere, log=str(log)
            )
    target = _folder(cache) / "r000003.npz"
    shutil.copyfile(_folder(elsewhere) / "r000003.npz", target)
    calls = _count_lines(log)
    with pytest.warns(CacheWarning, match=re.escape(str(target))):
        results = _run(cache, log)
    assert _count_lines(log) == calls + 1
    for a, b in zip(results, _fresh(tmp_path)):
        assert_same(a, b)


# --- the key ----------------------------------------------------------------


def test_equal_numbers_share_the_cache(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    first = _run(cache, log, delta=1)
    assert _count_lines(log) == 4
    for delta in (1.0, np.float64(1.0), np.int64(1), np.array(1)):
        with _no_cache_warning():
            results = _run(cache, log, delta=delta)
        assert _count_lines(log) == 4, delta  # nothing recomputed
        for a, b in zip(first, results):
            assert_same(a, b)
    assert len(list(cache.iterdir())) == 1
    # but True is not 1, -0.0 is not 0.0, and single precision computes differently
    _run(cache, log, delta=True)
    assert len(list(cache.iterdir())) == 2
    _run(cache, log, delta=0.0)
    _run(cache, log, delta=-0.0)
    assert len(list(cache.iterdir())) == 4
    _run(cache, log, delta=np.float32(1.0))
    assert len(list(cache.iterdir())) == 5


MODULE = '''
import numpy as np

SHIFT = {shift}


def _helper(x):
    return x + {helper}


def realization(rng, burn_in={burn_in}):
    """{doc}"""
    # {comment}
    return _helper(rng.normal() + burn_in + SHIFT)
'''


@pytest.fixture
def editable_module(tmp_path, monkeypatch):
    """Write a module of realization functions; ``write(**changes)`` rewrites and reloads it."""
    name = f"nqlib_ensemble_probe_{uuid.uuid4().hex}"
    path = tmp_path / f"{name}.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    # no .pyc: a rewrite within the same second and of the same size must be recompiled
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    state = {}

    def write(**changes):
        fields = {"shift": 0.0, "helper": 1.0, "burn_in": 10, "doc": "A text.", "comment": "note"}
        fields.update(changes)
        path.write_text(MODULE.format(**fields))
        importlib.invalidate_caches()
        if "module" in state:
            state["module"] = importlib.reload(state["module"])
        else:
            state["module"] = importlib.import_module(name)
        return state["module"]

    yield write
    sys.modules.pop(name, None)


def test_changing_code_a_default_or_a_constant_changes_the_key(tmp_path, editable_module):
    """Any edit of the module of a function outside nqlib gives a new key, an edit of a docstring
    or a comment included: the conservative choice (the whole source file is hashed, not what
    the function uses of it), which recomputes sometimes needlessly but never serves a stale
    result."""
    cache = tmp_path / "cache"

    def folders(module):
        with ThreadPoolExecutor(2) as pool:
            results = run_ensemble(
                module.realization, 3, seed=1, executor=pool, progress=False, cache=cache
            )
        return {path.name for path in cache.iterdir()}, results

    seen, original = folders(editable_module())
    assert len(seen) == 1
    # the same source again: the same key, the results loaded
    with _no_cache_warning():
        same, loaded = folders(editable_module())
    assert same == seen
    for a, b in zip(original, loaded):
        assert_same(a, b)
    # a docstring or a comment: a new key, the same numbers
    for change in ({"doc": "Another text."}, {"comment": "other"}):
        names, results = folders(editable_module(**change))
        assert len(names) == len(seen) + 1, change
        for a, b in zip(original, results):
            assert_same(a, b)
        seen = names
    # a default argument, a helper function, a module constant: a new key, other numbers
    for change in ({"burn_in": 20}, {"helper": 2.0}, {"shift": 0.5}):
        names, results = folders(editable_module(**change))
        assert len(names) == len(seen) + 1, change
        assert not np.array_equal(np.array(results), np.array(original))
        seen = names


def test_changing_a_default_changes_the_key_whatever_the_source():
    """The defaults are hashed by value (normalised like the params), also where the source
    file stays the same."""

    def key(default):
        logged.__defaults__ = (default,)
        return ensemble._code_hash(logged)

    defaults = logged.__defaults__
    try:
        assert key(0.5) == key(np.float64(0.5)) != key(0.25)
        assert key(1) == key(1.0) != key(True)
    finally:
        logged.__defaults__ = defaults


def test_editing_an_nqlib_source_file_changes_the_keys_that_cover_it(tmp_path, monkeypatch):
    """The key of an nqlib function covers the bytes of its module and of every nqlib module it
    imports (plus ensemble.py, __init__.py); the key of any other function covers every
    nqlib/*.py file. Edits here are made in copies of the files; the real ones are not touched."""
    from nqlib import circuit

    real = ensemble._library_files()
    assert {path.name for path in real} >= {"__init__.py", "ensemble.py", "circuit.py", "gates.py"}
    functions = [circuit.neas_samples, logged]
    before = [ensemble._code_hash(fn) for fn in functions]
    copies = tmp_path / "nqlib"
    copies.mkdir()
    for path in real:
        shutil.copyfile(path, copies / path.name)
    monkeypatch.setattr(ensemble, "_library_files", lambda: sorted(copies.glob("*.py")))
    assert [ensemble._code_hash(fn) for fn in functions] == before  # same bytes, same hash
    # circuit imports gates and ssep; neither circuit nor what it imports imports plotting
    for name, covers_circuit in (("gates.py", True), ("ssep.py", True), ("plotting.py", False)):
        edited = copies / name
        original = edited.read_bytes()
        edited.write_bytes(original + b"\n# a comment\n")
        for fn, covered in ((functions[0], covers_circuit), (functions[1], True)):
            if covered:  # this process still runs the old code
                with pytest.raises(
                    RuntimeError, match=f"changed after this process imported nqlib.*{name}"
                ):
                    ensemble._code_hash(fn)
            else:
                assert ensemble._code_hash(fn) == before[0]
        # a fresh process would import the edited files
        monkeypatch.setattr(ensemble, "_LIBRARY_AT_IMPORT", ensemble._library_sources())
        after = [ensemble._code_hash(fn) for fn in functions]
        assert (after[0] != before[0]) == covers_circuit and after[1] != before[1], name
        edited.write_bytes(original)
        monkeypatch.setattr(ensemble, "_LIBRARY_AT_IMPORT", ensemble._library_sources())
    assert [ensemble._code_hash(fn) for fn in functions] == before
    # and a cached ensemble is recomputed into a new folder
    cache, log = tmp_path / "cache", tmp_path / "log"
    _run(cache, log)
    (copies / "ssep.py").write_bytes(b"")
    monkeypatch.setattr(ensemble, "_LIBRARY_AT_IMPORT", ensemble._library_sources())
    with _no_cache_warning():
        _run(cache, log)
    assert _count_lines(log) == 8 and len(list(cache.iterdir())) == 2


NOTEBOOK_CELL = '''
def realization(rng, burn_in={burn_in}):
    """{doc}"""
    def inner(x):
        return x * {inner} if x in {{"a", "b", "c"}} else x

    return rng.normal() + burn_in + inner({value!r})
'''


def _notebook_function(burn_in=10, doc="A text.", inner=2.0, value=1.5):
    """``realization`` as if defined in a notebook cell: no source file on disk."""
    namespace = {"__name__": "__main__"}
    source = NOTEBOOK_CELL.format(burn_in=burn_in, doc=doc, inner=inner, value=value)
    exec(compile(source, "<ipython-input-1>", "exec"), namespace)  # noqa: S102
    return namespace["realization"]


def test_function_without_source_file_is_hashed_by_its_code():
    hash_of = ensemble._code_hash
    original = hash_of(_notebook_function())
    assert hash_of(_notebook_function()) == original
    assert hash_of(_notebook_function(doc="Another text.")) == original  # docstring aside
    for change in ({"burn_in": 20}, {"inner": 3.0}, {"value": 2.5}, {"value": "a"}):
        assert hash_of(_notebook_function(**change)) != original, change
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from nqlib import ensemble
        import {logged.__module__} as tests
        print(ensemble._code_hash(tests._notebook_function()))
        """
    )
    for hash_seed in ("1", "2"):  # the set constant {"a", "b", "c"} is ordered by its hashes
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        assert out == [original]


def test_code_hash_is_the_same_in_every_process():
    from nqlib import circuit, freecircuit

    functions = [circuit.neas_samples, freecircuit.neas_samples, logged]
    here = [ensemble._code_hash(fn) for fn in functions]
    assert len(set(here)) == 3
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from nqlib import circuit, ensemble, freecircuit
        import {logged.__module__} as tests
        for fn in (circuit.neas_samples, freecircuit.neas_samples, tests.logged):
            print(ensemble._code_hash(fn))
        """
    )
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        assert out == here


# --- one BLAS thread, whatever the executor ---------------------------------


def test_thread_pool_equals_default_pool_bit_for_bit(tmp_path):
    # the caller uses two BLAS threads: the realizations must use one all the same
    with threadpool_limits(limits=2, user_api="blas"):
        default = run_ensemble(blas_heavy, 4, seed=3, progress=False)
        with ThreadPoolExecutor(2) as pool:
            threads = run_ensemble(blas_heavy, 4, seed=3, executor=pool, progress=False)
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            processes = run_ensemble(blas_heavy, 4, seed=3, executor=pool, progress=False)
        with ThreadPoolExecutor(2) as pool:
            cached = run_ensemble(
                blas_heavy, 4, seed=3, executor=pool, progress=False, cache=tmp_path
            )
            loaded = run_ensemble(
                blas_heavy, 4, seed=3, executor=pool, progress=False, cache=tmp_path
            )
        # the caller's own limit is back once the ensemble is done
        blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
        assert all(info["num_threads"] == min(2, os.cpu_count()) for info in blas)
    for results in (default, threads, processes, cached, loaded):
        assert [int(result["threads"]) for result in results] == [1, 1, 1, 1]
        for a, b in zip(default, results):
            assert_same(a, b)


# --- interruption -----------------------------------------------------------


@pytest.fixture
def sigint_to_self():
    """``send(log, after_done, count=1)``: SIGINT this process once ``after_done`` realizations
    logged "done" (plus 0.1 s), ``count`` times 0.1 s apart, unless ``disarm()`` was called
    first. Returns ``(times, disarm)``, ``times`` being filled with the send times."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threads, armed = [], threading.Event()

    def send(log, after_done, count=1):
        times = []
        armed.set()

        def run():
            deadline = time.monotonic() + 60
            while armed.is_set() and time.monotonic() < deadline:
                if Path(log).exists() and Path(log).read_text().count("done") >= after_done:
                    break
                time.sleep(0.005)
            else:
                return
            time.sleep(0.1)
            for _ in range(count):
                if not armed.is_set():
                    return
                times.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return times, armed.clear

    yield send
    armed.clear()
    for thread in threads:
        thread.join()
    signal.signal(signal.SIGINT, previous)


def _log_entries(log, what):
    return [
        tuple(map(int, line.split()[1:]))
        for line in Path(log).read_text().splitlines()
        if line.startswith(what)
    ]


@pytest.mark.parametrize("kind", ["default", "process-2", "thread-2"])
def test_interrupt_keeps_finished_realizations_and_returns_promptly(
    tmp_path, monkeypatch, sigint_to_self, kind
):
    duration, n = 1.0, 8
    cache, log = tmp_path / "cache", tmp_path / "log"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # default pool: 2 workers
    pool = {
        "default": lambda: None,
        "process-2": lambda: ProcessPoolExecutor(2),
        "thread-2": lambda: ThreadPoolExecutor(2),
    }[kind]()
    sent, disarm = sigint_to_self(log, after_done=2)
    cached_run = functools.partial(
        run_ensemble, slow, n, seed=2, progress=False, cache=cache, log=str(log), duration=duration
    )
    try:
        with pytest.raises(KeyboardInterrupt):
            cached_run(executor=pool)
    finally:
        disarm()
    returned = time.monotonic()
    assert len(sent) == 1
    assert returned - sent[0] < 1.5 * duration  # at most about one realization's time
    if pool is not None:
        pool.shutdown(wait=True)  # whatever still ran there has logged "done" now
    finished = {index for index, _ in _log_entries(log, "done")}
    stored = {int(path.stem[1:]) for path in _folder(cache).glob("r*.npz")}
    assert stored == finished  # nothing that finished was thrown away
    assert len(stored) < n  # and the queued realizations were cancelled
    started = {index for index, _ in _log_entries(log, "start")}
    assert started == finished
    # a rerun computes the rest only, and equals an uninterrupted run
    with ThreadPoolExecutor(4) as fresh:
        resumed = cached_run(executor=fresh)
        reference = run_ensemble(
            slow,
            n,
            seed=2,
            executor=fresh,
            progress=False,
            log=str(tmp_path / "other"),
            duration=0.0,
        )
    assert len(_log_entries(log, "start")) == n
    for a, b in zip(resumed, reference):
        assert_same(a, b)


def test_second_interrupt_abandons_the_running_realizations(tmp_path, monkeypatch, sigint_to_self):
    cache, log = tmp_path / "cache", tmp_path / "log"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    # two quick ones, then two slow ones are running when the two signals come
    sent, disarm = sigint_to_self(log, after_done=2, count=2)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_ensemble(slow_after_two, 6, seed=2, progress=False, cache=cache, log=str(log))
    finally:
        returned = time.monotonic()
        disarm()
    assert len(sent) == 2 and returned - sent[1] < 1.0
    # the default pool's workers are gone (terminated), not left computing
    workers = {pid for _, pid in _log_entries(log, "start")}
    time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]
    stored = {int(path.stem[1:]) for path in _folder(cache).glob("r*.npz")}
    assert stored == {index for index, _ in _log_entries(log, "done")} == {0, 1}


def _children(pid):
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ...": comm may contain spaces, so split after its ")"
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_no_process_of_the_default_pool_outlives_a_killed_caller(tmp_path):
    # an out-of-memory killed kernel gets SIGKILL: nothing of its pool may stay behind
    log = tmp_path / "log"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_ensemble_cache
        from nqlib.ensemble import run_ensemble
        if __name__ == "__main__":
            run_ensemble(test_ensemble_cache.slow, 4, seed=1, progress=False,
                         log={str(log)!r}, duration=120.0)
        """
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_log_entries(log, "start") if log.exists() else []) < 2:
            assert caller.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        workers = {pid for _, pid in _log_entries(log, "start")}
        helpers = _children(caller.pid)  # the forkserver and the resource tracker
        assert len(helpers) == 2 and all(_alive(pid) for pid in workers | set(helpers))
    finally:
        caller.kill()
        caller.wait()
    survivors = workers | set(helpers)
    deadline = time.monotonic() + 10
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = {pid for pid in survivors if _alive(pid)}
    assert not survivors
    for pid in workers:  # they were killed, not left to finish their realization
        assert pid not in {pid for _, pid in _log_entries(log, "done")}


def slow_after_two(rng, log):
    index = rng.bit_generator.seed_seq.spawn_key[-1]
    return slow(rng, log, 0.05 if index < 2 else 30.0)


def _alive(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status


@contextlib.contextmanager
def _no_cache_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        yield


@pytest.mark.parametrize("kind", ["default", "process-2", "dask"])
def test_resume_with_another_executor_is_bit_identical(tmp_path, kind):
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(2) as pool:
        run_ensemble(blas_heavy, 3, seed=9, executor=pool, progress=False, cache=cache, size=40)
        reference = run_ensemble(blas_heavy, 6, seed=9, executor=pool, progress=False, size=40)
    with contextlib.ExitStack() as stack:
        if kind == "default":
            executor = None
        elif kind == "process-2":
            executor = stack.enter_context(ProcessPoolExecutor(2))
        else:
            distributed = pytest.importorskip("distributed")
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
                )
            )
            executor = stack.enter_context(distributed.Client(cluster)).get_executor()
        with _no_cache_warning():
            resumed = run_ensemble(
                blas_heavy, 6, seed=9, executor=executor, progress=False, cache=cache, size=40
            )
    assert len(list(_folder(cache).glob("r*.npz"))) == 6
    for a, b in zip(resumed, reference):
        assert_same(a, b)


# --- one setting for every call: NQLIB_EXECUTOR, NQLIB_CACHE -----------------


def where_computed(rng):
    """A number from rng, and whether this ran in a Dask worker."""
    try:
        from distributed import get_worker

        get_worker()
        in_dask = 1
    except (ImportError, ValueError):
        in_dask = 0
    return {"x": rng.normal(size=3), "in_dask": in_dask}


def test_cache_variable_is_the_default_cache(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("NQLIB_CACHE", str(tmp_path / "cache"))
    with ThreadPoolExecutor(2) as pool:
        first = run_ensemble(logged, 3, seed=4, executor=pool, progress=False, log=str(log))
        assert _count_lines(log) == 3
        assert len(list(_folder(tmp_path / "cache").glob("r*.npz"))) == 3
        with _no_cache_warning():
            again = run_ensemble(logged, 3, seed=4, executor=pool, progress=False, log=str(log))
        assert _count_lines(log) == 3  # loaded, not recomputed
        # cache=False: no cache whatever the environment
        off = run_ensemble(
            logged, 3, seed=4, executor=pool, progress=False, cache=False, log=str(log)
        )
        assert _count_lines(log) == 6
        # an explicit cache wins over the variable
        run_ensemble(
            logged, 3, seed=4, executor=pool, progress=False, cache=tmp_path / "mine", log=str(log)
        )
        assert len(list(_folder(tmp_path / "mine").glob("r*.npz"))) == 3
    for a, b, c in zip(first, again, off):
        assert_same(a, b)
        assert_same(a, c)


def test_executor_variable_sends_every_call_to_a_dask_scheduler(monkeypatch):
    distributed = pytest.importorskip("distributed")
    with ThreadPoolExecutor(2) as pool:
        reference = run_ensemble(where_computed, 4, seed=8, executor=pool, progress=False)
    assert [int(result["in_dask"]) for result in reference] == [0] * 4
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("NQLIB_EXECUTOR", cluster.scheduler_address)
        sent = run_ensemble(where_computed, 4, seed=8, progress=False)
        # an explicit executor still wins
        with ThreadPoolExecutor(1) as pool:
            local = run_ensemble(where_computed, 2, seed=8, executor=pool, progress=False)
    assert [int(result["in_dask"]) for result in sent] == [1] * 4
    assert [int(result["in_dask"]) for result in local] == [0] * 2
    for a, b in zip(reference, sent):
        assert_same(a["x"], b["x"])


@pytest.mark.parametrize("value", ["dask", "threads", "8786", "scheduler:8786"])
def test_executor_variable_refuses_what_it_does_not_understand(tmp_path, monkeypatch, value):
    log = tmp_path / "log"
    monkeypatch.setenv("NQLIB_EXECUTOR", value)
    with pytest.raises(ValueError, match=f"NQLIB_EXECUTOR='{value}'.*tcp://"):
        run_ensemble(logged, 2, seed=1, progress=False, log=str(log))
    assert not log.exists()  # before any realization
    monkeypatch.setenv("NQLIB_EXECUTOR", "local")
    run_ensemble(logged, 2, seed=1, progress=False, log=str(log))
    assert _count_lines(log) == 2


def test_executor_variable_without_dask_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("NQLIB_EXECUTOR", "tcp://127.0.0.1:1")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(
        ImportError,
        match=r"NQLIB_EXECUTOR='tcp://127.0.0.1:1' needs Dask.*"
        r"\[cluster\]",
    ):
        run_ensemble(logged, 2, seed=1, progress=False, log=str(tmp_path / "log"))


def test_the_code_hash_covers_every_nqlib_module_a_function_loads():
    """The import closure read from the sources contains every nqlib module that importing the
    function's module really loads (no import hidden from the parser), for every physics module."""
    import nqlib

    library = dict(ensemble._library_sources())
    for module in nqlib.PHYSICS:
        code = f"import sys, nqlib.{module}; print(sorted(m for m in sys.modules if m.startswith('nqlib.')))"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        loaded = {name.split(".")[1] + ".py" for name in eval(out.stdout)}
        assert loaded <= ensemble._nqlib_closure(module, library), (module, loaded)


def test_adopt_cache_carries_realizations_over_a_change_that_does_not_alter_them(
    tmp_path, editable_module
):
    """After an edit that leaves the numbers alone (a comment) the stored realizations are
    orphaned by the new code hash; adopt_cache recomputes the ones it is told to verify, finds
    them identical and stores all under the new key, where run_ensemble loads them. After an edit
    that changes the numbers it refuses and adopts nothing."""
    cache = tmp_path / "cache"

    def run(module):
        with ThreadPoolExecutor(1) as pool:
            return run_ensemble(
                module.realization, 4, seed=2, executor=pool, progress=False, cache=cache
            )

    original = run(editable_module())
    before = {p.name for p in cache.iterdir()}
    module = editable_module(comment="an edit that changes nothing")
    info = ensemble.adopt_cache(module.realization, 4, seed=2, cache=cache, verify=[0, 3])
    assert info["adopted"] == 4 and info["verified"] == [0, 3] and len(info["codes"]) == 1
    (folder,) = [p for p in cache.iterdir() if p.name not in before]
    assert len(list(folder.glob("r*.npz"))) == 4
    with _no_cache_warning():
        for a, b in zip(original, run(module)):
            assert_same(a, b)
    again = ensemble.adopt_cache(module.realization, 4, seed=2, cache=cache)
    assert again == {"codes": [], "adopted": 0, "verified": []}
    # another seed or params find nothing to adopt
    assert ensemble.adopt_cache(module.realization, 4, seed=3, cache=cache)["adopted"] == 0
    changed = editable_module(shift=0.25)
    with pytest.raises(ValueError, match="differs from the one stored"):
        ensemble.adopt_cache(changed.realization, 4, seed=2, cache=cache)
    with pytest.raises(ValueError, match="verify must be"):
        ensemble.adopt_cache(changed.realization, 4, seed=2, cache=cache, verify=[4])
    with pytest.raises(ValueError, match="names no orphaned"):
        ensemble.adopt_cache(changed.realization, 5, seed=2, cache=cache, verify=[4])
    with pytest.raises(ValueError, match="cache must name"):
        ensemble.adopt_cache(changed.realization, 4, seed=2, cache=None)

"""Tests for nqlib.ensemble."""

import json
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nqlib import ensemble
from nqlib.ensemble import SCALES, active_scale, by_scale, run_ensemble, scale_table, stack

# Realization functions live at module level so that worker processes can
# unpickle them.


def draw(rng, size=3, scale=1.0):
    return rng.normal(size=size) * scale


def reverse_finish(rng, count, log):
    """Finish the last realization first; return (index, random number)."""
    index = rng.bit_generator.seed_seq.spawn_key[-1]
    time.sleep(0.03 * (count - index))
    with open(log, "a") as file:
        file.write(f"{index}\n")
    return np.array([index, rng.random()])


def logged(rng, log):
    with open(log, "a") as file:
        file.write("called\n")
    return {"x": rng.normal(), "v": rng.integers(0, 10, size=4)}


def interruptible(rng, log, stop, k):
    """Raise once ``k`` realizations have run while the file ``stop`` exists."""
    if Path(stop).exists() and _count_lines(log) >= k:
        raise RuntimeError("interrupted")
    with open(log, "a") as file:
        file.write("called\n")
    return rng.normal(size=2)


def fail_at(rng, log, k):
    """Log the realization index; realization ``k`` raises."""
    index = rng.bit_generator.seed_seq.spawn_key[-1]
    with open(log, "a") as file:
        file.write(f"{index}\n")
    if index == k:
        raise RuntimeError(f"realization {index} failed")
    time.sleep(0.05)
    return rng.random()


def python_float(rng):
    return rng.random()


def python_int(rng):
    return int(rng.integers(100))


def python_bool(rng):
    return bool(rng.integers(2))


def python_complex(rng):
    return complex(rng.normal(), rng.normal())


def numpy_float32(rng):
    return np.float32(rng.random())


def numpy_complex64(rng):
    return np.complex64(rng.normal() + 1j * rng.normal())


def int32_array(rng):
    return rng.integers(0, 10, size=(2, 3)).astype(np.int32)


def zero_dim_array(rng):
    return np.array(rng.random())


def complex_array(rng):
    return rng.normal(size=3) + 1j * rng.normal(size=3)


def mixed_dict(rng):
    return {
        "energy": rng.normal(),
        "count": np.int16(rng.integers(10)),
        "phase": complex(rng.normal(), rng.normal()),
        "flag": bool(rng.integers(2)),
        "profile": rng.normal(size=4).astype(np.float32),
        "scalar array": np.array(rng.random()),
    }


def unsupported(rng):
    return [rng.random()]


RESULT_KINDS = [
    python_float,
    python_int,
    python_bool,
    python_complex,
    numpy_float32,
    numpy_complex64,
    int32_array,
    zero_dim_array,
    complex_array,
    mixed_dict,
]


def direct(fn, seed, i, **params):
    """Realization ``i`` computed by hand, following the seeding contract."""
    child = np.random.SeedSequence(seed).spawn(i + 1)[i]
    return fn(rng=np.random.Generator(np.random.PCG64(child)), **params)


def assert_same(a, b):
    """Assert equal values, types and dtypes, bit for bit (recursing into dicts)."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    else:
        assert a.dtype == b.dtype
        assert np.shape(a) == np.shape(b)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def _count_lines(path):
    path = Path(path)
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(params=["default", "process-1", "process-2", "thread-3", "dask"])
def executor(request):
    if request.param == "default":
        yield None
    elif request.param.startswith("process"):
        with ProcessPoolExecutor(int(request.param[-1])) as pool:
            yield pool
    elif request.param == "thread-3":
        with ThreadPoolExecutor(3) as pool:
            yield pool
    else:
        distributed = pytest.importorskip("distributed")
        # In-process workers: functions of this test module need not be
        # importable elsewhere, and the cluster starts in well under a second.
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client.get_executor()


# --- reproducibility ------------------------------------------------------


def test_results_follow_seeding_contract(executor):
    expected = [direct(draw, 7, i, size=4) for i in range(5)]
    results = run_ensemble(draw, 5, seed=7, executor=executor, progress=False, size=4)
    assert len(results) == 5
    for result, reference in zip(results, expected):
        assert_same(result, reference)
    again = run_ensemble(draw, 5, seed=7, executor=executor, progress=False, size=4)
    for result, repeat in zip(results, again):
        assert_same(result, repeat)


def test_different_seeds_give_different_results():
    with ThreadPoolExecutor(2) as pool:
        a = run_ensemble(draw, 3, seed=1, executor=pool, progress=False)
        b = run_ensemble(draw, 3, seed=2, executor=pool, progress=False)
        c = run_ensemble(draw, 3, seed=[1, 2], executor=pool, progress=False)
    assert not np.array_equal(stack(a), stack(b))
    assert not np.array_equal(stack(a), stack(c))
    # distinct realizations within one ensemble, too
    assert len({tuple(result) for result in a}) == 3


def test_results_are_in_realization_order(tmp_path):
    log = tmp_path / "finished.txt"
    with ThreadPoolExecutor(3) as pool:
        results = run_ensemble(
            reverse_finish, 6, seed=3, executor=pool, progress=False, count=6, log=str(log)
        )
    finished = [int(line) for line in log.read_text().split()]
    assert finished != sorted(finished)  # they really finished out of order
    assert [int(result[0]) for result in results] == list(range(6))
    for i, result in enumerate(results):
        assert_same(result, direct(reverse_finish, 3, i, count=6, log=str(tmp_path / "other")))


def test_larger_n_extends_smaller_n():
    with ThreadPoolExecutor(2) as pool:
        small = run_ensemble(draw, 3, seed=11, executor=pool, progress=False)
        large = run_ensemble(draw, 8, seed=11, executor=pool, progress=False)
    assert len(large) == 8
    for a, b in zip(small, large[:3]):
        assert_same(a, b)


def test_progress_bar_shows_function_name(capsys):
    run_ensemble(draw, 3, seed=0, executor=ThreadPoolExecutor(1))
    assert "draw" in capsys.readouterr().err
    run_ensemble(draw, 3, seed=0, executor=ThreadPoolExecutor(1), progress=False)
    assert capsys.readouterr().err == ""


def test_exception_propagates_and_cancels_pending(tmp_path):
    log = tmp_path / "log.txt"
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(RuntimeError, match="realization 2 failed"):
            run_ensemble(fail_at, 8, seed=0, executor=pool, progress=False, log=str(log), k=2)
    started = [int(line) for line in log.read_text().split()]
    # 0, 1, 2 ran; 3 may have started before the failure was seen; the rest never ran
    assert started[:3] == [0, 1, 2]
    assert max(started) <= 3


# --- cache ----------------------------------------------------------------


def test_cache_second_call_loads_everything(tmp_path):
    log = str(tmp_path / "log.txt")
    cache = tmp_path / "cache"
    first = run_ensemble(logged, 4, seed=5, progress=False, cache=cache, log=log)
    assert _count_lines(log) == 4
    second = run_ensemble(logged, 4, seed=5, progress=False, cache=str(cache), log=log)
    assert _count_lines(log) == 4  # nothing recomputed
    for a, b in zip(first, second):
        assert_same(a, b)
    # extending the ensemble computes only the new realizations
    third = run_ensemble(logged, 6, seed=5, progress=False, cache=cache, log=log)
    assert _count_lines(log) == 6
    for a, b in zip(first, third):
        assert_same(a, b)
    reference = direct(logged, 5, 5, log=str(tmp_path / "other"))
    assert third[5]["x"] == reference["x"]
    np.testing.assert_array_equal(third[5]["v"], reference["v"])


@pytest.mark.parametrize("fn", RESULT_KINDS, ids=lambda fn: fn.__name__)
def test_cached_results_identical_to_fresh(tmp_path, fn):
    with ThreadPoolExecutor(2) as pool:
        fresh = run_ensemble(fn, 3, seed=9, executor=pool, progress=False)
        stored = run_ensemble(fn, 3, seed=9, executor=pool, progress=False, cache=tmp_path)
        loaded = run_ensemble(fn, 3, seed=9, executor=pool, progress=False, cache=tmp_path)
    for a, b, c in zip(fresh, stored, loaded):
        assert_same(a, b)
        assert_same(a, c)
    if isinstance(fresh[0], dict):
        assert all(type(key) is str for key in loaded[0])
    else:
        assert isinstance(fresh[0], (np.ndarray, np.generic))


def test_resume_after_interruption(tmp_path):
    cache = tmp_path / "cache"
    log = tmp_path / "log.txt"
    stop = tmp_path / "stop"
    stop.touch()
    params = dict(log=str(log), stop=str(stop), k=3)
    with ThreadPoolExecutor(1) as pool:  # one worker: realizations run in order
        with pytest.raises(RuntimeError, match="interrupted"):
            run_ensemble(interruptible, 6, seed=4, executor=pool, cache=cache, **params)
        assert _count_lines(log) == 3
        (folder,) = cache.iterdir()
        assert sorted(p.name for p in folder.iterdir()) == [
            "meta.json",
            "r000000.npz",
            "r000001.npz",
            "r000002.npz",
        ]
        stop.unlink()
        resumed = run_ensemble(interruptible, 6, seed=4, executor=pool, cache=cache, **params)
    assert _count_lines(log) == 6  # only the three missing ones were computed
    reference = run_ensemble(
        interruptible,
        6,
        seed=4,
        executor=ThreadPoolExecutor(2),
        progress=False,
        log=str(tmp_path / "other"),
        stop=str(stop),
        k=3,
    )
    for a, b in zip(resumed, reference):
        assert_same(a, b)


def test_cache_folder_depends_on_params_and_seed(tmp_path):
    with ThreadPoolExecutor(2) as pool:

        def run(seed, **params):
            run_ensemble(
                draw, 2, seed=seed, executor=pool, progress=False, cache=tmp_path, **params
            )
            return {p.name for p in tmp_path.iterdir()}

        assert len(run(1, scale=1.0)) == 1
        assert len(run(1, scale=1.0)) == 1
        assert len(run(1, scale=np.float64(1.0))) == 1  # numpy scalars hash as numbers
        assert len(run(2, scale=1.0)) == 2
        assert len(run(1, scale=2.0)) == 3
        assert len(run([1, 0], scale=1.0)) == 4
        folders = run(1, size=np.array([2]))
    assert len(folders) == 5
    assert all(name.startswith("draw-") for name in folders)


def test_cache_files_are_npz_and_meta_json(tmp_path):
    with ThreadPoolExecutor(2) as pool:
        run_ensemble(mixed_dict, 3, seed=8, executor=pool, progress=False, cache=tmp_path)
        run_ensemble(draw, 2, seed=8, executor=pool, progress=False, cache=tmp_path, size=(2, 2))
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert sorted(path.name for path in files) == sorted(
        [
            "meta.json",
            "meta.json",
            "r000000.npz",
            "r000001.npz",
            "r000002.npz",
            "r000000.npz",
            "r000001.npz",
        ]
    )
    for path in files:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                for name in data.files:
                    assert data[name].dtype != object
    meta = json.loads((tmp_path / next(tmp_path.glob("draw-*")).name / "meta.json").read_text())
    assert meta["function"] == f"{draw.__module__}.draw"
    assert meta["params"] == {"size": [2, 2]}
    assert meta["seed"] == 8
    assert "nqlib_version" in meta


def test_cache_rejects_unsupported_result(tmp_path):
    with pytest.raises(TypeError, match="cannot be cached"):
        run_ensemble(
            unsupported, 2, seed=0, executor=ThreadPoolExecutor(1), progress=False, cache=tmp_path
        )
    # without a cache, other return values pass through untouched
    results = run_ensemble(unsupported, 2, seed=0, executor=ThreadPoolExecutor(1), progress=False)
    assert all(type(result) is list for result in results)


# --- validation -----------------------------------------------------------


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3", None])
def test_invalid_n(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        run_ensemble(draw, n, seed=0, progress=False)


def test_non_callable_fn():
    with pytest.raises(ValueError, match="fn must be callable"):
        run_ensemble("draw", 2, seed=0, progress=False)


def test_seed_none_is_rejected():
    with pytest.raises(ValueError, match="explicit seed is required"):
        run_ensemble(draw, 2, seed=None, progress=False)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", [], [1, -2], True])
def test_invalid_seed(seed):
    with pytest.raises(ValueError, match="seed must be"):
        run_ensemble(draw, 2, seed=seed, progress=False)


def test_invalid_executor():
    with pytest.raises(ValueError, match="executor must be"):
        run_ensemble(draw, 2, seed=0, executor=object(), progress=False)


@pytest.mark.parametrize("value", [object(), 1j, {1: 2}, [1, {3}]])
def test_non_json_params_with_cache(tmp_path, value):
    with pytest.raises(ValueError, match="cannot be cached"):
        run_ensemble(draw, 2, seed=0, progress=False, cache=tmp_path, scale=value)
    assert list(tmp_path.iterdir()) == []


def test_uncacheable_function(tmp_path):
    with pytest.raises(ValueError, match="cannot be cached"):
        run_ensemble(lambda rng: 1.0, 2, seed=0, progress=False, cache=tmp_path)


def test_rng_param_is_rejected():
    with pytest.raises(ValueError, match="rng"):
        run_ensemble(draw, 2, seed=0, progress=False, rng=1)


# --- scale ----------------------------------------------------------------


def test_active_scale(monkeypatch):
    monkeypatch.delenv("NQLIB_SCALE", raising=False)
    assert active_scale() == "book"
    monkeypatch.setenv("NQLIB_SCALE", "")
    assert active_scale() == "book"
    for scale in SCALES:
        monkeypatch.setenv("NQLIB_SCALE", scale)
        assert active_scale() == scale
    monkeypatch.setenv("NQLIB_SCALE", "bogus")
    with pytest.raises(ValueError, match="NQLIB_SCALE='bogus'.*'quick', 'book', 'paper'"):
        active_scale()


def test_by_scale(monkeypatch):
    choices = dict(quick=dict(L=24), book=dict(L=64), paper=dict(L=128))
    monkeypatch.delenv("NQLIB_SCALE", raising=False)
    assert by_scale(**choices) == {"L": 64}
    monkeypatch.setenv("NQLIB_SCALE", "paper")
    assert by_scale(**choices) == {"L": 128}
    assert by_scale(**choices, scale="quick") == {"L": 24}
    with pytest.raises(ValueError, match="scale='huge'"):
        by_scale(**choices, scale="huge")


def test_scale_table_picks_one_column_in_order(monkeypatch):
    rows = dict(L=(24, 64, 128), sizes=((4, 6), (4, 6, 8), (8, 16)), seed=(1, 1, 1))
    monkeypatch.delenv("NQLIB_SCALE", raising=False)
    book = scale_table(**rows)
    assert book == {"L": 64, "sizes": (4, 6, 8), "seed": 1}
    assert list(book) == ["L", "sizes", "seed"]
    monkeypatch.setenv("NQLIB_SCALE", "quick")
    assert scale_table(**rows) == {"L": 24, "sizes": (4, 6), "seed": 1}
    assert scale_table(**rows, scale="paper") == {"L": 128, "sizes": (8, 16), "seed": 1}
    for scale in SCALES:
        assert scale_table(**rows, scale=scale) == by_scale(
            scale=scale,
            **{s: {k: v[i] for k, v in rows.items()} for i, s in enumerate(SCALES)},
        )


@pytest.mark.parametrize("bad", [64, (24, 64), [24, 64, 128], (1, 2, 3, 4)])
def test_scale_table_refuses_rows_that_are_not_three_values(bad):
    with pytest.raises(
        ValueError, match=r"L=.*tuple of its 3 values at the scales quick, book, paper"
    ):
        scale_table(L=bad)
    with pytest.raises(ValueError, match="scale='huge'"):
        scale_table(L=(1, 2, 3), scale="huge")


# --- stack ----------------------------------------------------------------


def test_stack_arrays_and_numbers():
    arrays = [np.arange(3) + i for i in range(4)]
    np.testing.assert_array_equal(stack(arrays), np.arange(3) + np.arange(4)[:, None])
    numbers = [np.float64(0.5), np.float64(1.5)]
    stacked = stack(numbers)
    assert stacked.shape == (2,) and stacked.dtype == np.float64


def test_stack_dicts():
    results = [{"x": np.float64(i), "v": np.full(2, i)} for i in range(3)]
    stacked = stack(results)
    assert list(stacked) == ["x", "v"]
    np.testing.assert_array_equal(stacked["x"], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(stacked["v"], [[0, 0], [1, 1], [2, 2]])


@pytest.mark.parametrize(
    "results",
    [[], [{"x": 1}, {"y": 1}], [{"x": 1}, np.zeros(1)], [np.zeros(1), {"x": 1}]],
)
def test_stack_rejects_bad_input(results):
    with pytest.raises(ValueError, match="results"):
        stack(results)


# --------------------------------------------------------------------------- jackknife
def test_jackknife_of_the_mean_is_the_standard_error():
    x = np.random.default_rng(3).normal(size=(40, 3))
    estimate, error = ensemble.jackknife(lambda d: d.mean(axis=0), x)
    np.testing.assert_allclose(estimate, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(error, x.std(axis=0, ddof=1) / np.sqrt(40), rtol=1e-12)


def test_jackknife_of_a_ratio_of_pooled_sums_on_dicts():
    rng = np.random.default_rng(4)
    data = {"n": np.full(30, 100.0), "s": rng.normal(5.0, 1.0, size=30) * 100}
    estimate, error = ensemble.jackknife(lambda d: d["s"].sum() / d["n"].sum(), data)
    np.testing.assert_allclose(estimate, data["s"].sum() / 3000, rtol=1e-14)
    # for equal weights the pooled ratio is a mean of per-realization means: same error
    np.testing.assert_allclose(error, (data["s"] / 100).std(ddof=1) / np.sqrt(30), rtol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((1, 2)), {"a": np.zeros(3), "b": np.zeros(4)}])
def test_jackknife_rejects_too_few_or_ragged_realizations(bad):
    with pytest.raises(ValueError, match="realizations"):
        ensemble.jackknife(lambda d: 0.0, bad)


def parent_pid(rng):
    import os

    return np.int64(os.getppid())


def test_default_pool_workers_come_from_a_forkserver_not_from_the_caller():
    # forking a multi-threaded caller (a Jupyter kernel) can deadlock a worker; the default pool
    # must start its workers from the clean forkserver process instead
    import os

    parents = run_ensemble(parent_pid, 2, seed=0, progress=False)
    assert all(int(p) != os.getpid() for p in parents), (parents, os.getpid())

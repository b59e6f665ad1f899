r"""Paper-scale data sets shipped with the book (``data/<name>.npz``), and the script that makes them.

Run ``python -m nqlib.paper NAME [--workers K] [--dry-run]`` (``make paper-data`` runs every
registered data set). Each data set is a disorder ensemble computed with
:func:`nqlib.ensemble.run_ensemble` on a library realization function, size by size, and
reduced to a small archive:

* per-realization scalars (realization ``i`` of size ``N`` is a function of its seed alone:
  ``numpy.random.SeedSequence(seed_N).spawn(n)[i]``, the seeding contract of
  :mod:`nqlib.ensemble`), so that a test can recompute a few of them and compare;
* summary statistics (fitted imbalances with error bars, cumulant arrays);
* ``provenance``: a JSON string with the nqlib version, git commit and dirty flag, a SHA-256 of
  nqlib's sources, the parameters, seeds, realization counts, wall times, machine and date.

Realizations are cached under ``_build/paper-cache/<name>/N<size>`` (git-ignored), so an
interrupted run resumes where it stopped; the archive is rewritten after each finished size, so
it always holds the sizes done so far (``provenance["complete"]`` says whether all are). The
cache key covers the code of every nqlib module the realization function's module imports; after
an edit there that leaves the realizations alone (of the estimator that reduces them, say), the
stored ones are adopted, not recomputed, once the first of each size has been recomputed and
found identical bit for bit (:func:`nqlib.ensemble.adopt_cache`; recorded in the provenance as
``per_size[N]["adopted"]``).
Every realization runs with one BLAS thread; ``--workers K`` runs K at a time in local
processes, and with ``NQLIB_EXECUTOR=tcp://scheduler:8786`` they go to a Dask cluster instead.

Registered data sets
--------------------
``anderson-w6``: Hruza-Jin's :math:`G^{\rm neq} = G^R(0.2) - G^L(-0.2)` on :math:`N^3` cubes,
``W = 6``, hoppings ``(1, 0.4, 0.4)``, realization function
:func:`nqlib.anderson.loop_statistics` with the parameters of the QSSEP chapter; reduced
to :math:`\Delta n^{(1)}` (slope of :math:`g_1`), :math:`\Delta n^{(2)}` (amplitude of
:math:`g_2` on slice pairs at least two apart) and :math:`\Delta n^{(3)}` (amplitude of
:math:`g_3` on HJ's cut y = 0.78, z = 0.23) per size, exactly as that chapter fits them, from the
unbiased cumulants of :func:`nqlib.anderson.loop_cumulants`. ``anderson-w6-n32`` continues it
to N = 32 (same seeding rule; :func:`combine` joins the two); ``anderson-w4`` and
``anderson-w7`` are the same at W = 4 and 7 (HJ's supplement, Figs. 8-10) for N = 8-20.

``anderson-q1d-w2``, ``-w4``, ``-w5``: the same :math:`G^{\rm neq}` on quasi-1d bars
:math:`N_x\times 8\times 8` (HJ's supplement, Figs. 5-7) at ``W = 2, 4, 5`` for
:math:`N_x = 20, 40, 60, 80, 100`, 500 realizations each (HJ's count; they stop at
:math:`N_x = 60`), reduced by :func:`nqlib.anderson.imbalances` in the quasi-1d scaling
:math:`g_n = N_x^{1-n}[\cdot]_\perp`. Each stored realization is a block of 10 disorder
realizations averaged by ``loop_statistics(realizations=10)``: a single one at :math:`N_x = 100`
holds 20 MB of transverse-momentum diagonals, and the cumulant estimators only need means (the
jackknife runs over the 50 blocks).

``gh-fab-w8`` and ``gh-iab-w8``: Gullans-Huse's :math:`(L+2)\times L\times L` wire at
``W = 8``, ``t = 1``, ``E = 0`` (:func:`nqlib.anderson.energy_correlation`), per realization
:math:`f_{AB}` (GH Eq. 72, :func:`nqlib.anderson.f_ab`) at ``E = 0`` for L = 4-24, and at the
energies :math:`\epsilon t/L_x^2` of :data:`GH_EPS` for L = 8-20, with the ratio of means
:math:`i_{AB}(0, \epsilon)` (:func:`nqlib.anderson.i_ab`) per size.
"""

import argparse
import concurrent.futures
import dataclasses
import datetime
import hashlib
import importlib
import json
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import nqlib
from nqlib import anderson, ensemble, stats

__all__ = ["DATASETS", "combine", "imbalances", "load", "realization_seed", "realization_function"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CACHE = ROOT / "_build" / "paper-cache"
_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class _Dataset:
    description: str
    fn: object  # the library realization function
    sizes: tuple
    runs: tuple
    seed: tuple  # entropy prefix; size N uses seed + (N,)
    params: object  # N -> dict of keyword arguments of fn
    scalar_names: tuple
    scalars: object  # (one realization's output, N) -> 1D array of len(scalar_names)
    summary: object  # (stacked outputs, N) -> dict of arrays


# --- anderson-w6 ------------------------------------------------------------

_HJ_T = (1.0, 0.4, 0.4)
_CUT_YZ = ((0.78, 0.23), (0.23, 0.23))  # HJ's (y, z) cuts of g3, as in the QSSEP chapter


def _hj_params(Nx, Ny, Nz, W, pairs, **extra):
    """Keyword arguments of anderson.loop_statistics for HJ's G^neq = G^R(0.2) - G^L(-0.2)."""
    return dict(
        Nx=Nx,
        Ny=Ny,
        Nz=Nz,
        W=W,
        pairs=pairs,
        t=_HJ_T,
        leads="RL",
        energies=(0.2, -0.2),
        weights=(1.0, -1.0),
        **extra,
    )


def _anderson_scalars(out, N):
    """dn1: least-squares slope of g_1(x) = Re tr G_aa / M (M = Ny Nz) in x = (a + 1/2)/N;
    density: mean of g_1; tr_G2 = sum_ab tr G_ab G_ba; tr_G3 = tr G^3 (one realization; plain
    sums, no LAPACK)."""
    mean = np.asarray(out["mean"])
    g1 = np.einsum("aaq->a", mean).real / mean.shape[-1]  # / M = Ny Nz
    x = (np.arange(N) + 0.5) / N
    dx = x - x.mean()
    slope = np.sum(dx * (g1 - g1.mean())) / np.sum(dx**2)
    return np.array([slope, g1.mean(), np.sum(out["pair"]), float(out["cube"])])


def _imbalance_summary(length_power):
    """anderson.imbalances of an N^3 cube (HJ's scaling, +1) or a quasi-1d bar (SM Eq. 14, -1)."""

    def summary(data, N):
        f = anderson.imbalances(data, anderson.cut_pairs(N, _CUT_YZ), length_power)
        return dict(
            dn1=np.array(f.dn1),
            A2=np.array([f.A2.value, f.A2.error, f.A2.chi2_dof]),
            A3=np.array([f.A3.value, f.A3.error, f.A3.chi2_dof]),
            dn2=np.array(f.dn2),
            dn3=np.array(f.dn3),
            g1=f.g1,
            g1_err=f.g1_err,
            g2=f.g2,
            g2_err=f.g2_err,
            g3=f.g3,
            g3_err=f.g3_err,
            m2=np.array(f.m2),
            m3=np.array(f.m3),
        )

    return summary


# --- anderson-q1d-w2, -w4, -w5 -------------------------------------------------

_Q1D_YZ = 8  # HJ's transverse size N_y = N_z
_Q1D_BLOCK = 10  # realizations averaged per stored block (anderson.loop_statistics)


def _quasi1d_params(W):
    def params(N):
        pairs = anderson.cut_pairs(N, _CUT_YZ)
        return _hj_params(N, _Q1D_YZ, _Q1D_YZ, W, pairs, realizations=_Q1D_BLOCK)

    return params


def _quasi1d(W):
    return _Dataset(
        description=(
            f"Hruza-Jin G^neq = G^R(0.2) - G^L(-0.2) on quasi-1d N_x x 8 x 8 bars, W = {W:g}, "
            f"t = (1, 0.4, 0.4): quasi-1d cumulants and imbalances per N_x (HJ SM Figs. 5-7); "
            f"each stored realization is a block of {_Q1D_BLOCK} disorder realizations"
        ),
        fn=anderson.loop_statistics,
        # 50 blocks x 10 = 500 realizations per N_x (HJ's count); ~12 min of one core per W
        sizes=(20, 40, 60, 80, 100),
        runs=(50,) * 5,
        seed=(2026, 19, 1, int(W)),
        params=_quasi1d_params(W),
        scalar_names=("dn1", "density", "tr_G2", "tr_G3"),
        scalars=_anderson_scalars,
        summary=_imbalance_summary(-1),
    )


def _cube(W, sizes, runs, seed, note=""):
    return _Dataset(
        description=(
            f"Hruza-Jin G^neq = G^R(0.2) - G^L(-0.2) on N^3 cubes, W = {W:g}, t = (1, 0.4, 0.4): "
            f"Delta n^(1,2,3) per size as the QSSEP chapter fits them{note}"
        ),
        fn=anderson.loop_statistics,
        sizes=sizes,
        runs=runs,
        seed=seed,
        params=lambda N: _hj_params(N, N, N, W, anderson.cut_pairs(N, _CUT_YZ)),
        scalar_names=("dn1", "density", "tr_G2", "tr_G3"),
        scalars=_anderson_scalars,
        summary=_imbalance_summary(1),
    )


# --- gh-fab-w8, gh-iab-w8: Gullans-Huse's isotropic wire ------------------------

_GH_T = (1.0, 1.0, 1.0)
_GH_W = 8.0
GH_EPS = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 30.0, 40.0, 50.0, 65.0, 80.0, -6.0)
"""Scaled energies eps = Delta L_x^2 / t of ``gh-iab-w8`` (those of anderson_mutual_information)."""


def _gh_params(eps):
    def params(L):  # E = eps t / L_x^2, moved off a channel edge as the Anderson chapter does
        energies = [anderson.off_edge_energy(e / (L + 2) ** 2, L, L, _GH_T) for e in eps]
        return dict(Nx=L + 2, Ny=L, Nz=L, W=_GH_W, energies=energies, t=_GH_T)

    return params


def _gh_scalars(out, L):
    """f_AB of one realization at each energy (GH Eq. 72 with Delta at the energy)."""
    return np.atleast_1d(anderson.f_ab(out["cross"], L))


def _gh_summary(eps):
    def summary(data, L):
        f = anderson.f_ab(data["cross"], L)  # (runs, n_eps)
        out = dict(f_ab=np.array(stats.mean_error(f[:, 0])))
        if len(eps) > 1:
            fit = anderson.i_ab(f, eps)  # a ratio of means: the normalisation of f drops out
            out.update(
                eps=np.array(eps),
                i_ab=fit.i,
                i_ab_err=fit.i_err,
                sigma=np.array([fit.sigma, fit.sigma_err]),
                integral=np.array([fit.integral, fit.integral_err]),
                first_negative=np.array(fit.first_negative),
            )
        return out

    return summary


def _gh(eps, sizes, runs, seed, what):
    return _Dataset(
        description=(
            f"Gullans-Huse's (L + 2) x L x L wire, W = {_GH_W:g}, t = 1, E = 0 (off a channel "
            f"edge by 1e-7 where needed): {what}"
        ),
        fn=anderson.energy_correlation,
        sizes=sizes,
        runs=runs,
        seed=seed,
        params=_gh_params(eps),
        scalar_names=tuple(f"f_ab[eps={e:g}]" for e in eps),
        scalars=_gh_scalars,
        summary=_gh_summary(eps),
    )


DATASETS = {
    # sizes and counts: ~60 min of one core (README, "Paper-scale data")
    "anderson-w6": _cube(6.0, (8, 10, 12, 16, 20, 24), (400, 400, 400, 300, 200, 200), (2026, 19)),
    # the same seeds' continuation to N = 32 (realization i of N = 32 has seed (2026, 19, 32))
    "anderson-w6-n32": _cube(6.0, (32,), (16,), (2026, 19), "; the continuation of anderson-w6"),
    # HJ SM Figs. 8-10: two more disorder strengths
    **{
        f"anderson-w{W}": _cube(
            float(W), (8, 10, 12, 16, 20), (400, 400, 400, 200, 60), (2026, 19, 4, W)
        )
        for W in (4, 7)
    },
    **{f"anderson-q1d-w{W:g}": _quasi1d(float(W)) for W in (2, 4, 5)},
    "gh-fab-w8": _gh(
        (0.0,),
        tuple(range(4, 25, 2)),
        (400,) * 8 + (100,) * 3,
        (2026, 19, 2),
        "f_AB per realization (GH Fig. 8b) for L = 4..24",
    ),
    "gh-iab-w8": _gh(
        GH_EPS,
        (8, 12, 16, 20),
        (400, 300, 150, 32),
        (2026, 19, 3),
        "f_AB at eps = Delta L_x^2 / t per realization and i_AB(0, eps) (GH Fig. 8a)",
    ),
}
"""The registered data sets, by name."""


def load(name):
    """Return ``(arrays, provenance)`` of the shipped archive ``data/<name>.npz``.

    ``arrays`` is a dict of NumPy arrays (no pickle), ``provenance`` the decoded JSON record.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    path = DATA / f"{name}.npz"
    if not path.exists():
        raise ValueError(
            f"name={name!r}: no archive at {path}; make it with python -m nqlib.paper {name}"
        )
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return arrays, json.loads(str(arrays.pop("provenance")))


def combine(*names):
    """Load archives of one series (same realization function and scalars, sizes in increasing
    order from one archive to the next) and join them along the size axis.

    For instance ``combine("anderson-w6", "anderson-w6-n32")``: the W = 6 cubes to N = 32.
    Entries with one row per size are concatenated (``scalars`` padded with NaN to the widest
    realization count), entries named per size (``g2_N24``) are collected.

    Returns
    -------
    arrays : dict of ndarray
    provenances : list of dict
        One per archive, in the order of the sizes.

    References
    ----------
    Chapter {doc}`anderson` (the paper-scale archive).
    """
    if not names:
        raise ValueError("names must name at least one archive")
    parts = [load(name) for name in names]
    functions = {p["function"] for _, p in parts}
    scalar_names = {tuple(a["scalar_names"].tolist()) for a, _ in parts}
    sizes = np.concatenate([a["sizes"] for a, _ in parts])
    sized = ("Nx", "Ny", "Nz", "pairs", "energies")  # what may change with the size
    settings = {
        json.dumps({k: v for k, v in entry["params"].items() if k not in sized}, sort_keys=True)
        for _, p in parts
        for entry in p["per_size"].values()
    }
    if any(len(s) != 1 for s in (functions, scalar_names, settings)) or np.any(np.diff(sizes) <= 0):
        raise ValueError(
            f"names must be archives of one series with increasing sizes, got {list(names)}: "
            f"functions {sorted(functions)}, sizes {sizes.tolist()}, settings {sorted(settings)}"
        )
    arrays = [dict(a) for a, _ in parts]
    # an entry stacked over sizes in one archive but named per size in another (its shape
    # depends on N), or stacked with different shapes, is named per size in all of them
    per_size = {k.rsplit("_N", 1)[0] for a in arrays for k in a if re.fullmatch(r".+_N\d+", k)}
    per_size |= {
        k
        for k in set(arrays[0]) - {"scalars", "scalar_names"}
        if len({np.shape(a[k])[1:] for a in arrays if k in a}) > 1
    }
    for a in arrays:
        for key in per_size & set(a):
            a.update({f"{key}_N{N}": v for N, v in zip(a["sizes"].tolist(), a.pop(key))})
    width = max(a["scalars"].shape[1] for a in arrays)
    out = {"scalar_names": arrays[0]["scalar_names"]}
    for key in {k for a in arrays for k in a} - {"scalar_names"}:
        if re.fullmatch(r".+_N\d+", key):
            out[key] = next(a[key] for a in arrays if key in a)
            continue
        rows = [a.get(key) for a in arrays]
        if any(r is None or np.shape(r)[:1] != a["sizes"].shape for r, a in zip(rows, arrays)):
            raise ValueError(f"names={list(names)}: entry {key!r} is not one row per size in all")
        if key == "scalars":
            rows = [
                np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=np.nan)
                for r in rows
            ]
        out[key] = np.concatenate(rows)
    return out, [p for _, p in parts]


def imbalances(arrays):
    """The imbalances of orders 1, 2, 3 per size of a cube or quasi-1d archive.

    ``arrays`` as returned by :func:`load` or :func:`combine`. Returns ``{n: (values, errors)}``
    with arrays over the sizes: order 1 the mean slope of :math:`g_1` per realization, orders 2
    and 3 the fitted :math:`\\Delta n^{(2)}`, :math:`\\Delta n^{(3)}`.

    References
    ----------
    Chapter {doc}`anderson` (the paper-scale archive).
    """
    if not isinstance(arrays, dict) or not {"dn2", "dn3"} <= set(arrays):
        raise ValueError("arrays must be a cube or quasi-1d archive (entries dn2, dn3)")
    first = (
        arrays["dn1"].T
        if "dn1" in arrays
        else (arrays["scalar_mean"][:, 0], arrays["scalar_sem"][:, 0])
    )
    return {1: tuple(first), 2: tuple(arrays["dn2"].T), 3: tuple(arrays["dn3"].T)}


def realization_seed(provenance, N, index):
    """The SeedSequence of realization ``index`` at size ``N`` of an archive (its provenance)."""
    sizes = provenance["sizes_done"]
    if N not in sizes:
        raise ValueError(f"N must be one of the archive's sizes {sizes}, got {N!r}")
    entry = provenance["per_size"][str(N)]
    if not isinstance(index, (int, np.integer)) or not 0 <= index < entry["runs"]:
        raise ValueError(f"index must be an int in [0, {entry['runs'] - 1}], got {index!r}")
    return np.random.SeedSequence(entry["seed"]).spawn(int(index) + 1)[int(index)]


def realization_function(provenance):
    """The library function that made an archive (``provenance["function"]``), by its current name.

    Parameters
    ----------
    provenance : dict
        The decoded provenance record of :func:`load`.

    Returns
    -------
    callable
        The realization function.

    References
    ----------
    Seeding contract of :mod:`nqlib.ensemble`; chapter {doc}`qssep_anderson`.
    """
    name = provenance.get("function") if isinstance(provenance, dict) else None
    if not isinstance(name, str) or not name.startswith("nqlib.") or "." not in name[6:]:
        raise ValueError(
            f"provenance must be an archive's provenance dict with a 'function' entry "
            f"'nqlib.<module>.<name>', got {name!r}"
        )
    module, _, qualname = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        raise ValueError(f"provenance['function'] = {name!r} names no nqlib function") from None


# --- production -------------------------------------------------------------


def _produce(name, workers=1, dry_run=False, out=None, cache=None):
    spec = DATASETS[name]
    out = DATA / f"{name}.npz" if out is None else Path(out)
    cache = CACHE / name if cache is None else Path(cache)
    address = os.environ.get(ensemble.EXECUTOR_VARIABLE, "").strip()
    dask = address not in ("", "local")
    print(f"{name}: {spec.description}")
    for N, runs in zip(spec.sizes, spec.runs):
        found = len(list((cache / f"N{N}").glob("*/r*.npz")))
        print(
            f"  N = {N:3d}: {runs:5d} realizations, seed {[*spec.seed, N]}, {found} files in the cache"
        )
    print(
        f"  executor: {address if dask else f'{workers} local worker(s)'}; cache {cache}; output {out}"
    )
    if dry_run:
        return None
    started = time.time()
    done, per_size, scalars, summaries = [], {}, {}, {}
    for N, runs in zip(spec.sizes, spec.runs):
        folder = cache / f"N{N}"
        found = len(list(folder.glob("*/r*.npz")))
        seed = [*spec.seed, N]
        tick = time.time()
        # realizations cached by an earlier version of the library that computes them alike
        # (an edit elsewhere in the realization's modules changed the cache key)
        adopted = ensemble.adopt_cache(spec.fn, runs, seed=seed, cache=folder, **spec.params(N))
        if adopted["adopted"]:
            print(f"  N = {N}: adopted {adopted}", flush=True)
        with _executor(workers, dask) as executor:
            results = ensemble.run_ensemble(
                spec.fn,
                runs,
                seed=seed,
                executor=executor,
                cache=folder,
                progress=True,
                **spec.params(N),
            )
        wall = time.time() - tick
        log = _log_time(folder, wall, runs, found)
        scalars[N] = np.array([spec.scalars(r, N) for r in results])
        summaries[N] = spec.summary(ensemble.stack(results), N)
        del results
        done.append(N)
        per_size[str(N)] = dict(
            runs=runs,
            seed=seed,
            params=_plain(spec.params(N)),
            wall_s=round(wall, 1),
            compute_log=log,
            **({"adopted": adopted} if adopted["adopted"] else {}),
        )
        _write(out, name, spec, done, per_size, scalars, summaries, workers, dask, address, started)
        print(f"  N = {N}: {runs} realizations in {wall:.0f} s; archive {out} updated", flush=True)
    return out


@dataclasses.dataclass
class _NoExecutor:
    """Stands for 'let run_ensemble choose' (a Dask scheduler named by NQLIB_EXECUTOR)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _executor(workers, dask):
    if dask:
        return _NoExecutor()
    if workers == 1:  # in this process (run_ensemble sets one BLAS thread around the run)
        return concurrent.futures.ThreadPoolExecutor(1)
    return concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("forkserver")
    )


def _log_time(folder, wall, runs, found):
    """Append this invocation to folder/timings.json and return the whole log (every invocation
    that computed realizations of this size: seconds, realizations asked, files found before)."""
    path = folder / "timings.json"
    log = json.loads(path.read_text()) if path.exists() else []
    log.append(dict(date=_now(), wall_s=round(wall, 2), runs=runs, cached_before=found))
    path.write_text(json.dumps(log, indent=1) + "\n")
    return log


def _write(out, name, spec, done, per_size, scalars, summaries, workers, dask, address, started):
    width = max(spec.runs[spec.sizes.index(N)] for N in done)
    table = np.full((len(done), width, len(spec.scalar_names)), np.nan)
    for s, N in enumerate(done):
        table[s, : len(scalars[N])] = scalars[N]
    arrays = dict(
        sizes=np.array(done),
        runs=np.array([per_size[str(N)]["runs"] for N in done]),
        scalar_names=np.array(spec.scalar_names),
        scalars=table,
        scalar_mean=np.array([scalars[N].mean(axis=0) for N in done]),
        scalar_sem=np.array(
            [scalars[N].std(axis=0, ddof=1) / np.sqrt(len(scalars[N])) for N in done]
        ),
    )
    for key in summaries[done[0]]:
        values = [np.asarray(summaries[N][key]) for N in done]
        if all(v.shape == values[0].shape for v in values):
            arrays[key] = np.stack(values)
        else:  # shapes that depend on N: one entry per size
            arrays.update({f"{key}_N{N}": v for N, v in zip(done, values)})
    provenance = dict(
        format=_FORMAT,
        name=name,
        description=spec.description,
        function=f"{spec.fn.__module__}.{spec.fn.__qualname__}",
        nqlib_version=nqlib.__version__,
        **_git(),
        nqlib_source_sha256=_source_hash(),
        seeding="realization i of size N: numpy.random.SeedSequence(per_size[N].seed).spawn(runs)[i] "
        "(nqlib.ensemble's contract)",
        sizes_planned=list(spec.sizes),
        runs_planned=list(spec.runs),
        sizes_done=list(done),
        complete=list(done) == list(spec.sizes),
        per_size=per_size,
        wall_s=round(time.time() - started, 1),
        wall_s_note="wall_s: this invocation (realizations found in the cache are loaded, not "
        "recomputed); per_size[N].compute_log: every invocation that ran that size",
        executor=address if dask else f"{workers} local worker(s), one BLAS thread each",
        machine=_machine(),
        versions=_versions(),
        date=_now(),
        command=" ".join(sys.argv),
    )
    arrays["provenance"] = np.array(json.dumps(provenance, sort_keys=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    with open(temporary, "wb") as file:
        np.savez_compressed(file, **arrays)
    os.replace(temporary, out)


def _plain(value):
    return json.loads(json.dumps(value))


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _git():
    def git(*args):
        try:
            return subprocess.run(
                ["git", "-C", str(ROOT), *args],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--", "nqlib")
    return dict(
        git_commit=git("rev-parse", "HEAD"),
        git_nqlib_dirty=None if status is None else bool(status),
    )


def _source_hash():
    """SHA-256 over the names and bytes of nqlib/*.py, sorted by name."""
    digest = hashlib.sha256()
    for path in sorted(Path(nqlib.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _machine():
    model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return dict(
        platform=platform.platform(),
        cpu_model=model,
        cpu_count=os.cpu_count(),
        usable_cores=usable,
        python=platform.python_version(),
    )


def _versions():
    import numba
    import scipy

    return dict(numpy=np.__version__, scipy=scipy.__version__, numba=numba.__version__)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m nqlib.paper", description=__doc__.split("\n")[0]
    )
    parser.add_argument("name", choices=sorted(DATASETS), help="the data set to make")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, compute nothing")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    _produce(args.name, workers=args.workers, dry_run=args.dry_run)


if __name__ == "__main__":
    main()

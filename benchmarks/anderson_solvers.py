"""Scattering states of the 3D Anderson model: the slice recursion of nqlib.anderson against a
sparse direct solve — seconds and peak memory per realization (both leads, one energy).

Baseline: the sparse direct solver of SciPy (SuperLU, ``splu`` with the COLAMD column ordering)
of the sparse (E - H - Sigma_L - Sigma_R) (the lead self-energies are dense Ny*Nz blocks on the
two end slices), with the lead-surface sources i sqrt(v_c) phi_c of every open channel of both
leads as right-hand sides. Where the Python bindings of MUMPS (kwant's solver) import, the same
system is also solved by MUMPS (``ordering="auto"``), the strongest baseline we can run: it is not
a dependency (Debian: ``apt-get install libmumps-seq-dev libopenblas0-serial`` then
``pip install python-mumps`` into .venv); without it the MUMPS columns are skipped, saying so.
All routes must give the same states (checked on every row).

Sizes: ``python benchmarks/anderson_solvers.py [N ...]`` (``make bench``: 8, 12, 16, 20).

Everything runs with one BLAS thread. Times: one fresh subprocess per N runs the two methods
interleaved (recursion, splu, recursion, ...) REPEATS times after a warm-up and keeps the minimum
of each. Memory: one more fresh subprocess per (method, N) does a single solve, so that its peak
resident memory (ru_maxrss after the call minus before it) belongs to that solve alone. The last
table compares two ways of using 2 cores for many realizations: one process with 2 BLAS threads,
or two processes with one thread each (what nqlib.ensemble.run_ensemble does).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from _timing import best_times

SIZES = (8, 12, 16, 20)
W, E, T = 5.0, 0.1, (1.0, 1.0, 1.0)
REPEATS = 5
THROUGHPUT_N, THROUGHPUT_RUNS = 16, 16


def have_mumps():
    import importlib.util

    return importlib.util.find_spec("mumps") is not None


def sparse_direct(V, E, t, solver="splu"):
    """psi_L, psi_R (N, n_open) from one sparse LU of E - H - Sigma_L - Sigma_R (SuperLU with
    COLAMD, or MUMPS with its automatic ordering)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from nqlib import anderson as an

    Nx, Ny, Nz = V.shape
    M, N = Ny * Nz, V.size
    modes = an.lead_modes(E, Ny, Nz, t)
    Sigma = sp.coo_matrix(modes.self_energy)
    leads = (
        sp.block_diag([Sigma] + [sp.csr_matrix((M, M))] * (Nx - 2) + [Sigma])
        if Nx > 1
        else 2 * Sigma
    )
    A = (E * sp.identity(N) - an.hamiltonian(V, t) - leads).tocsc()
    source = 1j * modes.U_open * np.sqrt(modes.velocity)
    n = modes.n_open
    rhs = np.zeros((N, 2 * n), dtype=complex)
    rhs[:M, :n] = source
    rhs[N - M :, n:] = source
    if solver == "mumps":
        import mumps

        context = mumps.Context()
        context.factor(A.tocoo(), ordering="auto")
        psi = context.solve(rhs)
    else:
        psi = spla.splu(A, permc_spec="COLAMD").solve(rhs)
    return psi[:, :n], psi[:, n:]


def solve(method, V):
    """psi_L, psi_R (N, n_open) of the potential V by ``method`` ("recursion", "splu", "mumps")."""
    from nqlib import anderson as an

    if method in ("splu", "mumps"):
        return sparse_direct(V, E, T, method)
    res = an.scatter(V, E, T)
    return res.psi_L.reshape(V.size, -1), res.psi_R.reshape(V.size, -1)


def _cube(N):
    from nqlib import anderson as an

    solve("recursion", an.potential(np.random.default_rng(0), 3, 3, 3, W))  # imports, warm-up
    return an.potential(np.random.default_rng(N), N, N, N, W)


def child_time(N):
    """Both methods on the N^3 cube, interleaved REPEATS times: min seconds, largest difference."""
    V = _cube(N)
    methods = ("recursion", "splu", "mumps") if have_mumps() else ("recursion", "splu")
    states = {method: solve(method, V) for method in methods}  # warm-up
    gap = max(
        np.abs(a - b).max() for m in methods[1:] for a, b in zip(states["recursion"], states[m])
    )
    best = best_times([lambda m=m: solve(m, V) for m in methods], REPEATS)
    return {
        "seconds": dict(zip(methods, best)),
        "max_gap": float(gap),
        "n_open": states["recursion"][0].shape[1],
    }


def child_memory(method, N):
    """Peak resident memory (MiB) added by one solve of ``method`` in this fresh process."""
    import resource

    V = _cube(N)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    solve(method, V)
    return {"peak_MiB": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}


def child_throughput(workers):
    """Realizations per second of disorder_moments (both leads) at THROUGHPUT_N through run_ensemble:
    one worker thread in this process (BLAS threads as set by the parent) or a warmed-up pool of
    `workers` processes (one BLAS thread each, inherited); pool start-up is not timed."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from nqlib import anderson as an
    from nqlib import ensemble

    kwargs = dict(
        Nx=THROUGHPUT_N,
        Ny=THROUGHPUT_N,
        Nz=THROUGHPUT_N,
        W=W,
        leads="LR",
        energies=(E, E),
        weights=(1.0, 1.0),
    )
    small = dict(kwargs, Nx=3, Ny=3, Nz=3)
    pool = ThreadPoolExecutor(1) if workers == 1 else ProcessPoolExecutor(workers)
    with pool:
        ensemble.run_ensemble(
            an.disorder_moments, 2 * workers, seed=0, executor=pool, progress=False, **small
        )
        start = time.perf_counter()
        ensemble.run_ensemble(
            an.disorder_moments, THROUGHPUT_RUNS, seed=1, executor=pool, progress=False, **kwargs
        )
        return {"per_second": THROUGHPUT_RUNS / (time.perf_counter() - start)}


def run_child(args, threads=1):
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    out = subprocess.run(
        [sys.executable, __file__, *map(str, args)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(sizes=SIZES):
    methods = ("recursion", "splu", "mumps") if have_mumps() else ("recursion", "splu")
    print(
        f"3D Anderson scattering states, N^3 cube, W = {W}, E = {E}, isotropic t, both leads, "
        f"one BLAS thread; time = min of {REPEATS} interleaved repeats"
    )
    if "mumps" not in methods:
        print(
            "SKIPPED the MUMPS columns: python-mumps does not import (Debian: apt-get install "
            "libmumps-seq-dev libopenblas0-serial; .venv/bin/pip install python-mumps)"
        )
    head = f"{'N':>4} {'open ch.':>9}" + "".join(f" {m + ' s':>12}" for m in methods)
    head += "".join(f" {m + '/rec.':>11}" for m in methods[1:])
    head += "".join(f" {m + ' MiB':>14}" for m in methods) + f" {'max |dpsi|':>11}"
    print(head)
    rows = []
    for N in sizes:
        timed = run_child(["time", N])
        seconds = [timed["seconds"][m] for m in methods]
        assert timed["max_gap"] < 1e-9, timed["max_gap"]
        mib = [run_child(["memory", m, N])["peak_MiB"] for m in methods]
        rows.append((N, *seconds))
        line = f"{N:>4} {timed['n_open']:>9}" + "".join(f" {t:>12.4f}" for t in seconds)
        line += "".join(f" {t / seconds[0]:>11.2f}" for t in seconds[1:])
        line += "".join(f" {m:>14.1f}" for m in mib) + f" {timed['max_gap']:>11.1e}"
        print(line, flush=True)
    N, *times = map(np.array, zip(*rows))
    for name, t in zip(methods, times):
        slope, _ = np.polyfit(np.log(N), np.log(t), 1)
        local = np.log(t[-1] / t[-2]) / np.log(N[-1] / N[-2])
        print(
            f"power law {name:>9}: t ~ N^{slope:.2f} (fit N = {N[0]}..{N[-1]}; last pair N^{local:.2f})"
        )
    print(
        f"\nthroughput, disorder_moments at N = {THROUGHPUT_N} (both leads), "
        f"{THROUGHPUT_RUNS} realizations on 2 cores"
    )
    serial = run_child(["throughput", 1], threads=1)["per_second"]
    threaded = run_child(["throughput", 1], threads=2)["per_second"]
    pool = run_child(["throughput", 2], threads=1)["per_second"]
    print(f"{'1 process x 1 BLAS thread':>30}: {serial:.2f} /s (baseline)")
    print(f"{'1 process x 2 BLAS threads':>30}: {threaded:.2f} /s ({threaded / serial:.2f}x)")
    print(f"{'2 processes x 1 BLAS thread':>30}: {pool:.2f} /s ({pool / serial:.2f}x)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "time":
        print(json.dumps(child_time(int(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "memory":
        print(json.dumps(child_memory(sys.argv[2], int(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "throughput":
        print(json.dumps(child_throughput(int(sys.argv[2]))))
    else:
        main(tuple(int(N) for N in sys.argv[1:]) or SIZES)

"""Scattering states of the 3D Anderson model: the slice recursion of nqlib.anderson against a
sparse direct solve — seconds and peak memory per realization (both leads, one energy).

Baseline: scipy.sparse.linalg.splu of the sparse (E - H - Sigma_L - Sigma_R) (the lead
self-energies are dense Ny*Nz blocks on the two end slices), with the lead-surface sources
i sqrt(v_c) phi_c of every open channel of both leads as right-hand sides. Both routes must give
the same states (checked on every row).

Each (method, N) runs in a fresh subprocess with one BLAS thread, so that its peak resident memory
(ru_maxrss after the call minus before it) belongs to that solve alone. The last table compares two
ways of using the 2 cores for many realizations: one process with 2 BLAS threads, or two processes
with one thread each (what nqlib.ensemble.run_ensemble does).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

SIZES = (8, 12, 16, 20)
W, E, T = 5.0, 0.1, (1.0, 1.0, 1.0)
REPEATS = 3
THROUGHPUT_N, THROUGHPUT_RUNS = 16, 16


def sparse_direct(V, E, t):
    """psi_L, psi_R (N, n_open) from one sparse LU of E - H - Sigma_L - Sigma_R."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from nqlib import anderson as an

    Nx, Ny, Nz = V.shape
    M, N = Ny * Nz, V.size
    modes = an.lead_modes(E, Ny, Nz, t)
    Sigma = sp.coo_matrix(modes.self_energy)
    leads = sp.block_diag([Sigma] + [sp.csr_matrix((M, M))] * (Nx - 2) + [Sigma]) if Nx > 1 else 2 * Sigma
    A = (E * sp.identity(N) - an.hamiltonian(V, t) - leads).tocsc()
    source = 1j * modes.U_open * np.sqrt(modes.velocity)
    n = modes.n_open
    rhs = np.zeros((N, 2 * n), dtype=complex)
    rhs[:M, :n] = source
    rhs[N - M:, n:] = source
    psi = spla.splu(A).solve(rhs)
    return psi[:, :n], psi[:, n:]


def child_solve(method, N):
    """Time one method on the N^3 cube (best of REPEATS), peak memory, and its states' checksum."""
    import resource

    from nqlib import anderson as an

    V = an.potential(N, N, N, W, np.random.default_rng(N))
    an.scatter(an.potential(3, 3, 3, W, np.random.default_rng(0)), E, T)  # imports and warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        if method == "recursion":
            res = an.scatter(V, E, T)
            psi_L, psi_R = res.psi_L.reshape(V.size, -1), res.psi_R.reshape(V.size, -1)
        else:
            psi_L, psi_R = sparse_direct(V, E, T)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
    np.save(f"/tmp/anderson_bench_{method}_{N}.npy", np.concatenate([psi_L, psi_R], axis=1))
    return {"seconds": min(times), "peak_MiB": peak / 1024, "n_open": psi_L.shape[1]}


def child_throughput(workers):
    """Realizations per second of disorder_moments (both leads) at THROUGHPUT_N through run_ensemble:
    one worker thread in this process (BLAS threads as set by the parent) or a warmed-up pool of
    `workers` processes (one BLAS thread each, inherited); pool start-up is not timed."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from nqlib import anderson as an, ensemble

    kwargs = dict(Nx=THROUGHPUT_N, Ny=THROUGHPUT_N, Nz=THROUGHPUT_N, W=W, leads="LR", energies=(E, E),
                  weights=(1.0, 1.0))
    small = dict(kwargs, Nx=3, Ny=3, Nz=3)
    pool = ThreadPoolExecutor(1) if workers == 1 else ProcessPoolExecutor(workers)
    with pool:
        ensemble.run_ensemble(an.disorder_moments, 2 * workers, seed=0, executor=pool, progress=False, **small)
        start = time.perf_counter()
        ensemble.run_ensemble(an.disorder_moments, THROUGHPUT_RUNS, seed=1, executor=pool, progress=False, **kwargs)
        return {"per_second": THROUGHPUT_RUNS / (time.perf_counter() - start)}


def run_child(args, threads=1):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, *map(str, args)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    print(f"3D Anderson scattering states, N^3 cube, W = {W}, E = {E}, isotropic t, both leads, "
          f"one BLAS thread, fresh process per entry; time = best of {REPEATS}")
    print(f"{'N':>4} {'open ch.':>9} {'recursion (s)':>14} {'splu (s)':>10} {'speed-up':>9} "
          f"{'recursion MiB':>14} {'splu MiB':>9} {'max |dpsi|':>11}")
    rows = []
    for N in SIZES:
        rec = run_child(["solve", "recursion", N])
        lu = run_child(["solve", "splu", N])
        a, b = (np.load(f"/tmp/anderson_bench_{m}_{N}.npy") for m in ("recursion", "splu"))
        diff = np.abs(a - b).max()
        assert diff < 1e-9, diff
        for m in ("recursion", "splu"):
            os.remove(f"/tmp/anderson_bench_{m}_{N}.npy")
        rows.append((N, rec["seconds"], lu["seconds"]))
        print(f"{N:>4} {rec['n_open']:>9} {rec['seconds']:>14.4f} {lu['seconds']:>10.4f} "
              f"{lu['seconds'] / rec['seconds']:>9.1f} {rec['peak_MiB']:>14.1f} {lu['peak_MiB']:>9.1f} {diff:>11.1e}")
    N, t_rec, t_lu = map(np.array, zip(*rows))
    for name, t in (("recursion", t_rec), ("splu", t_lu)):
        slope, _ = np.polyfit(np.log(N), np.log(t), 1)
        local = np.log(t[-1] / t[-2]) / np.log(N[-1] / N[-2])
        print(f"power law {name:>9}: t ~ N^{slope:.2f} (fit N = {N[0]}..{N[-1]}; last pair N^{local:.2f})")
    print(f"\nthroughput, disorder_moments at N = {THROUGHPUT_N} (both leads), {THROUGHPUT_RUNS} realizations on 2 cores")
    serial = run_child(["throughput", 1], threads=1)["per_second"]
    threaded = run_child(["throughput", 1], threads=2)["per_second"]
    pool = run_child(["throughput", 2], threads=1)["per_second"]
    print(f"{'1 process x 1 BLAS thread':>30}: {serial:.2f} /s (baseline)")
    print(f"{'1 process x 2 BLAS threads':>30}: {threaded:.2f} /s ({threaded / serial:.2f}x)")
    print(f"{'2 processes x 1 BLAS thread':>30}: {pool:.2f} /s ({pool / serial:.2f}x)")

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "solve":
        print(json.dumps(child_solve(sys.argv[2], int(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "throughput":
        print(json.dumps(child_throughput(int(sys.argv[2]))))
    else:
        main()

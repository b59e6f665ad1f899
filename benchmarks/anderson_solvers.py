"""Scattering states of the 3D Anderson model: the slice recursion of nqlib.anderson against a
sparse direct solve, seconds per realization (both leads, one energy), one BLAS thread.

Baseline: scipy.sparse.linalg.splu of the sparse (E - H - Sigma_L - Sigma_R) (the lead
self-energies are dense Ny*Nz blocks on the two end slices), with the lead-surface sources
i sqrt(v_c) phi_c of every open channel of both leads as right-hand sides. Both routes must give
the same states (checked on every row).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

from nqlib import anderson as an  # noqa: E402

SIZES = (8, 12, 16)
W, E, T = 5.0, 0.1, (1.0, 1.0, 1.0)
REPEATS = 3


def sparse_direct(V, E, t):
    """psi_L, psi_R (N, n_open) from one sparse LU of E - H - Sigma_L - Sigma_R."""
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


def best_time(fn, *args):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    an.scatter(an.potential(4, 4, 4, W, np.random.default_rng(0)), E, T)  # warm up
    print(f"3D Anderson scattering states, N^3 cube, W = {W}, E = {E}, isotropic t, both leads, "
          f"one BLAS thread; best of {REPEATS}")
    print(f"{'N':>4} {'open ch.':>9} {'slice recursion (s)':>21} {'splu (s)':>10} {'ratio':>7} "
          f"{'max |dpsi|':>11} {'|S^+S-1|':>10}")
    for N in SIZES:
        V = an.potential(N, N, N, W, np.random.default_rng(N))
        t_rec, res = best_time(an.scatter, V, E, T)
        t_lu, (psi_L, psi_R) = best_time(sparse_direct, V, E, T)
        diff = max(np.abs(res.psi_L.reshape(V.size, -1) - psi_L).max(),
                   np.abs(res.psi_R.reshape(V.size, -1) - psi_R).max())
        assert diff < 1e-9, diff
        print(f"{N:>4} {res.n_open:>9} {t_rec:>21.4f} {t_lu:>10.4f} {t_lu / t_rec:>7.1f} "
              f"{diff:>11.1e} {res.unitarity_error:>10.1e}")


if __name__ == "__main__":
    main()

"""Gates per second of the random-circuit simulators against the best plain implementations,
measured in the same run with one BLAS thread on both sides.

* freecircuit (numba; row operations at once, column operations queued and flushed row by
  row) against a plain numba kernel that applies each gate to two rows and two columns of C,
  at L = 64, 256, 1024: the public ``apply_gates`` (which checks C and the gates, O(L^2 + n),
  and copies C) and its private kernel alone (what ``evolve`` and ``neas_samples`` run);
* circuit (dense density matrix, in-place numba kernels) against a NumPy superoperator code:
  a bulk gate as two batched matrix products (U on the rows, U^dagger on the columns of the
  reshaped density matrix), a boundary gate as the end site's 4 x 4 channel (reservoir traced
  out analytically, no kron embedding), at L = 8, 10.

Both routes start from the same state and apply the same gates; their results must agree
(checked). Time = minimum over REPEATS interleaved repeats (baseline, nqlib, baseline, ...).
"""

import numpy as np
from _timing import best_times
from numba import njit
from threadpoolctl import threadpool_limits

from nqlib import circuit, freecircuit, gates

REPEATS = 5


@njit(cache=True)
def plain_free_kernel(C, bonds, us, rho_left, rho_right):
    """Baseline: C -> conj(u) C u^T gate by gate, two rows then two columns (reservoir at ends)."""
    L = C.shape[0]
    for t in range(bonds.size):
        b, u = bonds[t], us[t]
        if b == 0 or b == L:
            e, site, rho = (1, 0, rho_left) if b == 0 else (0, L - 1, rho_right)
            uee, uer = u[e, e], u[e, 1 - e]
            diag = abs(uee) ** 2 * C[site, site] + abs(uer) ** 2 * rho
            for j in range(L):
                C[site, j] *= np.conj(uee)
                C[j, site] *= uee
            C[site, site] = diag
        else:
            a = b - 1
            for j in range(L):
                x, y = C[a, j], C[a + 1, j]
                C[a, j] = np.conj(u[0, 0]) * x + np.conj(u[0, 1]) * y
                C[a + 1, j] = np.conj(u[1, 0]) * x + np.conj(u[1, 1]) * y
            for i in range(L):
                x, y = C[i, a], C[i, a + 1]
                C[i, a] = x * u[0, 0] + y * u[0, 1]
                C[i, a + 1] = x * u[1, 0] + y * u[1, 1]


def numpy_dense_update(rho, L, bonds, us, delta):
    """Baseline: the dense channel as NumPy superoperators on the reshaped density matrix."""
    occupation = {0: (1 + delta) / 2, L: (1 - delta) / 2}
    rho = rho.copy()
    for b, U in zip(bonds, us):
        if b in occupation:
            site = 0 if b == 0 else L - 1
            left, right = 2**site, 2 ** (L - site - 1)
            U4 = U.reshape(2, 2, 2, 2)
            p = (occupation[b], 1 - occupation[b])
            # Kraus operators K[r_out, r](out, in) of the end site; reservoir first at the left end
            K = U4.transpose(0, 2, 1, 3) if b == 0 else U4.transpose(1, 3, 0, 2)
            S = np.einsum("r,sraq,srbp->abqp", p, K, K.conj())  # (out, out', in, in')
            t = rho.reshape(left, 2, right, left, 2, right)
            rho = np.einsum("abqp,xqzypw->xazybw", S, t, optimize=True).reshape(2**L, 2**L)
        else:
            # two batched matrix products: U on the pair's row index, then U^dagger on its column
            left, right = 2 ** (b - 1), 2 ** (L - b - 1)
            t = np.matmul(U, rho.reshape(left, 4, -1))
            t = np.matmul(t.reshape(-1, 4, right).transpose(0, 2, 1), U.conj().T)
            rho = t.transpose(0, 2, 1).reshape(2**L, 2**L)
    return rho


def best_rates(functions, n):
    """Gates per second of each function (min time of REPEATS interleaved repeats)."""
    return [n / t for t in best_times(functions, REPEATS)]


def main():
    rng = np.random.default_rng(0)
    rows = []
    for L, n in ((64, 40_000), (256, 20_000), (1024, 4_000)):
        bonds, us4 = gates.sample_sequence(rng, n, L, 1.0, 0.0)
        us = freecircuit.single_particle_sequence(us4)
        C0 = freecircuit.local_equilibrium(L, 0.5)
        rho_l, rho_r = 0.75, 0.25
        plain_free_kernel(C0.copy(), bonds[:10], us[:10], rho_l, rho_r)  # compile both
        freecircuit.apply_gates(C0, bonds[:10], us[:10], 0.5)
        out = C0.copy()
        plain_free_kernel(out, bonds, us, rho_l, rho_r)
        assert np.abs(out - freecircuit.apply_gates(C0, bonds, us, 0.5)).max() < 1e-9
        base, fast, kernel = best_rates(
            [
                lambda: plain_free_kernel(C0.copy(), bonds, us, rho_l, rho_r),
                lambda: freecircuit.apply_gates(C0, bonds, us, 0.5),
                lambda: freecircuit._apply_kernel(C0.copy(), bonds, us, rho_l, rho_r),
            ],
            n,
        )
        rows.append((f"freecircuit L={L}: plain numba kernel", base, 1.0))
        rows.append((f"freecircuit L={L}: nqlib apply_gates", fast, fast / base))
        rows.append((f"freecircuit L={L}: nqlib kernel, unchecked", kernel, kernel / base))
    for L, n in ((8, 400), (10, 60)):
        bonds, us = gates.sample_sequence(rng, n, L, 0.3, 0.3)
        rho0 = circuit.local_equilibrium(L, 0.5)
        circuit.apply_gates(rho0, bonds[:5], us[:5], 0.5)  # compile
        gap = np.abs(
            numpy_dense_update(rho0, L, bonds, us, 0.5) - circuit.apply_gates(rho0, bonds, us, 0.5)
        ).max()
        assert gap < 1e-10, gap
        base, fast = best_rates(
            [
                lambda: numpy_dense_update(rho0, L, bonds, us, 0.5),
                lambda: circuit.apply_gates(rho0, bonds, us, 0.5),
            ],
            n,
        )
        rows.append((f"circuit (dense) L={L}: NumPy superoperator", base, 1.0))
        rows.append((f"circuit (dense) L={L}: nqlib", fast, fast / base))
    print(f"random-circuit simulators, one BLAS thread, min of {REPEATS} interleaved repeats")
    print(f"{'simulator':<50} {'gates/s':>12} {'ratio':>8}")
    for name, r, ratio in rows:
        print(f"{name:<50} {r:12.4g} {ratio:8.2f}")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()

"""Gates per second of the random-circuit simulators, with baselines measured in the same run.

* freecircuit (numba, O(L) per gate) against a plain-NumPy version of the same update
  (fancy-indexed rows and columns), at L = 64, 256, 1024;
* circuit (dense density matrix, in-place numba kernels) against a plain-NumPy reshape/einsum
  version of the same channel, at L = 8, 10.
"""

import time

import numpy as np

from nqlib import circuit, freecircuit, gates


def numpy_free_update(C, bonds, us, rho_left, rho_right):
    """Reference: the freecircuit update with NumPy slicing, one gate at a time."""
    L = len(C)
    for b, u in zip(bonds, us):
        if b == 0 or b == L:
            e, site, rho = (1, 0, rho_left) if b == 0 else (0, L - 1, rho_right)
            diag = abs(u[e, e]) ** 2 * C[site, site] + abs(u[e, 1 - e]) ** 2 * rho
            C[site, :] *= np.conj(u[e, e])
            C[:, site] *= u[e, e]
            C[site, site] = diag
        else:
            pair = [b - 1, b]
            C[pair, :] = np.conj(u) @ C[pair, :]
            C[:, pair] = C[:, pair] @ u.T


def numpy_dense_update(rho, L, bonds, us, delta):
    """Reference: the dense channel with einsum on reshaped tensors (reservoir embedded)."""
    res = {0: np.diag([(1 + delta) / 2, (1 - delta) / 2]), L: np.diag([(1 - delta) / 2, (1 + delta) / 2])}
    for b, U in zip(bonds, us):
        if b in res:
            big = np.kron(res[b], rho) if b == 0 else np.kron(rho, res[b])
            site = 0 if b == 0 else L - 1
            left, right = 2**site, 2 ** (L + 1 - site - 2)
            t = np.einsum("ab,xbyz->xayz", U, big.reshape(left, 4, right, -1)).reshape(2 ** (L + 1), left, 4, right)
            big = np.einsum("xabz,cb->xacz", t, U.conj()).reshape(2 ** (L + 1), 2 ** (L + 1))
            t = big.reshape(2, 2**L, 2, 2**L) if b == 0 else big.reshape(2**L, 2, 2**L, 2)
            rho = np.einsum("aiaj->ij", t) if b == 0 else np.einsum("iaja->ij", t)
        else:
            left, right = 2 ** (b - 1), 2 ** (L - b - 1)
            t = np.einsum("ab,xbyz->xayz", U, rho.reshape(left, 4, right, -1)).reshape(2**L, left, 4, right)
            rho = np.einsum("xabz,cb->xacz", t, U.conj()).reshape(2**L, 2**L)
    return rho


def rate(fn, n):
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main():
    rng = np.random.default_rng(0)
    rows = []
    for L in (64, 256, 1024):
        n = 20_000
        bonds, us4 = gates.sample_sequence(rng, n, L, 1.0, 0.0)
        us = freecircuit.single_particle_sequence(us4)
        C0 = freecircuit.local_equilibrium(L, 0.5)
        freecircuit.apply_gates(C0, bonds[:10], us[:10], 0.5)  # compile
        slow = rate(lambda: numpy_free_update(C0.copy(), bonds[:2000], us[:2000], 0.75, 0.25), 2000)
        fast = rate(lambda: freecircuit.apply_gates(C0, bonds, us, 0.5), n)
        rows.append((f"freecircuit L={L}: plain NumPy", slow, 1.0))
        rows.append((f"freecircuit L={L}: numba", fast, fast / slow))
    for L, n in ((8, 400), (10, 60)):
        bonds, us = gates.sample_sequence(rng, n, L, 0.3, 0.3)
        rho0 = circuit.local_equilibrium(L, 0.5)
        circuit.apply_gates(rho0, bonds[:5], us[:5], 0.5)  # compile
        slow = rate(lambda: numpy_dense_update(rho0, L, bonds, us, 0.5), n)
        fast = rate(lambda: circuit.apply_gates(rho0, bonds, us, 0.5), n)
        rows.append((f"circuit (dense) L={L}: NumPy einsum", slow, 1.0))
        rows.append((f"circuit (dense) L={L}: numba in place", fast, fast / slow))
    print(f"{'simulator':<44} {'gates/s':>12} {'ratio':>8}")
    for name, r, ratio in rows:
        print(f"{name:<44} {r:12.4g} {ratio:8.1f}")


if __name__ == "__main__":
    main()

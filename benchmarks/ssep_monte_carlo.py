"""Throughput of the SSEP Monte Carlo against the best plain implementations, measured in the
same run with one BLAS thread on both sides; time = minimum over REPEATS interleaved repeats.

1. One chain: nqlib (random numbers drawn in chunks by numpy's PCG64, then a numba kernel)
   against a plain numba loop that draws its own random numbers inside the loop. Both must
   reproduce the exact density profile (checked).
2. An ensemble of chains: run_ensemble with the default process pool against the same chains
   run one after another in this process. The serial baseline runs with one BLAS thread (its
   BLAS calls would otherwise spin threads on the cores the comparison is about).
"""

import os

import numpy as np
from _timing import best_times
from numba import njit
from threadpoolctl import threadpool_limits

from nqlib import ensemble, ssep

L, DELTA = 50, 1.0
REPEATS = 5


@njit(cache=True)
def plain_chain(tau, steps, rho_left, rho_right, seed, density):
    """Baseline: random-sequential updates drawing random numbers in the loop; adds tau to
    ``density`` after every sweep of L + 1 updates."""
    np.random.seed(seed)
    size = tau.size
    for t in range(steps):
        bond = np.random.randint(0, size + 1)
        if np.random.random() < 0.5:
            if bond == 0:
                tau[0] = 1 if np.random.random() < rho_left else 0
            elif bond == size:
                tau[size - 1] = 1 if np.random.random() < rho_right else 0
            else:
                tau[bond - 1], tau[bond] = tau[bond], tau[bond - 1]
        if (t + 1) % (size + 1) == 0:
            density += tau


def nqlib_chain(steps, rng):
    """nqlib's sampler: the mean occupation over one sample per sweep."""
    return ssep.sample(rng, L, DELTA, steps // (L + 1), sweeps_between=1.0, burn_in=0).mean(0)


def check_profiles(steps):
    """Both chains reproduce the exact density profile (time averages, loose tolerance)."""
    exact = ssep.density(L, DELTA)
    density = np.zeros(L)
    plain_chain(np.zeros(L, np.uint8), steps, 1.0, 0.0, 7, density)
    plain = density / (steps // (L + 1))
    ours = nqlib_chain(steps, np.random.default_rng(7))
    for name, profile in (("plain", plain), ("nqlib", ours)):
        gap = np.abs(profile[5:-5] - exact[5:-5]).max()
        assert gap < 0.05, (name, gap)


def main():
    rho_left, rho_right = (1 + DELTA) / 2, (1 - DELTA) / 2
    steps = 20_000_000
    plain_chain(np.zeros(L, np.uint8), 10, rho_left, rho_right, 0, np.zeros(L))  # compile
    nqlib_chain(100 * (L + 1), np.random.default_rng(0))
    check_profiles(4_000_000)
    t_plain, t_ours = best_times(
        [
            lambda: plain_chain(np.zeros(L, np.uint8), steps, rho_left, rho_right, 1, np.zeros(L)),
            lambda: nqlib_chain(steps, np.random.default_rng(1)),
        ],
        REPEATS,
    )
    rows = [
        ("one chain, plain numba loop (own random numbers)", steps / t_plain, 1.0),
        ("one chain, nqlib (PCG64 chunks + numba kernel)", steps / t_ours, t_plain / t_ours),
    ]

    chains, samples = 8, 100_000
    total = chains * samples * (L + 1)
    kwargs = dict(L=L, delta=DELTA, n_samples=samples, blocks=10)
    workers = len(os.sched_getaffinity(0))
    t_serial, t_pool = best_times(
        [
            lambda: [
                ssep.monte_carlo_moments(np.random.default_rng(i), **kwargs) for i in range(chains)
            ],
            lambda: ensemble.run_ensemble(
                ssep.monte_carlo_moments,
                chains,
                seed=1,
                progress=False,
                cache=False,
                executor=None,
                **kwargs,
            ),
        ],
        REPEATS,
    )
    rows.append(("ensemble of chains, serial in-process", total / t_serial, 1.0))
    rows.append(
        (
            f"ensemble of chains, run_ensemble ({workers} workers, pool start included)",
            total / t_pool,
            t_serial / t_pool,
        )
    )

    print(f"SSEP Monte Carlo, L = {L}, one BLAS thread, min of {REPEATS} interleaved repeats")
    print(f"{'what':<68} {'updates/s':>12} {'ratio':>8}")
    for name, rate, ratio in rows:
        print(f"{name:<68} {rate:12.3e} {ratio:8.2f}")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()

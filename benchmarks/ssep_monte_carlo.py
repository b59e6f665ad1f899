"""Throughput of the SSEP Monte Carlo, as ratios against baselines measured in the same run.

1. The numba kernel against a plain-Python loop doing the same random-sequential updates.
2. run_ensemble with the default process pool (one BLAS thread per worker) against the same
   chains run one after another in this process.
"""

import os
import time

import numpy as np

from nqlib import ensemble, ssep

L, DELTA = 50, 1.0


def python_steps(tau, u, rho_left, rho_right):
    """Reference: the kernel's update rule in plain Python."""
    size = len(tau)
    for a, b in u:
        bond = int(a * (size + 1))
        if a * (size + 1) - bond >= 0.5:
            continue
        if bond == 0:
            tau[0] = 1 if b < rho_left else 0
        elif bond == size:
            tau[-1] = 1 if b < rho_right else 0
        else:
            tau[bond - 1], tau[bond] = tau[bond], tau[bond - 1]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main():
    rng = np.random.default_rng(0)
    rho = ((1 + DELTA) / 2, (1 - DELTA) / 2)
    ssep._steps_kernel(np.zeros(L, np.uint8), rng.random((10, 2)), *rho)  # compile
    rows = []
    n_py, n_nb = 200_000, 20_000_000
    t_py = timed(python_steps, list(np.zeros(L, np.uint8)), rng.random((n_py, 2)).tolist(), *rho)
    u = rng.random((n_nb, 2))
    t_nb = timed(ssep._steps_kernel, np.zeros(L, np.uint8), u, *rho)
    rows.append(("single-chain updates, plain Python", n_py / t_py, 1.0))
    rows.append(("single-chain updates, numba kernel", n_nb / t_nb, (n_nb / t_nb) / (n_py / t_py)))

    chains, samples = 16, 200_000  # ~4 s serial: large against the ~1 s pool start-up
    steps = chains * samples * (L + 1)
    t_serial = timed(lambda: [ssep.monte_carlo_moments(np.random.default_rng(i), L, DELTA, samples, 10) for i in range(chains)])
    t_pool = timed(ensemble.run_ensemble, ssep.monte_carlo_moments, chains, seed=1, progress=False,
                   L=L, delta=DELTA, n_samples=samples, blocks=10)
    rows.append(("ensemble of chains, serial in-process", steps / t_serial, 1.0))
    rows.append((f"ensemble of chains, run_ensemble ({len(os.sched_getaffinity(0))} workers)", steps / t_pool, t_serial / t_pool))

    print(f"SSEP Monte Carlo, L = {L}")
    print(f"{'what':<58} {'updates/s':>12} {'ratio':>8}")
    for name, rate, ratio in rows:
        print(f"{name:<58} {rate:12.3e} {ratio:8.1f}")


if __name__ == "__main__":
    main()

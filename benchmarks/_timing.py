"""Timing shared by the benchmarks: interleaved repeats, minimum time."""

import time


def best_times(functions, repeats):
    """Minimum wall time of each function over ``repeats`` interleaved rounds (f1, f2, f1, ...)."""
    times = [[] for _ in functions]
    for _ in range(repeats):
        for k, fn in enumerate(functions):
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return [min(t) for t in times]

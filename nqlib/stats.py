"""Statistics over independent realizations: stack results, jackknife error bars.

No multiprocessing here: physics modules and notebooks that only analyse realizations import this
module, not :mod:`nqlib.ensemble` (which runs them). :mod:`nqlib.ensemble` re-exports both names.
"""

import numpy as np

__all__ = ["stack", "jackknife"]


def stack(results):
    """Stack a list of results of :func:`run_ensemble` along a new first axis.

    A list of numbers or arrays becomes one array; a list of dicts becomes a
    dict of arrays, one per key (all dicts must have the same keys).
    """
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f"results must be a non-empty list, got {results!r}")
    first = results[0]
    if not isinstance(first, dict):
        if any(isinstance(result, dict) for result in results):
            raise ValueError("results mixes dicts with numbers or arrays; expected one kind")
        return _stack(results, "results[i]")
    for index, result in enumerate(results):
        if not isinstance(result, dict) or result.keys() != first.keys():
            keys = sorted(result) if isinstance(result, dict) else type(result).__name__
            raise ValueError(
                f"results[{index}] has keys {keys}, expected a dict with keys {sorted(first)}"
            )
    return {
        key: _stack([result[key] for result in results], f"results[i][{key!r}]") for key in first
    }


def _stack(values, name):
    """np.stack(values), with a ValueError naming ``name`` if their shapes differ."""
    try:
        return np.stack(values)
    except ValueError as error:
        shapes = []
        for value in values:
            try:
                shapes.append(np.shape(value))
            except ValueError:  # a ragged nested list
                shapes.append("ragged")
        differ = [i for i, shape in enumerate(shapes) if shape != shapes[0]]
        if not differ:
            raise ValueError(f"{name} cannot be stacked: {error}") from None
        raise ValueError(
            f"{name} must all have the same shape, got {shapes[0]} for i = 0 "
            f"and {shapes[differ[0]]} for i = {differ[0]}"
        ) from None


def jackknife(estimator, data):
    """Estimate and jackknife standard error of ``estimator`` over independent realizations.

    ``data`` is an array whose first axis runs over realizations, or a dict of such arrays (the
    output of :func:`stack`); ``estimator`` maps data of that structure (any number of
    realizations) to a number or an array. Returns ``(estimate, error)`` where ``estimate`` uses
    all n realizations and ``error = sqrt((n-1)/n * sum_i (theta_(i) - mean theta_(.))**2)``
    from the n leave-one-out estimates theta_(i). Needs n >= 2.
    """
    if not callable(estimator):
        raise ValueError(f"estimator must be callable, got {estimator!r}")
    arrays = data if isinstance(data, dict) else {None: data}
    if any(np.ndim(value) == 0 for value in arrays.values()):
        raise ValueError(
            f"data must be an array with realizations along axis 0 (or a dict of "
            f"them), got data={data!r}"
        )
    sizes = {len(np.asarray(value)) for value in arrays.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise ValueError(
            f"data must hold >= 2 realizations along axis 0 (same for every key), got {sorted(sizes)}"
        )
    n = sizes.pop()

    def subset(keep):
        picked = {key: np.asarray(value)[keep] for key, value in arrays.items()}
        return picked if isinstance(data, dict) else picked[None]

    estimate = np.asarray(estimator(data))
    leave_one_out = np.array([estimator(subset(np.arange(n) != i)) for i in range(n)])
    spread = leave_one_out - leave_one_out.mean(axis=0)
    return estimate, np.sqrt((n - 1) / n * np.sum(spread**2, axis=0))

"""Statistics over independent realizations: stack results, means with standard errors, z-scores,
jackknife error bars.

No multiprocessing here: physics modules and notebooks that only analyse realizations import this
module, not :mod:`nqlib.ensemble` (which runs them). :mod:`nqlib.ensemble` re-exports both names.
"""

from typing import NamedTuple

import numpy as np

from nqlib import _checks

__all__ = ["stack", "MeanError", "mean_error", "z_scores", "jackknife"]


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


class MeanError(NamedTuple):
    """A sample mean and its standard error, entry by entry (:func:`mean_error`)."""

    mean: np.ndarray
    error: np.ndarray


def mean_error(samples, ddof=1):
    r"""Mean over realizations (axis 0) and its standard error, entry by entry.

    The error is :math:`\sqrt{s^2/n}` with :math:`s^2` the sample variance with ``ddof`` degrees
    of freedom removed (1: unbiased; 0: the plain second moment). For complex samples
    :math:`s^2` is the sum of the variances of the real and imaginary parts, so that the error
    measures the spread of the complex mean as a whole.

    Parameters
    ----------
    samples : array_like (n, ...)
        Finite real or complex samples, realizations along axis 0, n >= 2.
    ddof : {0, 1}
        Degrees of freedom removed from the variance.

    Returns
    -------
    MeanError
        ``mean`` and ``error``, each of shape ``samples.shape[1:]``.

    References
    ----------
    Standard error of a mean of independent realizations; chapters {doc}`anderson` (U(1) maps,
    mirror test), {doc}`anderson_mutual_information` (f_AB) and {doc}`operator_spreading` (OTOC
    against the exact average).
    """
    samples = _checks.array("samples", samples, dtype=None)
    if samples.ndim == 0 or len(samples) < 2:
        raise ValueError(
            f"samples must hold >= 2 realizations along axis 0, got shape {samples.shape}"
        )
    if ddof not in (0, 1) or isinstance(ddof, bool):
        raise ValueError(f"ddof must be 0 or 1, got ddof={ddof!r}")
    variance = samples.real.var(axis=0, ddof=ddof)
    if np.iscomplexobj(samples):
        variance = variance + samples.imag.var(axis=0, ddof=ddof)
    return MeanError(samples.mean(axis=0), np.sqrt(variance) / np.sqrt(len(samples)))


def z_scores(a, a_err, b=0.0, b_err=0.0):
    r"""Signed z-scores :math:`(a - b)/\sqrt{\sigma_a^2 + \sigma_b^2}` of two independent estimates.

    With the defaults, :math:`a/\sigma_a`: how many standard errors ``a`` lies from zero. Complex
    ``a`` and ``b`` give complex z; take ``abs`` for the distance in errors.

    Parameters
    ----------
    a, b : array_like
        Finite estimates (broadcast together).
    a_err, b_err : array_like
        Their standard errors, finite and >= 0, not both zero anywhere.

    Returns
    -------
    ndarray
        One z per broadcast entry.

    References
    ----------
    Chapters {doc}`anderson` (U(1) maps), {doc}`anderson_mutual_information` (archive vs own run,
    collapse of i_AB) and
    {doc}`operator_spreading` (OTOC against the exact average).
    """
    a = _checks.array("a", a, dtype=None)
    b = _checks.array("b", b, dtype=None)
    a_err = _checks.array("a_err", a_err, 0)
    b_err = _checks.array("b_err", b_err, 0)
    try:
        error = np.hypot(a_err, b_err)
        difference = a - b
        np.broadcast_shapes(difference.shape, error.shape)
    except ValueError:
        raise ValueError(
            f"a, a_err, b and b_err must broadcast together, got shapes {a.shape}, "
            f"{a_err.shape}, {b.shape} and {b_err.shape}"
        ) from None
    if np.any(error == 0):
        raise ValueError("a_err and b_err must not both be zero at any entry, got a zero error")
    return difference / error

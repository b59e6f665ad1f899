"""Shared argument validation: refuse bad input up front, with a message that says why.

Every helper raises ValueError naming the argument, the allowed range and the offending value,
e.g. ``modes must be distinct integers in [0, 7], got [0, 0]: 0 repeats``. Comparisons with NaN
are False, so a range check such as ``0 <= x <= 1`` lets NaN through: finiteness is checked
explicitly with :func:`numpy.isfinite`. Helpers cost O(size of the argument). Nothing here
imports another nqlib module (in particular not :mod:`nqlib.ensemble` or multiprocessing).
"""

import functools
import os
import warnings

import numpy as np
from numba import njit

MEMORY_VARIABLE = "NQLIB_MAX_GIB"
"""Environment variable that sets the memory budget of one call in GiB (see :func:`memory_budget`)."""

WORK_VARIABLE = "NQLIB_MAX_WORK"
"""Environment variable: the time budget of one call in elementary steps (see :func:`work`)."""

DEFAULT_WORK = 1e15
"""Default time budget of one call: 1e15 elementary steps (a gate on one site pair, one Monte Carlo
move, one update of a matrix entry), days to weeks of CPU time at 1e9 steps per second."""

_REAL = (int, float, np.integer, np.floating)


def indices(name, value, low, high, *, distinct=True, empty=False):
    """Return ``value`` as a 1D int64 array after checking it holds integers in [low, high].

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : sequence, range, numpy.ndarray or int
        Python or NumPy integers, or integer-valued reals such as ``2.0``; one integer counts as
        a set of one. The order is kept.
    low, high : int
        Smallest and largest allowed index.
    distinct : bool, optional
        Refuse repeated entries (default).
    empty : bool, optional
        Accept an empty set (refused by default).

    Returns
    -------
    numpy.ndarray
        The indices as int64, in the given order.

    Raises
    ------
    ValueError
        If an entry is not an integer (1.5, NaN, a string), lies outside [low, high], repeats
        (with ``distinct``), or the set is empty (without ``empty``).
    """
    what = f"{'distinct ' if distinct else ''}integers in [{low}, {high}]"
    arr = (
        np.atleast_1d(np.asarray(value))
        if not isinstance(value, (str, bytes, dict, set, frozenset))
        else None
    )
    if arr is None or arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be {what}, got {name}={value!r}")
    problem = None
    if arr.size == 0 and not empty:
        problem = "empty"
    elif arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        problem = (
            f"{arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0].item()!r} is not an integer"
        )
    elif arr.size and (arr.min() < low or arr.max() > high):
        problem = f"{arr[(arr < low) | (arr > high)][0].item()!r} is out of range"
    if problem is None:
        arr = arr.astype(np.int64)
        if distinct and arr.size > 1:
            values, counts = np.unique(arr, return_counts=True)
            if counts.max() > 1:
                problem = f"{values[counts > 1][0]} repeats"
    if problem is not None:
        shown = (
            str(arr.tolist())
            if arr.size <= 12
            else f"[{', '.join(repr(x) for x in arr[:3].tolist())}, ..., {arr[-1].item()!r}] "
            f"({arr.size} entries)"
        )
        raise ValueError(f"{name} must be {what}, got {shown}: {problem}")
    return arr


def subsystems(caller, L, A, B=None, *, cut=None):
    """(A, B) as sorted int64 arrays after checking they are disjoint, non-empty index sets.

    The house convention for a subsystem pair ``(state, A, B=None)``: ``A`` and ``B`` hold
    distinct indices in [0, L - 1]; ``B`` defaults to the complement of ``A``. An integer ``A``
    with ``B=None`` is the deprecated cut spelling A = [0, A), B = [A, L): it still works, with a
    DeprecationWarning that names ``caller`` and the new spelling ``range(A)``; so does the
    deprecated keyword ``cut`` (given instead of ``A``).
    """
    if cut is not None:
        if A is not None:
            raise TypeError(f"{caller} got both A= and its deprecated spelling cut=")
        A = cut
    if B is None and isinstance(A, (int, np.integer)) and not isinstance(A, (bool, np.bool_)):
        if not 0 < A < L:
            raise ValueError(f"cut must be an integer in [1, {L - 1}], got cut={A!r}")
        warnings.warn(
            f"{caller}(..., {A}) with an integer cut is deprecated: pass the index set, "
            f"{caller}(..., range({A}))",
            DeprecationWarning,
            stacklevel=3,
        )
        A = range(A)
    A = np.unique(indices("A", A, 0, L - 1))
    if B is None:
        B = np.setdiff1d(np.arange(L), A)
        if not B.size:
            raise ValueError(
                f"A must be a proper subset of [0, {L - 1}] (B is the rest), got A={A}"
            )
        return A, B
    B = np.unique(indices("B", B, 0, L - 1))
    common = np.intersect1d(A, B)
    if common.size:
        raise ValueError(
            f"A and B must be disjoint, got A={A.tolist()}, B={B.tolist()} "
            f"(both hold {common.tolist()})"
        )
    return A, B


def renamed(caller, old, old_value, new, new_value):
    """``new_value``, or ``old_value`` with a DeprecationWarning if the old keyword ``old`` was used.

    For keyword arguments renamed to the house names (``A``, ``B``); kept for one release.
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{caller} got both {new}= and its deprecated name {old}=")
    warnings.warn(
        f"{caller}({old}=...) is deprecated: use {caller}({new}=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


def real(name, value, low=-np.inf, high=np.inf, *, open_low=False, open_high=False):
    """Return ``value`` as a float after checking it is a finite real number in the given range.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : int, float, numpy.integer or numpy.floating
        The number (bool, NaN and +-inf are refused).
    low, high : float, optional
        Bounds of the allowed range (default: none).
    open_low, open_high : bool, optional
        Exclude the bound itself (default: included).

    Raises
    ------
    ValueError
        If ``value`` is not a finite real number in the range.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, _REAL)
        or not np.isfinite(value)
        or not (low < value if open_low else low <= value)
        or not (value < high if open_high else value <= high)
    ):
        rule = (
            " " + _interval(low, high, open_low, open_high)
            if (low > -np.inf or high < np.inf)
            else ""
        )
        raise ValueError(f"{name} must be a finite real number{rule}, got {name}={value!r}")
    return float(value)


def drive(delta, name="delta"):
    """Return the drive ``delta`` (reservoir occupations (1 +- delta)/2) as a float in [-1, 1].

    Raises
    ------
    ValueError
        If ``delta`` is not a finite real number in [-1, 1].
    """
    return real(name, delta, -1, 1)


def integer(name, value, low=0, high=None):
    """Return ``value`` as an int after checking it is an integer (Python or NumPy, not bool) in [low, high].

    Raises
    ------
    ValueError
        If ``value`` is not an integer (2.0 and 2.5 are refused alike) or lies outside the range.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        rule = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rule}, got {name}={value!r}")
    return int(value)


def sample_count(n_samples):
    """Return ``n_samples`` as an int after checking it is a positive integer."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got n_samples={n_samples!r}")
    return int(n_samples)


def flag(name, value):
    """Return ``value`` as a bool after checking it is True or False (Python or NumPy bool).

    Raises
    ------
    ValueError
        For anything else: 0, 1, "yes" and None are refused alike.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {name}={value!r}")
    return bool(value)


def array(name, value, low=-np.inf, high=np.inf, *, dtype=float, ndim=None):
    """Return ``value`` as a NumPy array of ``dtype`` after checking its entries are finite numbers.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : array_like
        Numbers (a scalar, sequence or array); strings and other objects are refused.
    low, high : float, optional
        Allowed range of the (real) entries (default: any finite number).
    dtype : float, complex or None, optional
        Type of the returned array, as ``numpy.asarray(value, dtype=dtype)`` gives it; None keeps
        the numeric (bool, integer, real or complex) type of ``value``.
    ndim : int, optional
        Required number of dimensions (default: any).

    Raises
    ------
    ValueError
        If ``value`` does not convert to numbers, has the wrong number of dimensions, holds NaN
        or inf, or an entry outside [low, high].
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.dtype.kind not in "biufc":
        arr = None
    what = {float: "real", complex: "complex", None: ""}[dtype]
    if arr is None or (ndim is not None and arr.ndim != ndim):
        shape = "" if ndim is None else f" with {ndim} dimension{'s' if ndim != 1 else ''}"
        raise ValueError(
            f"{name} must be an array of {what + ' ' if what else ''}numbers{shape}, "
            f"got {name}={value!r}"
        )
    finite(name, arr)
    if low > -np.inf or high < np.inf:
        outside = (arr < low) | (arr > high)
        if np.any(outside):
            first, count = arr[outside].ravel()[0].item(), np.count_nonzero(outside)
            raise ValueError(
                f"{name} must hold numbers {_interval(low, high, False, False)}, "
                f"got {first!r} ({count} outside)"
            )
    return arr


def conserving_unitaries(name, U, charge, law, hint):
    """Return ``U`` (a (D, D) matrix or a stack of them, shape checked by the caller) as a complex
    array after checking that it conserves a charge and is unitary.

    ``charge`` (length D) is the conserved quantity of each basis state: an entry of ``U`` between
    states of different charge above 1e-12 raises "``name`` must conserve ``law``: ``hint``".
    The gate checks of ``gates``, ``circuit`` and ``quditcircuit`` (S^z, the number of up spins).
    """
    U = array(name, U, dtype=complex)
    charge = np.asarray(charge)
    if U.size and np.any(np.abs(U[..., charge[:, None] != charge[None, :]]) > 1e-12):
        raise ValueError(f"{name} must conserve {law}: {hint}")
    return unitary(name, U) if U.size else U


def unitary(name, U, atol=1e-10):
    """Return ``U`` as a complex array after checking it is a unitary (n, n) matrix or a stack.

    Raises
    ------
    ValueError
        If an entry is not a finite number, the last two axes are not square, or
        max |U^dagger U - 1| > ``atol`` (the first offending matrix of a stack is named).
    """
    U = array(name, U, dtype=complex)
    if U.ndim < 2 or U.shape[-1] != U.shape[-2]:
        raise ValueError(
            f"{name} must be a unitary (n, n) matrix or a stack of them, got shape {U.shape}"
        )
    n = U.shape[-1]
    deviation = _unitarity_deviation(np.ascontiguousarray(U).reshape(-1, n, n)).reshape(
        U.shape[:-2]
    )
    if np.any(deviation > atol):
        worst = np.unravel_index(np.argmax(deviation), deviation.shape)
        where = "" if U.ndim == 2 else f" (matrix {tuple(int(k) for k in worst)})"
        raise ValueError(
            f"{name} must be unitary, U^dagger U = 1 within {atol:g}, "
            f"got max |U^dagger U - 1| = {deviation.max():.3g}{where}"
        )
    return U


def hermitian(name, C, atol):
    """Return ``C`` as a complex array after checking it is a finite, square, Hermitian matrix.

    Hermitian means |C_ij - conj(C_ji)| <= atol + 1e-5 min(|C_ij|, |C_ji|) for every pair: at
    least as strict as ``numpy.allclose(C, C.conj().T, atol=atol)``, in one pass over C without
    temporaries (a tenth of the time of allclose at L = 1024).
    """
    if not (isinstance(C, np.ndarray) and C.dtype == np.complex128):
        C = array(name, C, dtype=complex)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {C.shape}")
    status = _hermitian_status(C, float(atol))
    if status == 1:
        finite(name, C)
    if status == 2:
        raise ValueError(f"{name} must be Hermitian: {name}[i, j] = conj({name}[j, i])")
    return C


@njit(cache=True)
def _hermitian_status(C, atol):
    """0: finite and Hermitian; 1: a NaN or inf entry; 2: not Hermitian. Tiles of 64 x 64."""
    L = C.shape[0]
    tile = 64
    for i0 in range(0, L, tile):
        for j0 in range(i0, L, tile):
            for i in range(i0, min(i0 + tile, L)):
                for j in range(max(j0, i), min(j0 + tile, L)):
                    a, b = C[i, j], C[j, i]
                    if not (
                        np.isfinite(a.real)
                        and np.isfinite(a.imag)
                        and np.isfinite(b.real)
                        and np.isfinite(b.imag)
                    ):
                        return 1
                    if abs(a - np.conj(b)) > atol + 1e-5 * min(abs(a), abs(b)):
                        return 2
    return 0


@njit(cache=True)
def _unitarity_deviation(U):
    """max |U^dagger U - 1| of each matrix of a (m, n, n) stack."""
    m, n = U.shape[0], U.shape[1]
    out = np.empty(m)
    for k in range(m):
        worst = 0.0
        for i in range(n):
            for j in range(n):
                acc = -1.0 + 0j if i == j else 0j
                for r in range(n):
                    acc += np.conj(U[k, r, i]) * U[k, r, j]
                worst = max(worst, abs(acc))
        out[k] = worst
    return out


def finite(name, array):
    """Return ``array`` after checking every entry is finite (ValueError naming NaN and inf otherwise)."""
    where = ~np.isfinite(array)
    bad = np.count_nonzero(where)
    if bad:
        first = np.asarray(array)[where].ravel()[0].item()
        raise ValueError(
            f"{name} must hold finite numbers, got {name} with {first!r} among {bad} "
            f"non-finite (NaN or inf) entries"
        )
    return array


def generator(rng):
    """Check that ``rng`` is a :class:`numpy.random.Generator` (ValueError otherwise)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got rng={rng!r}")


def rng_first(func):
    """Let ``func(rng, ...)`` also take its old spelling, rng last or ``rng=``, for one release.

    The house convention puts ``rng`` first. A call whose first argument is not a Generator, with
    ``rng=`` given or a Generator as its last positional argument, is reordered with a
    DeprecationWarning that names the new spelling; any other call goes through unchanged (and
    the function's own checks name a bad ``rng``).
    """
    name = f"{func.__module__.removeprefix('nqlib.')}.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if args and not isinstance(args[0], np.random.Generator):
            if "rng" in kwargs:
                args = (kwargs.pop("rng"), *args)
            elif isinstance(args[-1], np.random.Generator):
                args = (args[-1], *args[:-1])
            else:
                return func(*args, **kwargs)
            warnings.warn(
                f"{name} takes rng first: write {name}(rng, ...); the old order works for one "
                "release",
                DeprecationWarning,
                stacklevel=2,
            )
        return func(*args, **kwargs)

    return wrapper


def _positive_setting(variable, unit):
    """The positive number in the environment variable ``variable``, or None where it is unset."""
    value = os.environ.get(variable)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = np.nan
    if not (np.isfinite(number) and number > 0):
        raise ValueError(
            f"{variable} must be a positive number of {unit}, got {variable}={value!r}"
        )
    return number


def memory_budget():
    """The memory budget of one call in bytes: ``$NQLIB_MAX_GIB`` GiB if set, else this machine's RAM.

    Functions with a size guard refuse a call whose estimated peak memory exceeds the budget,
    before allocating anything: a call that cannot fit in memory fails at once with the estimate
    instead of swapping or being killed. The budget is read at every call, so worker processes
    see the variable of the environment they were started in.
    """
    gib = _positive_setting(MEMORY_VARIABLE, "GiB")
    if gib is None:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return gib * 2**30


def memory(what, n_bytes):
    """Refuse a computation whose estimated peak memory ``n_bytes`` exceeds :func:`memory_budget`.

    ``what`` names the call and the arguments that set its size, e.g. ``"neas_samples at L=25000"``.

    Raises
    ------
    ValueError
        With the estimate and the budget in GiB, before anything is allocated.
    """
    budget = memory_budget()
    if n_bytes > budget:
        raise ValueError(
            f"{what} needs an estimated {n_bytes / 2**30:.1f} GiB of memory, more than the "
            f"budget of {budget / 2**30:.1f} GiB (this machine's memory, or ${MEMORY_VARIABLE})"
        )


def work_budget():
    """Time budget of one call in elementary steps: ``$NQLIB_MAX_WORK``, else :data:`DEFAULT_WORK`."""
    steps = _positive_setting(WORK_VARIABLE, "steps")
    return DEFAULT_WORK if steps is None else steps


def work(what, n_steps):
    """Refuse a computation whose estimated number of elementary steps exceeds :func:`work_budget`.

    ``what`` names the call and the arguments that set its length, e.g.
    ``"evolve with steps=10**18 at L=4"``. Loops whose length comes from a time or a count
    (burn-in, number of gates, samples) call this before the first step, so that no call runs
    for an unbounded time.

    Raises
    ------
    ValueError
        With the estimate and the budget, before any step is taken.
    """
    budget = work_budget()
    if n_steps > budget:
        raise ValueError(
            f"{what} needs an estimated {float(n_steps):.3g} elementary steps, more "
            f"than the budget of {budget:.3g} (${WORK_VARIABLE})"
        )


def _interval(low, high, open_low, open_high):
    if high == np.inf:
        return f"{'>' if open_low else '>='} {low:g}"
    if low == -np.inf:
        return f"{'<' if open_high else '<='} {high:g}"
    return f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

r"""Set partitions, non-crossing partitions, free and classical cumulants, loop estimators.

Model-free: :mod:`nqlib.qssep`, :mod:`nqlib.freecircuit` and :mod:`nqlib.anderson` compute the
loop statistics of their models with these tools.

**Free cumulants** (Speicher; Nica & Speicher, Lectures on the Combinatorics of Free
Probability, Lecture 11). The moments :math:`m_n` of one variable and its free cumulants
:math:`\kappa_n` are related by a sum over the non-crossing partitions :math:`NC(n)` of
n points on a circle (Catalan many),

.. math::

    m_n = \sum_{\pi\in NC(n)} \prod_{B\in\pi} \kappa_{|B|}

(:func:`free_cumulants`); the classical cumulants use all set partitions (Bell many) instead.

**Cyclic cumulants** (Hruza & Jin, HJ, arXiv 2024, Eqs. 4-6). For a loop of sites
:math:`i_1\to i_2\to\dots\to i_n\to i_1` of a random correlation matrix G (HJ convention
:math:`G_{ij} = \langle c_j^\dagger c_i\rangle`) the connected (classical, joint) cumulant of
the n coherences along the loop scales as

.. math::

    \mathbb E[G_{i_1i_2}G_{i_2i_3}\cdots G_{i_ni_1}]^c \simeq N^{1-n}\,g_n(x_1,\dots,x_n),

and in QSSEP the :math:`g_n` are the *free* cumulants of the "moments"
:math:`\Delta n^n \min(x_1,\dots,x_n)`:

.. math::

    \sum_{\pi\in NC(n)} \prod_{p\in\pi} g_{|p|}(\vec x_p) = (\Delta n)^n \min(x_1,\dots,x_n),
    \qquad g_1(x) = \Delta n\,x,

with :math:`NC(n)` the partitions of the n positions *of the loop* that are non-crossing with
respect to its cyclic order (not the spatial order of the x's). Closed forms (HJ Eq. 5;
:math:`\Delta n = 1`, sorted points :math:`x<y<z`): :math:`g_2 = x(1-y)`,
:math:`g_3 = x(1-2y)(1-z)`. A left reservoir density :math:`n_a \ne 0` adds :math:`n_a` to
:math:`g_1` only (a constant shift of the diagonal does not change cumulants of order >= 2).
With all points equal, :math:`g_n(x,\dots,x)` are the free cumulants of a Bernoulli(x) variable.

**Estimators.** For samples of G and a list of loops, :func:`loop_moments` returns the sample
means of the products of every subset of a loop's edges, and :func:`loop_cumulants` combines
them into the joint cumulant by the classical moment-cumulant (Möbius) formula over all set
partitions. Means of moments are additive over independent realizations, so the realization
functions return them and :func:`cumulant_estimate` gives the cumulants with jackknife errors
over realizations (:func:`nqlib.stats.jackknife`, the library's one jackknife).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nqlib import _checks, stats

__all__ = [
    "noncrossing_partitions",
    "set_partitions",
    "free_cumulants",
    "cyclic_cumulant",
    "loop_moments",
    "loop_cumulants",
    "cumulant_estimate",
    "cut_loops",
    "distinct_sites",
    "CutCumulants",
    "cut_cumulants",
    "MAX_ORDER",
]

MAX_ORDER = 10
"""Largest cumulant order accepted here (NC(10) has 16796 partitions, P(10) 115975)."""


# --------------------------------------------------------------------------- partitions
def noncrossing_partitions(n):
    """All non-crossing partitions of the positions 0..n-1 on a circle.

    Returns a tuple of partitions; each partition is a tuple of blocks (sorted tuples of
    positions), blocks ordered by their first element. Their number is the Catalan number
    C_n = binom(2n, n) / (n + 1).
    """
    _check_order(n, "n", low=0)
    return _noncrossing(int(n))


def set_partitions(n):
    """All partitions of 0..n-1 (Bell number many), in the format of :func:`noncrossing_partitions`."""
    _check_order(n, "n", low=0)
    return _all_partitions(int(n))


# --------------------------------------------------------------------------- free cumulants
def free_cumulants(moments):
    r"""Free cumulants :math:`\kappa_1,\dots,\kappa_n` of one variable from its moments (module doc).

    Parameters
    ----------
    moments : array_like, shape (n,) or (n, ...)
        :math:`m_1,\dots,m_n` along the first axis (real or complex; further axes are
        independent variables), 1 <= n <= MAX_ORDER.

    Returns
    -------
    numpy.ndarray
        :math:`\kappa_1,\dots,\kappa_n` in the shape of ``moments``, from the inversion of
        :math:`m_n = \sum_{\pi\in NC(n)}\prod_{B\in\pi}\kappa_{|B|}` order by order.

    References
    ----------
    Nica & Speicher, Lectures on the Combinatorics of Free Probability, Lecture 11; HJ Eq. 4;
    chapter {doc}`qssep`.
    """
    m = _checks.array("moments", moments, dtype=None)
    if m.ndim == 0 or not 1 <= len(m) <= MAX_ORDER:
        raise ValueError(
            f"moments must hold 1..{MAX_ORDER} moments along axis 0, got shape {m.shape}"
        )
    kappa = np.zeros_like(m, dtype=np.result_type(m, float))
    for n in range(1, len(m) + 1):
        rest = sum(np.prod([kappa[len(b) - 1] for b in p], axis=0) for p in _noncrossing(n)[1:])
        kappa[n - 1] = m[n - 1] - rest
    return kappa


def cyclic_cumulant(xs, dn=1.0):
    r"""The QSSEP cyclic cumulant :math:`g_n(x_1,\dots,x_n)` (HJ Eq. 6) for a loop through ``xs``.

    ``xs`` is a sequence of n positions in [0, 1] in the order the loop visits them; each may be
    an array (all broadcast together), giving g_n elementwise. ``dn`` is the imbalance
    :math:`\Delta n`; the result is :math:`\Delta n^n\,\tilde g_n` with :math:`\tilde g_1 = x`.
    """
    if (
        isinstance(dn, bool)
        or not isinstance(dn, (int, float, np.integer, np.floating))
        or not np.isfinite(dn)
    ):
        raise ValueError(f"dn must be a finite real number, got dn={dn!r}")
    try:
        n = len(xs)
    except TypeError:
        raise ValueError(
            f"xs must be a sequence of positions (one per loop site), got {xs!r}"
        ) from None
    _check_order(n, "len(xs)", low=1)
    xs = np.broadcast_arrays(*[_checks.array("xs", x, 0, 1) for x in xs])
    memo = {}

    def g(block):
        if block not in memo:
            if len(block) == 1:
                value = xs[block[0]]
            else:
                value = np.minimum.reduce([xs[i] for i in block])
                for partition in _noncrossing(len(block))[1:]:  # [0] is the single block
                    term = 1.0
                    for part in partition:
                        term = term * g(tuple(block[j] for j in part))
                    value = value - term
            memo[block] = value
        return memo[block]

    out = float(dn) ** n * g(tuple(range(n)))
    return out[()] if isinstance(out, np.ndarray) else out


# --------------------------------------------------------------------------- estimators
def loop_moments(G, loops):
    r"""Sample means of the products of every subset of each loop's edge variables.

    ``G`` (S, N, N) samples (or one (N, N) matrix) in HJ convention; ``loops`` (n_loops, n)
    site indices. The edge variables of loop :math:`(i_1,\dots,i_n)` are
    :math:`X_e = G_{i_e i_{e+1}}` (indices mod n). Returns (n_loops, 2**n) complex with entry
    ``[l, mask]`` = mean over samples of :math:`\prod_{e\in mask} X_e` (bit e of ``mask``; mask 0
    gives 1).
    """
    G = _checks.array("G", G, dtype=None)
    if G.ndim == 2:
        G = G[None]
    if G.ndim != 3 or G.shape[1] != G.shape[2]:
        raise ValueError(f"G must have shape (S, N, N) or (N, N), got {np.shape(G)}")
    loops = _check_loop_array(loops, G.shape[1], "loops")
    n = loops.shape[1]
    X = G[:, loops, np.roll(loops, -1, axis=1)]  # (S, n_loops, n)
    out = np.empty((loops.shape[0], 2**n), dtype=complex)
    products = np.ones((len(G), loops.shape[0], 2**n), dtype=complex)
    for mask in range(1, 2**n):
        low = mask & -mask
        e = low.bit_length() - 1
        products[..., mask] = products[..., mask ^ low] * X[..., e]
    out[:] = products.mean(axis=0)
    return out


def loop_cumulants(moments):
    r"""Joint cumulants of the n edge variables from the subset moments of :func:`loop_moments`.

    ``moments`` (..., 2**n): the classical Möbius formula
    :math:`\kappa = \sum_{\pi}(-1)^{|\pi|-1}(|\pi|-1)!\prod_{B\in\pi}m_B` over all set partitions.
    """
    moments = _checks.array("moments", moments, dtype=None)
    size = moments.shape[-1] if moments.ndim else 0
    n = size.bit_length() - 1
    if size < 2 or 2**n != size:
        raise ValueError(f"moments must have a last axis of length 2**n (n >= 1), got {size}")
    total = np.zeros(moments.shape[:-1], dtype=moments.dtype)
    for partition in _all_partitions(n):
        k = len(partition)
        term = (-1) ** (k - 1) * float(np.prod(np.arange(1, k)))
        for block in partition:
            term = term * moments[..., sum(1 << e for e in block)]
        total = total + term
    return total


def cumulant_estimate(moments):
    """Cumulants and jackknife errors from per-realization moments (R, ..., 2**n), R >= 2.

    Returns ``(estimate, error)``: the joint cumulants of the realization-averaged moments
    (:func:`loop_cumulants`) and the jackknife standard errors of their real and imaginary
    parts, ``error.real`` and ``error.imag`` separately.
    """
    moments = _checks.array("moments", moments, dtype=None)
    if moments.ndim < 2 or len(moments) < 2:
        raise ValueError(
            f"moments must hold >= 2 realizations along axis 0, got shape {moments.shape}"
        )

    def parts(m):
        k = loop_cumulants(m.mean(axis=0))
        return np.stack([k.real, k.imag])

    est, err = stats.jackknife(parts, moments)
    return est[0] + 1j * est[1], err[0] + 1j * err[1]


# --------------------------------------------------------------------------- cuts: a g2 map and g3 cuts
def cut_loops(x, cuts):
    r"""Loops for a map of the second cumulant and cuts of the third (HJ Fig. 3).

    Parameters
    ----------
    x : array_like, shape (N,)
        The coordinates in [0, 1] of the N sites.
    cuts : array_like, shape (n_cuts, 2)
        Points (y, z) in [0, 1]; each is mapped to the site whose coordinate is nearest.

    Returns
    -------
    dict
        ``pair`` (N*N, 2): every loop (i, j), row-major; ``triple`` (n_cuts*N, 3): the loops
        (i, j_y, k_z) for every cut (y, z) and every site i, cut-major. Loop arrays for
        :func:`loop_moments` and the realization functions built on it.

    References
    ----------
    HJ Fig. 3; chapter {doc}`qssep`.
    """
    x = _checks.array("x", x, 0, 1, ndim=1)
    cuts = _checks.array("cuts", cuts, 0, 1, ndim=2)
    if len(x) < 1 or cuts.shape[1] != 2:
        raise ValueError(
            f"x must hold >= 1 site and cuts must have shape (n_cuts, 2), got x of shape "
            f"{x.shape} and cuts of shape {cuts.shape}"
        )
    near = [int(np.argmin(np.abs(x - v))) for v in cuts.ravel()]
    N = len(x)
    pair = np.array([(i, j) for i in range(N) for j in range(N)])
    triple = np.array(
        [(i, near[2 * c], near[2 * c + 1]) for c in range(len(cuts)) for i in range(N)]
    )
    return {"pair": pair, "triple": triple.reshape(-1, 3)}


def distinct_sites(loops):
    """Mask (n_loops,) of the loops (n_loops, n) whose n sites are all different.

    References
    ----------
    HJ Eq. 4 (g_n is the cumulant at distinct points); chapter {doc}`qssep`.
    """
    loops = _check_loop_array(loops, np.iinfo(np.int64).max, "loops")
    n = loops.shape[1]
    same = [loops[:, a] == loops[:, b] for a in range(n) for b in range(a + 1, n)]
    return ~np.any(same, axis=0) if same else np.ones(len(loops), bool)


@dataclass(frozen=True)
class CutCumulants:
    r"""Scaled loop cumulants on the loops of :func:`cut_loops`, with jackknife errors.

    Attributes
    ----------
    g2, g2_err : ndarray (N, N)
        ``scale`` times the real part of the second cumulant :math:`\mathbb E[G_{ij}G_{ji}]^c`.
    g2_imag, g2_imag_err : ndarray (N*N,)
        ``scale`` times its imaginary part (zero on average).
    g3, g3_err : ndarray (n_cuts, N)
        ``scale**2`` times the real part of :math:`\mathbb E[G_{ij}G_{jk}G_{ki}]^c` on the cuts.
    density : ndarray (R, N)
        The realizations' time-averaged densities, as stored.
    """

    g2: np.ndarray
    g2_err: np.ndarray
    g2_imag: np.ndarray
    g2_imag_err: np.ndarray
    g3: np.ndarray
    g3_err: np.ndarray
    density: np.ndarray


def cut_cumulants(data, scale):
    """The g2 map and g3 cuts from stacked realizations on the loops of :func:`cut_loops`.

    Parameters
    ----------
    data : dict
        Stacked outputs (:func:`nqlib.stats.stack`) of a realization function run with the loops
        of :func:`cut_loops`: ``pair`` (R, N*N, 4), ``triple`` (R, n_cuts*N, 8), ``density`` (R, N).
    scale : float
        The factor :math:`N^{n-1}` scaling applies per order above one (HJ Eq. 4), e.g. N + 1.

    Returns
    -------
    CutCumulants
        The scaled cumulants (:func:`cumulant_estimate`) reshaped to the map and the cuts.

    References
    ----------
    HJ Eqs. 4-6, Fig. 3; chapter {doc}`qssep`.
    """
    if not isinstance(data, dict) or any(k not in data for k in ("pair", "triple", "density")):
        raise ValueError(
            f"data must be a dict with keys 'pair', 'triple', 'density' (stacked realizations), "
            f"got {sorted(data) if isinstance(data, dict) else type(data).__name__}"
        )
    scale = _checks.real("scale", scale, 0, open_low=True)
    N = int(round(np.sqrt(np.shape(data["pair"])[1]))) if np.ndim(data["pair"]) == 3 else 0
    if (
        N < 1
        or np.shape(data["pair"])[1] != N * N
        or np.ndim(data["triple"]) != 3
        or np.shape(data["triple"])[1] % N
    ):
        raise ValueError(
            f"data['pair'] must have shape (R, N*N, 4) and data['triple'] (R, n_cuts*N, 8), "
            f"got {np.shape(data['pair'])} and {np.shape(data['triple'])}"
        )
    k2, e2 = cumulant_estimate(data["pair"])
    k3, e3 = cumulant_estimate(data["triple"])
    n_cuts = len(k3) // N
    return CutCumulants(
        g2=scale * k2.real.reshape(N, N),
        g2_err=scale * e2.real.reshape(N, N),
        g2_imag=scale * k2.imag,
        g2_imag_err=scale * e2.imag,
        g3=scale**2 * k3.real.reshape(n_cuts, N),
        g3_err=scale**2 * e3.real.reshape(n_cuts, N),
        density=np.asarray(data["density"]),
    )


# --------------------------------------------------------------------------- private helpers
def _sample_moments(states, N, n_samples, loops):
    """Loop moments (and the density) averaged over the n_samples (N, N) matrices of the iterator
    ``states`` (:func:`nqlib.trajectory.states`), accumulated in chunks so that memory stays
    O(chunk N^2)."""
    sums = {name: 0.0 for name in loops}
    density = np.zeros(N)
    chunk = np.empty((min(256, n_samples), N, N), dtype=complex)
    done = 0
    while done < n_samples:
        m = min(len(chunk), n_samples - done)
        for k in range(m):
            chunk[k] = next(states)
        for name, idx in loops.items():
            sums[name] = sums[name] + m * loop_moments(chunk[:m], idx)
        density += np.real(np.einsum("sii->i", chunk[:m]))
        done += m
    out = {name: total / n_samples for name, total in sums.items()}
    out["density"] = density / n_samples
    return out


def _sample_bytes(N, n_samples, loops):
    """Estimated peak memory of :func:`_sample_moments`: the chunk of states, a few (N, N)
    matrices and the subset products of :func:`loop_moments`."""
    chunk = min(256, n_samples)
    products = sum(len(idx) * 2 ** idx.shape[1] for idx in loops.values())
    return 16 * ((chunk + 4) * N * N + 2 * chunk * products)


@lru_cache(maxsize=None)
def _noncrossing(n):
    """NC partitions of 0..n-1: the block of 0 is {0} + S; the gaps between consecutive members
    of the block are partitioned independently (non-crossing recursion)."""
    if n == 0:
        return ((),)
    out = []
    rest = list(range(1, n))
    for r in range(len(rest) + 1):
        for members in _subsets(rest, r):
            block = (0,) + members
            bounds = list(block) + [n]
            gaps = [tuple(range(bounds[k] + 1, bounds[k + 1])) for k in range(len(block))]
            for combo in _product_partitions(gaps):
                out.append(tuple(sorted((block,) + combo)))
    out.sort(key=lambda p: (len(p), p))  # the single block first
    return tuple(out)


def _product_partitions(gaps):
    """All tuples of blocks obtained by partitioning each gap (an interval of positions) non-crossingly."""
    if not gaps:
        return [()]
    first, tail = gaps[0], _product_partitions(gaps[1:])
    return [
        tuple(tuple(first[j] for j in b) for b in p) + t
        for p in _noncrossing(len(first))
        for t in tail
    ]


def _subsets(items, r):
    if r == 0:
        return [()]
    return [(items[i],) + s for i in range(len(items)) for s in _subsets(items[i + 1 :], r - 1)]


@lru_cache(maxsize=None)
def _all_partitions(n):
    if n == 0:
        return ((),)
    out = []
    for p in _all_partitions(n - 1):
        out.append(p + ((n - 1,),))
        for k in range(len(p)):
            out.append(p[:k] + (p[k] + (n - 1,),) + p[k + 1 :])
    return tuple(tuple(sorted(p)) for p in out)


def _check_order(n, name, low):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not low <= n <= MAX_ORDER:
        raise ValueError(f"{name} must be an integer in [{low}, {MAX_ORDER}], got {name}={n!r}")


def _check_loop_array(loops, N, name):
    arr = np.asarray(loops)
    if (
        arr.ndim != 2
        or arr.shape[1] < 1
        or arr.shape[1] > MAX_ORDER
        or not np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(
            f"{name} must be an integer array (n_loops, n) with 1 <= n <= {MAX_ORDER}, "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= N):
        raise ValueError(
            f"{name} must hold site indices in [0, {N}), got range [{arr.min()}, {arr.max()}]"
        )
    return arr.astype(np.int64)


def _check_loops(loops, N):
    if not isinstance(loops, dict) or not loops or not all(isinstance(k, str) for k in loops):
        raise ValueError(
            f"loops must be a non-empty dict mapping names to (n_loops, n) index arrays, got {loops!r}"
        )
    if "density" in loops:
        raise ValueError("loops must not use the name 'density' (reserved for the profile)")
    return {name: _check_loop_array(idx, N, f"loops[{name!r}]") for name, idx in loops.items()}

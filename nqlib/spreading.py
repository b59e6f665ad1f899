r"""Operator spreading in the closed U(1) random circuit (Gullans & Huse, Sec. III A, Eqs. 21-26).

A chain of L sites without reservoirs evolves by the gates of :mod:`nqlib.gates` on randomly
chosen bonds (L - 1 bonds; one time unit is L - 1 gates, every bond fires at rate 1). An initially
local operator :math:`O` spreads in the Heisenberg picture, :math:`O \to U^\dagger O U` gate by
gate. Its Hilbert-Schmidt weight :math:`2^{-L}\mathrm{tr}\,O^\dagger O = 1` is conserved.

**Operator basis.** On each site we use the orthonormal (:math:`\mathrm{tr}(A^\dagger B)/2 =
\delta_{AB}`) basis :math:`\{1, Z, \sqrt2 c^\dagger, \sqrt2 c\}` with Jordan-Wigner fermions
:math:`c_j^\dagger = (\prod_{k<j} Z_k)\,\sigma_j^+` (GH Eq. 20; :math:`Z = 2n - 1`), i.e. GH's
strings of :math:`\{I, n, c, c^\dagger\}` (Eq. 21) made orthonormal. A gate is even in the
fermions, so it acts on a string only through the string's factor on the gate's two sites: the
averaged dynamics is a product of two-site maps. Writing :math:`O = \sum_S a_S S`, the second
moment :math:`M_{SS'} = \mathbb{E}\,a_S a_{S'}^*` evolves linearly,

.. math::

    M \to \sum_{\rm bonds}\frac{1}{L-1}\,\mathbb{E}_U\,(R_U \otimes R_U^*)\,M ,\qquad
    (R_U)_{ST} = 2^{-2}\,\mathrm{tr}\big(S^\dagger U^\dagger T U\big)\ \text{on the bond},

and :func:`two_copy_map` is the 256 x 256 average, exactly: a change of basis of the gate's second
moment :func:`nqlib.gates.second_moment` (every entry of :math:`R\otimes R^*` is one of its
entries, summed against the operator basis; the moment itself comes from the exact quadrature
:func:`nqlib.gates.quadrature`).

**Closure.** The averaged weights :math:`w_S = M_{SS}` do *not* close: the partial swaps of
:math:`\mu_1` move a density :math:`Z_1 \to \cos^2\!\tfrac\theta2 Z_1 + \sin^2\!\tfrac\theta2 Z_2 + \dots`
coherently, which creates coherences :math:`\mathbb{E}\,a_{\cdots Z_i\cdots 1_j\cdots}
a^*_{\cdots 1_i\cdots Z_j\cdots}` that feed back into the weights with both signs (only the
difference of neighbouring density amplitudes, not their sum, is converted into :math:`c^\dagger c`
pairs: :math:`Z_1 + Z_2` is conserved). The smallest closed space we find is six two-copy states
per site (:data:`PAIR_STATES`): the four weights (1,1), (Z,Z), (+,+), (-,-) and the coherences
(1,Z), (Z,1). :func:`pair_map` is the exact 36 x 36 restriction; :func:`averaged_otoc` evolves it
on :math:`6^L` states (small L).

**The weight chain.** Dropping the coherences leaves a stochastic matrix on the four weights per
site (:func:`weight_chain`): :math:`\mu_0` swaps the sites with probability 1/2; :math:`\mu_2`
moves a fermion operator with probability 1/2 and dresses its neighbour with :math:`Z` or
:math:`1` with probability 1/2 (GH's "c -> c n"); :math:`\mu_1` turns a (Z, 1) pair into a
:math:`c^\dagger c` pair with probability 1/3 (GH's "n -> c c-dagger") and back. This is GH's picture of
Eqs. 24-25 as a Markov chain; it differs from the exact averaged process only by the coherences
(a few per cent at small L, tested against :func:`averaged_otoc`). The exact 36-state map cannot
be sampled the same way: its mu_1 block has negative entries that no choice of signs of the local
states removes (ZZ11 -> 1ZZ1 and ZZ11 -> ++-- are positive, 1ZZ1 -> ++-- negative: a frustrated
triangle). :func:`sample_chain`
samples its trajectories in continuous time with front tracking (L ~ 10^3). The OTOC with the
conserved density, :math:`C(x,t) = \tfrac12[1 - 2^{-L}\mathrm{tr}(O^\dagger Z_x O Z_x)]`, is the
weight of strings with :math:`c` or :math:`c^\dagger` on site x, the same in the fermion and in
the Pauli basis: :func:`dense_otoc` measures it by dense evolution (L <= 10).

**Linear front equations** (GH Eqs. 24-25), :math:`\dot n = D n'' - r_1 n + 2 r_2 c`,
:math:`\dot c = D c'' + r_1 n`, grow as :math:`e^{\mu t}` with
:math:`\mu = \tfrac12(-r_1 + \sqrt{r_1^2 + 8 r_1 r_2})` and pull a front at
:math:`v = \min_\lambda [\mu + D(\ldots)]/\lambda` (:func:`linear_front_speed`; :math:`2\sqrt{D\mu}`
in the continuum), so :math:`v^2 \to 8 D r_2` for :math:`r_2 \ll r_1` and
:math:`v^2 \to 4 D\sqrt{2 r_1 r_2}` for :math:`r_1 \ll r_2`: GH's Eq. 26,
:math:`v_B^2 \sim D\min(\sqrt{p_1 p_2}, p_2)`. Reading the rates off the weight chain at low
density gives :math:`D = 1/2`, :math:`r_1 = 2p_1/3` (per density, two bonds, conversion 1/3 into
two fermion operators) and :math:`r_2 = p_2` (the same growth rate in GH's form), see
:func:`chain_rates`. :func:`solve_front_equations` integrates the lattice version numerically.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy import optimize
from scipy.sparse.linalg import expm_multiply
from scipy.stats import poisson

from nqlib import _checks, fits
from nqlib import gates as _gates

__all__ = [
    "LOCAL_BASIS",
    "PAIR_STATES",
    "PAIR_LABELS",
    "WEIGHT_LABELS",
    "MAX_EXACT_L",
    "MAX_DENSE_L",
    "MAX_CHAIN_GATES",
    "gate_quadrature",
    "heisenberg_matrix",
    "two_copy_map",
    "SampledMap",
    "sampled_two_copy_map",
    "pair_map",
    "weight_chain",
    "outcomes",
    "averaged_otoc",
    "poisson_clock",
    "dense_otoc",
    "sample_chain",
    "ChainBatches",
    "sample_chain_batches",
    "front_velocity",
    "butterfly_velocity",
    "VelocityScan",
    "velocity_scan",
    "chain_rates",
    "linear_front_speed",
    "solve_front_equations",
    "tau_in",
    "tau_in_map",
]

LOCAL_BASIS = ("1", "Z", "+", "-")  # 1, Z = 2n - 1, sqrt2 c^dagger, sqrt2 c
PAIR_STATES = ("11", "ZZ", "1Z", "Z1", "++", "--")  # (copy 1, copy 2) on one site
# two-site labels, (site 1, site 2): PAIR_LABELS[6 i + j] index pair_map, WEIGHT_LABELS[4 a + b]
# index weight_chain ("ZZ11" is the weight of Z on site 1; "+1" is sqrt2 c^dagger on site 1)
PAIR_LABELS = tuple(a + b for a in PAIR_STATES for b in PAIR_STATES)
WEIGHT_LABELS = tuple(a + b for a in LOCAL_BASIS for b in LOCAL_BASIS)
MAX_EXACT_L = 8
MAX_DENSE_L = 10
MAX_CHAIN_GATES = 10**11
"""Largest (L - 1) * times[-1] * n_samples, the bound on the gates :func:`sample_chain` draws (its
numba loop cannot be interrupted; 10**11 gates are a few hours of CPU)."""
D_OPERATOR = 0.5  # every ensemble moves a local operator across the bond with probability 1/2

_Z = np.diag([1.0, -1.0]).astype(complex)
_SIGMA_PLUS = np.array([[0, 1], [0, 0]], dtype=complex)  # |up><down|: creates a fermion
_SINGLE = np.array([np.eye(2), _Z, np.sqrt(2) * _SIGMA_PLUS, np.sqrt(2) * _SIGMA_PLUS.T])
_PAIR_INDEX = {"1": 0, "Z": 1, "+": 2, "-": 3}
_DIAGONAL = [0, 1, 4, 5]  # pair states that are weights


def gate_quadrature(kind, n_phase=5, n_theta=3):
    """Deprecated: :func:`nqlib.gates.quadrature` (the gate measure's owner); kept for one release."""
    warnings.warn(
        "spreading.gate_quadrature moved to nqlib.gates.quadrature",
        DeprecationWarning,
        stacklevel=2,
    )
    return _gates.quadrature(kind, n_phase, n_theta)


def heisenberg_matrix(U):
    """16 x 16 matrix R of O -> U^dagger O U in the two-site fermion basis (index 4 a + b).

    Basis element (a, b) is f_a(site 1) f_b(site 2) with f in {1, Z, sqrt2 c^dagger, sqrt2 c} and
    c_2 = Z_1 sigma^-_2; R[s, t] = tr(B_s^dagger U^dagger B_t U) / 4.
    """
    U = _checks.unitary("U", U)
    if U.shape != (4, 4):
        raise ValueError(f"U must be a (4, 4) unitary, got shape {U.shape}")
    B = _two_site_basis()
    X = np.einsum("ji,tjk,kl->til", U.conj(), B, U)
    return np.einsum("sji,tji->st", B.conj(), X) / 4


def two_copy_map(p1, p2):
    """Exact 256 x 256 average E[R (x) R^*] of one gate of dmu(p1, p2), index 16 s + s'."""
    _check_probabilities(p1, p2)
    maps = _ensemble_maps()
    return (1 - p1 - p2) * maps[0] + p1 * maps[1] + p2 * maps[2]


@dataclass(frozen=True)
class SampledMap:
    """Monte Carlo estimate of the two-copy map E[R (x) R^*] (:func:`sampled_two_copy_map`).

    Attributes
    ----------
    mean : ndarray (256, 256), complex
        Sample mean over the gates.
    error : ndarray (256, 256)
        Standard error of each entry, sqrt(E|x|^2 - |E x|^2) / sqrt(n - 1) from the samples
        (0 for entries that never fluctuate).
    """

    mean: np.ndarray
    error: np.ndarray


def sampled_two_copy_map(rng, p1, p2, n_gates):
    """E[R (x) R^*] over ``n_gates`` gates drawn from dmu(p1, p2): the check of :func:`two_copy_map`.

    The reference route that owes nothing to the quadrature: gates are drawn one by one with
    :func:`nqlib.gates.sample_gate` and their Heisenberg matrices (:func:`heisenberg_matrix`)
    averaged.

    Parameters
    ----------
    rng : numpy.random.Generator
    p1, p2 : float
        Gate probabilities, p1 + p2 <= 1.
    n_gates : int
        Number of gates, >= 2.

    Returns
    -------
    SampledMap

    References
    ----------
    GH Eq. 12 (the gate measure) and Sec. III A; chapter {doc}`operator_spreading`.
    """
    _checks.generator(rng)
    _check_probabilities(p1, p2)
    n = _checks.integer("n_gates", n_gates, 2)
    _checks.work(f"sampled_two_copy_map with n_gates={n}", 256.0**2 * n)
    total, square = 0, 0
    for _ in range(n):
        R = heisenberg_matrix(_gates.sample_gate(rng, p1, p2))
        x = np.kron(R, R.conj())
        total, square = total + x, square + np.abs(x) ** 2
    mean = total / n
    return SampledMap(mean, np.sqrt(np.maximum(square / n - np.abs(mean) ** 2, 0) / (n - 1)))


def pair_map(p1, p2):
    """Exact averaged two-site map on the closed space of PAIR_STATES (36 x 36, real, index 6 i + j).

    Raises if the 36-dimensional space were not invariant (it is: see the tests).
    """
    T = two_copy_map(p1, p2)
    idx = _pair_rows()
    rest = np.setdiff1d(np.arange(256), idx)
    if np.abs(T[np.ix_(rest, idx)]).max() > 1e-12 or np.abs(T[np.ix_(idx, idx)].imag).max() > 1e-12:
        raise RuntimeError("the six pair states per site are not closed under the averaged gate")
    return T[np.ix_(idx, idx)].real


def weight_chain(p1, p2):
    """16 x 16 stochastic matrix of the weight chain on (site 1, site 2) in LOCAL_BASIS (index 4 a + b).

    The restriction of :func:`pair_map` to weights (coherences dropped). Columns sum to 1.
    """
    P = pair_map(p1, p2)
    keep = [6 * i + j for i in _DIAGONAL for j in _DIAGONAL]
    return P[np.ix_(keep, keep)]


def outcomes(M, source, tol=1e-12):
    """Where one gate of a two-site map sends ``source``: ``{label: M[label, source]}``.

    ``M`` is a :func:`pair_map` (36 x 36, labels :data:`PAIR_LABELS`) or a :func:`weight_chain`
    (16 x 16, labels :data:`WEIGHT_LABELS`); ``source`` is one of its labels, e.g. ``"ZZ11"`` or
    ``"+1"``. Returns the entries of the source's column with ``|entry| > tol``, as floats, in
    label order (a weight chain's column is the distribution of outcomes; a pair map's entries
    can be negative: coherences feed back with both signs).

    References
    ----------
    GH Eqs. 24-25; chapter {doc}`operator_spreading` (the rules of the averaged gates).
    """
    M = _checks.array("M", M, ndim=2)
    labels = {(36, 36): PAIR_LABELS, (16, 16): WEIGHT_LABELS}.get(M.shape)
    if labels is None:
        raise ValueError(
            f"M must be a pair_map (36, 36) or a weight_chain (16, 16), got shape {M.shape}"
        )
    if not isinstance(source, str) or source not in labels:
        raise ValueError(f"source must be one of the {len(labels)} labels {labels}, got {source!r}")
    tol = _checks.real("tol", tol, 0)
    column = M[:, labels.index(source)]
    return {labels[i]: float(column[i]) for i in np.flatnonzero(np.abs(column) > tol)}


def averaged_otoc(L, p1, p2, n_gates, site=None, coherent=True):
    """Exact averaged OTOC C(x) after 0..n_gates random gates, from O = sqrt2 c^dagger on ``site``.

    Evolves the second moment on 6^L pair states (``coherent=True``: the exact averaged process)
    or on the 4^L weights of :func:`weight_chain` (``coherent=False``). Each gate acts on one of
    the L - 1 bonds, uniformly. Returns (n_gates + 1, L): the weight of strings with c or
    c^dagger on site x.
    """
    L = _check_L(L, MAX_EXACT_L, minimum=2)
    site = L // 2 if site is None else _check_site(site, L)
    n_gates = _check_count(n_gates, "n_gates")
    coherent = _checks.flag("coherent", coherent)
    d = 6 if coherent else 4
    what = f"averaged_otoc with n_gates={n_gates} at L={L}"
    _checks.memory(what, 8 * (n_gates + 1) * L + 24 * d**L)
    _checks.work(what, float(n_gates) * L * d ** (L + 2))
    if coherent:
        G, d, start, total, fermion = pair_map(p1, p2), 6, 4, [1, 1, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1]
    else:
        G, d, start, total, fermion = weight_chain(p1, p2), 4, 2, [1, 1, 1, 1], [0, 0, 1, 1]
    M = np.zeros((d,) * L)
    M[tuple(start if i == site else 0 for i in range(L))] = 1.0
    out = np.empty((n_gates + 1, L))
    for n in range(n_gates + 1):
        out[n] = _site_marginals(M, np.array(total, float), np.array(fermion, float))
        if n < n_gates:
            M = sum(_apply_bond(M, G, b, d) for b in range(L - 1)) / (L - 1)
    return out


def poisson_clock(profiles, L, times):
    """Continuous-time profiles from per-gate ones: gates arrive at rate L - 1 (every bond at rate 1).

    ``profiles`` (n_gates + 1, ...) after 0, 1, ... gates (e.g. :func:`averaged_otoc`); returns
    sum_n Poisson(n; (L - 1) t) profiles[n] for each t in ``times``. Raises if the Poisson tail
    beyond n_gates exceeds 1e-12.
    """
    profiles = _checks.array("profiles", profiles)
    if profiles.ndim < 1 or len(profiles) < 1:
        raise ValueError(
            f"profiles must be an array (n_gates + 1, ...), got shape {profiles.shape}"
        )
    L = _check_L(L, 10**6, minimum=2)
    times = np.atleast_1d(_checks.array("times", times))
    if times.ndim != 1 or not np.all(times >= 0):
        raise ValueError(f"times must be finite times >= 0, got times={times!r}")
    n = np.arange(len(profiles))
    out = []
    for t in times:
        lam = (L - 1) * float(t)
        if poisson.sf(n[-1], lam) > 1e-12:
            raise ValueError(
                f"n_gates = {n[-1]} too small for t = {t} (mean {lam:.1f} gates); give more gates"
            )
        out.append(np.tensordot(poisson.pmf(n, lam), profiles, axes=1))
    return np.array(out)


def dense_otoc(rng, L, p1, p2, n_records, gates_per_record, site=None):
    """OTOC of one dense random circuit: dict with ``otoc`` (n_records + 1, L).

    O = sqrt2 c^dagger_site = Z ... Z sqrt2 sigma^+_site (default site L // 2) evolves as
    O -> U^dagger O U, one gate per step on a uniformly random bond; after every
    ``gates_per_record`` gates records
    C(x) = [1 - 2^-L tr(O^dagger Z_x O Z_x)] / 2. A realization function for
    :func:`nqlib.ensemble.run_ensemble`.
    """
    _checks.generator(rng)
    L = _check_L(L, MAX_DENSE_L, minimum=2)
    site = L // 2 if site is None else _check_site(site, L)
    n_records = _check_count(n_records, "n_records")
    gates_per_record = _check_count(gates_per_record, "gates_per_record")
    _check_probabilities(p1, p2)
    what = f"dense_otoc with n_records={n_records}, gates_per_record={gates_per_record} at L={L}"
    _checks.memory(what, 8 * (n_records + 1) * L + 48 * 4**L)
    _checks.work(what, float(n_records) * gates_per_record * 4.0**L * 8)
    O = np.array([[1.0]], dtype=complex)
    for i in range(L):
        O = np.kron(O, np.sqrt(2) * _SIGMA_PLUS if i == site else (_Z if i < site else np.eye(2)))
    out = np.empty((n_records + 1, L))
    for k in range(n_records + 1):
        out[k] = _otoc_profile(O, L)
        if k < n_records:
            for _ in range(gates_per_record):
                b = int(rng.integers(0, L - 1))
                O = _heisenberg_step(O, _gates.sample_gate(rng, p1, p2), b, L)
    return {"otoc": out}


def sample_chain(rng, L, p1, p2, times, n_samples, site=None):
    """Trajectories of the weight chain in continuous time (every bond fires at rate 1).

    Starts from c^dagger on ``site`` (default L // 2) and the identity elsewhere; only bonds next
    to non-identity sites are simulated (the identity pair is invariant). Returns a dict with
    ``right`` and ``left`` (n_samples, len(times)), the outermost sites carrying c or c^dagger,
    ``count`` (n_samples, len(times)) the number of such sites, and ``otoc`` (len(times), L), the
    fraction of samples with c or c^dagger on site x (the sample mean of C(x, t)), and
    ``reached_end`` (bool): whether any trajectory touched site 0 or L - 1 (then the chain is too
    short to stand for an infinite one). A realization function for
    :func:`nqlib.ensemble.run_ensemble`.

    ``times`` must be finite, and the gates drawn are bounded by (L - 1) times[-1] n_samples <=
    :data:`MAX_CHAIN_GATES`: the numba loop runs until the last time and cannot be interrupted.
    """
    _checks.generator(rng)
    L = _check_L(L, 10**6, minimum=3)
    site = L // 2 if site is None else _check_site(site, L)
    n_samples = _checks.sample_count(n_samples)
    times = _checks.array("times", times)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) < 0) or times[0] < 0:
        raise ValueError(
            f"times must be a non-empty increasing 1D array of finite t >= 0, got {times!r}"
        )
    _check_probabilities(p1, p2)
    gates = (L - 1) * float(times[-1]) * n_samples
    if gates > MAX_CHAIN_GATES:
        raise ValueError(
            f"sample_chain would draw up to (L - 1) * times[-1] * n_samples = {gates:.3g} gates "
            f"(L={L}, times[-1]={times[-1]:g}, n_samples={n_samples}), more than MAX_CHAIN_GATES = "
            f"{MAX_CHAIN_GATES:.0e}; use fewer samples per call or shorter times"
        )
    _checks.memory(
        f"sample_chain with len(times)={times.size}, n_samples={n_samples} at L={L}",
        8 * times.size * (3 * n_samples + L),
    )
    cdf = np.cumsum([_kind_chain(k) for k in range(3)], axis=1)
    seed = int(rng.integers(2**63 - 1))
    right, left, count, otoc, touched = _sample_kernel(
        L, float(p1), float(p2), cdf, times, int(n_samples), site, seed
    )
    return {
        "right": right,
        "left": left,
        "count": count,
        "otoc": otoc / n_samples,
        "reached_end": bool(touched),
    }


@dataclass(frozen=True)
class ChainBatches:
    """Weight-chain trajectories run in independent batches (:func:`sample_chain_batches`).

    Attributes
    ----------
    times : ndarray (T,)
    site : int
        The starting site of the operator.
    right, count : ndarray (n, T)
        Outermost fermion operator and number of fermion operators of every trajectory (all
        batches, as :func:`sample_chain`).
    otoc : ndarray (T, L)
        The sample mean of C(x, t) over all batches.
    otoc_batches : ndarray (batches, T, L)
        The same per batch; their spread gives the errors of :meth:`otoc_near`.
    reached_end : bool
        Whether any trajectory touched an end of the chain.
    """

    times: np.ndarray
    site: int
    right: np.ndarray
    count: np.ndarray
    otoc: np.ndarray
    otoc_batches: np.ndarray
    reached_end: bool

    def otoc_near(self, t_min, half_width=10):
        """(mean, standard error) of C within ``half_width`` sites of the start, times >= t_min.

        The error is the spread of the batch means (independent batches).
        """
        t_min = _checks.real("t_min", t_min)
        half_width = _checks.integer("half_width", half_width, 0, self.otoc.shape[1])
        late = self.times >= t_min
        if not late.any() or len(self.otoc_batches) < 2:
            raise ValueError(
                f"need times >= t_min = {t_min} and >= 2 batches, got "
                f"{late.sum()} times and {len(self.otoc_batches)} batches"
            )
        window = slice(max(self.site - half_width, 0), self.site + half_width + 1)
        inside = self.otoc_batches[:, late][:, :, window].mean(axis=(1, 2))
        return float(inside.mean()), float(inside.std(ddof=1) / np.sqrt(len(inside)))


def sample_chain_batches(rng, L, p1, p2, times, n_samples, n_batches=4, site=None):
    """:func:`sample_chain` run ``n_batches`` times with ``n_samples`` trajectories each.

    Independent batches give error bars of any average of C(x, t) from their spread
    (:meth:`ChainBatches.otoc_near`); the trajectories are those of ``n_batches`` consecutive
    calls of :func:`sample_chain` on ``rng``.

    Parameters
    ----------
    rng : numpy.random.Generator
    L : int
        Chain length, >= 3.
    p1, p2 : float
        Gate probabilities, p1 + p2 <= 1.
    times : array_like (T,)
        Increasing times >= 0.
    n_samples : int
        Trajectories per batch.
    n_batches : int
        Number of batches, in [2, 1000].
    site : int, optional
        Starting site (default L // 2).

    Returns
    -------
    ChainBatches

    References
    ----------
    GH Sec. III A (the weight chain); chapter {doc}`operator_spreading`.
    """
    n_batches = _checks.integer("n_batches", n_batches, 2, 1000)
    runs = [sample_chain(rng, L, p1, p2, times, n_samples, site) for _ in range(n_batches)]
    otoc = np.array([r["otoc"] for r in runs])
    return ChainBatches(
        times=np.asarray(times, dtype=float),
        site=int(L) // 2 if site is None else int(site),
        right=np.concatenate([r["right"] for r in runs]),
        count=np.concatenate([r["count"] for r in runs]),
        otoc=otoc.mean(axis=0),
        otoc_batches=otoc,
        reached_end=any(r["reached_end"] for r in runs),
    )


def front_velocity(times, right, t_min):
    """Front speed from trajectories: least-squares slope of ``right`` over times >= t_min.

    A pulled front lags behind v t by a term growing like ln t, so the slope over [t_min, t_max]
    approaches v as 1/t_min; compare two windows to see what is left. Returns (v, standard
    error) from the spread of the per-trajectory slopes (independent trajectories).
    """
    times = _checks.array("times", times)
    right = np.atleast_2d(_checks.array("right", right))
    t_min = _checks.real("t_min", t_min)
    if times.ndim != 1 or not np.all(np.isfinite(times)) or not np.all(np.isfinite(right)):
        raise ValueError(
            "times and right must hold finite numbers (times 1D), got NaN, inf or a wrong shape"
        )
    use = times >= t_min
    if use.sum() < 2 or right.shape[1] != len(times):
        raise ValueError(
            f"need right (n, len(times)) and at least two times >= t_min = {t_min}, got {use.sum()}"
        )
    t = times[use] - times[use].mean()
    slopes = (right[:, use] - right[:, use].mean(axis=1, keepdims=True)) @ t / (t @ t)
    error = slopes.std(ddof=1) / np.sqrt(len(slopes)) if len(slopes) > 1 else np.nan
    return float(slopes.mean()), float(error)


def butterfly_velocity(rng, p1, p2, n_samples, horizon=40.0, points=81):
    """v_B of the weight chain from ``n_samples`` trajectories of :func:`sample_chain`.

    Runs to t_max = horizon / mu (mu the growth rate of the linear front equations at
    :func:`chain_rates`; capped at 8000) on a chain long enough that no front reaches an end, and
    fits :func:`front_velocity` over [t_max / 2, t_max]. Returns a dict with ``v``, ``err``
    (standard error), ``t_max`` and ``L``, the same fit over the first half of the run
    (``v_half``, ``err_half``: over [t_max / 4, t_max / 2], a convergence check) and the speed
    of the linear front equations ``v_linear`` (:func:`linear_front_speed`). Zero on the axes
    p1 = 0 or p2 = 0 is not returned: there the front is diffusive and this raises ValueError.
    """
    _checks.generator(rng)
    if _check_count(n_samples, "n_samples") < 2:
        raise ValueError(f"n_samples must be >= 2 for an error bar, got n_samples={n_samples}")
    horizon = _checks.real("horizon", horizon, 0, open_low=True)
    points = _checks.integer("points", points, low=2)
    D, r1, r2 = chain_rates(p1, p2)
    mu = 0.5 * (-r1 + np.sqrt(r1 * r1 + 8 * r1 * r2))
    if not mu > 0:
        raise ValueError(f"v_B = 0 on the axes: need p1 > 0 and p2 > 0, got p1={p1}, p2={p2}")
    t_max = min(horizon / mu, 8000.0)
    L = int(2.4 * linear_front_speed(r1, r2, D) * t_max + 100) | 1
    _checks.memory(
        f"butterfly_velocity with points={points}, n_samples={n_samples}",
        8 * points * (3 * n_samples + L),
    )
    times = np.linspace(0.0, t_max, int(points))
    out = sample_chain(rng, L, p1, p2, times, n_samples)
    if out["reached_end"]:
        raise RuntimeError(f"a front reached the end of the chain (L={L}); lower horizon")
    v, err = front_velocity(times, out["right"], t_max / 2)
    half = times <= t_max / 2
    v_half, err_half = front_velocity(times[half], out["right"][:, half], t_max / 4)
    return {
        "v": v,
        "err": err,
        "t_max": float(t_max),
        "L": L,
        "v_half": v_half,
        "err_half": err_half,
        "v_linear": float(linear_front_speed(r1, r2, D)),
    }


@dataclass(frozen=True)
class VelocityScan:
    """v_B along a line of the phase diagram and its power-law exponents (:func:`velocity_scan`).

    Attributes
    ----------
    p : ndarray (n,)
        The scanned probability (p1 or p2).
    v, err : ndarray (n,)
        v_B of the weight chain and its standard error.
    chain, half, linear : (float, float)
        Exponent b of v = c p^b and its standard error: from ``v`` (weights 1/err), from the
        first-half fits ``v_half`` of :func:`butterfly_velocity`, and of the linear front theory
        ``v_linear`` (relative weights 1e-3).
    ratio, ratio_err : ndarray (n,)
        v / v_linear and err / v_linear.
    """

    p: np.ndarray
    v: np.ndarray
    err: np.ndarray
    chain: tuple
    half: tuple
    linear: tuple
    ratio: np.ndarray
    ratio_err: np.ndarray


_VELOCITY_KEYS = ("v", "err", "v_half", "err_half", "v_linear")


def velocity_scan(p, velocities):
    """Power-law exponents of v_B along a scan line from :func:`butterfly_velocity` results.

    Parameters
    ----------
    p : array_like (n,)
        The scanned probability at each point, > 0, n >= 2.
    velocities : sequence of dict
        One result of :func:`butterfly_velocity` per entry of ``p``.

    Returns
    -------
    VelocityScan

    References
    ----------
    GH Sec. VI (v_B ~ p1^(1/4) at small p1, ~ p2^(1/2) at small p2); chapter
    {doc}`operator_spreading`.
    """
    p = _checks.array("p", p, 0, ndim=1)
    if len(p) < 2 or np.any(p <= 0):
        raise ValueError(f"p must hold at least two probabilities > 0, got p={p.tolist()}")
    if not isinstance(velocities, (list, tuple)) or len(velocities) != len(p):
        raise ValueError(
            f"velocities must be a list of {len(p)} butterfly_velocity results (one per "
            f"entry of p), got {velocities!r}"
        )
    for k, result in enumerate(velocities):
        if not isinstance(result, dict) or not set(_VELOCITY_KEYS) <= set(result):
            raise ValueError(
                f"velocities[{k}] must be a butterfly_velocity result (a dict with keys "
                f"{list(_VELOCITY_KEYS)}), got {result!r}"
            )
    v, err, v_half, err_half, v_lin = (
        _checks.array(f"velocities[i][{key!r}]", [r[key] for r in velocities])
        for key in _VELOCITY_KEYS
    )
    exponents = []
    for y, sigma in ((v, err), (v_half, err_half), (v_lin, 1e-3 * v_lin)):
        fit = fits.power_law(p, y, sigma)
        exponents.append((fit.params[1], fit.errors[1]))
    return VelocityScan(p, v, err, *exponents, ratio=v / v_lin, ratio_err=err / v_lin)


def chain_rates(p1, p2):
    """(D, r1, r2) of GH Eqs. 24-25 read off the weight chain at low density (isolated operators).

    D: a fermion operator next to the identity hops with probability 1/2 per gate on either bond.
    A density Z between identities turns into a c^dagger c pair with probability 1/3 per mu_1 gate
    on either bond: n -> 2 c at rate r1 = 2 p1 / 3. A fermion operator next to the identity
    dresses it with Z with probability 1/2 per mu_2 gate on either bond: n is made at rate p2 c.
    The linear equations dn/dt = -r1 n + p2 c, dc/dt = 2 r1 n have the same growth rate as GH's
    form (Eqs. 24-25) with r2 = p2, which is what we return.
    """
    _check_probabilities(p1, p2)
    W = [_kind_chain(k) for k in range(3)]
    i = lambda a, b: 4 * _PAIR_INDEX[a] + _PAIR_INDEX[b]  # noqa: E731
    convert = W[1][i("+", "-"), i("Z", "1")] + W[1][i("-", "+"), i("Z", "1")]
    dress = W[2][i("+", "Z"), i("+", "1")] + W[2][i("Z", "+"), i("+", "1")]
    hop = W[0][i("1", "+"), i("+", "1")]
    return float(hop), float(2 * p1 * convert), float(2 * p2 * dress)


def linear_front_speed(r1, r2, D=D_OPERATOR, lattice=True):
    """Pulled-front speed of the linear Eqs. 24-25 (growth rate mu, front e^{-lambda x}).

    Continuum: v = 2 sqrt(D mu). Lattice (Laplacian n_{x+1} + n_{x-1} - 2 n_x, as in
    :func:`solve_front_equations`): v = min_lambda [mu + 2 D (cosh lambda - 1)] / lambda.
    """
    r1, r2, D = _check_rates(r1, r2, D)
    lattice = _checks.flag("lattice", lattice)
    mu = 0.5 * (-r1 + np.sqrt(r1 * r1 + 8 * r1 * r2))
    if mu <= 0:
        return 0.0
    if not lattice:
        return float(2 * np.sqrt(D * mu))
    res = optimize.minimize_scalar(
        lambda lam: (mu + 2 * D * (np.cosh(lam) - 1)) / lam,
        bounds=(1e-9, 50.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.fun)


def solve_front_equations(r1, r2, t_max, num, L, D=D_OPERATOR, threshold=1.0):
    """Integrate the lattice Eqs. 24-25 from c = 1 on site 0 (n = 0) on sites -L..L (zero outside).

    Returns a dict with ``t`` (num,) equally spaced in [0, t_max], ``x`` (2 L + 1,), ``n`` and ``c``
    (num, 2 L + 1), and ``front`` (num,): the largest x where n + c >= threshold (interpolated
    linearly in log(n + c) to the next site); NaN where n + c < threshold everywhere.
    """
    r1, r2, D = _check_rates(r1, r2, D)
    t_max = _checks.real("t_max", t_max, 0, open_low=True)
    num = _checks.integer("num", num, low=2)
    threshold = _checks.real("threshold", threshold, 0, open_low=True)
    L = _check_L(L, 10**6, minimum=2)
    size = 2 * L + 1
    _checks.memory(f"solve_front_equations with num={num} at L={L}", 48 * num * size)
    one = sp.identity(size, format="csr")
    lap = sp.diags([np.ones(size - 1), -2 * np.ones(size), np.ones(size - 1)], [-1, 0, 1]) * D
    A = sp.bmat([[lap - r1 * one, 2 * r2 * one], [r1 * one, lap]]).tocsr()
    y0 = np.zeros(2 * size)
    y0[size + L] = 1.0
    y = expm_multiply(A, y0, start=0.0, stop=float(t_max), num=int(num), endpoint=True)
    n, c = y[:, :size], y[:, size:]
    x = np.arange(-L, L + 1)
    front = np.full(int(num), np.nan)
    for k, profile in enumerate(n + c):
        above = np.nonzero(profile >= threshold)[0]
        if above.size and above[-1] < size - 1:
            j = above[-1]
            f0, f1 = np.log(profile[j]), np.log(max(profile[j + 1], 1e-300))
            front[k] = x[j] + (f0 - np.log(threshold)) / (f0 - f1)
    return {"t": np.linspace(0, float(t_max), int(num)), "x": x, "n": n, "c": c, "front": front}


def tau_in(p1, p2):
    """Local scrambling time tau_in = D / v_B^2 (GH Sec. VI), v_B from the linear front theory.

    Uses :func:`chain_rates` and the lattice :func:`linear_front_speed`; infinite on the
    p1 = 0 and p2 = 0 axes, where v_B = 0.
    """
    D, r1, r2 = chain_rates(p1, p2)
    v = linear_front_speed(r1, r2, D)
    return float(D / v**2) if v > 0 else np.inf


def tau_in_map(p1, p2):
    """:func:`tau_in` on arrays of gate parameters, broadcast; NaN where p1 + p2 > 1.

    For maps over the (p1, p2) plane: a point outside the triangle p1 + p2 <= 1 is no gate
    ensemble and gets NaN instead of an error. Every entry must be a probability in [0, 1].

    References
    ----------
    GH Sec. VI; chapter {doc}`operator_spreading` (the local scrambling time).
    """
    p1 = _checks.array("p1", p1, low=0.0, high=1.0)
    p2 = _checks.array("p2", p2, low=0.0, high=1.0)
    try:
        p1, p2 = np.broadcast_arrays(p1, p2)
    except ValueError:
        raise ValueError(
            f"p1 and p2 must broadcast together, got shapes p1 {p1.shape} and p2 {p2.shape}"
        ) from None
    out = np.full(p1.shape, np.nan)
    inside = p1 + p2 <= 1
    out[inside] = [tau_in(a, b) for a, b in zip(p1[inside], p2[inside])]
    return out


# --------------------------------------------------------------------------- private helpers
def _two_site_basis():
    odd = [False, False, True, True]
    return np.array(
        [
            np.kron(_SINGLE[a] @ (_Z if odd[b] else np.eye(2)), _SINGLE[b])
            for a in range(4)
            for b in range(4)
        ]
    )


_MAPS = {}


def _ensemble_maps():
    """E[R (x) R^*] of mu_0, mu_1, mu_2 alone: the basis change of :func:`nqlib.gates.second_moment`.

    R[s, t] = tr(B_s^dagger U^dagger B_t U) / 4 = sum conj(B_s[j, i]) B_t[k, l] U*[k, j] U[l, i] / 4,
    so R[s, t] R*[s', t'] holds U[l, i] U*[k, j] U[k', j'] U*[l', i']: the entry
    [(l, k, k', l'), (i, j, j', i')] of U (x) U* (x) U (x) U*.
    """
    if not _MAPS:
        B = _two_site_basis()
        for kind, pp in enumerate(((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))):
            E = _gates.second_moment(*pp).reshape((4,) * 8)  # [a, c, e, g, b, d, f, h]
            T = (
                np.einsum(
                    "sji,tkl,uJI,vKL,lkKLijJI->sutv", B.conj(), B, B, B.conj(), E, optimize=True
                )
                / 16
            )
            # the exact entries are 0 or simple fractions (1/2, 1/6, ...): remove the rounding
            # of the basis change, so that exact zeros (e.g. of the weight chain) stay zeros
            T.real[np.abs(T.real) < 1e-13] = 0.0
            T.imag[np.abs(T.imag) < 1e-13] = 0.0
            _MAPS[kind] = T.reshape(256, 256)
    return _MAPS


def _kind_chain(kind):
    """Weight chain of ensemble mu_kind alone."""
    return weight_chain(*((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))[kind])


def _pair_rows():
    """Rows of the 256-dim two-copy space (16 s + s', s = 4 a1 + a2) for the 36 pair states."""
    pairs = [(0, 0), (1, 1), (0, 1), (1, 0), (2, 2), (3, 3)]
    rows = []
    for i in range(6):
        for j in range(6):
            (a1, b1), (a2, b2) = pairs[i], pairs[j]
            rows.append(16 * (4 * a1 + a2) + 4 * b1 + b2)
    return np.array(rows)


def _apply_bond(M, G, b, d):
    X = np.moveaxis(M, (b, b + 1), (0, 1))
    shape = X.shape
    Y = (G @ X.reshape(d * d, -1)).reshape(shape)
    return np.moveaxis(Y, (0, 1), (b, b + 1))


def _site_marginals(M, total, fermion):
    L = M.ndim
    out = np.empty(L)
    for x in range(L):
        v = M
        for y in range(L - 1, -1, -1):
            v = v @ (fermion if y == x else total)
        out[x] = v
    return out


def _heisenberg_step(O, U, b, L):
    n = 2**L
    left = U.conj().T @ O.reshape(2**b, 4, -1).transpose(1, 0, 2).reshape(4, -1)
    O = left.reshape(4, 2**b, -1).transpose(1, 0, 2).reshape(n, n)
    right = O.reshape(n, 2**b, 4, -1).transpose(0, 1, 3, 2) @ U
    return right.transpose(0, 1, 3, 2).reshape(n, n)


def _otoc_profile(O, L):
    n = 2**L
    out = np.empty(L)
    for x in range(L):
        z = np.where(
            (np.arange(n) >> (L - 1 - x)) & 1, -1.0, 1.0
        )  # Z_x on the basis (site 0 most significant, 0 = up)
        out[x] = 0.5 * (1 - np.real(np.sum(O.conj() * (z[:, None] * O * z[None, :]))) / n)
    return out


@njit(cache=True)
def _sample_kernel(L, p1, p2, cdf, times, n_samples, site, seed):
    np.random.seed(seed)
    T = len(times)
    right = np.empty((n_samples, T))
    left = np.empty((n_samples, T))
    count = np.empty((n_samples, T))
    otoc = np.zeros((T, L))
    touched = False
    state = np.zeros(L, dtype=np.int64)
    for s in range(n_samples):
        state[:] = 0
        state[site] = 2
        lo, hi = site, site
        t = 0.0
        k = 0
        while k < T:
            b_lo = max(lo - 1, 0)
            b_hi = min(hi, L - 2)
            n_bonds = b_hi - b_lo + 1
            t_next = t + np.random.exponential(1.0 / n_bonds)
            while k < T and times[k] < t_next:
                r, l, c = -1, L, 0
                for x in range(lo, hi + 1):
                    if state[x] >= 2:
                        otoc[k, x] += 1.0
                        c += 1
                        r = x
                        if x < l:
                            l = x
                right[s, k], left[s, k], count[s, k] = r, l, c
                k += 1
            t = t_next
            b = b_lo + np.random.randint(n_bonds)
            u = np.random.random()
            kind = 1 if u < p1 else (2 if u < p1 + p2 else 0)
            col = 4 * state[b] + state[b + 1]
            v = np.random.random()
            out = 0
            while out < 15 and cdf[kind, out, col] < v:
                out += 1
            state[b], state[b + 1] = out // 4, out % 4
            if state[b] != 0 or state[b + 1] != 0:
                lo = min(lo, b)
                hi = max(hi, b + 1)
            while lo < hi and state[lo] == 0:
                lo += 1
            while hi > lo and state[hi] == 0:
                hi -= 1
            if lo == 0 or hi == L - 1:
                touched = True
    return right, left, count, otoc, touched


def _check_probabilities(p1, p2):
    for name, p in (("p1", p1), ("p2", p2)):
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.integer, np.floating))
            or not 0 <= p <= 1
        ):
            raise ValueError(f"{name} must be a probability in [0, 1], got {name}={p!r}")
    if p1 + p2 > 1 + 1e-12:
        raise ValueError(f"p1 + p2 must be <= 1, got p1={p1}, p2={p2}")


def _check_rates(r1, r2, D):
    return (
        _checks.real("r1", r1, 0),
        _checks.real("r2", r2, 0),
        _checks.real("D", D, 0, open_low=True),
    )


def _check_L(L, maximum, minimum=2):
    return _checks.integer("L", L, minimum, maximum)


def _check_site(site, L):
    if isinstance(site, bool) or not isinstance(site, (int, np.integer)) or not 0 <= site < L:
        raise ValueError(f"site must be an integer in [0, {L - 1}], got site={site!r}")
    return int(site)


def _check_count(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {name}={n!r}")
    return int(n)

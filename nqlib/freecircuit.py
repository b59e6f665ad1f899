r"""The random circuit at p2 = 0 on the fermionic correlation matrix (large L).

Without interacting gates every gate is fermionic Gaussian (:mod:`nqlib.gates`), so a
Gaussian state stays Gaussian and is described by :math:`C_{ij} = \langle c_i^\dagger c_j\rangle`.
A gate with single-particle matrix :math:`u` on sites (a, a+1) maps a one-particle wave function
:math:`\psi \to u\psi`; since :math:`C = \bar\psi\psi^T` for one particle,

.. math::

    C \to \bar u\, C\, u^T \quad \text{on rows and columns } (a, a+1),

which touches O(L) entries. A boundary gate couples the end site to a fresh reservoir mode
:math:`r`, uncorrelated with the chain and occupied with probability
:math:`\rho_L = (1+\delta)/2` (left) or :math:`\rho_R = (1-\delta)/2` (right); after tracing it
out, with the end site as pair index e and the reservoir as index r,

.. math::

    C_{ej} \to \bar u_{ee}\, C_{ej}, \quad C_{je} \to C_{je}\, u_{ee}\ (j \ne e), \qquad
    C_{ee} \to |u_{ee}|^2 C_{ee} + |u_{er}|^2 \rho_{\rm res}.

The hot loop is numba-compiled and walks C only along rows: the column half of each bulk
update is deferred and applied row by row (see ``_apply_kernel``); :func:`evolve` draws gates in
chunks with the same random stream as :func:`nqlib.gates.sample_sequence`, so the same seed gives
the same circuit as the dense simulator :mod:`nqlib.circuit`.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

from nqlib import _checks, gaussian, quantum, ssep, stats, trajectory
from nqlib import gates as _gates
from nqlib.cumulants import _check_loops, _sample_bytes, _sample_moments, cyclic_cumulant

__all__ = [
    "local_equilibrium",
    "evolve",
    "apply_gates",
    "single_particle_sequence",
    "neas_samples",
    "loop_moments",
    "gaussian_model",
    "gaussian_model_negativity",
    "weak_drive_negativity",
    "NegativityPerSite",
    "negativity_per_site",
    "Negativities",
    "dense_negativities",
    "block_average",
    "coherence_collapse",
]

_CHUNK = 1 << 16


def local_equilibrium(L, delta):
    """Correlation matrix of the local-equilibrium product state: diag of the SSEP densities.

    Refuses (ValueError) an L whose (L, L) matrix exceeds the memory budget
    :func:`nqlib._checks.memory_budget` (the machine's memory, or ``$NQLIB_MAX_GIB``).
    """
    density = ssep.density(L, delta)
    _checks.memory(f"local_equilibrium at L={L}", 2 * _matrix_bytes(L))
    return np.diag(density).astype(complex)


def evolve(C, steps, rng, p1, delta):
    """Correlation matrix after ``steps`` random gates at p2 = 0 (drive delta).

    Gates are drawn in chunks of 65536 with :func:`nqlib.gates.sample_sequence`, so for
    ``steps`` <= 65536 the circuit is exactly the one that ``sample_sequence(rng, steps, L, p1, 0)``
    returns. ``C`` must be a correlation matrix (:func:`nqlib.gaussian.check_correlation_matrix`);
    ``steps`` beyond the time budget :func:`nqlib._checks.work_budget` are refused.
    """
    C = _check_C(C)
    _check_rng_and_gates(rng, p1, delta)
    steps = _checks.integer("steps", steps)
    _checks.work(f"evolve with steps={steps} at L={len(C)}", float(steps) * len(C))
    return _evolve(C, steps, rng, p1, delta)


def _evolve(C, steps, rng, p1, delta):
    """:func:`evolve` without the checks, for callers that checked their arguments once."""
    C = np.ascontiguousarray(C, dtype=complex).copy()  # evolved in place, never the caller's array
    L = len(C)
    for start in range(0, steps, _CHUNK):
        bonds, us = _gates.sample_sequence(rng, min(_CHUNK, steps - start), L, p1, 0.0)
        _apply_kernel(C, bonds, _single_particle(us), (1 + delta) / 2, (1 - delta) / 2)
    return C


def apply_gates(C, bonds, us, delta, copy=True):
    """Apply single-particle gates ``us`` (n, 2, 2) on ``bonds`` (n,) to C (see module doc).

    ``C`` must be finite and Hermitian (its eigenvalues are not checked: a diagonalisation would
    cost as much as thousands of gates), ``us`` unitary; with ``copy=False`` C is updated in place
    when it is a contiguous complex array.
    """
    C = _check_C(C, spectrum=False)
    _checks.drive(delta)
    bonds = _checks.indices("bonds", bonds, 0, len(C), distinct=False, empty=True)
    us = _checks.array("us", us, dtype=complex)
    if us.shape != (len(bonds), 2, 2):
        raise ValueError(f"us must have shape ({len(bonds)}, 2, 2), got {us.shape}")
    if us.size:
        _checks.unitary("us", us)
    C = C.copy() if _checks.flag("copy", copy) else C
    _apply_kernel(C, bonds, us, (1 + delta) / 2, (1 - delta) / 2)
    return C


def neas_samples(
    rng, L, p1, delta, n_samples, sweeps_between=1.0, burn_in=None, cuts=None, negativity=False
):
    """Late-time Gaussian states of one p2 = 0 circuit, sampled every ``sweeps_between`` time units.

    Starts from :func:`local_equilibrium` and discards ``burn_in`` time units (default
    :func:`nqlib.trajectory.burn_in`, 4 (L+1)**2: 2 pi**2 relaxation times 2 (L+1)**2 / pi**2).
    Returns a dict with the entropy ``S`` (n_samples,), the mutual information ``I`` (n_samples,
    len(cuts)) across each cut in ``cuts`` (default [L // 2]), and time averages over the samples
    of the occupations ``n`` (L,) and of ``abs2`` = |C_ij|**2 (L, L). With ``negativity=True`` also
    the fermionic log-negativity ``Ef`` (n_samples, len(cuts)) between [0, cut) and [cut, L)
    (:func:`nqlib.gaussian.negativity`, O(L^3) per sample). A realization function for
    :func:`nqlib.ensemble.run_ensemble`.

    Every argument is checked before the burn-in: ``cuts`` must be distinct integers in
    [1, L - 1] (empty: no ``I``, ``Ef`` columns), ``burn_in`` and ``sweeps_between`` finite, and
    the estimated memory, 6 (L, L) complex matrices (15 with ``negativity``; measured 5.7 and
    13.8), within :func:`nqlib._checks.memory_budget` (the machine's memory, or ``$NQLIB_MAX_GIB``).
    """
    L = _check_L(L)
    _check_rng_and_gates(rng, p1, delta)
    _checks.sample_count(n_samples)
    cuts = (
        [L // 2] if cuts is None else _checks.indices("cuts", cuts, 1, L - 1, empty=True).tolist()
    )
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    negativity = _checks.flag("negativity", negativity)
    steps = max(1, round(sweeps_between * (L + 1)))
    _checks.memory(
        f"neas_samples at L={L}, n_samples={n_samples}",
        (15 if negativity else 6) * _matrix_bytes(L) + 8 * n_samples * (1 + 2 * len(cuts)),
    )
    _checks.work(
        f"neas_samples with burn_in={burn_in}, n_samples={n_samples} at L={L}",
        (burn_in * (L + 1) + float(n_samples) * steps) * L + float(n_samples) * L**3,
    )

    parts = [(np.arange(cut), np.arange(cut, L)) for cut in cuts]

    def measure(C):
        S = gaussian._entropy_of(np.linalg.eigvalsh(C))  # C is our own evolution's: no checks
        I = np.array([gaussian._mutual_information_of(C, *halves, S) for halves in parts], float)
        out = {"S": S, "I": I, "n": np.real(np.diag(C)), "abs2": np.abs(C) ** 2}
        if negativity:
            out["Ef"] = np.array([gaussian.negativity(C, *halves) for halves in parts], float)
        return out

    return trajectory.sample(
        local_equilibrium(L, delta),
        lambda C, gates: _evolve(C, gates, rng, p1, delta),
        round(burn_in * (L + 1)),
        steps,
        n_samples,
        measure,
        mean=("n", "abs2"),
    )


def block_average(matrix, blocks=8):
    """Averages of an (L, L) matrix over ``blocks`` x ``blocks`` blocks of about L / blocks sites.

    The diagonal entries are left out of the diagonal blocks: for ``matrix`` = mean |C_ij|**2
    (``neas_samples(...)["abs2"]``) they are squared densities, not coherences. Block a holds
    the sites [e_a, e_{a+1}) with e = round(linspace(0, L, blocks + 1)).

    Parameters
    ----------
    matrix : array_like (L, L)
        Finite real matrix.
    blocks : int, optional
        Number of blocks per side, 1 <= blocks <= L / 2 (each block at least two sites, so that
        a diagonal block keeps an off-diagonal entry).

    Returns
    -------
    numpy.ndarray (blocks, blocks)

    References
    ----------
    GH Eq. 34 (the scaling form x(1 - y) of L |C_ij|**2 / delta**2); chapter {doc}`circuit_phases`.
    """
    matrix = _checks.array("matrix", matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be a square (L, L) matrix, got shape {matrix.shape}")
    size = len(matrix)
    blocks = _checks.integer("blocks", blocks, low=1, high=max(1, size // 2))
    edges = np.linspace(0, size, blocks + 1).round().astype(int)
    out = np.empty((blocks, blocks))
    for a in range(blocks):
        for b in range(blocks):
            block = matrix[edges[a] : edges[a + 1], edges[b] : edges[b + 1]]
            out[a, b] = (block[~np.eye(len(block), dtype=bool)] if a == b else block).mean()
    return out


def coherence_collapse(abs2, delta, blocks=8):
    r"""GH's scaling collapse of the coherences: block averages of :math:`L\,|C_{ij}|^2/\delta^2`.

    Averages the per-circuit time averages of :math:`|C_{ij}|^2` over circuits, coarse-grains
    them with :func:`block_average` and scales them by :math:`L/\delta^2`; in phase II all sizes
    fall on :math:`x(1-y)`, :math:`x < y` (GH Eq. 34), returned block-averaged the same way with
    :math:`x = (i+1)/(L+1)` (QSSEP's :math:`g_2`, :func:`nqlib.cumulants.cyclic_cumulant`).

    Parameters
    ----------
    abs2 : array_like (runs, L, L)
        ``neas_samples(...)["abs2"]`` of at least two independent circuits, stacked
        (:func:`nqlib.stats.stack`); finite and non-negative.
    delta : float
        The drive of the circuits, nonzero, in [-1, 1].
    blocks : int, optional
        Blocks per side, as in :func:`block_average` (default 8).

    Returns
    -------
    value, error, theory : numpy.ndarray (blocks, blocks)
        The circuit average, its :func:`nqlib.stats.jackknife` error over circuits, and the
        block-averaged :math:`x(1-y)`.

    References
    ----------
    GH Eq. 34; chapter {doc}`circuit_phases` (the coherences).
    """
    abs2 = _checks.array("abs2", abs2, low=0.0, ndim=3)
    runs, L, width = abs2.shape
    if L != width or runs < 2:
        raise ValueError(
            f"abs2 must hold (L, L) matrices of at least two circuits, got shape {abs2.shape}"
        )
    delta = _checks.drive(delta)
    if delta == 0:
        raise ValueError("delta must be nonzero (the coherences scale as delta**2), got delta=0")
    blocks = _checks.integer("blocks", blocks, low=1, high=max(1, L // 2))
    value, error = stats.jackknife(
        lambda d: block_average(d.mean(axis=0), blocks) * L / delta**2, abs2
    )
    x = np.arange(1, L + 1) / (L + 1)
    theory = block_average(cyclic_cumulant([x[:, None], x[None, :]]), blocks)  # x(1 - y)
    return value, error, theory


def loop_moments(rng, L, p1, delta, loops, n_samples, sweeps_between=1.0, burn_in=None):
    """One p2 = 0 random circuit: loop moments of its late-time states (chapter {doc}`qssep`).

    Same sampling as :func:`neas_samples` (start in local equilibrium, burn in
    ``burn_in`` time units, default :func:`nqlib.trajectory.burn_in`, 4 (L+1)**2; then a sample
    every ``sweeps_between``). The
    circuit's correlation matrix is C[i, j] = <c_i^dag c_j>; it is transposed to HJ's
    G = C^T before the loop products are taken. ``loops`` and the result as in
    :func:`nqlib.qssep.qssep_loop_moments` (:func:`nqlib.cumulants.loop_moments` of the samples).
    A realization function for :func:`nqlib.ensemble.run_ensemble`; formerly
    ``nqlib.qssep.circuit_loop_moments``.

    References
    ----------
    HJ Eqs. 4-6 (loop cumulants); chapter {doc}`qssep`.
    """
    _check_rng_and_gates(rng, p1, delta)
    L = _check_L(L)
    _checks.sample_count(n_samples)
    loops = _check_loops(loops, L)
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    _checks.memory(f"loop_moments at L={L}", _sample_bytes(L, n_samples, loops))
    steps = max(1, round(sweeps_between * (L + 1)))
    _checks.work(
        f"loop_moments with burn_in={burn_in}, n_samples={n_samples} at L={L}",
        (burn_in * (L + 1) + float(n_samples) * steps) * L,
    )
    # the chain evolves C; the samples handed to the loop products are G = C^T (HJ convention)
    states = trajectory.states(
        local_equilibrium(L, delta),
        lambda C, gates: _evolve(C, gates, rng, p1, delta),
        round(burn_in * (L + 1)),
        steps,
        n_samples,
    )
    return _sample_moments((C.T for C in states), L, n_samples, loops)


def gaussian_model(rng, L, delta, coherence=None, fluctuation=None):
    r"""One correlation matrix of the Gaussian model of the phase-II NEAS (GH Sec. III D).

    All cumulants of the entries of C beyond the second are O(delta^4), so GH sample

    .. math::

        C = \bar C + X, \qquad \bar C = \mathrm{diag}(\bar n_i), \quad
        \bar n_i = \tfrac12 + \delta\,(\tfrac12 - x_i), \quad x_i = \tfrac{i+1}{L+1},

    with X Hermitian and its entries independent: X_ij (i < j) circular complex Gaussian with
    E|X_ij|^2 = delta^2 ``coherence[i, j]`` and X_ii real Gaussian with variance
    delta^2 ``fluctuation[i]``. The defaults are the leading large-L forms
    coherence = x_i (1 - x_j) / (L + 1) (i < j, GH Eqs. 33-34) and fluctuation =
    x_i (1 - x_i) / (L + 1); :func:`nqlib.abcmodel.second_order` (p1 = 1, p2 = 0) gives the exact
    finite-L coefficients under the same names. Being Gaussian, the model can put eigenvalues of
    C outside [0, 1] at large delta; they are clipped to [0, 1]. Returns (C, n_outside) with
    n_outside the number of clipped eigenvalues.
    """
    L, delta, coherence, fluctuation = _check_model(rng, L, delta, coherence, fluctuation)
    upper = np.triu(
        np.sqrt(np.clip(coherence, 0, None) / 2)
        * (rng.standard_normal((L, L)) + 1j * rng.standard_normal((L, L))),
        1,
    )
    X = upper + upper.conj().T + np.diag(np.sqrt(fluctuation) * rng.standard_normal(L))
    nu, U = np.linalg.eigh(np.diag(ssep.density(L, delta)) + delta * X)
    n_outside = int(np.sum((nu < 0) | (nu > 1)))
    return (U * np.clip(nu, 0.0, 1.0)) @ U.conj().T, n_outside


def gaussian_model_negativity(
    rng, L, delta, n_samples, cuts=None, coherence=None, fluctuation=None
):
    """Fermionic log-negativity of ``n_samples`` draws of :func:`gaussian_model`.

    Returns ``Ef`` (n_samples, len(cuts)) across each cut (default [L // 2]) and ``outside``
    (n_samples,), the clipped eigenvalues per draw. A realization function for
    :func:`nqlib.ensemble.run_ensemble`. ``cuts``: distinct integers in [1, L - 1], checked
    before the first draw.
    """
    L = _check_model(rng, L, delta, coherence, fluctuation)[0]
    cuts = [L // 2] if cuts is None else _checks.indices("cuts", cuts, 1, L - 1).tolist()
    _checks.sample_count(n_samples)
    _checks.memory(
        f"gaussian_model_negativity at L={L}, n_samples={n_samples}",
        15 * _matrix_bytes(L) + 8 * n_samples * (1 + len(cuts)),
    )
    _checks.work(
        f"gaussian_model_negativity with n_samples={n_samples} at L={L}", float(n_samples) * L**3
    )
    Ef, outside = np.empty((n_samples, len(cuts))), np.empty(n_samples)
    for k in range(n_samples):
        C, outside[k] = gaussian_model(rng, L, delta, coherence, fluctuation)
        Ef[k] = [gaussian.negativity(C, range(cut)) for cut in cuts]
    return {"Ef": Ef, "outside": outside}


def weak_drive_negativity(L, coherence=None):
    r"""kappa_L: the delta^2 coefficient of E[E_f] between the halves of the chain at weak drive.

    To O(delta^2) the fermionic negativity of a state close to local equilibrium is
    4 sum_{i in A, j in B} |C_ij|^2, so E[E_f] = kappa_L delta^2 with
    kappa_L = 4 sum_{i < L/2 <= j} ``coherence[i, j]`` (E|C_ij|^2 / delta^2). The default is GH's
    leading large-L form x_i (1 - x_j) / (L + 1) (as in :func:`gaussian_model`), for which
    kappa_L / L -> 1/16; :func:`nqlib.abcmodel.second_order` (p1 = 1, p2 = 0) gives the exact
    finite-L ``coherence``.

    Parameters
    ----------
    L : int
        Chain length, >= 2.
    coherence : array_like (L, L), optional
        E|C_ij|^2 / delta^2 (only the block i < L // 2 <= j is read).

    Returns
    -------
    float

    References
    ----------
    GH Eqs. 33-34 and Sec. III D; chapter {doc}`negativity`.
    """
    L = _check_L(L)
    if coherence is None:
        _checks.memory(f"weak_drive_negativity at L={L}", 8 * (L // 2 + 1) ** 2)
        x = np.arange(1, L + 1) / (L + 1)
        return float(4 * np.sum(np.outer(x[: L // 2], 1 - x[L // 2 :])) / (L + 1))
    coherence = _checks.array("coherence", coherence, 0)
    if coherence.shape != (L, L):
        raise ValueError(f"coherence must have shape (L, L) with L={L}, got {coherence.shape}")
    return float(4 * coherence[: L // 2, L // 2 :].sum())


@dataclass(frozen=True)
class NegativityPerSite:
    """Per-site fermionic negativity over independent runs, each as (mean, standard error).

    Attributes
    ----------
    Ef : (float, float)
        E_f / L.
    low : (float, float)
        max(0, E_f - ln sqrt2) / L, the lower bound on the qubit negativity
        (:func:`nqlib.gaussian.negativity_lower_bound`).
    """

    Ef: tuple
    low: tuple


def negativity_per_site(Ef, L):
    """Means over runs of E_f / L and of its qubit lower bound, errors from the run means.

    Parameters
    ----------
    Ef : array_like (runs, samples)
        E_f of every sample of every run (samples of one run are correlated, runs are
        independent), e.g. the ``Ef`` column of :func:`neas_samples` or of
        :func:`gaussian_model_negativity` stacked over runs; at least two runs.
    L : int
        Chain length, >= 2.

    Returns
    -------
    NegativityPerSite
        Each entry the mean of the run means and its standard error (spread of the run means).

    References
    ----------
    GH Sec. III D; chapter {doc}`negativity`.
    """
    L = _check_L(L)
    Ef = _checks.array("Ef", Ef, ndim=2)
    if len(Ef) < 2 or Ef.shape[1] < 1:
        raise ValueError(f"Ef must hold >= 2 runs of >= 1 sample, got shape {Ef.shape}")

    def over_runs(values):
        run_means = values.mean(axis=1) / L
        return float(run_means.mean()), float(run_means.std(ddof=1) / np.sqrt(len(run_means)))

    return NegativityPerSite(Ef=over_runs(Ef), low=over_runs(np.maximum(0, Ef - 0.5 * np.log(2))))


@dataclass(frozen=True)
class Negativities:
    """Qubit and fermionic log-negativities of the same states (nats), one entry per state.

    Attributes
    ----------
    qubit : ndarray (n,)
        E = ln ||rho^{T_A}||_1 of the dense state (:func:`nqlib.quantum.log_negativity`).
    fermionic : ndarray (n,)
        E_f of its correlation matrix (:func:`nqlib.gaussian.negativity`).
    """

    qubit: np.ndarray
    fermionic: np.ndarray


def dense_negativities(rng, L, p1, delta, n_samples):
    """E and E_f between the halves for late-time states of one p2 = 0 circuit (L <= 12).

    The reference route for the fermionic negativity: each state is built as a dense
    2^L x 2^L density matrix (:func:`nqlib.gaussian.dense_state`) and its qubit negativity
    compared with E_f of C. The circuit starts from :func:`local_equilibrium`, discards
    :func:`nqlib.trajectory.burn_in` time units (as :func:`neas_samples`) and is sampled every
    time unit (L + 1 gates).

    Parameters
    ----------
    rng : numpy.random.Generator
    L : int
        Chain length in [2, 12].
    p1, delta : float
        Partial-swap probability (p2 = 0) and drive.
    n_samples : int
        Number of states.

    Returns
    -------
    Negativities

    References
    ----------
    GH Sec. III D (E_f and the qubit negativity); chapter {doc}`negativity`.
    """
    _check_rng_and_gates(rng, p1, delta)
    L = _checks.integer("L", L, 2, 12)
    n_samples = _checks.sample_count(n_samples)
    burn_in = round(trajectory.burn_in(L + 1) * (L + 1))
    _checks.work(
        f"dense_negativities with n_samples={n_samples} at L={L}",
        float(burn_in) * L + n_samples * 8.0**L,
    )

    def measure(C):
        return {
            "E": quantum.log_negativity(gaussian.dense_state(C), range(L // 2)),
            "Ef": gaussian.negativity(C, range(L // 2)),
        }

    out = trajectory.sample(
        local_equilibrium(L, delta),
        lambda C, gates: _evolve(C, gates, rng, p1, delta),
        burn_in,
        L + 1,
        n_samples,
        measure,
    )
    return Negativities(qubit=np.asarray(out["E"], float), fermionic=np.asarray(out["Ef"], float))


def single_particle_sequence(us4):
    """Single-particle matrices (n, 2, 2) of Gaussian gates (n, 4, 4): u = B / U_-."""
    us4 = _checks.array("us4", us4, dtype=complex, ndim=3)
    if us4.shape[1:] != (4, 4):
        raise ValueError(f"us4 must have shape (n, 4, 4), got {us4.shape}")
    if us4.size:
        _checks.unitary("us4", us4)
    return _single_particle(us4)


def _single_particle(us4):
    """:func:`single_particle_sequence` without the checks."""
    B, Um = us4[:, 1:3, 1:3], us4[:, 3, 3]
    gaussian_ = np.abs(us4[:, 0, 0] * Um - np.linalg.det(B)) < 1e-12
    if not np.all(gaussian_):
        raise ValueError(
            f"gate {int(np.argmin(gaussian_))} is not fermionic Gaussian (p2 must be 0)"
        )
    return B / Um[:, None, None]


@njit(cache=True)
def _apply_kernel(C, bonds, us, rho_left, rho_right):
    """Apply the gates in order. C -> conj(u) C u^T factorises into a row operation (left) and a
    column operation (right), which commute. Row operations touch two contiguous rows and are
    applied at once; column operations are queued and applied row by row in :func:`_flush`, so
    that no gate walks down the columns of C (strided, cache-hostile for large L). The queue is
    flushed before every boundary gate, whose reservoir term is not a conjugation.
    """
    L = C.shape[0]
    queue_a = np.empty(bonds.size, dtype=np.int64)
    queue_u = np.empty((bonds.size, 2, 2), dtype=np.complex128)
    q = 0
    for t in range(bonds.size):
        b = bonds[t]
        u = us[t]
        if b == 0 or b == L:
            _flush(C, queue_a, queue_u, q)
            q = 0
            # end site e = pair index 0 at the left (reservoir first), 1 at the right
            e, site, rho = (1, 0, rho_left) if b == 0 else (0, L - 1, rho_right)
            r = 1 - e
            uee, uer = u[e, e], u[e, r]
            for j in range(L):
                if j != site:
                    C[site, j] = np.conj(uee) * C[site, j]
                    C[j, site] = C[j, site] * uee
            C[site, site] = abs(uee) ** 2 * C[site, site] + abs(uer) ** 2 * rho
        else:
            a = b - 1
            # rows now: C[(a, a+1), :] <- conj(u) @ C[(a, a+1), :]
            c00, c01, c10, c11 = (
                np.conj(u[0, 0]),
                np.conj(u[0, 1]),
                np.conj(u[1, 0]),
                np.conj(u[1, 1]),
            )
            for j in range(L):
                x, y = C[a, j], C[a + 1, j]
                C[a, j] = c00 * x + c01 * y
                C[a + 1, j] = c10 * x + c11 * y
            # columns later: C[:, (a, a+1)] <- C[:, (a, a+1)] @ u^T
            queue_a[q] = a
            queue_u[q] = u
            q += 1
    _flush(C, queue_a, queue_u, q)


@njit(cache=True)
def _flush(C, queue_a, queue_u, q):
    """Apply the first q queued column operations to every row, one row at a time."""
    for i in range(C.shape[0]):
        for k in range(q):
            a = queue_a[k]
            x, y = C[i, a], C[i, a + 1]
            C[i, a] = x * queue_u[k, 0, 0] + y * queue_u[k, 0, 1]
            C[i, a + 1] = x * queue_u[k, 1, 0] + y * queue_u[k, 1, 1]


def _check_L(L):
    return _checks.integer("L", L, 2)


def _check_rng_and_gates(rng, p1, delta):
    """Arguments that the first gate would check, checked before the burn-in."""
    _checks.generator(rng)
    _gates._check_probabilities(p1, 0.0)
    _checks.drive(delta)


def _check_model(rng, L, delta, coherence, fluctuation):
    """(L, delta, coherence, fluctuation) of :func:`gaussian_model`, checked, defaults filled in."""
    _checks.generator(rng)
    L = _check_L(L)
    delta = _checks.real("delta", delta, 0, 1)
    _checks.memory(f"gaussian_model at L={L}", 6 * _matrix_bytes(L))
    x = np.arange(1, L + 1) / (L + 1)
    if coherence is None:
        coherence = np.outer(x, 1 - x) / (L + 1)
    if fluctuation is None:
        fluctuation = x * (1 - x) / (L + 1)
    coherence = _checks.array("coherence", coherence)
    fluctuation = _checks.array("fluctuation", fluctuation)
    if coherence.shape != (L, L) or fluctuation.shape != (L,):
        raise ValueError(
            f"coherence must have shape ({L}, {L}) and fluctuation ({L},), "
            f"got {coherence.shape}, {fluctuation.shape}"
        )
    if np.any(np.triu(coherence, 1) < 0):
        raise ValueError("coherence (above the diagonal) holds variances and must be >= 0")
    if np.any(fluctuation < 0):
        raise ValueError("fluctuation holds variances and must be >= 0")
    return L, delta, coherence, fluctuation


def _matrix_bytes(L):
    """Bytes of one (L, L) complex matrix."""
    return 16 * int(L) ** 2


def _check_C(C, spectrum=True):
    """C as a contiguous complex array after checking it is an (L, L) correlation matrix, L >= 2
    (without ``spectrum``: only finite and Hermitian, O(L^2) instead of a diagonalisation)."""
    C = gaussian.check_correlation_matrix(C) if spectrum else gaussian._check_hermitian(C)
    if C.shape[0] < 2:
        raise ValueError(f"C must be a square (L, L) matrix with L >= 2, got shape {C.shape}")
    return np.ascontiguousarray(C, dtype=complex)

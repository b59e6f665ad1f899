r"""QSSEP and free cumulants: the structure of coherence fluctuations in diffusive systems.

**Convention.** Hruza & Jin (HJ, arXiv 2024, Eq. 3) and the QSSEP literature write
:math:`G_{ij} = \langle c_j^\dagger c_i\rangle`; the rest of nqlib uses
:math:`C_{ij} = \langle c_i^\dagger c_j\rangle`, so :math:`G = C^T`. Every function here takes
and returns G (HJ convention) unless it says otherwise; :func:`nqlib.freecircuit.loop_moments`
transposes the circuit's C explicitly.

**Cyclic cumulants** (HJ Eqs. 4-6; :mod:`nqlib.cumulants`). The connected cumulant of the n
coherences along a loop :math:`i_1\to\dots\to i_n\to i_1` scales as
:math:`\mathbb E[G_{i_1i_2}\cdots G_{i_ni_1}]^c \simeq N^{1-n}\,g_n(x_1,\dots,x_n)`, and in QSSEP
the :math:`g_n` are the free cumulants of :math:`\Delta n^n\min(x_1,\dots,x_n)`
(:func:`nqlib.cumulants.cyclic_cumulant`). This module holds QSSEP itself: the exact second
moments, the simulator and the loop moments of its trajectories.

**QSSEP** (HJ Eq. 2). N sites, noise Hamiltonian
:math:`dh = \sum_b (dW_b\,E_{b,b+1} + d\bar W_b\,E_{b+1,b})` with independent complex Brownian
increments, :math:`dW_b\,d\bar W_c = J\,\delta_{bc}\,dt`, and boundary Lindblad injection/extraction
at rates :math:`\alpha,\beta` on the first and last site. Writing
:math:`\gamma = \alpha+\beta` and :math:`n = \alpha/\gamma` for each end, G evolves as

.. math::

    G \to e^{-i\,dh}\,G\,e^{i\,dh}, \qquad
    dG|_{\rm bdry} = \bigl({\rm diag}(\gamma_a n_a, 0,\dots,0,\gamma_b n_b)
        - \tfrac12\{{\rm diag}(\gamma_a, 0,\dots,0,\gamma_b), G\}\bigr)dt .

In Itô form with :math:`\mathcal D(X)G = XG - GX`, the mean obeys
:math:`d\,\mathbb E G = (\mathcal L\,\mathbb E G + A)\,dt` with
:math:`\mathcal L = -\tfrac J2\sum_b(\mathcal D_b\mathcal D_b^\dagger + \mathcal D_b^\dagger\mathcal D_b)
- \tfrac12\{\Gamma,\cdot\}` (:math:`\mathcal D_b = \mathcal D(E_{b,b+1})`), and the second moments
:math:`X = \mathbb E[G\otimes G]` obey

.. math::

    \dot X = \Bigl(\mathcal L\otimes 1 + 1\otimes\mathcal L
        - J\sum_b(\mathcal D_b\otimes\mathcal D_b^\dagger + \mathcal D_b^\dagger\otimes\mathcal D_b)\Bigr)X
        + A\otimes\mathbb E G + \mathbb E G\otimes A,

a closed linear system that :func:`exact_second_moments` solves (the U(1) sector, 2N^2 unknowns).
The stationary mean is linear, :math:`\mathbb E G_{ii} = n_a + \Delta n\,x_i` with the finite-N
coordinate (0-based i)

.. math::

    x_i = \frac{i + a}{N - 1 + a + b}, \qquad a = J/\gamma_a,\ b = J/\gamma_b .

**Simulation** (:func:`evolve`). Per time step dt: the bond unitaries
:math:`\exp(-i(z_bE_{b,b+1} + \bar z_bE_{b+1,b}))`, :math:`z_b\sim\mathcal{CN}(0, J\,dt)`, on even
then odd bonds (exactly unitary: G stays a correlation matrix), then the exact boundary
relaxation :math:`G \to G^* + K(G - G^*)K` with :math:`G^* = {\rm diag}(n_a,0,\dots,0,n_b)`,
:math:`K = {\rm diag}(e^{-\gamma_a dt/2},1,\dots,1,e^{-\gamma_b dt/2})`. The scheme is weak order 1:
stationary averages carry an O(J dt) bias.

**Estimators.** :func:`qssep_loop_moments` returns the loop moments
(:func:`nqlib.cumulants.loop_moments`) of one trajectory; :func:`nqlib.cumulants.cumulant_estimate`
turns those of independent trajectories into cumulants with jackknife errors. The circuit's
counterpart is :func:`nqlib.freecircuit.loop_moments`, the Anderson model's
:func:`nqlib.anderson.loop_statistics` and :func:`nqlib.anderson.loop_cumulants`.

**Fits to the QSSEP shapes.** A model with QSSEP's cumulants up to imbalances has
:math:`g_n = (\Delta n^{(n)})^n g_n^Q`: :func:`amplitude` and :func:`g3_amplitude` fit the
amplitude :math:`A = (\Delta n^{(n)})^n` (loops of distinct sites only; :func:`coinciding` lists
the others), :func:`extrapolate_amplitude` takes it to :math:`N\to\infty` and
:func:`imbalance` gives :math:`\Delta n^{(n)}`.
"""

import importlib
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from nqlib import _checks, cumulants, fits, gaussian, trajectory
from nqlib.cumulants import _check_loops, _sample_bytes, _sample_moments

__all__ = [
    "coordinate",
    "exact_second_moments",
    "evolve",
    "qssep_loop_moments",
    "Amplitude",
    "amplitude",
    "g2_amplitude",
    "g3_amplitude",
    "Coinciding",
    "coinciding",
    "extrapolate_amplitude",
    "imbalance",
]

_CHUNK = 4096


# --------------------------------------------------------------------------- QSSEP
def coordinate(N, J=1.0, gamma_a=1.0, gamma_b=1.0):
    """Finite-N coordinates x_i = (i + a) / (N - 1 + a + b), a = J / gamma_a, b = J / gamma_b (0-based i)."""
    N = _check_sites(N)
    J, gamma_a, gamma_b = _check_rates(J, gamma_a, gamma_b)
    _checks.memory(f"coordinate at N={N}", 16 * N)
    a, b = J / gamma_a, J / gamma_b
    return (np.arange(N) + a) / (N - 1 + a + b)


def exact_second_moments(N, J=1.0, gamma_a=1.0, gamma_b=1.0, n_a=0.0, n_b=1.0):
    r"""Exact stationary first and second moments of continuous-time QSSEP on N sites (module doc).

    Solves the closed linear equations of :math:`\mathbb E G` and :math:`\mathbb E[G\otimes G]`
    in the U(1)-invariant sector. Returns a dict with ``mean`` (N, N) = E[G] (diagonal) and
    ``pair`` (N, N) = the connected :math:`\mathbb E[G_{ij}G_{ji}]^c` (the diagonal holds the
    variances of :math:`G_{ii}`), and ``cov`` (N, N) = Cov(G_ii, G_jj). Sparse, N <= 24.
    For J = gamma_a = gamma_b = 1 the result is, to rounding, :math:`\mathbb E[G_{ij}G_{ji}]^c =
    (n_b - n_a)^2 x_i(1-x_j)(N+1)/(N(N+2))` for i < j (observed for N <= 16 in the tests, not derived).
    """
    N = _check_sites(N)
    if N > 24:
        raise ValueError(f"N must be <= 24 for the exact sparse solve, got N={N}")
    J, gamma_a, gamma_b = _check_rates(J, gamma_a, gamma_b)
    n_a, n_b = _check_density(n_a, "n_a"), _check_density(n_b, "n_b")
    d = N * N
    eye = sp.identity(d, format="csr")

    def D(X):  # vec(XG - GX) = (X (x) 1 - 1 (x) X^T) vec G, row-major vec
        X = sp.csr_matrix(X)
        return (sp.kron(X, sp.identity(N)) - sp.kron(sp.identity(N), X.T)).tocsr()

    bonds = []
    for b in range(N - 1):
        E = sp.csr_matrix(([1.0], ([b], [b + 1])), shape=(N, N))
        bonds.append((D(E), D(E.T)))
    Gamma = sp.diags([gamma_a] + [0.0] * (N - 2) + [gamma_b]) if N > 1 else None
    L = -0.5 * J * sum(Db @ Dbd + Dbd @ Db for Db, Dbd in bonds)
    L = L - 0.5 * (sp.kron(Gamma, sp.identity(N)) + sp.kron(sp.identity(N), Gamma))
    A = np.zeros((N, N))
    A[0, 0], A[-1, -1] = gamma_a * n_a, gamma_b * n_b
    mean = spla.spsolve(L.tocsc(), -A.ravel()).reshape(N, N)
    # U(1) sector of E[G_ij G_kl]: (i, j, j, i) and (i, i, k, k)
    i, j = np.divmod(np.arange(d), N)
    sector = np.unique(
        np.concatenate([(i * N + j) * d + (j * N + i), (i * N + i) * d + (j * N + j)])
    )
    Q = (
        sp.kron(L, eye)
        + sp.kron(eye, L)
        - J * sum(sp.kron(Db, Dbd) + sp.kron(Dbd, Db) for Db, Dbd in bonds)
    )
    Q = Q.tocsr()[sector][:, sector]
    source = (np.kron(A.ravel(), mean.ravel()) + np.kron(mean.ravel(), A.ravel()))[sector]
    X = np.zeros(d * d)
    X[sector] = spla.spsolve(Q.tocsc(), -source)
    X = X.reshape(N, N, N, N)
    m = np.diag(mean)
    pair = np.einsum("ijji->ij", X) - np.outer(m, m) * np.eye(N)
    cov = np.einsum("iijj->ij", X) - np.outer(m, m)
    return {"mean": mean, "pair": pair, "cov": cov}


def evolve(G, time, dt, rng, J=1.0, gamma_a=1.0, gamma_b=1.0, n_a=0.0, n_b=1.0):
    """G (HJ convention) after QSSEP time ``time`` with step ``dt`` (module doc); returns a new array.

    The noise is drawn from ``rng`` in chunks; round(time / dt) steps are taken. ``G`` must be a
    correlation matrix (Hermitian, 0 <= G <= 1); a ``time`` beyond the time budget
    :func:`nqlib._checks.work_budget` is refused.
    """
    G = gaussian.check_correlation_matrix(G, "G")
    if G.shape[0] < 2:
        raise ValueError(f"G must be a square (N, N) matrix with N >= 2, got shape {G.shape}")
    _checks.generator(rng)
    J, gamma_a, gamma_b = _check_rates(J, gamma_a, gamma_b)
    n_a, n_b = _check_density(n_a, "n_a"), _check_density(n_b, "n_b")
    _check_dt(dt, J)
    time = _checks.real("time", time, 0)
    _checks.work(f"evolve with time={time}, dt={dt} at N={len(G)}", time / dt * len(G) ** 2)
    return _evolve(G, time, dt, rng, J, gamma_a, gamma_b, n_a, n_b)


def _evolve(G, time, dt, rng, J, gamma_a, gamma_b, n_a, n_b):
    """:func:`evolve` without the checks, for callers that checked their arguments once."""
    G = np.ascontiguousarray(G, dtype=complex).copy()
    steps = int(round(time / dt))
    N = len(G)
    scale = np.sqrt(J * dt / 2)
    k_a, k_b = np.exp(-gamma_a * dt / 2), np.exp(-gamma_b * dt / 2)
    for start in range(0, steps, _CHUNK):
        m = min(_CHUNK, steps - start)
        z = scale * (rng.standard_normal((m, N - 1)) + 1j * rng.standard_normal((m, N - 1)))
        _qssep_kernel(G, z, k_a, k_b, n_a, n_b)
    return G


def qssep_loop_moments(
    rng,
    N,
    loops,
    n_samples,
    time_between,
    burn_in=None,
    dt=0.02,
    J=1.0,
    gamma_a=1.0,
    gamma_b=1.0,
    n_a=0.0,
    n_b=1.0,
):
    """One QSSEP trajectory: loop moments averaged over ``n_samples`` stationary samples.

    Starts from the exact stationary mean (diagonal, linear profile), discards ``burn_in``
    time units (default :func:`nqlib.trajectory.burn_in`: 2 (N+1)**2 / J at gamma_a = gamma_b
    = J, 2 pi**2 relaxation times (N+1)**2 / (pi**2 J)), then samples G
    every ``time_between`` time units. The default J dt = 0.02 keeps the O(J dt) bias of the
    scheme (about 1 % of the second cumulant at J dt = 0.1, tests/test_qssep.py) near 0.2 %.
    ``loops`` maps names to (n_loops, n) site arrays; the result maps each name to
    :func:`nqlib.cumulants.loop_moments` of the samples, plus ``density`` (N,), the time average
    of diag G. A realization function for :func:`nqlib.ensemble.run_ensemble`.
    """
    _checks.generator(rng)
    N = _check_sites(N)
    _checks.sample_count(n_samples)
    loops = _check_loops(loops, N)
    x = coordinate(N, J, gamma_a, gamma_b)
    if burn_in is None:  # reservoirs a distance N - 1 + J/gamma_a + J/gamma_b apart, D = J
        burn_in = trajectory.burn_in(N - 1 + J / gamma_a + J / gamma_b, J)
    burn_in = _checks.real("burn_in", burn_in, 0)
    _checks.real("time_between", time_between, 0, open_low=True)
    n_a, n_b = _check_density(n_a, "n_a"), _check_density(n_b, "n_b")
    _check_dt(dt, J)
    _checks.memory(f"qssep_loop_moments at N={N}", _sample_bytes(N, n_samples, loops))
    _checks.work(
        f"qssep_loop_moments with burn_in={burn_in}, n_samples={n_samples} at N={N}",
        (burn_in + float(n_samples) * time_between) / dt * N**2,
    )
    J, gamma_a, gamma_b = _check_rates(J, gamma_a, gamma_b)
    G = np.diag(n_a + (n_b - n_a) * x).astype(complex)
    states = trajectory.states(
        G,
        lambda G, time: _evolve(G, time, dt, rng, J, gamma_a, gamma_b, n_a, n_b),
        burn_in,
        time_between,
        n_samples,
    )
    return _sample_moments(states, N, n_samples, loops)


# --------------------------------------------------------------------------- measured cumulants vs QSSEP
class Amplitude(NamedTuple):
    r"""A fitted amplitude A of a QSSEP shape, :math:`A = (\Delta n)^n` for :math:`g_n`."""

    value: float
    error: float
    chi2_dof: float


def amplitude(y, sigma, shape):
    """Amplitude A of y = A * shape (errors ``sigma``), as an :class:`Amplitude`.

    Computed by :func:`nqlib.fits.amplitude`.

    When chi2/dof > 1 the shape does not describe the data within errors, and the error is scaled
    by sqrt(chi2/dof) to cover the misfit.

    References
    ----------
    HJ Eqs. 4-6; chapter {doc}`qssep`.
    """
    fit = fits.amplitude(y, sigma, shape)
    return Amplitude(fit.params[0], fit.errors[0], fit.chi2_dof)


def g2_amplitude(g2, g2_err, x, min_separation=1):
    r"""Amplitude of :math:`g_2(x, y) = x(1 - y)` (x <= y) fitted to a measured second cumulant.

    Parameters
    ----------
    g2, g2_err : array_like, shape (N, N)
        Measured (scaled) second cumulant between sites and its errors.
    x : array_like, shape (N,)
        Site coordinates in [0, 1].
    min_separation : int, optional
        Only pairs of sites at least this far apart enter (default 1: every pair of distinct
        sites; at coinciding sites the cumulant is not :math:`g_2`).

    Returns
    -------
    Amplitude
        :math:`(\Delta n)^2` with its error and chi2/dof (:func:`amplitude`).

    References
    ----------
    HJ Eqs. 4-5; chapter {doc}`qssep`.
    """
    x = _checks.array("x", x, 0.0, 1.0, ndim=1)
    N = x.size
    g2 = _checks.array("g2", g2, ndim=2)
    g2_err = _checks.array("g2_err", g2_err, ndim=2)
    if g2.shape != (N, N) or g2_err.shape != (N, N):
        raise ValueError(
            f"g2 and g2_err must have shape (N, N) = ({N}, {N}) for N = len(x), "
            f"got {g2.shape} and {g2_err.shape}"
        )
    min_separation = _checks.integer("min_separation", min_separation, low=1, high=max(N - 1, 1))
    sites = np.arange(N)
    far = np.abs(np.subtract.outer(sites, sites)) >= min_separation
    shape = cumulants.cyclic_cumulant([x[:, None], x[None, :]])
    return amplitude(g2[far], g2_err[far], shape[far])


def g3_amplitude(cut, loops, x):
    r"""Amplitude of :math:`g_3` fitted to the measured third cumulant at loops of distinct sites.

    Parameters
    ----------
    cut : nqlib.cumulants.CutCumulants
        Measured cumulants on ``loops`` (:func:`nqlib.cumulants.cut_cumulants`).
    loops : dict
        The loops of :func:`nqlib.cumulants.cut_loops` (its ``triple`` entry is used).
    x : array_like, shape (N,)
        Site coordinates in [0, 1] at which :func:`nqlib.cumulants.cyclic_cumulant` is evaluated.

    Returns
    -------
    Amplitude
        :math:`(\Delta n)^3` with its error and chi2/dof (:func:`amplitude`).

    References
    ----------
    HJ Eqs. 5-6; chapter {doc}`qssep`.
    """
    _, mask, shape = _g3_cuts(cut, loops, x)
    return amplitude(cut.g3.ravel()[mask], cut.g3_err.ravel()[mask], shape[mask])


class Coinciding(NamedTuple):
    """The cut loops with coinciding sites: ``sites`` (n, 3), the measured third cumulant ``g3`` and
    ``g3_err`` (n,), and QSSEP's ``g3_qssep`` (n,) at Delta n = 1 (the free-cumulant recursion)."""

    sites: np.ndarray
    g3: np.ndarray
    g3_err: np.ndarray
    g3_qssep: np.ndarray


def coinciding(cut, loops, x):
    r"""The measured third cumulant on the cut loops whose sites coincide, next to QSSEP's value.

    Arguments as in :func:`g3_amplitude`. At coinciding points the measured cumulants need not
    follow :math:`g_3` (the O(1/N) corrections are not uniform there).

    Returns
    -------
    Coinciding
        In the order of the loops (cut by cut, site by site).

    References
    ----------
    HJ Eq. 4 and Fig. 3f; chapter {doc}`qssep`.
    """
    triple, mask, shape = _g3_cuts(cut, loops, x)
    return Coinciding(triple[~mask], cut.g3.ravel()[~mask], cut.g3_err.ravel()[~mask], shape[~mask])


def _g3_cuts(cut, loops, x):
    """(triple, distinct-site mask, QSSEP g3 at Delta n = 1) of cut loops, flat, after the checks."""
    if not isinstance(cut, cumulants.CutCumulants):
        raise ValueError(
            f"cut must be a CutCumulants (nqlib.cumulants.cut_cumulants), got {type(cut).__name__}"
        )
    x = _checks.array("x", x, 0, 1, ndim=1)
    triple = loops.get("triple") if isinstance(loops, dict) else None
    if triple is None or np.shape(triple) != (cut.g3.size, 3) or len(x) != cut.g3.shape[1]:
        raise ValueError(
            f"loops must be the cut_loops of cut (triple of shape ({cut.g3.size}, 3)) and x must "
            f"have length {cut.g3.shape[1]}, got {np.shape(triple)} and {x.shape}"
        )
    triple = np.asarray(triple)
    shape = cumulants.cyclic_cumulant([x[triple[:, k]] for k in range(3)])
    return triple, cumulants.distinct_sites(triple), shape


def extrapolate_amplitude(sizes, amplitudes, powers=(1,)):
    """Weighted fit A(N) = A_inf + sum_k beta_k / N**powers[k] of fitted amplitudes.

    Computed by :func:`nqlib.fits.extrapolate`; the default is A_inf + beta / N, and
    ``powers=(1, 2)`` is Hruza-Jin's ansatz A_inf + beta / N + gamma / N^2.

    Parameters
    ----------
    sizes : array_like
        The sizes N (any common unit: [1, 2] for N and N/2 gives A_inf = 2 A(N) - A(N/2)).
    amplitudes : sequence of Amplitude or (value, error, ...) tuples
    powers : sequence of float
        Distinct positive powers of 1/N (:func:`nqlib.fits.extrapolate`).

    Returns
    -------
    Amplitude
        A_inf, its error and chi2/dof (NaN for two sizes).

    References
    ----------
    HJ Fig. 4 (finite-size extrapolation); chapters {doc}`qssep`, {doc}`qssep_anderson` and
    {doc}`anderson`.
    """
    try:
        table = np.array([tuple(a)[:2] for a in amplitudes], dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"amplitudes must be a sequence of (value, error, ...) amplitudes, got "
            f"amplitudes={amplitudes!r}"
        ) from None
    table = _checks.array("amplitudes", table, ndim=2)
    fit = fits.extrapolate(sizes, table[:, 0], table[:, 1], powers)
    return Amplitude(fit.params[0], fit.errors[0], fit.chi2_dof)


def imbalance(A, n):
    r""":math:`\Delta n = {\rm sign}(A)|A|^{1/n}` and its propagated error from an amplitude of :math:`g_n`.

    Parameters
    ----------
    A : Amplitude or (value, error, ...) tuple
        A fitted amplitude :math:`A = (\Delta n)^n`.
    n : int
        The order, 1..MAX_ORDER.

    Returns
    -------
    tuple
        (Delta n, error).

    References
    ----------
    HJ Eq. 6; chapter {doc}`qssep`.
    """
    try:
        value, error = float(A[0]), float(A[1])
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"A must be an amplitude (value, error, ...), got A={A!r}") from None
    if not (np.isfinite(value) and value != 0 and np.isfinite(error) and error >= 0):
        raise ValueError(f"A must hold a finite nonzero value and a finite error >= 0, got A={A!r}")
    n = _checks.integer("n", n, 1, cumulants.MAX_ORDER)
    root = np.sign(value) * abs(value) ** (1 / n)
    return root, abs(root) * error / (n * abs(value))


# --------------------------------------------------------------------------- private helpers
@njit(cache=True)
def _qssep_kernel(G, z, k_a, k_b, n_a, n_b):
    """Steps of the module-doc scheme: bond unitaries on even then odd bonds, then the boundary."""
    N = G.shape[0]
    for t in range(z.shape[0]):
        for parity in range(2):
            for b in range(parity, N - 1, 2):
                zb = z[t, b]
                r = abs(zb)
                if r == 0.0:
                    continue
                c, s = np.cos(r), np.sin(r)
                e = zb / r
                v00, v01, v10, v11 = c, -1j * s * e, -1j * s * np.conj(e), c
                for j in range(N):  # rows: G <- V G
                    x, y = G[b, j], G[b + 1, j]
                    G[b, j] = v00 * x + v01 * y
                    G[b + 1, j] = v10 * x + v11 * y
                w00, w01, w10, w11 = (
                    np.conj(v00),
                    np.conj(v10),
                    np.conj(v01),
                    np.conj(v11),
                )  # V^dagger
                for i in range(N):  # columns: G <- G V^dagger
                    x, y = G[i, b], G[i, b + 1]
                    G[i, b] = x * w00 + y * w10
                    G[i, b + 1] = x * w01 + y * w11
        G[0, 0] -= n_a
        G[N - 1, N - 1] -= n_b
        for j in range(N):
            G[0, j] *= k_a
            G[j, 0] *= k_a
        for j in range(N):
            G[N - 1, j] *= k_b
            G[j, N - 1] *= k_b
        G[0, 0] += n_a
        G[N - 1, N - 1] += n_b


def _check_sites(N, name="N"):
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {name}={N!r}")
    return int(N)


def _check_rates(J, gamma_a, gamma_b):
    for name, value in (("J", J), ("gamma_a", gamma_a), ("gamma_b", gamma_b)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0 < value < np.inf
        ):
            raise ValueError(f"{name} must be a finite number > 0, got {name}={value!r}")
    return float(J), float(gamma_a), float(gamma_b)


def _check_dt(dt, J):
    if (
        isinstance(dt, bool)
        or not isinstance(dt, (int, float, np.integer, np.floating))
        or not 0 < dt <= 0.5 / J
    ):
        raise ValueError(f"dt must be a number in (0, 0.5 / J] = (0, {0.5 / J:g}], got dt={dt!r}")


def _check_density(n, name):
    if (
        isinstance(n, bool)
        or not isinstance(n, (int, float, np.integer, np.floating))
        or not 0 <= n <= 1
    ):
        raise ValueError(f"{name} must be a density in [0, 1], got {name}={n!r}")
    return float(n)


# --------------------------------------------------------------------------- deprecated aliases
_MOVED = {
    "noncrossing_partitions": ("cumulants", "noncrossing_partitions"),
    "set_partitions": ("cumulants", "set_partitions"),
    "cyclic_cumulant": ("cumulants", "cyclic_cumulant"),
    "loop_moments": ("cumulants", "loop_moments"),
    "loop_cumulants": ("cumulants", "loop_cumulants"),
    "cumulant_estimate": ("cumulants", "cumulant_estimate"),
    "MAX_ORDER": ("cumulants", "MAX_ORDER"),
    "circuit_loop_moments": ("freecircuit", "loop_moments"),
    "anderson_loop_statistics": ("anderson", "loop_statistics"),
    "anderson_cumulants": ("anderson", "loop_cumulants"),
}
"""Names that moved out of this module (issue 17): old name -> (module, new name)."""


def __getattr__(name):
    """Deprecated aliases of the moved names, imported on first use (this module imports neither
    :mod:`nqlib.anderson` nor :mod:`nqlib.freecircuit`)."""
    if name not in _MOVED:
        raise AttributeError(f"module 'nqlib.qssep' has no attribute {name!r}")
    module, new = _MOVED[name]
    warnings.warn(
        f"nqlib.qssep.{name} moved to nqlib.{module}.{new}; the old name goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"nqlib.{module}"), new)

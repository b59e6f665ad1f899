r"""QSSEP and free cumulants: the structure of coherence fluctuations in diffusive systems.

**Convention.** Hruza & Jin (HJ, arXiv 2024, Eq. 3) and the QSSEP literature write
:math:`G_{ij} = \langle c_j^\dagger c_i\rangle`; the rest of nqlib uses
:math:`C_{ij} = \langle c_i^\dagger c_j\rangle`, so :math:`G = C^T`. Every function here takes
and returns G (HJ convention) unless it says otherwise; :func:`circuit_loop_moments` transposes
the circuit's C explicitly.

**Cyclic cumulants** (HJ Eqs. 4-6). For a loop of sites :math:`i_1\to i_2\to\dots\to i_n\to i_1`
the connected (classical, joint) cumulant of the n coherences along the loop scales as

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

**Estimators.** For samples of G and a list of loops, :func:`loop_moments` returns the sample
means of the products of every subset of a loop's edges, and :func:`loop_cumulants` combines
them into the joint cumulant by the classical moment-cumulant (Möbius) formula over all set
partitions. Means of moments are additive over independent realizations, so the realization
functions return them and :func:`cumulant_estimate` gives the cumulants with jackknife errors
over realizations.

**Anderson model** (HJ Eqs. 7, 9-10). For :math:`G = \sum_k w_k\psi_k\psi_k^\dagger` built from
scattering states (:mod:`nqlib.anderson`; HJ's :math:`G^{\rm neq} = G^R(0^+) - G^L(0^-)` has
weights +1, -1) the transverse sums of the disorder cumulants of the loop variables follow from
per-realization sums. With slices a, b, c, blocks :math:`G_{ab}` (:math:`N_yN_z` square) and
:math:`\Sigma_\perp` the sum over all transverse positions,

.. math::

    \Sigma_\perp\kappa(G_{ij}, G_{ji}) = \overline{{\rm tr}\,G_{ab}G_{ba}}
        - {\rm tr}\,\overline{G_{ab}}\,\overline{G_{ba}}, \qquad
    \Sigma_\perp\kappa(G_{ij}, G_{jk}, G_{ki}) = \overline{{\rm tr}\,G_{ab}G_{bc}G_{ca}}
        - {\rm tr}\,\overline{G_{ab}G_{bc}}\,\overline{G_{ca}} - (2\ {\rm cyclic})
        + 2\,{\rm tr}\,\overline{G_{ab}}\,\overline{G_{bc}}\,\overline{G_{ca}} .

The disorder averages are translation invariant in the (periodic) transverse directions, hence
diagonal in transverse momentum q: only the momentum diagonals
:math:`(FXF^\dagger)_{qq}` of the blocks (F the unitary 2D Fourier transform) need to be kept
per realization. Traces of products use the channel-space Gram matrices
:math:`M_a = \psi_a^\dagger\psi_a`: :math:`{\rm tr}\,G_{ab}G_{bc}G_{ca} = {\rm tr}(WM_bWM_cWM_a)`.
"""

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from nqlib import _checks, anderson, freecircuit, gaussian, stats, trajectory

__all__ = [
    "noncrossing_partitions",
    "set_partitions",
    "cyclic_cumulant",
    "coordinate",
    "exact_second_moments",
    "evolve",
    "qssep_loop_moments",
    "circuit_loop_moments",
    "loop_moments",
    "loop_cumulants",
    "cumulant_estimate",
    "anderson_loop_statistics",
    "anderson_cumulants",
]

MAX_ORDER = 10
"""Largest cumulant order accepted by :func:`cyclic_cumulant` (NC(10) has 16796 partitions)."""

_CHUNK = 4096


# --------------------------------------------------------------------------- free cumulants
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


def cyclic_cumulant(xs, dn=1.0):
    r"""The QSSEP cyclic cumulant :math:`g_n(x_1,\dots,x_n)` (HJ Eq. 6) for a loop through ``xs``.

    ``xs`` is a sequence of n positions in [0, 1] in the order the loop visits them; each may be
    an array (all broadcast together), giving g_n elementwise. ``dn`` is the imbalance
    :math:`\Delta n`; the result is :math:`\Delta n^n\,\tilde g_n` with :math:`\tilde g_1 = x`.
    """
    if isinstance(dn, bool) or not isinstance(dn, (int, float, np.integer, np.floating)) or not np.isfinite(dn):
        raise ValueError(f"dn must be a finite real number, got dn={dn!r}")
    try:
        n = len(xs)
    except TypeError:
        raise ValueError(f"xs must be a sequence of positions (one per loop site), got {xs!r}") from None
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
    sector = np.unique(np.concatenate([(i * N + j) * d + (j * N + i), (i * N + i) * d + (j * N + j)]))
    Q = sp.kron(L, eye) + sp.kron(eye, L) - J * sum(sp.kron(Db, Dbd) + sp.kron(Dbd, Db) for Db, Dbd in bonds)
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


def qssep_loop_moments(rng, N, loops, n_samples, time_between, burn_in=None, dt=0.02, J=1.0, gamma_a=1.0,
                       gamma_b=1.0, n_a=0.0, n_b=1.0):
    """One QSSEP trajectory: loop moments averaged over ``n_samples`` stationary samples.

    Starts from the exact stationary mean (diagonal, linear profile), discards ``burn_in``
    time units (default :func:`nqlib.trajectory.burn_in`: 2 (N+1)**2 / J at gamma_a = gamma_b
    = J, 2 pi**2 relaxation times (N+1)**2 / (pi**2 J)), then samples G
    every ``time_between`` time units. The default J dt = 0.02 keeps the O(J dt) bias of the
    scheme (about 1 % of the second cumulant at J dt = 0.1, tests/test_qssep.py) near 0.2 %. ``loops`` maps names to (n_loops, n) site arrays; the
    result maps each name to :func:`loop_moments` of the samples, plus ``density`` (N,), the
    time average of diag G. A realization function for :func:`nqlib.ensemble.run_ensemble`.
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
    _checks.work(f"qssep_loop_moments with burn_in={burn_in}, n_samples={n_samples} at N={N}",
                 (burn_in + float(n_samples) * time_between) / dt * N**2)
    J, gamma_a, gamma_b = _check_rates(J, gamma_a, gamma_b)
    G = np.diag(n_a + (n_b - n_a) * x).astype(complex)
    states = trajectory.states(
        G, lambda G, time: _evolve(G, time, dt, rng, J, gamma_a, gamma_b, n_a, n_b), burn_in,
        time_between, n_samples)
    return _sample_moments(states, N, n_samples, loops)


def circuit_loop_moments(rng, L, p1, delta, loops, n_samples, sweeps_between=1.0, burn_in=None):
    """One p2 = 0 random circuit (:mod:`nqlib.freecircuit`): loop moments of its late-time states.

    Same sampling as :func:`nqlib.freecircuit.neas_samples` (start in local equilibrium, burn in
    ``burn_in`` time units, default :func:`nqlib.trajectory.burn_in`, 4 (L+1)**2; then a sample
    every ``sweeps_between``). The circuit's correlation matrix is C[i, j] = <c_i^dag c_j>; it is
    transposed to HJ's G = C^T before the loop products are taken. ``loops`` and the result as in
    :func:`qssep_loop_moments`. A realization function for :func:`nqlib.ensemble.run_ensemble`.
    """
    freecircuit._check_rng_and_gates(rng, p1, delta)
    _check_sites(L, "L")
    _checks.sample_count(n_samples)
    loops = _check_loops(loops, L)
    burn_in = trajectory.burn_in(L + 1) if burn_in is None else _checks.real("burn_in", burn_in, 0)
    sweeps_between = _checks.real("sweeps_between", sweeps_between, 0, open_low=True)
    _checks.memory(f"circuit_loop_moments at L={L}", _sample_bytes(L, n_samples, loops))
    steps = max(1, round(sweeps_between * (L + 1)))
    _checks.work(f"circuit_loop_moments with burn_in={burn_in}, n_samples={n_samples} at L={L}",
                 (burn_in * (L + 1) + float(n_samples) * steps) * L)
    # the chain evolves C; the samples handed to the loop products are G = C^T (HJ convention)
    states = trajectory.states(freecircuit.local_equilibrium(L, delta),
                               lambda C, gates: freecircuit._evolve(C, gates, rng, p1, delta),
                               round(burn_in * (L + 1)), steps, n_samples)
    return _sample_moments((C.T for C in states), L, n_samples, loops)


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
        raise ValueError(f"moments must hold >= 2 realizations along axis 0, got shape {moments.shape}")

    def parts(m):
        k = loop_cumulants(m.mean(axis=0))
        return np.stack([k.real, k.imag])

    est, err = stats.jackknife(parts, moments)
    return est[0] + 1j * est[1], err[0] + 1j * err[1]


def anderson_loop_statistics(rng, Nx, Ny, Nz, W, pairs=(), t=(1.0, 1.0, 1.0), leads="RL", energies=(0.2, -0.2),
                             weights=(1.0, -1.0), edge_tol=anderson.EDGE_TOL):
    r"""One disorder realization: the per-realization sums behind :func:`anderson_cumulants`.

    Draws ``V = anderson.potential(Nx, Ny, Nz, W, rng)`` and forms
    :math:`G = \sum_m w_m G^{\ell_m}(E_m)` (conventions of :func:`nqlib.anderson.disorder_moments`;
    the default is HJ's :math:`G^{\rm neq}`; its G_ij = sum_k psi_k(i) psi_k(j)^* is already in HJ
    convention). ``pairs`` lists slice pairs (b, c) at which the third-order cut
    :math:`i\in a \to j\in b\to k\in c\to i` is wanted for every slice a. Returns a dict:

    - ``mean`` (Nx, Nx, M): momentum diagonals of the blocks :math:`G_{ab}` (M = Ny Nz),
    - ``pair`` (Nx, Nx): :math:`{\rm tr}\,G_{ab}G_{ba}`,
    - ``square_mean`` (Nx, Nx, M): momentum diagonals of :math:`(G^2)_{ac}`, ``cube``: tr G^3,
    - ``triple`` (n_pairs, Nx): :math:`{\rm tr}\,G_{ab}G_{bc}G_{ca}`, and ``path_ab_bc``,
      ``path_bc_ca``, ``path_ca_ab`` (n_pairs, Nx, M): momentum diagonals of the two-edge products.

    A module-level function of ``rng`` and plain parameters, for :func:`nqlib.ensemble.run_ensemble`.
    """
    energies, weights = anderson._check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol)
    pairs = _check_pairs(pairs, Nx)
    V = anderson.potential(Nx, Ny, Nz, W, rng)
    blocks, w = [], []
    for lead, E, weight in zip(leads, energies, weights):
        psi = anderson.scattering_states(V, E, lead, t, edge_tol)
        blocks.append(psi)
        w.append(np.full(psi.shape[-1], float(weight)))
    psi, w = np.concatenate(blocks, axis=-1), np.concatenate(w)
    M = Ny * Nz
    phi = np.fft.fft2(psi, axes=(1, 2), norm="ortho").reshape(Nx, M, -1)  # transverse momentum
    gram = np.einsum("aqk,aql->akl", phi.conj(), phi, optimize=True)  # M_a (unitary F drops out)
    wgw = gram * np.outer(w, w)  # W M_a W
    total = wgw.sum(axis=0)
    A = gram * w[:, None]  # W M_a
    pwc = phi * w  # phi_a W
    out = {
        "mean": np.einsum("aqk,bqk->abq", pwc, phi.conj(), optimize=True),
        "pair": np.einsum("akl,blk->ab", A, A, optimize=True).real,
        "square_mean": np.einsum("aqk,cqk->acq", phi @ total, phi.conj(), optimize=True),
        "cube": np.trace(np.linalg.matrix_power(A.sum(axis=0), 3)).real,
    }
    triple, ab_bc, bc_ca, ca_ab = [], [], [], []
    for b, c in pairs:
        triple.append(np.einsum("akl,lk->a", A, A[b] @ A[c], optimize=True))
        ab_bc.append(np.einsum("aqk,kq->aq", phi, wgw[b] @ phi[c].conj().T, optimize=True))
        bc_ca.append(np.einsum("ql,aql->aq", phi[b] @ wgw[c], phi.conj(), optimize=True))
        ca_ab.append(np.einsum("akl,qk,ql->aq", gram, pwc[c], pwc[b].conj(), optimize=True))
    shape = (len(pairs), Nx, M)
    out["triple"] = np.array(triple).reshape(len(pairs), Nx)
    out["path_ab_bc"] = np.array(ab_bc).reshape(shape)
    out["path_bc_ca"] = np.array(bc_ca).reshape(shape)
    out["path_ca_ab"] = np.array(ca_ab).reshape(shape)
    return out


def anderson_cumulants(data, pairs=()):
    r"""Transverse sums of the disorder cumulants from stacked :func:`anderson_loop_statistics` (module doc).

    ``data``: dict of arrays with realizations along axis 0 (:func:`nqlib.ensemble.stack`);
    ``pairs`` as passed to the realization function. Returns a dict of ``(estimate, error)``
    (jackknife over realizations): ``g1`` (Nx,) = :math:`\Sigma_\perp \overline{G_{ii}}`;
    ``pair`` (Nx, Nx) = :math:`\Sigma_\perp\kappa(G_{ij},G_{ji})`, real;
    ``triple`` (n_pairs, Nx) = :math:`\Sigma_\perp\kappa(G_{ij},G_{jk},G_{ki})` (real part);
    ``m2`` and ``m3``: the sums of the second and third loop cumulants over all sites.
    Divide by :math:`(N_yN_z)^n` for HJ's transverse average :math:`[\cdot]_\perp` (Eq. 10).
    """
    need = ("mean", "pair", "square_mean", "cube", "triple", "path_ab_bc", "path_bc_ca", "path_ca_ab")
    if not isinstance(data, dict) or any(k not in data for k in need):
        raise ValueError(f"data must be a dict with keys {need} (stacked anderson_loop_statistics), got "
                         f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    pairs = _check_pairs(pairs, np.shape(data["mean"])[1])
    if np.shape(data["triple"])[1] != len(pairs):
        raise ValueError(f"pairs has {len(pairs)} entries but data holds {np.shape(data['triple'])[1]} cuts")
    b, c = pairs[:, 0], pairs[:, 1]

    def statistic(m):
        E = m["mean"]  # (Nx, Nx, M): mean blocks, momentum-diagonal
        Nx = E.shape[0]
        ET = np.swapaxes(E, 0, 1)
        pair = m["pair"] - np.einsum("abq,abq->ab", E, ET).real
        Eq = np.moveaxis(E, 2, 0)  # (M, Nx, Nx)
        m2 = m["pair"].sum() - np.einsum("abq,baq->", E, E).real
        m3 = m["cube"] - 3 * np.einsum("acq,caq->", m["square_mean"], E).real \
            + 2 * np.trace(Eq @ Eq @ Eq, axis1=1, axis2=2).sum().real
        a = np.arange(Nx)
        E_ab = E[a[None, :], b[:, None]]  # (n_pairs, Nx, M): mean G_ab
        E_bc = E[b, c][:, None, :]
        E_ca = E[c[:, None], a[None, :]]
        triple = (m["triple"] - np.sum(m["path_ab_bc"] * E_ca + m["path_bc_ca"] * E_ab + m["path_ca_ab"] * E_bc, axis=-1)
                  + 2 * np.sum(E_ab * E_bc * E_ca, axis=-1)).real
        g1 = np.einsum("aaq->a", E).real
        return {"g1": g1, "pair": pair, "triple": triple, "m2": m2, "m3": m3}

    return _jackknife_means(statistic, data)


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


def _jackknife_means(statistic, data):
    """Jackknife over realizations (axis 0) of a statistic of the realization means.

    ``data`` dict of arrays; ``statistic`` maps a dict of means to a dict of results. The
    leave-one-out means are (sum - x_i) / (R - 1), so each costs one pass over one realization.
    Returns {key: (estimate, error)} with error = sqrt((R-1)/R * sum_i (theta_i - mean)^2).
    """
    arrays = {k: np.asarray(v) for k, v in data.items()}
    R = len(next(iter(arrays.values())))
    if R < 2 or any(len(v) != R for v in arrays.values()):
        raise ValueError(f"data must hold the same number >= 2 of realizations in every entry, got "
                         f"{ {k: len(v) for k, v in arrays.items()} }")
    sums = {k: v.sum(axis=0) for k, v in arrays.items()}
    full = statistic({k: s / R for k, s in sums.items()})
    loo = [statistic({k: (sums[k] - arrays[k][i]) / (R - 1) for k in arrays}) for i in range(R)]
    out = {}
    for key, value in full.items():
        th = np.array([np.asarray(x[key]) for x in loo])
        out[key] = (np.asarray(value), np.sqrt((R - 1) / R * np.sum(np.abs(th - th.mean(axis=0)) ** 2, axis=0)))
    return out

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
    return [tuple(tuple(first[j] for j in b) for b in p) + t for p in _noncrossing(len(first)) for t in tail]


def _subsets(items, r):
    if r == 0:
        return [()]
    return [(items[i],) + s for i in range(len(items)) for s in _subsets(items[i + 1:], r - 1)]


@lru_cache(maxsize=None)
def _all_partitions(n):
    if n == 0:
        return ((),)
    out = []
    for p in _all_partitions(n - 1):
        out.append(p + ((n - 1,),))
        for k in range(len(p)):
            out.append(p[:k] + (p[k] + (n - 1,),) + p[k + 1:])
    return tuple(tuple(sorted(p)) for p in out)


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
                w00, w01, w10, w11 = np.conj(v00), np.conj(v10), np.conj(v01), np.conj(v11)  # V^dagger
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


def _check_order(n, name, low):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not low <= n <= MAX_ORDER:
        raise ValueError(f"{name} must be an integer in [{low}, {MAX_ORDER}], got {name}={n!r}")


def _check_sites(N, name="N"):
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {name}={N!r}")
    return int(N)


def _check_rates(J, gamma_a, gamma_b):
    for name, value in (("J", J), ("gamma_a", gamma_a), ("gamma_b", gamma_b)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not 0 < value < np.inf:
            raise ValueError(f"{name} must be a finite number > 0, got {name}={value!r}")
    return float(J), float(gamma_a), float(gamma_b)


def _check_dt(dt, J):
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) or not 0 < dt <= 0.5 / J:
        raise ValueError(f"dt must be a number in (0, 0.5 / J] = (0, {0.5 / J:g}], got dt={dt!r}")


def _check_density(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) or not 0 <= n <= 1:
        raise ValueError(f"{name} must be a density in [0, 1], got {name}={n!r}")
    return float(n)


def _check_loop_array(loops, N, name):
    arr = np.asarray(loops)
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.shape[1] > MAX_ORDER or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array (n_loops, n) with 1 <= n <= {MAX_ORDER}, "
                         f"got shape {arr.shape} and dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= N):
        raise ValueError(f"{name} must hold site indices in [0, {N}), got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def _check_pairs(pairs, Nx):
    """Slice pairs (b, c) as an (n_pairs, 2) int64 array of integers in [0, Nx - 1]."""
    flat = _checks.indices("pairs", np.reshape(pairs, -1), 0, Nx - 1, distinct=False, empty=True)
    if flat.size % 2:
        raise ValueError(f"pairs must be (b, c) slice pairs, got an odd number {flat.size} of entries")
    return flat.reshape(-1, 2)


def _check_loops(loops, N):
    if not isinstance(loops, dict) or not loops or not all(isinstance(k, str) for k in loops):
        raise ValueError(f"loops must be a non-empty dict mapping names to (n_loops, n) index arrays, got {loops!r}")
    if "density" in loops:
        raise ValueError("loops must not use the name 'density' (reserved for the profile)")
    return {name: _check_loop_array(idx, N, f"loops[{name!r}]") for name, idx in loops.items()}

r"""Scattering states of the free-fermion circuit: injected reservoir modes (GH Sec. V B).

At p2 = 0 every gate is Gaussian (:mod:`nqlib.gates`) and a one-particle wave function evolves
as :math:`\psi \to u\psi` on the gate's two sites (:mod:`nqlib.freecircuit`). A boundary gate
couples the end site e to a *fresh* reservoir mode r (occupation
:math:`\rho_L = (1+\delta)/2` on the left, :math:`\rho_R = (1-\delta)/2` on the right) and then
discards it. Following Gullans & Huse (PRX 9, 021007 (2019), Eqs. 76-77) we follow the reservoir
modes instead of the chain: the mode injected by boundary gate k starts as
:math:`\psi_k(e) = u_{er}` (zero elsewhere) and is then propagated by every later gate, the
bulk gates acting as :math:`\psi \to u\psi` and the boundary gates as
:math:`\psi(e) \to u_{ee}\psi(e)` (the part that leaves into the discarded reservoir mode is
lost). The same propagation applied to the initial sites gives :math:`M` (column j: the wave
function that started on site j), and, exactly,

.. math::

    C = \bar M^{\,} C_0 M^T + \rho_L\,G^L + \rho_R\,G^R, \qquad
    G^\alpha_{xy} = \sum_{k\in\alpha} \overline{\psi_k(x)}\,\psi_k(y) \qquad \text{(GH Eq. 77)}

(our C[x, y] = <c_x^dag c_y>). Unitarity of chain plus reservoirs gives the completeness relation
:math:`\bar M M^T + G^L + G^R = 1` (GH Eq. 78, :math:`\{c_x^\dagger, c_y\} = \delta_{xy}`); once
:math:`M` has decayed (the steady state) this turns Eq. 77 into
:math:`C = \rho_R\,1 + \delta\,G^L` (GH Eq. 79). :func:`propagate` returns the modes,
:func:`mode_sums` the three sums and :func:`correlation` the reconstructed C.

**Pair function** (the circuit analogue of GH Eq. 65; injection time takes the place of energy,
there is a single "channel", the boundary site). For left modes k, k' and a subsystem A,

.. math::

    \Phi^{kk'}_A = \sum_{x,y\in A}\bar\psi_k(x)\psi_{k'}(x)\psi_k(y)\bar\psi_{k'}(y)
                 - \sum_{x\in A}|\psi_k(x)|^2|\psi_{k'}(x)|^2,
    \qquad \Delta\Phi^{kk'}_{AB} = \Phi^{kk'}_{A\cup B} - \Phi^{kk'}_A - \Phi^{kk'}_B
      = 2\,{\rm Re}\,O^A_{kk'}\overline{O^B_{kk'}},

with :math:`O^A_{kk'} = \sum_{x\in A}\bar\psi_k(x)\psi_{k'}(x)`, and
:math:`\sum_{kk'}\Delta\Phi^{kk'}_{AB} = 2\sum_{x\in A, y\in B}|G^L_{xy}|^2`. The terms k = k'
are the "naive" count of GH Eq. 80 (each mode alone); the terms k != k' are the correlations
between modes injected at different times. :func:`pair_statistics` (a realization function for
:func:`nqlib.ensemble.run_ensemble`) histograms them by the lag :math:`|s_k - s_{k'}|` of the
injection times, in units of the diffusion time :math:`(L+1)^2` (one time unit = L + 1 gates).

**Exact averages.** Averaged over the gates, the squared amplitudes :math:`q = |\psi|^2` of one
mode obey closed linear equations: a Haar U(2) gate (μ1) sends :math:`(q_a, q_b)` to
:math:`(w, 1-w)(q_a+q_b)` with w uniform in [0, 1], an iSWAP (μ0) exchanges them. Hence
:math:`E q` diffuses (:func:`mean_profile`, GH Eqs. 74-75), and the naive sum
:math:`N_{xy} = E\sum_{k\in L} q_k(x) q_k(y)` solves a sparse linear system on the L^2 pairs
(:func:`naive_coherence`): with :math:`h = p_1` and :math:`m_2 = h/3 + (1-h)/2` (= E w^2), a bulk
gate on (a, b) maps :math:`N_{ay} \to (N_{ay}+N_{by})/2` (y outside the pair),
:math:`N_{aa} \to h\,S/3 + (1-h)(N_{aa}+N_{bb})/2`,
:math:`N_{ab} \to h\,S/6 + (1-h)(N_{ab}+N_{ba})/2` with :math:`S = N_{aa}+N_{ab}+N_{ba}+N_{bb}`;
a boundary gate maps :math:`N_{ey} \to N_{ey}/2`, :math:`N_{ee} \to m_2 N_{ee}` and, on the
left, injects :math:`m_2` at (e, e).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from nqlib import _checks, stats
from nqlib import freecircuit as _freecircuit
from nqlib import gates as _gates
from nqlib import gaussian as _gaussian

__all__ = [
    "InjectedModes",
    "propagate",
    "mode_sums",
    "correlation",
    "pair_function",
    "pair_statistics",
    "LagFunction",
    "lag_function",
    "mean_profile",
    "naive_coherence",
]

LEFT, RIGHT = 0, 1


@dataclass(frozen=True, eq=False)
class InjectedModes:
    """Wave functions at the end of a gate sequence (module docstring).

    ``psi`` (K, L): row k is the injected mode k, ``psi[k, x]`` = :math:`\\psi_k(x)`;
    ``gate`` (K,): index in the sequence of the boundary gate that injected it; ``side`` (K,):
    0 (left) or 1 (right); ``initial`` (L, L) or None: row j is the wave function that started
    on site j (:math:`M^T`); ``n_gates``: length of the sequence; ``L``: the chain length.
    """

    psi: np.ndarray
    gate: np.ndarray
    side: np.ndarray
    initial: np.ndarray | None
    n_gates: int
    L: int

    def times(self):
        """Injection times in time units (gate index / (L + 1))."""
        return self.gate / (self.L + 1)


def propagate(bonds, us, L, sides="LR", initial=True):
    """Propagate every injected reservoir mode through the gates ``us`` (n, 2, 2) on ``bonds`` (n,).

    ``bonds`` and ``us`` as in :func:`nqlib.freecircuit.apply_gates` (bond b joins sites b - 1
    and b; 0 and L are the boundary bonds). ``sides``: which reservoirs to follow ("L", "R" or
    "LR"); ``initial``: also propagate the L initial sites (needed to reconstruct C from an
    initial state). Returns :class:`InjectedModes`. Cost O(number of tracked modes) per gate.
    """
    L = _checks.integer("L", L, 2)
    bonds = _checks.indices("bonds", bonds, 0, L, distinct=False, empty=True)
    us = np.ascontiguousarray(_checks.array("us", us, dtype=complex))
    if us.shape != (len(bonds), 2, 2):
        raise ValueError(f"us must have shape ({len(bonds)}, 2, 2), got {us.shape}")
    if sides not in ("L", "R", "LR"):
        raise ValueError(f"sides must be 'L', 'R' or 'LR', got sides={sides!r}")
    if initial not in (True, False):
        raise ValueError(f"initial must be True or False, got initial={initial!r}")
    if us.size:
        _checks.unitary("us", us)
    left, right = "L" in sides, "R" in sides
    n_new = int(np.sum(bonds == 0)) * left + int(np.sum(bonds == L)) * right
    n0 = L if initial else 0
    _checks.memory(f"propagate at L={L} with {n_new} modes", 16 * L * (n0 + n_new))
    W = np.zeros((L, n0 + n_new), dtype=complex)
    W[:, :n0] = np.eye(L)[:, :n0]
    gate = np.full(n0 + n_new, -1, dtype=np.int64)
    n = _propagate_kernel(W, bonds, us, left, right, n0, gate)
    side = np.where(bonds[gate[n0:n]] == 0, LEFT, RIGHT)
    return InjectedModes(
        psi=W[:, n0:n].T.copy(),
        gate=gate[n0:n].copy(),
        side=side,
        initial=W[:, :n0].T.copy() if initial else None,
        n_gates=len(bonds),
        L=L,
    )


def mode_sums(modes):
    """(G^L, G^R, G^0): the mode sums of GH Eq. 77, G[x, y] = sum_k conj(psi_k(x)) psi_k(y).

    G^0 = conj(M) M^T comes from the initial sites (zeros if they were not propagated). By
    completeness (GH Eq. 78) G^L + G^R + G^0 = 1 when both sides and the initial sites are tracked.
    """
    modes = _check_modes(modes)
    out = []
    for sel in (modes.side == LEFT, modes.side == RIGHT):
        P = modes.psi[sel]
        out.append(P.conj().T @ P)
    R = modes.initial
    out.append(np.zeros((modes.L, modes.L), complex) if R is None else R.conj().T @ R)
    return tuple(out)


def correlation(modes, delta, C0=None):
    """C = conj(M) C0 M^T + rho_L G^L + rho_R G^R (GH Eq. 77), rho_{L,R} = (1 +- delta) / 2.

    ``C0`` (L, L): the initial correlation matrix; None drops the initial term (the steady-state
    form, exact once M has decayed). Needs both sides tracked.
    """
    modes = _check_modes(modes)
    delta = _checks.real("delta", delta, -1, 1)
    GL, GR, _ = mode_sums(modes)
    C = (1 + delta) / 2 * GL + (1 - delta) / 2 * GR
    if C0 is not None:
        if modes.initial is None:
            raise ValueError(
                "C0 needs the initial sites propagated: call propagate(..., initial=True)"
            )
        C0 = _checks.array("C0", C0, dtype=complex)
        if C0.shape != (modes.L, modes.L):
            raise ValueError(f"C0 must have shape ({modes.L}, {modes.L}), got {C0.shape}")
        C0 = _gaussian.check_correlation_matrix(C0, "C0")  # O(L^3), as the products below
        R = modes.initial
        C = C + R.conj().T @ C0 @ R
    return C


def pair_function(modes, A, B):
    r"""The matrix :math:`\Delta\Phi^{kk'}_{AB}` (K, K) of the left modes (module docstring).

    Dense in K: for a few thousand modes. Its sum is :math:`2\sum_{x\in A,y\in B}|G^L_{xy}|^2`.
    """
    modes = _check_modes(modes)
    A = _checks.indices("A", A, 0, modes.L - 1)
    B = _checks.indices("B", B, 0, modes.L - 1)
    if np.intersect1d(A, B).size:
        raise ValueError(
            f"A and B must be disjoint, got common sites {np.intersect1d(A, B).tolist()}"
        )
    P = modes.psi[modes.side == LEFT]
    _checks.memory(f"pair_function with {len(P)} modes", 48 * len(P) ** 2)
    OA = P[:, A].conj() @ P[:, A].T
    OB = P[:, B].conj() @ P[:, B].T
    return 2 * (OA * OB.conj()).real


def pair_statistics(rng, L, p1, window=3.0, n_bins=30, A=None, B=None, *, cut=None):
    r"""One realization: the left modes injected during the last ``window`` (L+1)^2 time units.

    Draws a circuit of ``round(window (L+1)^3)`` gates (p2 = 0, :func:`nqlib.gates.sample_sequence`
    in chunks of 65536, as :func:`nqlib.freecircuit.evolve`), propagates the left modes and, for
    the disjoint site sets ``A`` and ``B`` (default: the left half ``range(L // 2)`` and the rest;
    ``B`` defaults to the complement of ``A``; the integer ``cut=`` meaning A = [0, cut) is
    deprecated), returns a dict with

    - ``total``: :math:`\sum_{kk'}\Delta\Phi^{kk'}_{AB} = 2\sum_{A,B}|G^L_{xy}|^2`;
    - ``diag``: the naive part, :math:`\sum_k\Delta\Phi^{kk}_{AB}`;
    - ``lag`` (n_bins,): the sum of :math:`\Delta\Phi^{kk'}_{AB}` over k != k' (both orders) with
      :math:`|s_k - s_{k'}|/(L+1)^2` in bin i of ``n_bins`` equal bins of [0, window];
    - ``abs2`` (L, L): :math:`|G^L_{xy}|^2`; ``naive`` (L, L): :math:`\sum_k q_k(x) q_k(y)`;
    - ``n_modes``: the number of injected modes.

    The modes injected before the window are left out: their weight decays like
    :math:`e^{-\pi^2 \vartheta/2}` with age :math:`\vartheta` in units of (L+1)^2 (3e-7 at 3).
    """
    _checks.generator(rng)
    L = _checks.integer("L", L, 2)
    _gates._check_probabilities(p1, 0.0)
    window = _checks.real("window", window, 0, 50, open_low=True)
    n_bins = _checks.integer("n_bins", n_bins, 1, 10_000)
    if A is None and cut is None:
        A = range(L // 2)
    A, B = _checks.subsystems("circuitscattering.pair_statistics", L, A, B, cut=cut)
    steps = max(1, round(window * (L + 1) ** 3))
    K = 2 * steps // (L + 1) + 16  # twice the expected number of left modes
    _checks.memory(
        f"pair_statistics at L={L}, window={window}", 16 * L * K + 100 * 2048 * K + 150 * steps
    )
    bonds, us = [], []
    for start in range(0, steps, 1 << 16):
        b, u4 = _gates.sample_sequence(rng, min(1 << 16, steps - start), L, p1, 0.0)
        bonds.append(b)
        us.append(_freecircuit.single_particle_sequence(u4))
    modes = propagate(np.concatenate(bonds), np.concatenate(us), L, sides="L", initial=False)
    P = modes.psi
    t = modes.times() / (L + 1) ** 2
    q = np.abs(P) ** 2
    naive = q.T @ q
    G = P.conj().T @ P
    lag = np.zeros(n_bins)
    diag = 0.0
    for start in range(0, len(P), 2048):  # blocks of rows keep memory at O(2048 K)
        rows = slice(start, start + 2048)
        OA = P[rows][:, A].conj() @ P[:, A].T
        OB = P[rows][:, B].conj() @ P[:, B].T
        D = 2 * (OA * OB.conj()).real
        k = np.arange(start, start + len(D))
        diag += float(D[np.arange(len(D)), k].sum())
        D[np.arange(len(D)), k] = 0.0
        which = np.minimum(
            (np.abs(t[k][:, None] - t[None, :]) / window * n_bins).astype(np.int64), n_bins - 1
        )
        lag += np.bincount(which.ravel(), weights=D.ravel(), minlength=n_bins)
    abs2 = np.abs(G) ** 2
    return {
        "total": float(2 * abs2[np.ix_(A, B)].sum()),
        "diag": diag,
        "lag": lag,
        "abs2": abs2,
        "naive": naive,
        "n_modes": len(P),
    }


@dataclass(frozen=True)
class LagFunction:
    r"""The circuit's mode correlation against injection lag, with jackknife errors over circuits.

    ``theta`` (n_bins,): bin centres of the lag :math:`\vartheta = |s_k - s_{k'}|/(L+1)^2`;
    ``f``: :math:`f_{AB} = 2(L+1)^2\,\Phi_{AB}(0)`, from the first bin; ``i`` (n_bins,):
    :math:`i_{AB}(\vartheta) = \Phi_{AB}(\vartheta)/\Phi_{AB}(0)`; ``integral``:
    :math:`\int i_{AB}\,d|\vartheta|` over both signs of the lag, :math:`2\sum i\,\Delta\vartheta`;
    ``f_err``, ``i_err``, ``integral_err``: their jackknife errors.
    """

    theta: np.ndarray
    f: float
    f_err: float
    integral: float
    integral_err: float
    i: np.ndarray
    i_err: np.ndarray


def lag_function(lag, L, window):
    r"""GH's :math:`f_{AB}` and :math:`i_{AB}` (Eq. 65 ff.) for the circuit, from binned mode pairs.

    :math:`\Phi_{AB}(\vartheta)` is the mean over circuits of the ``lag`` sums of
    :func:`pair_statistics` per unit lag, ``lag / (width (L+1)^2)`` with bin width
    ``width = window / n_bins``: the sum of :math:`\Delta\Phi^{kk'}_{AB}` over mode pairs per pair
    of injection times. Each estimate is a ratio of means; its error is the jackknife over
    circuits (:func:`nqlib.stats.jackknife`).

    Parameters
    ----------
    lag : array_like, (n_circuits >= 2, n_bins)
        The ``lag`` outputs of :func:`pair_statistics`, one row per circuit.
    L : int
        Sites of the chain, >= 2.
    window : float
        The ``window`` the rows were recorded with, > 0.

    Returns
    -------
    LagFunction

    References
    ----------
    GH Eqs. 65-72 (scattering-state correlations, here with injection times for energies);
    chapter {doc}`circuit_scattering`.
    """
    lag = _checks.array("lag", lag, ndim=2)
    if lag.shape[0] < 2 or lag.shape[1] < 1:
        raise ValueError(
            f"lag must be an (n_circuits >= 2, n_bins >= 1) array, got shape {lag.shape}"
        )
    L = _checks.integer("L", L, 2)
    window = _checks.real("window", window, 0, open_low=True)
    if lag[:, 0].mean() == 0:
        raise ValueError("lag must have a nonzero mean in its first bin (i_AB is normalised by it)")
    width = window / lag.shape[1]
    theta = (np.arange(lag.shape[1]) + 0.5) * width
    density = lag / (width * (L + 1) ** 2)

    def estimate(d):
        mean = d.mean(axis=0)
        i = mean / mean[0]
        return np.concatenate([[2 * (L + 1) ** 2 * mean[0], 2 * np.sum(i) * width], i])

    value, error = stats.jackknife(estimate, density)
    return LagFunction(theta, value[0], error[0], value[1], error[1], value[2:], error[2:])


def mean_profile(L, ages):
    r"""Exact gate average :math:`E|\psi(x)|^2` (ages, L) of a left mode of each age (time units).

    Per gate the average is the linear map of the module docstring (the same for every p1); the
    age counts the gates after the injecting one, ``round(age (L+1))`` of them.
    """
    L = _checks.integer("L", L, 2)
    ages = np.atleast_1d(_checks.array("ages", ages))
    if ages.ndim != 1 or np.any(ages < 0):
        raise ValueError(f"ages must be non-negative finite numbers, got {ages!r}")
    _checks.memory(f"mean_profile at L={L}", 64 * L**2)
    T = np.zeros((L, L))
    for b in range(L + 1):  # average over the bond of one gate
        Tb = np.eye(L)
        if b == 0 or b == L:
            e = 0 if b == 0 else L - 1
            Tb[e, e] = 0.5
        else:
            a = b - 1
            Tb[np.ix_([a, a + 1], [a, a + 1])] = 0.5
        T += Tb / (L + 1)
    q = np.zeros(L)
    q[0] = 0.5
    out, done = np.empty((len(ages), L)), 0
    for i in np.argsort(ages):
        n = round(ages[i] * (L + 1))
        q = np.linalg.matrix_power(T, n - done) @ q
        done = n
        out[i] = q
    return out


def naive_coherence(L, p1):
    r"""Exact :math:`N_{xy} = E\sum_{k\in{\rm left}} |\psi_k(x)|^2|\psi_k(y)|^2` in the steady state.

    The naive (k = k') part of :math:`E|G^L_{xy}|^2` (GH Eq. 80); solves the sparse L^2 system of
    the module docstring. Returns (L, L).
    """
    L = _checks.integer("L", L, 2, 2000)
    _gates._check_probabilities(p1, 0.0)
    h, m2 = float(p1), p1 / 3 + (1 - p1) / 2
    _checks.memory(f"naive_coherence at L={L}", 2000 * L**2)
    idx = np.arange(L * L).reshape(L, L)
    rows, cols, vals = [idx.ravel()], [idx.ravel()], [np.full(L * L, float(L + 1))]

    def add(r, c, v):
        rows.append(np.ravel(r))
        cols.append(np.ravel(c))
        vals.append(np.broadcast_to(-np.asarray(v, dtype=float), np.shape(np.ravel(r))).copy())

    others = np.arange(L)
    for b in range(L + 1):
        if b == 0 or b == L:  # (N - T_b N): T_b halves row/column e, N_ee -> m2 N_ee
            e = 0 if b == 0 else L - 1
            rest = others[others != e]
            keep = np.ones((L, L), bool)
            keep[e, :] = keep[:, e] = False
            add(idx[keep], idx[keep], 1.0)
            add(idx[e, rest], idx[e, rest], 0.5)
            add(idx[rest, e], idx[rest, e], 0.5)
            add(idx[e, e], idx[e, e], m2)
            continue
        a, c = b - 1, b
        rest = others[(others != a) & (others != c)]
        keep = np.ones((L, L), bool)
        keep[[a, c], :] = keep[:, [a, c]] = False
        add(idx[keep], idx[keep], 1.0)
        for x in (a, c):
            for z in (a, c):
                add(idx[x, rest], idx[z, rest], 0.5)
                add(idx[rest, x], idx[rest, z], 0.5)
        pair = [(a, a), (a, c), (c, a), (c, c)]
        for x, y in pair:
            diagonal = x == y
            for z, w in pair:
                v = h / 3 if diagonal else h / 6
                if diagonal and (z, w) in ((a, a), (c, c)):
                    v += (1 - h) / 2
                if not diagonal and z != w:
                    v += (1 - h) / 2
                add(idx[x, y], idx[z, w], v)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(L * L, L * L)
    )
    rhs = np.zeros(L * L)
    rhs[0] = m2
    N = spla.spsolve(A.tocsc(), rhs).reshape(L, L)
    return (N + N.T) / 2


# --------------------------------------------------------------------------- private helpers
@njit(cache=True)
def _propagate_kernel(W, bonds, us, left, right, n0, gate):
    """Apply the gates to the columns of W (L, n_max) in place; inject new columns at the
    boundaries (module docstring). Returns the number of used columns."""
    L = W.shape[0]
    n = n0
    for t in range(bonds.size):
        b = bonds[t]
        u = us[t]
        if b == 0 or b == L:
            # pair index of the end site: 1 at the left (reservoir first), 0 at the right
            e, site = (1, 0) if b == 0 else (0, L - 1)
            uee = u[e, e]
            for k in range(n):
                W[site, k] = uee * W[site, k]
            if (b == 0 and left) or (b == L and right):
                W[site, n] = u[e, 1 - e]
                gate[n] = t
                n += 1
        else:
            a = b - 1
            u00, u01, u10, u11 = u[0, 0], u[0, 1], u[1, 0], u[1, 1]
            for k in range(n):
                x, y = W[a, k], W[a + 1, k]
                W[a, k] = u00 * x + u01 * y
                W[a + 1, k] = u10 * x + u11 * y
    return n


def _check_modes(modes):
    if not isinstance(modes, InjectedModes):
        raise ValueError(
            f"modes must be an InjectedModes (from propagate), got {type(modes).__name__}"
        )  # noqa: TRY004
    return modes

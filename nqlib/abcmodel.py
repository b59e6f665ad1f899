r"""The replicated density matrix: exact averages of the two-copy gate channel (GH App. B, E).

Entropies and purities of the late-time states need the second moment
:math:`E[\rho\otimes\rho]`, the fixed point of the averaged two-copy channel
(Gullans & Huse, Eq. B4). Its building block is the average over the gate measure
:math:`d\mu(p_1, p_2)` of GH Eq. 12 of

.. math::

    \mathcal{T}(U) = (U\otimes U^*)\otimes(U\otimes U^*),

acting on :math:`\mathrm{vec}(\rho)\otimes\mathrm{vec}(\rho)` of a two-site state, with
``vec`` the row-major flattening (so that :math:`\mathrm{vec}(U\rho U^\dagger) = (U\otimes U^*)\,
\mathrm{vec}(\rho)`).

The average is computed exactly. Every gate phase :math:`\phi` enters :math:`\mathcal{T}` as a
trigonometric polynomial of degree at most 4, so the mean over :math:`N = 5` equally spaced
values of each phase is exact. The SU(2) angle of the non-interacting-fermion gates, with
density :math:`\sin\theta/2` on :math:`[0, \pi]`, is integrated by Gauss-Legendre quadrature in
:math:`\theta`; the integrand is a trigonometric polynomial in :math:`\theta/2` times
:math:`\sin\theta`, an entire function, and 24 nodes reproduce it to rounding.

The fixed point is found exactly in the six-species (abc) representation for L <= 8
(:func:`steady_state`, :func:`average_purity`) and, to second order in the drive delta, for
hundreds of sites by :func:`second_order`, which works with a few excitations around the
delta = 0 state (see the comment block above :data:`EXCITATIONS`).
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from nqlib import _checks, fits
from nqlib import gates as _gates

__all__ = [
    "SPECIES",
    "two_copy_superoperator",
    "averaged_two_copy_gate",
    "two_copy_channel",
    "steady_state",
    "average_purity",
    "fixed_point_purity_excess",
    "reduced_gate",
    "reduced_boundary",
    "reduced_channel",
    "EXCITATIONS",
    "excitation_maps",
    "SecondOrder",
    "second_order",
    "ClosureCoefficients",
    "closure_coefficients",
    "SizeExponents",
    "size_exponents",
    "size_exponent_map",
]

MAX_L = 5
MAX_REDUCED_L = 8
#: the six site states of the abc model (GH App. E): pairs (copy-1 operator, copy-2 operator) with
#: u = |up><up|, d = |dn><dn|, r = |up><dn|, l = |dn><up|, as slot values (r1, c1, r2, c2)
SPECIES = {
    "a_up": (1, 0, 0, 1),  # (l, r): a coherence in copy 1 paired with its conjugate in copy 2
    "a_dn": (0, 1, 1, 0),  # (r, l)
    "b_up": (0, 0, 0, 0),  # (u, u)
    "b_dn": (1, 1, 1, 1),  # (d, d)
    "c_up": (0, 0, 1, 1),  # (u, d)
    "c_dn": (1, 1, 0, 0),  # (d, u)
}
_SPECIES_SLOTS = np.array([8 * r1 + 4 * c1 + 2 * r2 + c2 for r1, c1, r2, c2 in SPECIES.values()])
_TRACE = np.einsum("ab,cd->abcd", np.eye(2), np.eye(2)).reshape(16)  # tr in both copies
_SWAP = np.einsum("ad,bc->abcd", np.eye(2), np.eye(2)).reshape(16)  # sum rho1[r,c] rho2[c,r]


def two_copy_superoperator(U):
    """T(U) = (U (x) U*) (x) (U (x) U*) for a (4, 4) two-site gate: a (256, 256) array."""
    U = _checks.unitary("U", U)
    if U.shape != (4, 4):
        raise ValueError(f"U must be a (4, 4) two-site gate, got shape {U.shape}")
    one = np.kron(U, U.conj())
    return np.kron(one, one)


def averaged_two_copy_gate(p1, p2):
    """Exact E_mu[T(U)] over the gate measure dmu(p1, p2) of GH Eq. 12: a (256, 256) array
    (:func:`nqlib.gates.second_moment`, in the layout of :func:`two_copy_superoperator`)."""
    return _gates.second_moment(p1, p2)


def two_copy_channel(L, p1, p2, delta):
    """Averaged one-step channel of E[vec(rho) (x) vec(rho)] on L sites: sparse (16**L, 16**L).

    One step applies the averaged gate to a uniformly chosen bond among the L + 1 (GH Eq. B4);
    a boundary bond acts with a fresh reservoir spin in both copies, traced out in both. Each
    site carries a 16-dim slot (r1, c1, r2, c2): row and column of copy 1, then of copy 2, with
    0 = up = occupied; sites are ordered 0..L-1, site 0 most significant.
    """
    _check_size_and_drive(L, delta, max_L=MAX_L)
    G = _site_major(averaged_two_copy_gate(p1, p2))
    left, right = _boundary_maps(p1, p2, delta)
    maps = [_embed(left, 0, 1, L)]
    maps += [_embed(G, site, 2, L) for site in range(L - 1)]
    maps += [_embed(right, L - 1, 1, L)]
    return (sum(maps) / (L + 1)).tocsr()


def steady_state(L, p1, p2, delta, full=False):
    """Fixed point X = E[rho (x) rho] of the averaged two-copy channel, normalised by tr (x) tr.

    By default in the 6**L abc representation (:func:`reduced_channel`, L <= 8); with
    ``full=True`` in the full 16**L two-copy space (:func:`two_copy_channel`, L <= 5).
    """
    full = _checks.flag("full", full)
    T = two_copy_channel(L, p1, p2, delta) if full else reduced_channel(L, p1, p2, delta)
    trace = _TRACE if full else _TRACE[_SPECIES_SLOTS]
    start_site = _reservoir(0.5) if full else _reservoir(0.5)[_SPECIES_SLOTS]
    n = T.shape[0]
    A = (T - sp.identity(n, format="csr")).tolil()
    # replace one redundant equation by the normalisation: that of the all-b_up configuration
    # (a sector that the steady state occupies; equations of the a-sector are not redundant)
    local = _SPECIES_SLOTS[2] if full else 2
    row = local * ((16 if full else 6) ** L - 1) // ((16 if full else 6) - 1)
    A[row, :] = _product([trace] * L)
    rhs = np.zeros(n)
    rhs[row] = 1.0
    start = _product([start_site] * L)  # the fully mixed state: exact at delta = 0
    X, info = spla.bicgstab(A.tocsr(), rhs, x0=start, rtol=1e-14, atol=0.0, maxiter=20 * n)
    residual = np.abs(T @ X - X).max()
    if info != 0 or residual > 1e-12:
        raise RuntimeError(
            f"two-copy steady state not converged (info={info}, residual {residual:.1e})"
        )
    return X


def average_purity(L, p1, p2, delta, A=None, full=False, *, sites=None):
    """E[tr rho_A^2] over the late-time states; ``A``: distinct site indices in [0, L - 1],
    checked before the solve (default: the whole chain). ``sites=`` is the deprecated name of
    ``A`` (kept for one release)."""
    A = _checks.renamed("abcmodel.average_purity", "sites", sites, "A", A)
    full = _checks.flag("full", full)
    _check_size_and_drive(L, delta, max_L=MAX_L if full else MAX_REDUCED_L)
    A = set(range(L)) if A is None else set(_checks.indices("A", A, 0, L - 1, empty=True).tolist())
    X = steady_state(L, p1, p2, delta, full=full)
    swap, trace = (_SWAP, _TRACE) if full else (_SWAP[_SPECIES_SLOTS], _TRACE[_SPECIES_SLOTS])
    return float(np.real(_product([swap if k in A else trace for k in range(L)]) @ X))


def fixed_point_purity_excess(L, p1, p2, A=None, h=0.01, *, sites=None):
    """delta^2 coefficient of 2^|A| E[tr rho_A^2] from the exact fixed point (L <= 8).

    The reference route for :meth:`SecondOrder.purity_excess`: finite differences
    s(d) = (2^|A| :func:`average_purity` (d) - 1) / d^2 at d = h and 2h, Richardson-extrapolated
    to d -> 0, (4 s(h) - s(2h)) / 3 (error O(h^4): the purity is even in delta).

    Parameters
    ----------
    L : int
        Chain length in [2, 8].
    p1, p2 : float
        Gate probabilities, p1 + p2 <= 1.
    A : sequence of int, optional
        The subsystem: distinct site indices in [0, L - 1] (default the whole chain).
    h : float
        Step in delta, in (0, 0.5].
    sites : sequence of int, optional
        Deprecated name of ``A`` (kept for one release).

    Returns
    -------
    float

    References
    ----------
    GH App. E (the fixed point) and Eq. 37; chapter {doc}`abc_model`.
    """
    A = _checks.renamed("abcmodel.fixed_point_purity_excess", "sites", sites, "A", A)
    L = _checks.integer("L", L, 2, MAX_REDUCED_L)
    h = _checks.real("h", h, 0, 0.5, open_low=True)
    size = L if A is None else len(_checks.indices("A", A, 0, L - 1, empty=True))

    def slope(d):
        return (2**size * average_purity(L, p1, p2, d, A) - 1) / d**2

    return float((4 * slope(h) - slope(2 * h)) / 3)


def reduced_gate(p1, p2):
    """The averaged bulk gate restricted to the six abc species on both sites: (36, 36), real.

    Rows and columns are (species of the first site, species of the second) in the order of
    :data:`SPECIES`. The six-pair subspace is invariant (see the tests), so this is exact.
    """
    G = _site_major(averaged_two_copy_gate(p1, p2))
    pair = (_SPECIES_SLOTS[:, None] * 16 + _SPECIES_SLOTS[None, :]).ravel()
    return np.real(G[np.ix_(pair, pair)])


def reduced_boundary(p1, p2, delta, side):
    """Averaged boundary map on the end site, restricted to the six species: (6, 6), real.

    ``side`` is "left" (reservoir density (1+delta)/2) or "right" ((1-delta)/2).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got side={side!r}")
    _checks.drive(delta)
    B = _boundary_maps(p1, p2, delta)[0 if side == "left" else 1]
    return np.real(B[np.ix_(_SPECIES_SLOTS, _SPECIES_SLOTS)])


def reduced_channel(L, p1, p2, delta):
    """The abc model: :func:`two_copy_channel` restricted to the 6**L species configurations."""
    _check_size_and_drive(L, delta, max_L=MAX_REDUCED_L)
    G = reduced_gate(p1, p2)
    left, right = (reduced_boundary(p1, p2, delta, side) for side in ("left", "right"))
    maps = [_embed(left, 0, 1, L, 6)]
    maps += [_embed(G, site, 2, L, 6) for site in range(L - 1)]
    maps += [_embed(right, L - 1, 1, L, 6)]
    return (sum(maps) / (L + 1)).tocsr()


def _boundary_maps(p1, p2, delta):
    """Averaged gate with a fresh reservoir spin on the first (left) / second (right) site, traced out."""
    G4 = _site_major(averaged_two_copy_gate(p1, p2)).reshape(
        16, 16, 16, 16
    )  # (out1, out2, in1, in2)
    left = np.einsum("xyzw,x,z->yw", G4, _TRACE, _reservoir((1 + delta) / 2))
    right = np.einsum("xyzw,y,w->xz", G4, _TRACE, _reservoir((1 - delta) / 2))
    return left, right


def _check_size_and_drive(L, delta, max_L):
    _checks.integer("L", L, 2, max_L)
    _checks.drive(delta)


def _site_major(E):
    """Reorder a two-site two-copy matrix from (copy, row/col, site) to site-major slots."""
    # binary axes of E's row index: r1a r1b c1a c1b r2a r2b c2a c2b -> r1a c1a r2a c2a r1b c1b r2b c2b
    order = [0, 2, 4, 6, 1, 3, 5, 7]
    return E.reshape((2,) * 16).transpose(order + [8 + k for k in order]).reshape(256, 256)


def _embed(local, first, width, L, dim=16):
    """kron(I, local, I) with ``local`` on ``width`` consecutive site slots starting at ``first``."""
    before, after = dim**first, dim ** (L - first - width)
    return sp.kron(
        sp.kron(sp.identity(before), sp.csr_matrix(local)), sp.identity(after), format="csr"
    )


def _reservoir(occupation):
    rho = np.diag([occupation, 1 - occupation])
    return np.einsum("ab,cd->abcd", rho, rho).reshape(16)


def _product(vectors):
    out = np.ones(1)
    for v in vectors:
        out = np.kron(out, v)
    return out


# --------------------------------------------------------------------------------------------
# Second order in delta: excitations around the delta = 0 fixed point
# --------------------------------------------------------------------------------------------
#
# At delta = 0 the fixed point is the fully mixed state in both copies. Write each site in the
# basis (1 (x) 1, z (x) 1, 1 (x) z, z (x) z, a_up, a_dn) ("vacuum" and five excitations), so that
# the coefficient of a configuration is E[prod <P_k> <P'_k>]. A coherence pair a_up(i) a_dn(j)
# carries the Jordan-Wigner string z (x) z on the sites between, which would make a two-point
# coherence a (j - i + 1)-excitation state; the gauge below multiplies every site inside a string
# by z (x) z, after which the pair is a two-excitation state (this is a diagonal +-1 change of the
# species basis: a c species inside a string changes sign). In this frame the delta-expansion
# X = X0 + delta X1 + delta^2 X2 + ... of the fixed point has X1 on single z excitations (the
# SSEP profile) and, whenever p1 * p2 = 0, X2 on at most two excitations, so that a sector of
# <= 2 excitations is exact at O(delta^2). With p1, p2 > 0 (phase III) the gates dress a pair
# with further excitations; truncating at K excitations is then the closure of GH App. E
# (connected n-point functions beyond the two-point ones are dropped), and K = 3 measures it.

#: the local basis of the excitation frame
EXCITATIONS = ("vac", "z1", "1z", "zz", "a_up", "a_dn")
_CHARGE = np.array([0, 0, 0, 0, 1, -1])
_IS_A = np.array([False, False, False, False, True, True])  # in the excitation basis
_SPECIES_IS_A = np.array([True, True, False, False, False, False])
_SPECIES_IS_C = np.array([False, False, False, False, True, True])
# species amplitudes (a_up, a_dn, b_up, b_dn, c_up, c_dn) -> excitation coefficients
_TO_EXCITATIONS = np.array(
    [
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, -1, 1, -1],
        [0, 0, 1, -1, -1, 1],
        [0, 0, 1, 1, -1, -1],
        [1, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
    ],
    dtype=float,
)
MAX_SECOND_ORDER_L = 400


def _gauge(parity):
    """Signs of the 36 two-site species pairs when ``parity`` a's lie to the left of the pair."""
    first, second = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    flips = _SPECIES_IS_C[first] * parity + _SPECIES_IS_C[second] * (parity + _SPECIES_IS_A[first])
    return np.where(flips.ravel() % 2 == 1, -1.0, 1.0)


def excitation_maps(p1, p2, dephased=False):
    """The local maps of the abc model in the gauged excitation frame, split by order in delta.

    Returns ``(bulk, left, right)``: ``bulk[p]`` is the (36, 36) averaged gate on a bond with
    ``p`` (0 or 1) a-excitations to its left; ``left[n]`` and ``right[p][n]`` are the (6, 6)
    boundary maps' coefficients of delta**n (n = 0, 1, 2; they are quadratic in delta).
    ``dephased=True`` follows every gate by a z-basis measurement (GH Eq. 54): in both copies
    the coherences are removed, i.e. the maps are projected off the a species.
    """
    _gates._check_probabilities(p1, p2)
    dephased = _checks.flag("dephased", dephased)
    M = _TO_EXCITATIONS
    M2, M2inv = np.kron(M, M), np.linalg.inv(np.kron(M, M))
    keep = np.where(_SPECIES_IS_A & dephased, 0.0, 1.0)
    keep2 = np.kron(keep, keep)
    G = keep2[:, None] * reduced_gate(p1, p2) * keep2[None, :]
    bulk = [M2 @ (_gauge(p)[:, None] * G * _gauge(p)[None, :]) @ M2inv for p in (0, 1)]

    def orders(side, parity):
        sign = keep * np.where(_SPECIES_IS_C & (parity == 1), -1.0, 1.0)
        B = {
            d: M @ (sign[:, None] * reduced_boundary(p1, p2, d, side) * sign) @ np.linalg.inv(M)
            for d in (-1.0, 0.0, 1.0)
        }
        return [B[0.0], (B[1.0] - B[-1.0]) / 2, (B[1.0] + B[-1.0]) / 2 - B[0.0]]

    return bulk, orders("left", 0), [orders("right", p) for p in (0, 1)]


class _Sector:
    """Charge-neutral configurations of at most ``K`` excitations on ``L`` sites.

    Row n holds the sorted positions ``pos[n]`` (``L`` marks an empty slot) and the excitations
    ``state[n]`` (0 in empty slots); configuration 0 is the vacuum.
    """

    def __init__(self, L, K):
        self.L, self.K = L, K
        pos, state = [np.full((1, K), L)], [np.zeros((1, K), dtype=np.int64)]
        for k in range(1, K + 1):
            sites = np.array(list(itertools.combinations(range(L), k)), dtype=np.int64)
            kinds = np.array(
                [
                    s
                    for s in itertools.product(range(1, 6), repeat=k)
                    if _CHARGE[list(s)].sum() == 0
                ],
                dtype=np.int64,
            )
            if len(kinds) == 0:
                continue
            pad = np.full((len(sites) * len(kinds), K - k), L)
            pos.append(np.hstack([np.repeat(sites, len(kinds), axis=0), pad]))
            state.append(np.hstack([np.tile(kinds, (len(sites), 1)), 0 * pad]))
        pos, state = np.vstack(pos), np.vstack(state)
        keys = self._encode(pos, state)
        order = np.argsort(keys)  # the vacuum has key 0 and comes first
        self.pos, self.state, self.keys = pos[order], state[order], keys[order]

    def __len__(self):
        return len(self.keys)

    def _encode(self, pos, state):
        base = 6 * (self.L + 2)
        key = np.zeros(len(pos), dtype=np.int64)
        for slot in range(self.K):
            key = key * base + np.where(
                state[:, slot] > 0, (pos[:, slot] + 1) * 6 + state[:, slot], 0
            )
        return key

    def lookup(self, pos, state):
        """Indices of configurations given by unsorted slots (empty: state 0), at most K filled."""
        pos = np.where(state == 0, self.L, pos)
        order = np.argsort(pos, axis=1, kind="stable")
        pos = np.take_along_axis(pos, order, axis=1)
        state = np.take_along_axis(state, order, axis=1)
        if np.any(pos[:, self.K :] < self.L):
            raise AssertionError("configuration with more than K excitations")
        key = self._encode(pos[:, : self.K], state[:, : self.K])
        index = np.searchsorted(self.keys, key)
        if np.any(index >= len(self.keys)) or np.any(
            self.keys[np.minimum(index, len(self) - 1)] != key
        ):
            raise AssertionError("a transition left the charge-neutral sector")
        return index

    def apply(self, configs, first, width, local_maps):
        """Entries (rows, cols, values) of local maps, projected on the sector.

        Configuration ``configs[n]`` is acted on at sites ``first[n]`` .. ``first[n] + width - 1``
        by ``local_maps[p]``, the (6**width, 6**width) map when ``p`` a-excitations (mod 2) lie to
        the left of the first site. Outputs with more than K excitations are dropped.
        """
        c = np.asarray(configs)
        first = np.broadcast_to(np.asarray(first), c.shape)[:, None]
        pos, state = self.pos[c], self.state[c]
        inside = (pos >= first) & (pos < first + width)
        local_in = np.zeros(len(c), dtype=np.int64)
        for j in range(width):
            local_in = 6 * local_in + (state * (pos == first + j)).sum(axis=1)
        parity = ((pos < first) & _IS_A[state]).sum(axis=1) % 2
        outside_state = np.where(inside, 0, state)
        n_outside = (outside_state > 0).sum(axis=1)
        rows, cols, vals = [], [], []
        for out in range(6**width):
            local_out = [(out // 6 ** (width - 1 - j)) % 6 for j in range(width)]
            weight = np.where(
                parity == 0, local_maps[0][out, local_in], local_maps[1][out, local_in]
            )
            keep = (np.abs(weight) > 1e-14) & (n_outside + sum(s > 0 for s in local_out) <= self.K)
            if not keep.any():
                continue
            new_pos = np.hstack([pos[keep], first[keep] + np.arange(width)])
            new_state = np.hstack([outside_state[keep], np.tile(local_out, (int(keep.sum()), 1))])
            rows.append(self.lookup(new_pos, new_state))
            cols.append(c[keep])
            vals.append(weight[keep])
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _generators(sector, p1, p2, dephased):
    """Continuous-time generators (L + 1)(T - 1) on the sector, as coefficients of delta**n, n = 0, 1, 2."""
    L, n = sector.L, len(sector)
    bulk, left, right = excitation_maps(p1, p2, dephased)
    for G in bulk:  # two empty sites stay empty: untouched bonds can be left out
        assert np.allclose(G[:, 0], np.eye(36)[0], atol=1e-13)
    # bulk bonds touching an excitation: (config, bond) pairs
    occupied = np.hstack([sector.pos, sector.pos]) < L
    bond = np.hstack([sector.pos - 1, sector.pos])
    config = np.repeat(np.arange(n)[:, None], bond.shape[1], axis=1)
    valid = occupied & (bond >= 0) & (bond <= L - 2)
    pairs = np.unique(config[valid] * L + bond[valid])
    c, k = pairs // L, pairs % L
    everyone = np.arange(n)
    W = []
    for order in range(3):
        parts = [
            sector.apply(everyone, 0, 1, [left[order], left[order]]),
            sector.apply(everyone, L - 1, 1, [right[0][order], right[1][order]]),
        ]
        if order == 0:
            parts += [
                sector.apply(c, k, 2, bulk),
                (c, c, -np.ones(len(c))),
                (everyone, everyone, np.full(n, -2.0)),
            ]
        rows, cols, vals = (np.concatenate(x) for x in zip(*parts))
        W.append(sp.csr_matrix((vals, (rows, cols)), shape=(n, n)))
    return W


@dataclass(frozen=True, eq=False)
class SecondOrder:
    r"""The fixed point of the abc model to O(delta^2), X = X0 + delta X1 + delta^2 X2.

    Attributes (all per delta or delta^2, sites 0-based):

    - ``magnetization[i]`` = <z_i> / delta (the SSEP profile),
    - ``fluctuation[i]`` = h_i / delta^2 with h_i = Var<u_i> over the NEAS ensemble (GH Eq. 40),
    - ``coherence[i, j]`` = E|<c_i^dag c_j>|^2 / delta^2 (Jordan-Wigner fermions; i != j),
    - ``covariance[i, j]`` = Cov(<z_i>, <z_j>) / delta^2 for i != j.
    """

    L: int
    p1: float
    p2: float
    max_excitations: int
    dephased: bool
    magnetization: np.ndarray
    fluctuation: np.ndarray
    coherence: np.ndarray
    covariance: np.ndarray
    _sector: _Sector
    _X2: np.ndarray

    def purity_excess(self, A=None, *, sites=None):
        """delta^2 coefficient of 2^|A| E[tr rho_A^2]; ``A``: distinct site indices (default the
        whole chain). ``sites=`` is the deprecated name of ``A`` (kept for one release)."""
        A = _checks.renamed("SecondOrder.purity_excess", "sites", sites, "A", A)
        return float(self._purity_weights(self._subset(A)) @ self._X2)

    def entropy_deficit(self, A=None, *, sites=None):
        r"""delta^2 coefficient of Delta S_A = S(rho_LE,A) - E S(rho_A), in nats (GH Eq. 37).

        To this order Delta S_A = (2^|A| / 2)(E tr rho_A^2 - tr rhobar_A^2), and the single-copy
        average rhobar has 2^|A| tr rhobar_A^2 = 1 + delta^2 sum_{i in A} m_i^2 + O(delta^4).
        ``A``: distinct site indices (default the whole chain); ``sites=`` is its deprecated name.
        """
        A = self._subset(_checks.renamed("SecondOrder.entropy_deficit", "sites", sites, "A", A))
        return 0.5 * (
            self.purity_excess(sorted(A)) - float(np.sum(self.magnetization[sorted(A)] ** 2))
        )

    def mutual_information(self, A=None, B=None, *, cut=None):
        """delta^2 coefficient of I(A:B) between the site sets A and B (default: the two halves).

        ``A``, ``B``: disjoint, non-empty index sets; ``B`` defaults to the complement of ``A``
        and ``A`` to sites [0, L // 2). I = Delta S_AB - Delta S_A - Delta S_B to this order
        (rhobar's own I is O(delta^4)). An integer ``A`` (or ``cut=``) meaning the cut
        [0, cut) | [cut, L) is deprecated (write ``range(cut)``).
        """
        if A is None and B is None and cut is None:
            A = range(self.L // 2)
        A, B = _checks.subsystems("SecondOrder.mutual_information", self.L, A, B, cut=cut)
        both = np.concatenate([A, B])
        return self.entropy_deficit(both) - self.entropy_deficit(A) - self.entropy_deficit(B)

    def _subset(self, A):
        return (
            set(range(self.L))
            if A is None
            else set(_checks.indices("A", A, 0, self.L - 1).tolist())
        )

    def _purity_weights(self, A):
        """Functional 2^|A| tr(rho_A^2) on the gauged excitation configurations."""
        sec, L = self._sector, self.L
        in_A = np.zeros(L + 1, dtype=bool)  # index L: empty slot
        in_A[sorted(A)] = True
        pos, state = sec.pos, sec.state
        occupied = pos < L
        a_before = np.cumsum(_IS_A[state], axis=1) - _IS_A[state]
        inside = occupied & (a_before % 2 == 1) & ~_IS_A[state]  # excitations inside a string
        swap = np.array([1.0, 0, 0, 1, 2, 2])  # on A: 2 tr(O1 O2) in the excitation basis
        trace_out, trace_in = np.array([1.0, 0, 0, 0, 0, 0]), np.array([0.0, 0, 0, 1, 0, 0])
        factor = np.where(
            in_A[pos], swap[state], np.where(inside, trace_in[state], trace_out[state])
        )
        weight = np.where(occupied, factor, 1.0).prod(axis=1)
        # a traced site inside a string must carry z (x) z: an empty one kills the configuration
        traced_before = np.concatenate([[0], np.cumsum(~in_A[:L])])  # traced sites left of k
        is_a = _IS_A[state] & occupied
        a_index = np.cumsum(is_a, axis=1) - is_a
        opening = is_a & (a_index % 2 == 0)
        closing = is_a & (a_index % 2 == 1)
        span = np.where(closing, traced_before[np.minimum(pos, L)], 0).sum(axis=1) - np.where(
            opening, traced_before[np.minimum(pos + 1, L)], 0
        ).sum(axis=1)
        traced_inside = (inside & ~in_A[pos]).sum(axis=1)
        return np.where(span == traced_inside, weight, 0.0)


def second_order(L, p1, p2, max_excitations=2, dephased=False):
    """Solve the abc model to O(delta^2) on a sector of at most ``max_excitations`` excitations.

    ``max_excitations=2`` (L up to :data:`MAX_SECOND_ORDER_L`) is exact at O(delta^2) when
    p1 * p2 = 0 or ``dephased`` (the measured model of GH Eq. 54, see :func:`excitation_maps`),
    and a closure that drops three-excitation states otherwise (phase III);
    ``max_excitations=L`` is exact for any gates.
    """
    if (
        isinstance(L, bool)
        or not isinstance(L, (int, np.integer))
        or not 2 <= L <= MAX_SECOND_ORDER_L
    ):
        raise ValueError(f"L must be an integer in [2, {MAX_SECOND_ORDER_L}], got L={L!r}")
    K = max_excitations
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 2 <= K <= L:
        raise ValueError(f"max_excitations must be an integer in [2, L], got {K!r}")
    size = sum(math.comb(L, k) * 6**k for k in range(K + 1))
    if size > 5e7:
        raise ValueError(
            f"the sector of {K} excitations on {L} sites is too large ({size:.1e} configurations)"
        )
    _gates._check_probabilities(p1, p2)
    dephased = _checks.flag("dephased", dephased)
    sector = _Sector(int(L), int(K))
    W0, W1, W2 = _generators(sector, p1, p2, bool(dephased))
    solve = spla.splu(W0[1:, 1:].tocsc()).solve
    X0 = np.zeros(len(sector))
    X0[0] = 1.0
    X1, X2 = np.zeros_like(X0), np.zeros_like(X0)
    X1[1:] = solve(-(W1 @ X0)[1:])
    X2[1:] = solve(-(W1 @ X1 + W2 @ X0)[1:])
    for X, source in ((X1, W1 @ X0), (X2, W1 @ X1 + W2 @ X0)):
        residual = np.abs(W0 @ X + source).max()
        if residual > 1e-10 * max(1.0, np.abs(source).max()):
            raise RuntimeError(f"second-order abc solve did not converge (residual {residual:.1e})")
    return _second_order_result(sector, p1, p2, bool(dephased), X1, X2)


def _second_order_result(sector, p1, p2, dephased, X1, X2):
    L, pos, state = sector.L, sector.pos, sector.state
    single = (pos[:, 0] < L) & (np.sum(pos < L, axis=1) == 1)
    double = np.sum(pos < L, axis=1) == 2

    def one(kind, X):
        out = np.zeros(L)
        sel = single & (state[:, 0] == kind)
        out[pos[sel, 0]] = X[sel]
        return out

    def two(first, second, X):
        out = np.zeros((L, L))
        sel = double & (state[:, 0] == first) & (state[:, 1] == second)
        out[pos[sel, 0], pos[sel, 1]] = X[sel]
        return out

    m = one(1, X1)
    coherence = two(4, 5, X2)
    coherence = coherence + coherence.T
    cross = two(1, 2, X2)
    covariance = cross + cross.T - np.outer(m, m)
    np.fill_diagonal(covariance, 0.0)
    return SecondOrder(
        L=L,
        p1=p1,
        p2=p2,
        max_excitations=sector.K,
        dephased=dephased,
        magnetization=m,
        fluctuation=(one(3, X2) - m**2) / 4,
        coherence=coherence,
        covariance=covariance,
        _sector=sector,
        _X2=X2,
    )


@dataclass(frozen=True)
class ClosureCoefficients:
    r"""GH's phase-III coefficients read off the O(delta^2) solution, extrapolated in 1/L.

    Attributes
    ----------
    alpha1 : float
        p1 L times the single-site part 2 sum_i h_i of Delta S / delta^2 (GH's alpha_1).
    alpha2 : float
        p2 L times the coherence part 4 sum_{i<j} a_ij of Delta S / delta^2 (GH's alpha_2).
    alpha3 : float
        p2^(3/2) L^2 I(L:R) / delta^2 across the middle cut (GH's alpha_3).
    """

    alpha1: float
    alpha2: float
    alpha3: float


def closure_coefficients(p1, p2, sizes, max_excitations=2):
    r"""The coefficients alpha_1, alpha_2, alpha_3 of phase III from :func:`second_order`.

    Each of the scaled quantities of :class:`ClosureCoefficients` is computed on every chain
    length in ``sizes`` and extrapolated linearly in 1/L (:func:`nqlib.fits.extrapolate`; for
    two sizes L and 2L this is 2 f(2L) - f(L)). With the default two-excitation closure the
    values are those of the closure (GH's analytic forms are 3 - p1, 2 + sqrt(2 p2/(2 - p2)) and
    sqrt(2 (2 - p2))).

    Parameters
    ----------
    p1, p2 : float
        Gate probabilities, p1 + p2 <= 1 (both > 0 for phase III).
    sizes : sequence of int
        At least two distinct chain lengths in [2, MAX_SECOND_ORDER_L].
    max_excitations : int
        Sector cap passed to :func:`second_order`.

    Returns
    -------
    ClosureCoefficients

    References
    ----------
    GH Eqs. 38-39 (alpha_1, alpha_2, alpha_3) and 46; chapter {doc}`abc_model`.
    """
    sizes = _checks.indices("sizes", sizes, 2, MAX_SECOND_ORDER_L).tolist()
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least two chain lengths, got sizes={sizes!r}")
    _gates._check_probabilities(p1, p2)
    parts = []
    for L in sizes:
        r = second_order(L, p1, p2, max_excitations=max_excitations)
        single, coherent = 2 * r.fluctuation.sum(), 4 * np.triu(r.coherence, 1).sum()
        parts.append([single * L * p1, coherent * L * p2, r.mutual_information() * L**2 * p2**1.5])
    parts = np.array(parts)
    return ClosureCoefficients(
        *(float(fits.extrapolate(sizes, parts[:, k]).params[0]) for k in range(3))
    )


@dataclass(frozen=True)
class SizeExponents:
    """Local exponents d ln X / d ln L between two chain lengths, X = Delta S or I(L:R).

    Attributes
    ----------
    entropy : float or ndarray
        Exponent of the entropy deficit Delta S of the whole chain.
    information : float or ndarray
        Exponent of the mutual information I(L:R) across the middle cut.
    """

    entropy: float
    information: float


def size_exponents(sizes, p1, p2, max_excitations=2):
    """How Delta S and I(L:R) (at O(delta^2)) scale with L: exponents between two lengths.

    Parameters
    ----------
    sizes : (int, int)
        Two distinct chain lengths L1 < L2 in [2, MAX_SECOND_ORDER_L].
    p1, p2 : float
        Gate probabilities, p1 + p2 <= 1.
    max_excitations : int
        Sector cap passed to :func:`second_order`.

    Returns
    -------
    SizeExponents
        ln(X(L2) / X(L1)) / ln(L2 / L1) for X = Delta S and X = I(L:R); not finite where X
        vanishes to rounding (I of the product states at p1 = 0).

    References
    ----------
    GH Fig. 4 and Sec. V (the phases of the crossover map); chapter {doc}`abc_model`.
    """
    sizes = _check_two_sizes(sizes)
    _gates._check_probabilities(p1, p2)
    (L1, L2), (small, large) = sizes, (second_order(L, p1, p2, max_excitations) for L in sizes)
    scale = np.log(L2 / L1)
    with np.errstate(divide="ignore", invalid="ignore"):  # X = 0 (to rounding): not finite
        return SizeExponents(
            entropy=float(np.log(large.entropy_deficit() / small.entropy_deficit()) / scale),
            information=float(
                np.log(large.mutual_information() / small.mutual_information()) / scale
            ),
        )


def size_exponent_map(sizes, p1, p2, max_excitations=2):
    """:func:`size_exponents` on the grid of every p1 in ``p1`` and p2 in ``p2`` (the crossover map).

    Parameters
    ----------
    sizes : (int, int)
        Two chain lengths L1 < L2 in [2, MAX_SECOND_ORDER_L].
    p1, p2 : array_like (n1,), (n2,)
        Gate probabilities in [0, 1]; grid points with p1 + p2 > 1 are skipped.
    max_excitations : int
        Sector cap passed to :func:`second_order`.

    Returns
    -------
    SizeExponents
        ``entropy`` and ``information`` as (n1, n2) arrays, NaN where p1 + p2 > 1.

    References
    ----------
    GH Fig. 4 (the phase diagram in p1 L^2, p2 L^2); chapter {doc}`abc_model`.
    """
    sizes = _check_two_sizes(sizes)
    p1 = _checks.array("p1", p1, 0, 1, ndim=1)
    p2 = _checks.array("p2", p2, 0, 1, ndim=1)
    out = np.full((2, len(p1), len(p2)), np.nan)
    for a, q1 in enumerate(p1):
        for b, q2 in enumerate(p2):
            if q1 + q2 <= 1:
                e = size_exponents(sizes, q1, q2, max_excitations)
                out[:, a, b] = e.entropy, e.information
    return SizeExponents(entropy=out[0], information=out[1])


def _check_two_sizes(sizes):
    """``sizes`` as [L1, L2] after checking they are two chain lengths L1 < L2."""
    sizes = _checks.indices("sizes", sizes, 2, MAX_SECOND_ORDER_L).tolist()
    if len(sizes) != 2 or sizes[0] >= sizes[1]:
        raise ValueError(f"sizes must be two chain lengths L1 < L2, got sizes={sizes!r}")
    return sizes

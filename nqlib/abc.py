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
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from nqlib import gates as _gates

__all__ = [
    "SPECIES",
    "two_copy_superoperator",
    "averaged_two_copy_gate",
    "two_copy_channel",
    "steady_state",
    "average_purity",
    "reduced_gate",
    "reduced_boundary",
    "reduced_channel",
]

_PHASES = 2 * np.pi * np.arange(5) / 5  # exact for trigonometric polynomials of degree <= 4
_THETA_NODES = 24
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
    U = np.asarray(U, dtype=complex)
    if U.shape != (4, 4):
        raise ValueError(f"U must be a (4, 4) two-site gate, got shape {U.shape}")
    one = np.kron(U, U.conj())
    return np.kron(one, one)


def averaged_two_copy_gate(p1, p2):
    """Exact E_mu[T(U)] over the gate measure dmu(p1, p2) of GH Eq. 12: a (256, 256) array."""
    _gates._check_probabilities(p1, p2)
    parts = [(1 - p1 - p2, _mu0()), (p1, _mu1()), (p2, _mu2())]
    return sum(weight * average for weight, average in parts if weight > 0)


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
        raise RuntimeError(f"two-copy steady state not converged (info={info}, residual {residual:.1e})")
    return X


def average_purity(L, p1, p2, delta, sites=None, full=False):
    """E[tr rho_A^2] over the late-time states, A = ``sites`` (0-based; default: the whole chain)."""
    X = steady_state(L, p1, p2, delta, full=full)
    A = set(range(L)) if sites is None else {int(s) for s in np.atleast_1d(sites)}
    if any(s < 0 or s >= L for s in A):
        raise ValueError(f"sites must lie in [0, {L - 1}], got {sorted(A)}")
    swap, trace = (_SWAP, _TRACE) if full else (_SWAP[_SPECIES_SLOTS], _TRACE[_SPECIES_SLOTS])
    return float(np.real(_product([swap if k in A else trace for k in range(L)]) @ X))


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
    G4 = _site_major(averaged_two_copy_gate(p1, p2)).reshape(16, 16, 16, 16)  # (out1, out2, in1, in2)
    left = np.einsum("xyzw,x,z->yw", G4, _TRACE, _reservoir((1 + delta) / 2))
    right = np.einsum("xyzw,y,w->xz", G4, _TRACE, _reservoir((1 - delta) / 2))
    return left, right


def _check_size_and_drive(L, delta, max_L):
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not 2 <= L <= max_L:
        raise ValueError(f"L must be an integer in [2, {max_L}], got L={L!r}")
    if not isinstance(delta, (int, float, np.integer, np.floating)) or not -1 <= delta <= 1:
        raise ValueError(f"delta must be a real number in [-1, 1], got delta={delta!r}")


def _site_major(E):
    """Reorder a two-site two-copy matrix from (copy, row/col, site) to site-major slots."""
    # binary axes of E's row index: r1a r1b c1a c1b r2a r2b c2a c2b -> r1a c1a r2a c2a r1b c1b r2b c2b
    order = [0, 2, 4, 6, 1, 3, 5, 7]
    return E.reshape((2,) * 16).transpose(order + [8 + k for k in order]).reshape(256, 256)


def _embed(local, first, width, L, dim=16):
    """kron(I, local, I) with ``local`` on ``width`` consecutive site slots starting at ``first``."""
    before, after = dim**first, dim ** (L - first - width)
    return sp.kron(sp.kron(sp.identity(before), sp.csr_matrix(local)), sp.identity(after), format="csr")


def _reservoir(occupation):
    rho = np.diag([occupation, 1 - occupation])
    return np.einsum("ab,cd->abcd", rho, rho).reshape(16)


def _product(vectors):
    out = np.ones(1)
    for v in vectors:
        out = np.kron(out, v)
    return out


def _weighted_average(gate_list, weights):
    """sum_n w_n T(U_n) without forming the n tensors: a Gram product of single-copy maps."""
    U = np.asarray(gate_list, dtype=complex)
    single = np.einsum("nab,ncd->nacbd", U, U.conj()).reshape(len(U), 256)
    pair = (single.T * np.asarray(weights)) @ single  # [(i, j), (k, l)] = sum_n w A_n[i,j] A_n[k,l]
    return pair.reshape(16, 16, 16, 16).transpose(0, 2, 1, 3).reshape(256, 256)


def _mu0():
    return _weighted_average([_gates.IDENTITY, _gates.ISWAP], [0.5, 0.5])


def _mu1():
    x, w = np.polynomial.legendre.leggauss(_THETA_NODES)
    theta = np.pi * (x + 1) / 2
    weight_theta = w * (np.pi / 2) * np.sin(theta) / 2  # density sin(theta)/2 on [0, pi]
    phi0, phi1, phi2, th = np.meshgrid(_PHASES, _PHASES, _PHASES, np.arange(_THETA_NODES), indexing="ij")
    phi0, phi1, phi2, th = (a.ravel() for a in (phi0, phi1, phi2, th))
    c, s = np.cos(theta[th] / 2), np.sin(theta[th] / 2)
    U = np.zeros((phi0.size, 4, 4), dtype=complex)
    U[:, 0, 0] = np.exp(1j * phi0)
    U[:, 3, 3] = np.exp(-1j * phi0)
    U[:, 1, 1] = np.exp(1j * phi1) * c
    U[:, 1, 2] = np.exp(1j * phi2) * s
    U[:, 2, 1] = -np.exp(-1j * phi2) * s
    U[:, 2, 2] = np.exp(-1j * phi1) * c
    weights = weight_theta[th] / len(_PHASES) ** 3
    return _weighted_average(U, weights)


def _mu2():
    a, b, c = (x.ravel() for x in np.meshgrid(_PHASES, _PHASES, _PHASES, indexing="ij"))
    n = a.size
    U1 = np.zeros((n, 4, 4), dtype=complex)
    U1[:, 0, 0], U1[:, 1, 1], U1[:, 2, 2], U1[:, 3, 3] = np.exp(1j * a), np.exp(1j * b), np.exp(1j * c), 1
    U2 = np.zeros((n, 4, 4), dtype=complex)
    U2[:, 0, 0], U2[:, 1, 2], U2[:, 2, 1], U2[:, 3, 3] = np.exp(1j * a), np.exp(1j * b), np.exp(1j * c), 1
    return _weighted_average(np.concatenate([U1, U2]), np.full(2 * n, 0.5 / n))

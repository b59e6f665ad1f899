r"""Entropies and correlations of dense density matrices on L qubits.

States are (2**L, 2**L) complex arrays in the computational basis with site 0 the most
significant qubit and, per site, basis state 0 = spin up = occupied, 1 = spin down = empty
(the gate basis (uu, ud, du, dd) of :mod:`nqlib.gates`). Entropies are in nats.

* von Neumann entropy :math:`S(\rho) = -\mathrm{tr}\,\rho\ln\rho`, purity :math:`\mathrm{tr}\,\rho^2`;
* partial traces over any set of sites; mutual information
  :math:`I(A:B) = S_A + S_B - S_{AB}` and log-negativity of disjoint site sets A, B (B defaults
  to the rest: a subsystem is ``(rho, A, B=None)`` as everywhere in nqlib);
* the fermionic correlation matrix :math:`C_{ij} = \mathrm{tr}[\rho\, c_i^\dagger c_j]` under
  the Jordan-Wigner map :math:`c_j^\dagger = \prod_{k<j}(-1)^{n_k}\,\sigma_j^+` with
  :math:`n = (1+\sigma^z)/2`, which for i < j gives
  :math:`c_i^\dagger c_j = \sigma_i^+ \big(\prod_{i<k<j} (-1)^{n_k}\big) \sigma_j^-`.

Every function of a state checks that ``rho`` is a density matrix: square, finite, Hermitian
(to 1e-10), with unit trace and no eigenvalue below -tol, both to tol = 1e-10 * dim
(:data:`STATE_TOL`). Functions that diagonalise rho anyway take the eigenvalues from that
diagonalisation; the others prove positivity by a Cholesky factorisation of rho + tol (a fifth
of the cost of a diagonalisation). :func:`partial_trace` is a linear map on any finite
operator and does not require a state.
"""

import numpy as np

from nqlib import _checks

__all__ = [
    "STATE_TOL",
    "n_sites",
    "entropy",
    "number_conserving_entropy",
    "purity",
    "partial_trace",
    "mutual_information",
    "log_negativity",
    "correlation_matrix",
]

STATE_TOL = 1e-10
"""Tolerance per dimension of the trace and positivity checks: tol = STATE_TOL * dim."""

_RAISE = np.array([[0, 1], [0, 0]], dtype=complex)  # |u><d| = sigma^+ (creates a particle)
_LOWER = _RAISE.T.copy()  # |d><u|
_PARITY = np.diag([-1.0, 1.0]).astype(complex)  # (-1)^n: -1 on an occupied site
_NUMBER = np.diag([1.0, 0.0]).astype(complex)
_ID = np.eye(2, dtype=complex)


def n_sites(rho):
    """Number of qubits L of a (2**L, 2**L) density matrix (ValueError otherwise)."""
    rho = np.asarray(rho)
    if (
        rho.ndim != 2
        or rho.shape[0] != rho.shape[1]
        or rho.shape[0] < 2
        or rho.shape[0] & (rho.shape[0] - 1)
    ):
        raise ValueError(
            f"rho must be a square (2**L, 2**L) array with L >= 1, got shape {rho.shape}"
        )
    return rho.shape[0].bit_length() - 1


def entropy(rho):
    """von Neumann entropy in nats of a density matrix (any square shape)."""
    return _entropy_of(_check_density_matrix(rho, diagonalise=True)[1])


def number_conserving_entropy(rho, atol=1e-10):
    """:func:`entropy` of a state that commutes with the particle number, block by block.

    The circuit's gates and reservoirs conserve the number of up spins, so states grown from a
    diagonal initial state (and their reduced states) are block-diagonal in it; diagonalising the
    blocks (largest C(L, L/2)) instead of the whole matrix is ~10x faster at L = 10. Raises
    ValueError if an entry between different particle numbers exceeds ``atol``. Positivity is
    checked on the eigenvalues of the blocks.
    """
    atol = _checks.real("atol", atol, 0)
    rho = _check_hermitian_unit_trace(rho)
    L = n_sites(rho)
    number = np.array([L - bin(k).count("1") for k in range(2**L)])  # basis bit 0 = up = occupied
    mixing = np.abs(rho[number[:, None] != number[None, :]])
    if mixing.size and mixing.max() > atol:
        raise ValueError(
            f"rho does not commute with the particle number: "
            f"off-sector entry {mixing.max():.2e} > atol={atol}"
        )
    total = 0.0
    for n in range(L + 1):
        block = np.flatnonzero(number == n)
        p = np.linalg.eigvalsh(rho[np.ix_(block, block)])
        _check_positive(p, len(rho))
        total -= float(np.sum(_plogp(p)))
    return total


def purity(rho):
    """tr rho^2."""
    rho, _ = _check_density_matrix(rho)
    return float(np.real(np.vdot(rho, rho)))


def partial_trace(rho, A=None, *, keep=None):
    """Reduced density matrix of the sites ``A`` (0-based, returned in increasing order).

    ``A``: distinct site indices in [0, L - 1] (empty gives the 1 x 1 trace). ``rho`` may be
    any finite (2**L, 2**L) operator: the partial trace is linear, so it is not checked to be a
    state (the entropies check their own input). ``keep=`` is the deprecated name of ``A``.
    """
    A = _checks.renamed("quantum.partial_trace", "keep", keep, "A", A)
    L = n_sites(rho)
    keep = sorted(_checks.indices("A", A, 0, L - 1, empty=True).tolist())
    rho = _checks.finite("rho", np.asarray(rho))
    tensor = rho.reshape((2,) * (2 * L))
    rows = list(range(L))
    cols = [L + k if k in keep else k for k in range(L)]  # traced sites share the row label
    out = [k for k in keep] + [L + k for k in keep]
    reduced = np.einsum(tensor, rows + cols, out)
    d = 2 ** len(keep)
    return reduced.reshape(d, d)


def mutual_information(rho, A=None, B=None, *, cut=None):
    """I(A:B) = S_A + S_B - S_AB in nats between the site sets ``A`` and ``B``.

    ``A``, ``B``: disjoint, non-empty sets of distinct site indices in [0, L - 1]; ``B``
    defaults to the complement of ``A``, and sites in neither are traced out. Deprecated for one
    release: an integer ``A`` (or ``cut=``) meaning A = [0, cut), B = [cut, L); write
    ``range(cut)``.
    """
    L = n_sites(rho)
    A, B = _checks.subsystems("quantum.mutual_information", L, A, B, cut=cut)
    whole = len(A) + len(B) == L
    rho, p = _check_density_matrix(rho, diagonalise=whole)
    left = partial_trace(rho, A)
    right = partial_trace(rho, B)
    S_AB = _entropy_of(p) if whole else entropy(partial_trace(rho, np.concatenate([A, B])))
    return entropy(left) + entropy(right) - S_AB


def log_negativity(rho, A, B=None):
    """Qubit logarithmic negativity ln ||rho_AB^{T_A}||_1 (nats) for the partial transpose on A.

    ``A``, ``B``: disjoint, non-empty sets of distinct site indices in [0, L - 1]; ``B``
    defaults to the complement of ``A``; sites in neither are traced out first. An integer
    ``A`` meaning A = [0, cut) is deprecated (write ``range(cut)``).
    """
    L = n_sites(rho)
    A, B = _checks.subsystems("quantum.log_negativity", L, A, B)
    if len(A) + len(B) < L:
        _check_density_matrix(rho)
        AB = np.concatenate([A, B])
        rho, L = partial_trace(rho, AB), len(AB)
        A = np.flatnonzero(np.isin(np.sort(AB), A))  # positions of A among the kept sites
    rho, _ = _check_density_matrix(rho)
    tensor = rho.reshape((2,) * (2 * L))
    axes = list(range(2 * L))
    for k in A.tolist():  # exchange the row and column index of each site of A
        axes[k], axes[L + k] = L + k, k
    transposed = tensor.transpose(axes).reshape(2**L, 2**L)
    return float(np.log(np.abs(np.linalg.eigvalsh(transposed)).sum()))


def correlation_matrix(rho):
    """C[i, j] = tr(rho c_i^dagger c_j) under the Jordan-Wigner map (module docstring)."""
    L = n_sites(rho)
    rho, _ = _check_density_matrix(rho)
    C = np.empty((L, L), dtype=complex)
    for i in range(L):
        C[i, i] = _expect_product(rho, [_NUMBER if k == i else _ID for k in range(L)])
        for j in range(i + 1, L):
            ops = [_ID] * L
            ops[i], ops[j] = _RAISE, _LOWER
            for k in range(i + 1, j):
                ops[k] = _PARITY
            C[i, j] = _expect_product(rho, ops)
            C[j, i] = np.conj(C[i, j])
    return C


def _expect_product(rho, ops):
    """tr(rho (o_0 x o_1 x ... x o_{L-1})), contracting one site at a time."""
    m = np.asarray(rho)
    for o in ops:
        half = m.shape[0] // 2
        block = m.reshape(2, half, 2, half)
        m = np.einsum("ba,axby->xy", o, block)
    return complex(m.reshape(()))


def _entropy_of(p):
    """-sum p ln p over the eigenvalues p of a state (negative rounding errors dropped)."""
    return float(-np.sum(_plogp(p)))


def _plogp(p):
    p = np.clip(p, 0.0, None)
    p = p[p > 1e-300]
    return p * np.log(p)


def _check_density_matrix(rho, diagonalise=False, name="rho"):
    """(rho, eigenvalues or None) after checking rho is a density matrix (module docstring).

    With ``diagonalise`` the eigenvalues of rho (``eigvalsh``) prove positivity and are returned
    for reuse; otherwise a Cholesky factorisation of rho + tol does, and the eigenvalues are only
    computed to report a failure. ``name`` is the argument named in the error messages.
    """
    rho = _check_hermitian_unit_trace(rho, name)
    if diagonalise:
        p = np.linalg.eigvalsh(rho)
        _check_positive(p, len(rho), name)
        return rho, p
    try:
        np.linalg.cholesky(rho + STATE_TOL * len(rho) * np.eye(len(rho)))
    except np.linalg.LinAlgError:
        _check_positive(np.linalg.eigvalsh(rho), len(rho), name)
    return rho, None


def _check_hermitian_unit_trace(rho, name="rho"):
    rho = np.asarray(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or rho.dtype.kind not in "biufc":
        raise ValueError(
            f"{name} must be a square matrix of numbers, got shape {rho.shape}, dtype {rho.dtype}"
        )
    _checks.finite(name, rho)
    if not np.allclose(rho, rho.conj().T, atol=1e-10):
        raise ValueError(
            f"{name} must be Hermitian, got max |{name} - {name}^dagger| = "
            f"{np.abs(rho - rho.conj().T).max():.3g}"
        )
    trace = np.trace(rho).real
    if abs(trace - 1) > STATE_TOL * len(rho):
        raise ValueError(
            f"{name} must have unit trace (to {STATE_TOL * len(rho):.1e}), got tr {name} = "
            f"{float(trace):.12g}"
        )
    return rho


def _check_positive(p, dim, name="rho"):
    """Raise unless the eigenvalues p of a state of dimension dim are >= -STATE_TOL * dim."""
    if p.size and p.min() < -STATE_TOL * dim:
        raise ValueError(
            f"{name} must be positive semidefinite (eigenvalues >= -{STATE_TOL * dim:.1e}), "
            f"got an eigenvalue {float(p.min()):.3g}"
        )

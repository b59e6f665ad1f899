r"""Entropies of number-conserving fermionic Gaussian states from their correlation matrix.

A Gaussian state of L modes is fixed by :math:`C_{ij} = \langle c_i^\dagger c_j\rangle`
(Hermitian, eigenvalues in [0, 1]). The entropy of a set of modes A is that of free fermions
with occupations :math:`\nu = \mathrm{eig}(C_{AA})`:
:math:`S_A = -\sum_\nu [\nu\ln\nu + (1-\nu)\ln(1-\nu)]` (nats), and the mutual information of
two disjoint mode sets A and B is :math:`S_A + S_B - S_{AB}`.

Entanglement of the (generally mixed) state between mode sets A and B is measured by the
fermionic logarithmic negativity :math:`\mathcal{E}_f = \ln\|\rho^{R_A}\|_1` of the partial
time reversal (Shapourian, Shiozaki & Ryu 2017), which for Gaussian states follows from C:
with :math:`\Gamma = 1 - 2C` on :math:`A\cup B` (A first),
:math:`\Gamma_\pm =
\begin{pmatrix}-\Gamma_{AA} & \pm i\Gamma_{AB}\\ \pm i\Gamma_{BA} & \Gamma_{BB}\end{pmatrix}`
and :math:`C_\times = \tfrac12(1-\Gamma_-)(1+\Gamma_+\Gamma_-)^{-1}(1-\Gamma_+)`,

.. math::

    \mathcal{E}_f = \sum_j \ln\!\left[\sqrt{\xi_j} + \sqrt{1-\xi_j}\right]
        + \tfrac12\sum_j \ln\!\left[\lambda_j^2 + (1-\lambda_j)^2\right],

:math:`\xi = \mathrm{eig}(C_\times)`, :math:`\lambda = \mathrm{eig}(C_{A\cup B})`.
For small L, :func:`dense_state` builds the state itself (Jordan-Wigner, as in
:mod:`nqlib.quantum`), so every formula can be checked against the density matrix.
"""

import numpy as np
import scipy.sparse as sp

from nqlib import _checks

__all__ = [
    "entropy",
    "mutual_information",
    "negativity",
    "negativity_lower_bound",
    "dense_state",
    "binary_entropy",
    "check_correlation_matrix",
    "fermi_sea",
]

_TOL = 1e-9


def entropy(C, A=None, *, modes=None):
    """Entropy S_A (nats) of the modes ``A`` (default: all) of the Gaussian state with matrix C.

    ``A``: distinct mode indices in [0, L - 1] (a list, range or integer array; empty gives 0).
    ``modes=`` is the deprecated name of ``A`` (kept for one release).
    """
    A = _checks.renamed("gaussian.entropy", "modes", modes, "A", A)
    C, nu = _check_and_diagonalise(C)
    if A is not None:
        A = _checks.indices("A", A, 0, len(C) - 1, empty=True)
        nu = np.linalg.eigvalsh(C[np.ix_(A, A)])
    return _entropy_of(nu)


def mutual_information(C, A=None, B=None, *, cut=None):
    """I(A:B) = S_A + S_B - S_AB in nats between the mode sets ``A`` and ``B``.

    ``A``, ``B``: disjoint, non-empty sets of distinct mode indices in [0, L - 1]; ``B`` defaults
    to the complement of ``A``, and modes in neither are traced out. The entropies are
    fermionic: they equal those of the Jordan-Wigner qubits of :func:`dense_state` when A, B
    and their union are blocks of consecutive modes, not in general (the string across a
    traced gap). Deprecated for one release: an integer ``A`` (or ``cut=``) meaning
    A = [0, cut), B = [cut, L); write ``range(cut)``.
    """
    C, nu = _check_and_diagonalise(C)
    A, B = _checks.subsystems("gaussian.mutual_information", len(C), A, B, cut=cut)
    return _mutual_information_of(C, A, B, _entropy_of(nu))


def negativity(C, A, B=None):
    """Fermionic logarithmic negativity E_f (nats) between mode sets A and B (module docstring).

    ``A``, ``B``: disjoint, non-empty index sets; ``B`` defaults to the complement of ``A``, and
    modes in neither are traced out. An integer ``A`` meaning A = [0, cut), B = [cut, L) is
    deprecated (write ``range(cut)``).
    """
    C = check_correlation_matrix(C)
    A, B = _checks.subsystems("gaussian.negativity", len(C), A, B)
    modes = np.concatenate([A, B])
    C = C[np.ix_(modes, modes)]
    n = len(A)
    gamma = np.eye(len(modes)) - 2 * C
    plus = np.block([[-gamma[:n, :n], 1j * gamma[:n, n:]], [1j * gamma[n:, :n], gamma[n:, n:]]])
    minus = plus.conj().T
    one = np.eye(len(modes))
    cross = 0.5 * (one - minus) @ np.linalg.solve(one + plus @ minus, one - plus)
    xi = np.clip(np.linalg.eigvalsh(0.5 * (cross + cross.conj().T)), 0.0, 1.0)
    lam = np.clip(np.linalg.eigvalsh(C), 0.0, 1.0)
    return float(
        np.sum(np.log(np.sqrt(xi) + np.sqrt(1 - xi)))
        + 0.5 * np.sum(np.log(lam**2 + (1 - lam) ** 2))
    )


def negativity_lower_bound(C, A, B=None):
    r"""A rigorous lower bound on the *qubit* log-negativity E of A | B: max(0, E_f - ln sqrt 2).

    Ours, not the bound of Eisert, Eisler & Zimboras used by GH (whose formula we could not
    obtain). For a number-conserving state with the modes of A before those of B in the
    Jordan-Wigner order, the partial time reversal and the partial transpose are related by
    :math:`\rho^{R_A} = \frac{1-i}{2}\rho^{T_A} + \frac{1+i}{2}P\rho^{T_A}P` with
    :math:`P = (-1)^{N_A}` (checked in the tests), so :math:`\|\rho^{R_A}\|_1 \le \sqrt2\,
    \|\rho^{T_A}\|_1` and :math:`E \ge E_f - \ln\sqrt2`. Requires max(A) < min(B).
    """
    C = check_correlation_matrix(C)
    A, B = _checks.subsystems("gaussian.negativity_lower_bound", len(C), A, B)
    if A.max() > B.min():
        raise ValueError(
            "the bound needs every mode of A before every mode of B (Jordan-Wigner order)"
        )
    return max(0.0, negativity(C, A, B) - 0.5 * np.log(2))


def dense_state(C):
    """The Gaussian density matrix with correlation matrix C on L <= 12 qubits (Jordan-Wigner).

    With C = U diag(nu) U^dagger and natural modes d_k = sum_j U[j, k] c_j,
    rho = prod_k [(1 - nu_k) + (2 nu_k - 1) d_k^dagger d_k]; basis as in :mod:`nqlib.quantum`.
    """
    C = check_correlation_matrix(C)
    L = len(C)
    if L > 12:
        raise ValueError(f"dense_state builds a 2**L matrix: L must be <= 12, got L={L}")
    nu, U = np.linalg.eigh(C)
    nu = np.clip(nu, 0.0, 1.0)
    lower = sp.csr_matrix(np.array([[0, 0], [1, 0]], dtype=complex))
    parity, one = sp.diags([-1.0, 1.0]).astype(complex), sp.identity(2, dtype=complex)
    c = []  # sparse Jordan-Wigner annihilators: the dense route costs ~10x more at L = 10
    for j in range(L):
        op = sp.identity(1, dtype=complex, format="csr")
        for k in range(L):
            op = sp.kron(op, parity if k < j else lower if k == j else one, format="csr")
        c.append(op)
    rho = np.eye(2**L, dtype=complex)
    for k in range(L):
        d = sum(U[j, k] * c[j] for j in range(L))
        factor = (1 - nu[k]) * sp.identity(2**L, format="csr") + (2 * nu[k] - 1) * (d.conj().T @ d)
        rho = (factor.T @ rho.T).T
    return 0.5 * (rho + rho.conj().T)


def fermi_sea(h, mu=0.0):
    r"""Correlation matrix of the zero-temperature ground state of a free-fermion Hamiltonian.

    For :math:`H = \sum_{ij} h_{ij} c_i^\dagger c_j` at chemical potential :math:`\mu` the
    single-particle levels :math:`h\psi_n = \epsilon_n\psi_n` with :math:`\epsilon_n < \mu` are
    filled, so :math:`C_{ij} = \langle c_i^\dagger c_j\rangle = \sum_{\epsilon_n<\mu}
    \overline{\psi_n(i)}\,\psi_n(j)`: a projector that commutes with :math:`\bar h`, and
    :math:`\langle H\rangle = \sum_{ij} h_{ij}C_{ij} = \sum_{\epsilon_n<\mu}\epsilon_n`.

    Parameters
    ----------
    h : array_like, (n, n)
        Hermitian single-particle Hamiltonian (real or complex; a real h gives a real C).
    mu : float, optional
        Chemical potential (default 0); levels exactly at mu stay empty.

    Returns
    -------
    numpy.ndarray, (n, n)

    References
    ----------
    HJ Sec. II (the equilibrium control); chapter {doc}`probe_statistics`.
    """
    h = _checks.array("h", h, dtype=None)
    _checks.hermitian("h", h, _TOL)
    mu = _checks.real("mu", mu)
    _checks.memory(f"fermi_sea at n={len(h)}", 64 * h.size)
    eps, psi = np.linalg.eigh(h)
    occupied = psi[:, eps < mu]
    return occupied.conj() @ occupied.T


def check_correlation_matrix(C, name="C"):
    """Return C as a complex array after checking it is square, finite, Hermitian, 0 <= C <= 1.

    ``name`` is the argument named in the error messages (e.g. "G" for the HJ convention).
    """
    return _check_and_diagonalise(C, name)[0]


def binary_entropy(nu):
    """-nu ln nu - (1 - nu) ln(1 - nu), elementwise (0 at nu = 0 or 1); ``nu`` must lie in [0, 1].

    Rounding errors up to 1e-9 outside [0, 1] count as 0 or 1 (entropy 0); NaN and values further
    outside raise ValueError.
    """
    nu = _checks.array("nu", nu)
    valid = (nu >= -_TOL) & (nu <= 1 + _TOL)
    if not np.all(valid):
        bad = nu[~valid]
        more = f" and {bad.size - 1} more outside [0, 1]" if bad.size > 1 else ""
        raise ValueError(
            f"nu must hold occupations in [0, 1], got nu={float(bad.ravel()[0])!r}{more}"
        )
    out = np.zeros_like(nu)
    inside = (nu > 0) & (nu < 1)
    p = nu[inside]
    out[inside] = -p * np.log(p) - (1 - p) * np.log1p(-p)
    return out


# --------------------------------------------------------------------------- private helpers
def _check_and_diagonalise(C, name="C"):
    """(C as a complex array, its eigenvalues) after the checks of :func:`check_correlation_matrix`."""
    C = _check_hermitian(C, name)
    nu = np.linalg.eigvalsh(C)
    if nu.min() < -_TOL or nu.max() > 1 + _TOL:
        raise ValueError(
            f"eigenvalues of {name} must lie in [0, 1], got [{nu.min():.3g}, {nu.max():.3g}]"
        )
    return C, nu


def _check_hermitian(C, name="C"):
    """C as a complex array after checking it is finite, square and Hermitian (O(size of C))."""
    return _checks.hermitian(name, C, _TOL)


def _entropy_of(nu):
    """Entropy (nats) of free fermions with occupations nu (eigenvalues of C, clipped to [0, 1])."""
    return float(np.sum(binary_entropy(np.clip(nu, 0.0, 1.0))))


def _mutual_information_of(C, A, B, S):
    """I(A:B) of a checked C with total entropy S (no checks; A, B sorted, disjoint index sets)."""
    S_A = _entropy_of(np.linalg.eigvalsh(C[np.ix_(A, A)]))
    S_B = _entropy_of(np.linalg.eigvalsh(C[np.ix_(B, B)]))
    if len(A) + len(B) < len(C):
        AB = np.concatenate([A, B])
        S = _entropy_of(np.linalg.eigvalsh(C[np.ix_(AB, AB)]))
    return S_A + S_B - S

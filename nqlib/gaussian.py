r"""Entropies of number-conserving fermionic Gaussian states from their correlation matrix.

A Gaussian state of L modes is fixed by :math:`C_{ij} = \langle c_i^\dagger c_j\rangle`
(Hermitian, eigenvalues in [0, 1]). The entropy of a set of modes A is that of free fermions
with occupations :math:`\nu = \mathrm{eig}(C_{AA})`:
:math:`S_A = -\sum_\nu [\nu\ln\nu + (1-\nu)\ln(1-\nu)]` (nats), and the mutual information of
the cut [0, cut) | [cut, L) is :math:`S_A + S_B - S_{AB}`.
"""

import numpy as np

__all__ = ["entropy", "mutual_information", "binary_entropy", "check_correlation_matrix"]

_TOL = 1e-9


def entropy(C, modes=None):
    """Entropy (nats) of the modes ``modes`` (default: all) of the Gaussian state with matrix C."""
    C = check_correlation_matrix(C)
    if modes is not None:
        modes = np.asarray(modes, dtype=int)
        if modes.size and (modes.min() < 0 or modes.max() >= len(C)):
            raise ValueError(f"modes must be indices in [0, {len(C) - 1}], got {modes.tolist()}")
        C = C[np.ix_(modes, modes)]
    nu = np.clip(np.linalg.eigvalsh(C), 0.0, 1.0)
    return float(np.sum(binary_entropy(nu)))


def mutual_information(C, cut):
    """I(A:B) in nats for A = modes [0, cut), B = modes [cut, L); 0 < cut < L."""
    C = check_correlation_matrix(C)
    L = len(C)
    if isinstance(cut, bool) or not isinstance(cut, (int, np.integer)) or not 0 < cut < L:
        raise ValueError(f"cut must be an integer in [1, {L - 1}], got cut={cut!r}")
    return entropy(C, np.arange(cut)) + entropy(C, np.arange(cut, L)) - entropy(C)


def check_correlation_matrix(C):
    """Return C as a complex array after checking it is square, Hermitian, 0 <= C <= 1."""
    C = np.asarray(C, dtype=complex)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square matrix, got shape {C.shape}")
    if not np.allclose(C, C.conj().T, atol=_TOL):
        raise ValueError("C must be Hermitian: C[i, j] = <c_i^dagger c_j> = conj(C[j, i])")
    nu = np.linalg.eigvalsh(C)
    if nu.min() < -_TOL or nu.max() > 1 + _TOL:
        raise ValueError(f"eigenvalues of C must lie in [0, 1], got [{nu.min():.3g}, {nu.max():.3g}]")
    return C


def binary_entropy(nu):
    """-nu ln nu - (1 - nu) ln(1 - nu), elementwise (0 at nu = 0 or 1)."""
    nu = np.asarray(nu, dtype=float)
    out = np.zeros_like(nu)
    inside = (nu > 0) & (nu < 1)
    p = nu[inside]
    out[inside] = -p * np.log(p) - (1 - p) * np.log1p(-p)
    return out

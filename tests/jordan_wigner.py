"""Explicit Jordan-Wigner fermion matrices for tests (basis per site: (u, d) = (occupied, empty))."""

import numpy as np

LOWER = np.array([[0, 0], [1, 0]], dtype=complex)  # |d><u|: removes a particle
Z = np.diag([-1.0, 1.0]).astype(complex)  # (-1)^n
I2 = np.eye(2, dtype=complex)


def kron(*ops):
    out = np.ones((1, 1), dtype=complex)
    for o in ops:
        out = np.kron(out, o)
    return out


def annihilators(L):
    """c_j = Z x ... x Z (j times) x l x 1 x ... x 1, explicit 2^L x 2^L matrices."""
    return [kron(*([Z] * j + [LOWER] + [I2] * (L - j - 1))) for j in range(L)]

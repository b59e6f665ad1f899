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

from nqlib import gates as _gates

__all__ = ["two_copy_superoperator", "averaged_two_copy_gate"]

_PHASES = 2 * np.pi * np.arange(5) / 5  # exact for trigonometric polynomials of degree <= 4
_THETA_NODES = 24


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

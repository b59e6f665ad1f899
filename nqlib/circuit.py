r"""Dense density-matrix simulation of the open, current-driven random circuit (small L).

The chain has sites 0..L-1 (physical sites 1..L) and two reservoirs. Each step applies one
gate of :mod:`nqlib.gates` to a bond chosen uniformly among the L + 1 bonds (GH Sec. II, III).
A gate on a boundary bond acts on the end site and a *fresh* reservoir spin in the state
:math:`\rho_m = \mathrm{diag}(1/2 + m, 1/2 - m)`, :math:`m_L = \delta/2`, :math:`m_R = -\delta/2`,
which is traced out right after the gate (GH Eq. 5):

.. math::

    \rho \to \mathrm{tr}_{\rm res}\big[U (\rho_{m_L} \otimes \rho) U^\dagger\big]
    = \sum_{r, r'} K_{r'r}\,\rho\,K_{r'r}^\dagger, \qquad
    K_{r'r} = \sqrt{(\rho_{m})_{rr}}\;\langle r'|U|r\rangle .

Gates are applied by reshaping the state into a tensor, never by building :math:`4^L` matrices;
memory is one density matrix, :math:`4^L` complex numbers (16 MiB at L = 10, 256 MiB at L = 12).
Basis conventions are those of :mod:`nqlib.quantum` (site 0 most significant, 0 = up = occupied).
"""

import numpy as np

from nqlib import gates as _gates
from nqlib import ssep

__all__ = ["local_equilibrium", "product_state", "apply_gates", "evolve", "trace_distance"]

MAX_L = 12


def product_state(occupations):
    """Product density matrix with site i occupied (spin up) with probability occupations[i]."""
    occ = np.asarray(occupations, dtype=float)
    if occ.ndim != 1 or not 1 <= occ.size <= MAX_L or occ.min() < 0 or occ.max() > 1:
        raise ValueError(f"occupations must be 1..{MAX_L} probabilities in [0, 1], got {occupations!r}")
    diag = np.ones(1)
    for n in occ:
        diag = np.kron(diag, [n, 1 - n])
    return np.diag(diag).astype(complex)


def local_equilibrium(L, delta):
    """The local-equilibrium product state with the exact SSEP densities (1+delta)/2 - delta x."""
    _check_L(L)
    return product_state(ssep.density(L, delta))


def evolve(rho, steps, rng, p1, p2, delta):
    """State after ``steps`` random gates drawn from dμ(p1, p2) (GH Eq. 12) with drive delta."""
    L = _check_state(rho)
    bonds, us = _gates.sample_sequence(rng, steps, L, p1, p2)
    return apply_gates(rho, bonds, us, delta)


def apply_gates(rho, bonds, gates, delta):
    """Apply a given gate sequence (see :func:`nqlib.gates.sample_sequence`) to rho."""
    L = _check_state(rho)
    _check_delta(delta)
    bonds = np.asarray(bonds)
    if bonds.size and (bonds.min() < 0 or bonds.max() > L):
        raise ValueError(f"bonds must lie in [0, {L}], got range [{bonds.min()}, {bonds.max()}]")
    reservoirs = {0: (1 + delta) / 2, L: (1 - delta) / 2}  # occupation of the fresh spin
    rho = np.array(rho, dtype=complex)
    for bond, U in zip(bonds, gates):
        if bond in reservoirs:
            rho = _boundary_gate(rho, L, U, bond == 0, reservoirs[bond])
        else:
            rho = _bulk_gate(rho, L, U, bond - 1)
    return rho


def trace_distance(rho, sigma):
    """(1/2) ||rho - sigma||_1."""
    return float(0.5 * np.abs(np.linalg.eigvalsh(np.asarray(rho) - np.asarray(sigma))).sum())


def _bulk_gate(rho, L, U, site):
    """rho -> U rho U^dagger with U on sites (site, site + 1)."""
    left, right = 2**site, 2 ** (L - site - 2)
    t = rho.reshape(left, 4, right, 2**L)
    t = np.einsum("ab,xbyz->xayz", U, t).reshape(2**L, left, 4, right)
    t = np.einsum("xabz,cb->xacz", t, U.conj())
    return t.reshape(2**L, 2**L)


def _boundary_gate(rho, L, U, left_end, occupation):
    """Gate between an end site and a fresh reservoir spin, reservoir traced out (Kraus form)."""
    weights = (occupation, 1 - occupation)  # reservoir basis: 0 = up = occupied, 1 = down
    U4 = U.reshape(2, 2, 2, 2)  # (out first, out second, in first, in second)
    kraus = []
    for r in range(2):
        for r_out in range(2):
            if weights[r] == 0:
                continue
            # reservoir is the first qubit at the left end, the second at the right end
            K = U4[r_out, :, r, :] if left_end else U4[:, r_out, :, r]
            kraus.append(np.sqrt(weights[r]) * K)
    site = 0 if left_end else L - 1
    left, right = 2**site, 2 ** (L - site - 1)
    t = rho.reshape(left, 2, right, left, 2, right)
    out = np.zeros_like(t)
    for K in kraus:
        out += np.einsum("ab,xbycdz,ed->xaycez", K, t, K.conj())
    return out.reshape(2**L, 2**L)


def _check_L(L):
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not 2 <= L <= MAX_L:
        raise ValueError(f"L must be an integer in [2, {MAX_L}] for the dense simulator, got L={L!r}")


def _check_state(rho):
    rho = np.asarray(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or rho.shape[0] & (rho.shape[0] - 1):
        raise ValueError(f"rho must be a (2**L, 2**L) density matrix, got shape {rho.shape}")
    L = rho.shape[0].bit_length() - 1
    _check_L(L)
    return L


def _check_delta(delta):
    if not isinstance(delta, (int, float, np.integer, np.floating)) or not -1 <= delta <= 1:
        raise ValueError(f"delta must be a real number in [-1, 1], got delta={delta!r}")

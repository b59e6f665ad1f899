r"""Two-site gates of the current-driven random circuit (Gullans & Huse, Eqs. 11-15).

Every gate conserves S^z and, in the two-site basis (uu, ud, du, dd) with u = spin up =
occupied, has the block form (GH Eq. 11)

.. math::

    U = \begin{pmatrix} U_+ & & & \\ & U_{ud} & U_{rl} & \\ & U_{lr} & U_{du} & \\ & & & U_- \end{pmatrix}.

The gate is drawn from :math:`d\mu = (1-p_1-p_2)\,d\mu_0 + p_1\,d\mu_1 + p_2\,d\mu_2`:

* :math:`\mu_0`: the iSWAP (:math:`U_\pm = 1`, :math:`U_{lr} = U_{rl} = i`) or the identity, with
  probability 1/2 each;
* :math:`\mu_1`, non-interacting-fermion (NIF) gates: :math:`U_+ = U_-^* = e^{i\phi_0}` and a
  Haar-random SU(2) central block (GH Eq. 13) with :math:`\phi_{0,1,2}` uniform in
  :math:`[0, 2\pi)` and :math:`\theta \in [0, \pi]` with density :math:`\sin\theta / 2`;
* :math:`\mu_2`, interacting gates: with probability 1/2 each
  :math:`U_1 = \mathrm{diag}(e^{i\phi_1}, e^{i\phi_2}, e^{i\phi_3}, 1)` (GH Eq. 14) or
  :math:`U_2` with :math:`U_+ = e^{i\phi_1}`, :math:`U_{rl} = e^{i\phi_2}`,
  :math:`U_{lr} = e^{i\phi_3}`, :math:`U_- = 1` (a swap with random phases, GH Eq. 15).

Every ensemble exchanges the two spins with probability :math:`E|U_{lr}|^2 = 1/2`, which is
why the averaged state does not depend on :math:`(p_1, p_2)` (GH Sec. III A).

Fermionic Gaussian gates. Under the Jordan-Wigner map on two adjacent sites, a gate is a
Gaussian (free-fermion) unitary :math:`e^{i\alpha}\,\Gamma(u)` iff :math:`U_+ U_-` equals the
determinant of the central block: then :math:`e^{i\alpha} = U_-` (vacuum phase),
:math:`u = B / U_-` with :math:`B` the central block written as the single-particle matrix
:math:`u_{ab} = \langle a|U|b\rangle` on the one-particle states :math:`|1\rangle = |ud\rangle`,
:math:`|2\rangle = |du\rangle`, and the two-particle amplitude is :math:`U_- \det u`.
:func:`single_particle` returns :math:`u`; a single-particle wave function evolves as
:math:`\psi \to u\psi`.
"""

import functools

import numpy as np

from nqlib import _checks

__all__ = [
    "ISWAP",
    "IDENTITY",
    "sample_gate",
    "sample_sequence",
    "single_particle",
    "is_gaussian",
    "check_probabilities",
    "quadrature",
    "second_moment",
]

ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=complex)
IDENTITY = np.eye(4, dtype=complex)

# S^z of the two-site basis |00>, |01>, |10>, |11>: a gate may only mix |01> and |10> (GH Eq. 11)
_SZ_CHARGE = np.array([0, 1, 1, 2])
_SZ_LAW = ("S^z", "only U[0,0], U[3,3] and the central block may be nonzero")
SEQUENCE_BYTES = 400
"""Peak bytes per gate of :func:`sample_sequence` (the (4, 4) gate, its bond, random numbers)."""


def sample_gate(rng, p1, p2):
    """Draw one gate from dμ (GH Eq. 12). Returns a (4, 4) complex array, basis (uu, ud, du, dd)."""
    _check_probabilities(p1, p2)
    _check_rng(rng)
    return _draw(rng, 1, p1, p2)[0]


def sample_sequence(rng, steps, L, p1, p2):
    """A random circuit of ``steps`` gates on the open chain of L sites with two reservoirs.

    Each gate acts on a bond chosen uniformly among the L + 1 bonds: bond ``b`` joins site
    ``b - 1`` and site ``b`` (0-based), where site -1 is the left reservoir and site L the
    right one. Returns ``(bonds, gates)`` with shapes (steps,) and (steps, 4, 4).
    """
    _check_probabilities(p1, p2)
    _check_rng(rng)
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L must be an integer >= 2, got L={L!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got steps={steps!r}")
    _checks.memory(f"sample_sequence with steps={steps}", SEQUENCE_BYTES * steps)
    bonds = rng.integers(0, L + 1, size=steps)
    return bonds, _draw(rng, steps, p1, p2)


def is_gaussian(U, atol=1e-12):
    """True if the number-conserving gate U is a fermionic Gaussian unitary (U+ U- = det B)."""
    U = _check_gate(U)
    atol = _checks.real("atol", atol, 0)
    B = U[1:3, 1:3]
    return bool(abs(U[0, 0] * U[3, 3] - np.linalg.det(B)) < atol)


def single_particle(U):
    """Single-particle matrix u (2, 2) of a Gaussian gate: psi -> u psi on (site 1, site 2).

    Raises ValueError for gates that are not fermionic Gaussian (interacting gates, SWAP).
    """
    U = _check_gate(U)
    if not is_gaussian(U):
        raise ValueError(
            "U is not a fermionic Gaussian gate: U[0,0]*U[3,3] must equal the determinant of "
            f"the central block, got {U[0, 0] * U[3, 3]:.6g} vs {np.linalg.det(U[1:3, 1:3]):.6g}"
        )
    return U[1:3, 1:3] / U[3, 3]


def check_probabilities(p1, p2):
    """Check that (p1, p2) define a gate measure: both in [0, 1] and p1 + p2 <= 1 (ValueError)."""
    _check_probabilities(p1, p2)


def quadrature(kind, n_phase=5, n_theta=3):
    """Exact finite quadrature of ensemble mu_kind (kind = 0, 1, 2): (weights (n,), gates (n, 4, 4)).

    The one definition of the gate measure's parametrisation used by every exact average
    (:func:`second_moment`, :mod:`nqlib.abcmodel`, :mod:`nqlib.spreading`); :func:`sample_gate`
    draws from the same parametrisation.

    Integrates exactly every polynomial of degree <= 2 in U and <= 2 in U^* (the second moments)
    when ``n_phase`` >= 5 (phases enter as e^{ik phi}, |k| <= 4) and ``n_theta`` >= 2 (after the
    phase average only even powers of cos(theta/2), sin(theta/2) survive: a polynomial of degree
    <= 2 in cos(theta), which is uniform in [-1, 1]).
    """
    if kind not in (0, 1, 2):
        raise ValueError(f"kind must be 0, 1 or 2 (ensembles mu_0, mu_1, mu_2), got kind={kind!r}")
    n_phase = _checks.integer("n_phase", n_phase, low=5)  # exact second moments need n_phase >= 5
    n_theta = _checks.integer("n_theta", n_theta, low=2)  # and n_theta >= 2
    _checks.memory(
        f"quadrature with n_phase={n_phase}, n_theta={n_theta}", 800 * n_phase**3 * n_theta
    )
    if kind == 0:
        return np.array([0.5, 0.5]), np.array([ISWAP, IDENTITY])
    e = np.exp(2j * np.pi * np.arange(n_phase) / n_phase)
    a, b, c = (x.ravel() for x in np.meshgrid(e, e, e, indexing="ij"))
    if kind == 1:
        u, w = np.polynomial.legendre.leggauss(int(n_theta))
        cos, sin = np.sqrt((1 + u) / 2), np.sqrt((1 - u) / 2)
        a, b, c = (np.repeat(x, len(u)) for x in (a, b, c))
        cos, sin, w = (np.tile(x, n_phase**3) for x in (cos, sin, w / 2))
        U = np.zeros((len(a), 4, 4), dtype=complex)
        U[:, 0, 0], U[:, 3, 3] = a, a.conj()
        U[:, 1, 1], U[:, 1, 2] = b * cos, c * sin
        U[:, 2, 1], U[:, 2, 2] = -c.conj() * sin, b.conj() * cos
        return w / n_phase**3, U
    U = np.zeros((2 * len(a), 4, 4), dtype=complex)
    U[:, 0, 0], U[:, 3, 3] = np.tile(a, 2), 1.0
    n = len(a)
    U[:n, 1, 1], U[:n, 2, 2] = b, c  # U1, GH Eq. 14
    U[n:, 1, 2], U[n:, 2, 1] = b, c  # U2, GH Eq. 15
    return np.full(2 * n, 0.5 / n), U


def second_moment(p1, p2):
    r"""Exact second moment :math:`\mathbb{E}[U\otimes U^*\otimes U\otimes U^*]` over dmu(p1, p2).

    A (256, 256) array: entry [(a, c, e, g), (b, d, f, h)] is
    :math:`\mathbb{E}\,U_{ab}U^*_{cd}U_{ef}U^*_{gh}` (the layout of
    ``kron(kron(U, U.conj()), kron(U, U.conj()))``, basis (uu, ud, du, dd)). The one owner of this
    tensor: :func:`nqlib.abcmodel.averaged_two_copy_gate` is this array and
    :func:`nqlib.spreading.two_copy_map` its change of basis to operator strings. Exact: the
    quadrature of :func:`quadrature` integrates every entry exactly.
    """
    _check_probabilities(p1, p2)
    parts = zip((1 - p1 - p2, p1, p2), _kind_moments())
    return sum(weight * moment for weight, moment in parts if weight > 0)


# --------------------------------------------------------------------------- private helpers
def _draw(rng, n, p1, p2):
    """n independent gates from dμ, vectorized: (n, 4, 4)."""
    kind = rng.random(n)
    u = rng.random((n, 4))
    U = np.zeros((n, 4, 4), dtype=complex)
    nif = kind < p1
    interacting = (kind >= p1) & (kind < p1 + p2)
    plain = ~(nif | interacting)

    # mu_0: iSWAP or identity with probability 1/2 each
    iswap = plain & (u[:, 0] < 0.5)
    U[plain, 0, 0] = U[plain, 3, 3] = 1.0
    U[iswap, 1, 2] = U[iswap, 2, 1] = 1j
    ident = plain & ~iswap
    U[ident, 1, 1] = U[ident, 2, 2] = 1.0

    # mu_1: NIF gates, GH Eq. 13; theta = arccos(1 - 2v) has density sin(theta)/2 on [0, pi]
    phi0, phi1, phi2 = 2 * np.pi * u[nif, :3].T
    theta = np.arccos(1 - 2 * u[nif, 3])
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    U[nif, 0, 0] = np.exp(1j * phi0)
    U[nif, 3, 3] = np.exp(-1j * phi0)
    U[nif, 1, 1] = np.exp(1j * phi1) * c
    U[nif, 1, 2] = np.exp(1j * phi2) * s
    U[nif, 2, 1] = -np.exp(-1j * phi2) * s
    U[nif, 2, 2] = np.exp(-1j * phi1) * c

    # mu_2: U1 (diagonal phases, GH Eq. 14) or U2 (exchange with phases, GH Eq. 15)
    phases = np.exp(2j * np.pi * u[interacting, :3])
    diagonal = u[interacting, 3] < 0.5
    block = np.zeros((interacting.sum(), 2, 2), dtype=complex)
    block[diagonal, 0, 0], block[diagonal, 1, 1] = phases[diagonal, 1], phases[diagonal, 2]
    block[~diagonal, 0, 1], block[~diagonal, 1, 0] = phases[~diagonal, 1], phases[~diagonal, 2]
    U[interacting, 0, 0] = phases[:, 0]
    U[interacting, 3, 3] = 1.0
    U[interacting, 1:3, 1:3] = block
    return U


def _check_probabilities(p1, p2):
    for name, p in (("p1", p1), ("p2", p2)):
        if not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {name}={p!r}")
    if p1 + p2 > 1 + 1e-12:
        raise ValueError(f"p1 + p2 must be <= 1, got p1={p1}, p2={p2}")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got rng={rng!r}")


def _check_gate(U):
    U = np.asarray(U)
    if U.shape != (4, 4):
        raise ValueError(f"U must be a (4, 4) two-site gate, got shape {U.shape}")
    return _checks.conserving_unitaries("U", U, _SZ_CHARGE, *_SZ_LAW)


@functools.cache
def _kind_moments():
    """second_moment of mu_0, mu_1, mu_2 alone, from :func:`quadrature` (computed once)."""
    out = []
    for kind in range(3):
        weights, U = quadrature(kind)
        single = np.einsum("nab,ncd->nacbd", U, U.conj()).reshape(len(U), 256)  # kron(U, U*)
        pair = (single.T * weights) @ single  # [(i, j), (k, l)] = sum_n w A_n[i, j] A_n[k, l]
        moment = pair.reshape(16, 16, 16, 16).transpose(0, 2, 1, 3).reshape(256, 256)
        moment.flags.writeable = False
        out.append(moment)
    return tuple(out)

r"""The driven 3D Anderson model: lead modes, scattering states, S matrix and mode sums.

**Model** (Gullans & Huse, PRX 9, 021007 (2019), Sec. V A, Eq. 57; Hruza & Jin, SM Eq. 16).
A disordered bar of :math:`N_x\times N_y\times N_z` sites, ``V[x, y, z]`` uniform in
:math:`[-W/2, W/2]`, periodic in y and z, between two clean semi-infinite leads of the same
cross-section and hoppings (V = 0) along x (left lead x < 0, right lead x >= N_x):

.. math::

    H = -\sum_{\nu=x,y,z} t_\nu \sum_{\langle ij\rangle_\nu} (c_i^\dagger c_j + {\rm h.c.})
        + \sum_i V_i n_i .

Per slice x the Schrödinger equation reads (HJ SM Eqs. 17-18)
:math:`-t_x\psi_{x+1} - t_x\psi_{x-1} + (H_\perp + V_x)\psi_x = E\psi_x` with
:math:`H_\perp = -t_y(S_y + S_y^\dagger) - t_z(S_z + S_z^\dagger)` on the :math:`N_y N_z`
sites of a slice (:math:`S` the cyclic shift; slice index ``y * Nz + z``, site index
``x * Ny * Nz + y * Nz + z`` as in ``V.ravel()``). For :math:`N_\nu = 1` the ring is a single
site bonded to itself, so :math:`H_\perp` contains :math:`-2t_\nu`; use :math:`t_\nu = 0` for a
lower-dimensional bar.

**Transverse channels.** :math:`H_\perp` is clean, so channels decouple in the leads. We use the
*real* eigenbasis: for a ring of N sites the label :math:`q \in [0, N)` is the function
:math:`\sqrt{2/N}\cos(2\pi q y/N)` for :math:`0 < q < N/2`, :math:`\sqrt{2/N}\sin(2\pi(N-q)y/N)`
for :math:`q > N/2`, and the constants :math:`1/\sqrt N`, :math:`(-1)^y/\sqrt N` for q = 0, N/2;
in all cases the eigenvalue is the plane-wave one, so channel :math:`(q_y, q_z)` (column
``qy * Nz + qz`` of :math:`U`) has

.. math::

    \varepsilon_\perp = -2t_y\cos(2\pi q_y/N_y) - 2t_z\cos(2\pi q_z/N_z), \qquad
    E = \varepsilon_\perp - 2t_x\cos k_x .

A channel is *open* for :math:`|E-\varepsilon_\perp| < 2t_x`: :math:`k_x\in(0,\pi)`, group velocity
:math:`v = 2t_x\sin k_x > 0` (ħ = a = 1), lead modes :math:`\varphi_q e^{\pm ik_x x}/\sqrt v` carry
unit current (notes/scattering.md; HJ below SM Eq. 23, where the velocity is printed with
:math:`t_z` for :math:`t_x`). Otherwise it is *closed* (evanescent):
:math:`\lambda + 1/\lambda = (\varepsilon_\perp - E)/t_x` with real roots; it carries no current
and is not a scattering state, but it enters the matching at the lead surface. At
:math:`|E-\varepsilon_\perp| = 2t_x` (band edge, v = 0) the unit-current normalisation is
singular: :func:`lead_modes` raises ``ValueError`` within a relative tolerance ``edge_tol``.
Per channel we keep the root :math:`\lambda` of right-moving or rightwards-decaying waves
:math:`\lambda^x`: :math:`\lambda = e^{ik_x}` (open) or real with :math:`|\lambda| < 1` (closed);
the other root is :math:`1/\lambda`.

**Lead self-energy and scattering states.** Eliminating a lead exactly gives the surface term
:math:`\Sigma = -t_x\,U\,{\rm diag}(\lambda)\,U^T` (the same matrix for both leads; for an open
channel :math:`-t_x e^{ik_x}`, for a closed one real) and :math:`\Gamma = i(\Sigma-\Sigma^\dagger)
= U_{\rm open}\,{\rm diag}(v)\,U_{\rm open}^T`. The state incoming from the left in open channel c
(incoming part :math:`\varphi_c e^{ik_x x}/\sqrt{v_c}` for x <= 0) solves

.. math::

    (E - H - \Sigma_L - \Sigma_R)\,\psi = s, \qquad s = i\sqrt{v_c}\,\varphi_c\ \text{on slice } 0,

(HJ SM Eqs. 19-24 solve the same matching with transfer matrices). It is computed by a stable
slice recursion (a Riccati / recursive-Green's-function sweep): with
:math:`h_x = H_\perp + {\rm diag}(V_x)`,

.. math::

    g_{N_x-1} = (E - h_{N_x-1} - \Sigma_R)^{-1}, \quad
    g_x = (E - h_x - t_x^2 g_{x+1})^{-1}, \quad
    \psi_0 = (E - h_0 - \Sigma_L - t_x^2 g_1)^{-1} s, \quad
    \psi_x = -t_x\, g_x\, \psi_{x-1}.

:math:`F_x = -t_x g_x` is the ratio :math:`\psi_x\psi_{x-1}^{-1}` of every solution that is
purely outgoing at the right lead: an O(1) object, the analogue of HJ's renormalised
:math:`r'_n = r_n r_{1,n}^{-1}` (SM Eqs. 31-36), so the exponentially growing and decaying
products of transfer matrices (HJ SM Eq. 23) are never formed. Cost
:math:`O(N_x (N_yN_z)^3)` per sweep, memory :math:`O(N_x (N_yN_z)^2)`; the (N³)² matrix is
never built. The recursion inverts the pivots :math:`E - h_x - t_x^2 g_{x+1}` without pivoting
across slices; a pivot is ill-conditioned only when E is within ~1/κ of a resonance of the
half-open bar [x, N_x), so an error above a tolerance τ needs κ ≳ τ/eps, which happens with
probability ~eps/τ per pivot (:attr:`Scattering.unitarity_error` reports the check).
:func:`scattering_states` takes the states incoming from the right from the mirrored bar
``V[::-1]``, mirrored back; :func:`scatter` needs both leads and gets them from one sweep: the
pivots are the Schur complements of a block-UL factorisation of :math:`E - H - \Sigma_L - \Sigma_R`,
so the right-lead source costs only matrix-vector products (``_incoming_from_both``; the two
routes agree to 1e-10 in the tests, also for exponentially small transmission). This halves the
cost of both leads: about 6x faster than a sparse LU at N = 16 and half its peak memory
(``benchmarks/anderson_solvers.py``).

**S matrix.** With phase references x = 0 (left lead: incoming :math:`e^{ik_x x}`, outgoing
:math:`e^{-ik_x x}`) and x = N_x - 1 (right lead: incoming :math:`e^{-ik_x(x-N_x+1)}`, outgoing
:math:`e^{ik_x(x-N_x+1)}`), all divided by :math:`\sqrt v`,

.. math::

    r_{dc} = \sqrt{v_d}\,\varphi_d^T(\psi_0 - \varphi_c/\sqrt{v_c}), \qquad
    t_{dc} = \sqrt{v_d}\,\varphi_d^T\psi_{N_x-1},\qquad
    S = \begin{pmatrix} r & t' \\ t & r'\end{pmatrix}

(rows outgoing, columns incoming; left-lead channels first). Current conservation gives
:math:`S^\dagger S = 1`. H is real, and with real :math:`\varphi_q` and one phase reference per
lead each outgoing mode is the complex conjugate of the incoming mode of the same channel, so
time reversal gives reciprocity :math:`S = S^T` (the references are mirror images of each other,
so the mirrored bar ``V[::-1]`` has the mirrored S). For V = 0: r = 0,
:math:`t = {\rm diag}(e^{ik_x(N_x-1)})`.

**Mode sums** (HJ SM Eqs. 28-30; GH Eq. 62). :math:`G^\alpha(E)_{ij} = \sum_c \psi_{\alpha c}(i)
\psi_{\alpha c}(j)^*`. From the source form above, exactly (no 2π; notes/scattering.md)

.. math::

    G^\alpha(E) = G^r\,\Gamma_\alpha\,G^a, \qquad G^r = (E - H - \Sigma_L - \Sigma_R)^{-1},

and the steady state is :math:`\langle c_j^\dagger c_i\rangle = \sum_\alpha\int\frac{dE}{2\pi}
f_\alpha(E)\,G^\alpha(E)_{ij}`: the papers write :math:`\int dE` for operators normalised to
:math:`\delta(E-E')`, which with unit-current states is the measure dE/(2π) (ħ = 1).
In the book's convention :math:`C_{ij} = \langle c_i^\dagger c_j\rangle` this is
:math:`C = \sum_\alpha\int\frac{dE}{2\pi} f_\alpha(E)\,G^\alpha(E)^T`. :func:`mode_sum` returns
:math:`G^\alpha(E)` densely (small bars), :func:`correlation_matrix` a weighted sum of them as C
(transposed, divided by 2π), and :func:`dense_green` the reference route :math:`G^r`,
:math:`\Gamma_\alpha` by one dense inversion.
For a bar that is too large for the dense :math:`N\times N` matrix, per-slice statistics follow
from the channel-space Gram matrices :math:`M_a = \psi_a^\dagger\psi_a` (:math:`\psi_a` the
:math:`N_yN_z\times n` block of slice a). For :math:`G = \sum_k w_k\psi_k\psi_k^\dagger`
(weights w, e.g. ±1 to combine :math:`G^R(0^+) - G^L(0^-)`), :math:`G_{ab} = \psi_a W\psi_b^\dagger`
and

.. math::

    \sum_{i\in a} G_{ii} = {\rm tr}(W M_a), \qquad
    \sum_{i\in a,\,j\in b} |G_{ij}|^2 = {\rm tr}(W M_a W M_b)
        = \sum_{kl} w_k w_l\,(M_a)_{kl}\,\overline{(M_b)_{kl}} .

**Disorder ensembles.** :func:`disorder_moments` (slice traces and Frobenius sums of a signed
combination of mode sums, e.g. HJ's :math:`G^{\rm neq}`), :func:`energy_correlation` (the
cross-energy sums behind GH's :math:`i_{AB}`, Eqs. 65 and 70) and :func:`u1_maps` (HJ Fig. 2) each
draw one potential from ``rng`` and return a dict of arrays: they are the ``fn`` of
``ensemble.run_ensemble``.
Their stacked results are reduced by :func:`density_profile` (HJ's :math:`g_1` and
:math:`\Delta n^{(1)}`), :func:`f_ab` (GH's volume-law coefficient, Eq. 72, on the halves of
:func:`central_halves`) and :func:`i_ab` (GH's energy correlation, Eq. 69, with jackknife errors);
:func:`delta_phi` is GH's channel sum Eq. 65 done literally, the reference route for both.

**Bipartite symmetry.** For even :math:`N_y, N_z`, :math:`P = {\rm diag}((-1)^{x+y+z})` gives
:math:`PH(V)P = -H(-V)`, and :math:`P\bar\psi` maps incoming states at E for -V onto incoming states
at -E for V, so :math:`G^\alpha(-E; V) = P\,\overline{G^\alpha(E; -V)}\,P`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nqlib import _checks, cumulants, qssep, stats

__all__ = [
    "potential",
    "hamiltonian",
    "LeadModes",
    "lead_modes",
    "off_edge_energy",
    "Scattering",
    "scatter",
    "scattering_states",
    "smatrix",
    "transmission",
    "mode_sum",
    "G",
    "correlation_matrix",
    "bias_window",
    "DenseGreen",
    "dense_green",
    "diagonal_fluctuation",
    "bond_currents",
    "slice_gram",
    "slice_moments",
    "disorder_moments",
    "DensityProfile",
    "density_profile",
    "energy_correlation",
    "central_halves",
    "f_ab",
    "f_ab_at",
    "f_ab_clean",
    "delta_phi",
    "EnergyCorrelationFit",
    "i_ab",
    "u1_maps",
    "loop_statistics",
    "loop_cumulants",
    "cut_pairs",
    "Imbalances",
    "imbalances",
    "EDGE_TOL",
    "MAX_DENSE_SITES",
]

EDGE_TOL = 1e-9
"""Default relative band-edge tolerance: a channel with ``| |E - eps| - 2 tx | <= EDGE_TOL * 2 tx``
is refused. This is far above the ~1e-16 rounding of eps, so an exact edge (e.g. isotropic E = 0
with Ny and Nz both multiples of 3, or either a multiple of 4) is always caught and never
classified by rounding; and nearby energies stay usable: the S-matrix error grows only like
~eps/sqrt(gap) (measured 7e-14 at a relative gap of 5e-11)."""

MAX_DENSE_SITES = 4096
"""Largest Nx * Ny * Nz for which :func:`mode_sum`, :func:`correlation_matrix` and
:func:`dense_green` build the dense (N, N) matrix (256 MiB complex)."""

_LEADS = ("L", "R")


# --------------------------------------------------------------------------- the model
@_checks.rng_first
def potential(rng, Nx, Ny, Nz, W):
    """Random on-site potential V[x, y, z], i.i.d. uniform in [-W/2, W/2], shape (Nx, Ny, Nz).

    The old order ``potential(Nx, Ny, Nz, W, rng)`` works for one release (DeprecationWarning).
    """
    for name, n in (("Nx", Nx), ("Ny", Ny), ("Nz", Nz)):
        _check_size(name, n)
    if (
        isinstance(W, bool)
        or not isinstance(W, (int, float, np.integer, np.floating))
        or not 0 <= W < np.inf
    ):
        raise ValueError(f"W must be a finite real number >= 0, got W={W!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    _checks.memory(f"potential at Nx={Nx}, Ny={Ny}, Nz={Nz}", 16 * Nx * Ny * Nz)
    return rng.uniform(-W / 2, W / 2, size=(Nx, Ny, Nz))


def hamiltonian(V, t=(1.0, 1.0, 1.0)):
    """Sparse (CSR) Hamiltonian of the isolated disordered bar (no leads), site order ``V.ravel()``."""
    V = _check_potential(V)
    tx, ty, tz = _check_hoppings(t)
    Nx, Ny, Nz = V.shape
    Hperp = sp.csr_matrix(_transverse_hamiltonian(Ny, Nz, ty, tz))
    chain = sp.diags([np.ones(Nx - 1), np.ones(Nx - 1)], [-1, 1], shape=(Nx, Nx))
    H = (
        sp.kron(sp.identity(Nx), Hperp)
        - tx * sp.kron(chain, sp.identity(Ny * Nz))
        + sp.diags(V.ravel())
    )
    return H.tocsr()


# --------------------------------------------------------------------------- lead modes
@dataclass(frozen=True, eq=False)
class LeadModes:
    """Channels of the clean lead at energy E (module docstring).

    ``U`` (M, M) real orthogonal transverse basis, M = Ny * Nz, column ``qy * Nz + qz``;
    ``labels`` (M, 2) the (qy, qz) of each column; ``eps`` (M,) transverse energies;
    ``lam`` (M,) the root that moves or decays away from the bar (e^{ik} or |lam| < 1);
    ``is_open`` (M,) open channels. Open-channel arrays (``kx``, ``velocity``, ``U_open``) keep
    the column order of ``U``.
    """

    E: float
    t: tuple
    U: np.ndarray
    labels: np.ndarray
    eps: np.ndarray
    lam: np.ndarray
    is_open: np.ndarray

    @property
    def n_open(self):
        return int(self.is_open.sum())

    @property
    def kx(self):
        return np.angle(self.lam[self.is_open])

    @property
    def velocity(self):
        return 2 * self.t[0] * self.lam[self.is_open].imag

    @property
    def U_open(self):
        return self.U[:, self.is_open]

    @property
    def self_energy(self):
        """Lead surface self-energy -tx U diag(lam) U^T (M, M), the same for both leads."""
        return -self.t[0] * (self.U * self.lam) @ self.U.T


def lead_modes(E, Ny, Nz, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """Open and closed channels of the clean Ny x Nz lead at energy E (:class:`LeadModes`).

    Raises ValueError if a channel lies within ``edge_tol`` (relative to 2 tx) of its band edge
    |E - eps| = 2 tx, where the unit-current normalisation is singular. Zero open channels is not
    an error here (the scattering functions refuse it).
    """
    E = _check_energy(E)
    _check_size("Ny", Ny)
    _check_size("Nz", Nz)
    tx, ty, tz = _check_hoppings(t)
    _check_edge_tol(edge_tol)
    _checks.memory(
        f"lead_modes at Ny={Ny}, Nz={Nz}", 16 * (Ny * Nz) ** 2
    )  # U and the kron building it
    eps, labels, c = _channels(E, Ny, Nz, (tx, ty, tz), edge_tol)
    U = np.kron(_ring_basis(Ny)[0], _ring_basis(Nz)[0])
    is_open = np.abs(c) < 1
    lam = np.empty(len(c), dtype=complex)
    co = c[is_open]
    lam[is_open] = co + 1j * np.sqrt(1 - co**2)  # e^{ik}, k in (0, pi)
    cc = c[~is_open]
    lam[~is_open] = cc - np.sign(cc) * np.sqrt(cc**2 - 1)  # |lam| < 1
    return LeadModes(E=E, t=(tx, ty, tz), U=U, labels=labels, eps=eps, lam=lam, is_open=is_open)


def off_edge_energy(E, Ny, Nz, t=(1.0, 1.0, 1.0), shift=1e-7, edge_tol=EDGE_TOL):
    """``E``, or ``E + shift`` where ``E`` puts a channel of the Ny x Nz lead at its band edge.

    At a band edge (:func:`lead_modes` refuses it) a disordered bar's mode sums are continuous:
    the barely open channel enters with amplitude ~ v^(1/2) (chapter
    {doc}`anderson_mutual_information`, "The band edge"), so a small shift approximates the limit.
    The shifted energy is not checked again.

    Parameters
    ----------
    E : float
        Energy.
    Ny, Nz : int
        Cross-section of the lead.
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz), tx > 0.
    shift : float, optional
        Nonzero finite shift applied at a band edge (default 1e-7).
    edge_tol : float, optional
        Relative band-edge tolerance (:data:`EDGE_TOL`).

    Returns
    -------
    float

    References
    ----------
    GH Sec. V A (E = mu_R = 0 on L x L leads); module docstring ("Transverse channels");
    chapter {doc}`anderson_mutual_information`.
    """
    E = _check_energy(E)
    _check_size("Ny", Ny)
    _check_size("Nz", Nz)
    t = _check_hoppings(t)
    shift = _checks.real("shift", shift)
    if shift == 0:
        raise ValueError(f"shift must be a nonzero finite real number, got shift={shift!r}")
    _check_edge_tol(edge_tol)
    _checks.memory(f"off_edge_energy at Ny={Ny}, Nz={Nz}", 16 * Ny * Nz)
    try:
        _channels(E, Ny, Nz, t, edge_tol)
    except ValueError:
        return E + shift
    return E


# --------------------------------------------------------------------------- scattering
@dataclass(frozen=True, eq=False)
class Scattering:
    """Scattering solution of one bar at one energy.

    ``psi_L``, ``psi_R`` (Nx, Ny, Nz, n_open): states incoming from each lead (unit current),
    column c = open channel c of ``modes``; ``S`` (2 n_open, 2 n_open) with rows outgoing and
    columns incoming, left-lead channels first: S = [[r, t'], [t, r']].
    """

    modes: LeadModes
    psi_L: np.ndarray
    psi_R: np.ndarray
    S: np.ndarray

    @property
    def n_open(self):
        return self.modes.n_open

    @property
    def transmission(self):
        """Landauer transmission tr(t^dagger t) = sum over channels of |t_dc|^2."""
        n = self.n_open
        return float(np.sum(np.abs(self.S[n:, :n]) ** 2))

    @property
    def unitarity_error(self):
        """max |S^dagger S - 1|: the current-conservation check of the numerics."""
        return float(np.abs(self.S.conj().T @ self.S - np.eye(len(self.S))).max())


def scatter(V, E, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """Both leads' scattering states and the S matrix of the bar V at energy E (:class:`Scattering`)."""
    V, modes = _prepare(V, E, t, edge_tol, n_leads=2)
    psi_L, psi_R, S = _incoming_from_both(V, modes)
    return Scattering(modes=modes, psi_L=psi_L, psi_R=psi_R, S=S)


def scattering_states(V, E, lead, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """States incoming from ``lead`` ('L' or 'R') in every open channel, (Nx, Ny, Nz, n_open).

    Unit incoming current per channel; channel order and phase convention of :func:`scatter`.
    """
    lead = _check_lead(lead)
    V, modes = _prepare(V, E, t, edge_tol, n_leads=1)
    if lead == "L":
        return _incoming_from_left(V, modes)[0]
    return _incoming_from_left(V[::-1], modes)[0][::-1]


def smatrix(V, E, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """S matrix (2 n_open, 2 n_open) = [[r, t'], [t, r']] (rows outgoing, columns incoming, L first)."""
    return scatter(V, E, t, edge_tol).S


def transmission(V, E, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """Landauer transmission tr(t^dagger t) (conductance in units of e^2/h per spin)."""
    return scatter(V, E, t, edge_tol).transmission


def mode_sum(V, E, lead, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    r"""Dense mode sum :math:`G^{\rm lead}(E)_{ij} = \sum_c \psi_c(i)\,\psi_c(j)^*` of one lead.

    Parameters
    ----------
    V : ndarray (Nx, Ny, Nz)
        On-site potential; ``Nx * Ny * Nz <= MAX_DENSE_SITES`` (the result is dense (N, N)).
    E : float
        Energy, away from every transverse band edge and with at least one open channel.
    lead : {'L', 'R'}
        The lead whose incoming states are summed.
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz), tx > 0.
    edge_tol : float, optional
        Relative band-edge tolerance (:data:`EDGE_TOL`).

    Returns
    -------
    ndarray (N, N) complex
        :math:`G^{\rm lead}(E)` in Hruza-Jin's orientation (site order ``V.ravel()``): the
        steady state is :math:`\langle c_j^\dagger c_i\rangle = \sum_\alpha\int\frac{dE}{2\pi}
        f_\alpha(E)\,G^\alpha(E)_{ij}`. For the house convention
        :math:`C_{ij} = \langle c_i^\dagger c_j\rangle` use :func:`correlation_matrix`.

    References
    ----------
    HJ SM Eqs. 28-30; GH Eq. 62; module docstring ("Mode sums"); chapter {doc}`anderson`.
    """
    V = _check_potential(V)
    _check_dense(V, "mode_sum")
    psi = scattering_states(V, E, lead, t, edge_tol).reshape(V.size, -1)
    return psi @ psi.conj().T


def G(V, E, lead, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    """Deprecated alias of :func:`mode_sum` (same arguments, same result); removed in the next release."""
    warnings.warn(
        "anderson.G is deprecated: use anderson.mode_sum (same arguments and result), or "
        "anderson.correlation_matrix for C[i, j] = <c_i^dag c_j>",
        DeprecationWarning,
        stacklevel=2,
    )
    return mode_sum(V, E, lead, t, edge_tol)


def correlation_matrix(
    V, t=(1.0, 1.0, 1.0), leads="L", energies=(0.0,), weights=(1.0,), edge_tol=EDGE_TOL
):
    r"""Correlation matrix :math:`C_{ij} = \langle c_i^\dagger c_j\rangle` of a weighted sum of mode sums.

    Returns :math:`C = \sum_m w_m\,G^{\ell_m}(E_m)^T/2\pi`, the house convention of the book
    (:math:`C_{ij} = \langle c_i^\dagger c_j\rangle`, Gullans-Huse's :math:`G_{ij}`; the
    transpose of the mode sums of :func:`mode_sum`, which follow Hruza-Jin) with the measure
    :math:`dE/2\pi` of unit-current states (module docstring). The terms follow
    :func:`disorder_moments`: with quadrature nodes and weights :math:`w_m = f(E_m)\,\Delta E_m`
    it is :math:`\sum_\alpha\int\frac{dE}{2\pi}f_\alpha G^{\alpha T}`; with ``leads="RL",
    energies=(0.2, -0.2), weights=(1, -1)`` it is the linear response per unit
    :math:`\delta\mu`, :math:`\partial C/\partial(\delta\mu) = G^{{\rm neq}\,T}/2\pi`
    (HJ Eq. 7); ``leads="L"`` at one energy :math:`\mu_R` is GH's
    :math:`(\mu_L - \mu_R)\,G^{L}(\mu_R)^T/2\pi` per unit bias (GH Eqs. 62-63).

    Parameters
    ----------
    V : ndarray (Nx, Ny, Nz)
        On-site potential; ``Nx * Ny * Nz <= MAX_DENSE_SITES``.
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz), tx > 0.
    leads : str
        One lead 'L' or 'R' per term.
    energies, weights : sequences of float
        One finite energy (away from band edges, with open channels) and one finite real weight
        per term.
    edge_tol : float, optional
        Relative band-edge tolerance (:data:`EDGE_TOL`).

    Returns
    -------
    ndarray (N, N) complex
        C in site order ``V.ravel()``; Hermitian (real weights).

    References
    ----------
    HJ Eq. 7 and SM Eqs. 28-30; GH Eqs. 62-63; module docstring; chapters {doc}`anderson`,
    {doc}`anderson_mutual_information`, {doc}`probe`.
    """
    V = _check_potential(V)
    Nx, Ny, Nz = V.shape
    energies, weights = _check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol)
    _check_dense(V, "correlation_matrix")
    G_sum = sum(
        w * mode_sum(V, E, lead, t, edge_tol) for lead, E, w in zip(leads, energies, weights)
    )
    return G_sum.T / (2 * np.pi)


def bias_window(mu_left, mu_right, n_nodes=24):
    r"""Terms of the mode-sum integral over a finite bias window, by Gauss-Legendre quadrature.

    At zero temperature with :math:`\mu_L > \mu_R` the left lead alone fills the states between
    the two chemical potentials, so the non-equilibrium part of the state is
    :math:`\int_{\mu_R}^{\mu_L} dE\,G^L(E)` (GH Eqs. 62-63 at finite bias). Returns the keyword
    arguments ``leads``, ``energies``, ``weights`` of :func:`disorder_moments` and
    :func:`correlation_matrix` for an ``n_nodes``-point Gauss-Legendre rule on that interval:
    the weights sum to :math:`\mu_L - \mu_R`, so the window is the linear response
    :math:`(\mu_L - \mu_R)\,G^L(ar\mu)` when it is narrow. Divide the result by the bias to
    compare with the linear response per unit bias.

    Parameters
    ----------
    mu_left, mu_right : float
        Chemical potentials of the leads, finite, ``mu_left > mu_right``.
    n_nodes : int, optional
        Quadrature nodes, >= 1 (default 24).

    Returns
    -------
    dict
        ``leads`` (``"L" * n_nodes``), ``energies`` and ``weights`` (tuples of floats).

    References
    ----------
    GH Eqs. 62-63; chapter {doc}`probe_statistics` (the bias window dephases coherences).
    """
    mu_left = _checks.real("mu_left", mu_left)
    mu_right = _checks.real("mu_right", mu_right)
    if mu_right >= mu_left:
        raise ValueError(
            f"mu_right must be below mu_left = {mu_left:g} (the left lead fills the window), "
            f"got mu_right={mu_right!r}"
        )
    n_nodes = _checks.integer("n_nodes", n_nodes, low=1, high=10_000)
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    half, centre = (mu_left - mu_right) / 2, (mu_left + mu_right) / 2
    return dict(
        leads="L" * n_nodes,
        energies=tuple(float(e) for e in centre + half * nodes),
        weights=tuple(float(w) for w in half * weights),
    )


@dataclass(frozen=True, eq=False)
class DenseGreen:
    r"""Dense retarded Green's function of the bar with both leads and the lead broadenings.

    ``retarded`` (N, N): :math:`G^r = (E - H - \Sigma_L - \Sigma_R)^{-1}`; ``gamma_L``,
    ``gamma_R`` (N, N): :math:`\Gamma_\alpha = i(\Sigma_\alpha - \Sigma_\alpha^\dagger)`, embedded
    on slice 0 (L) and slice Nx - 1 (R). Site order ``V.ravel()``.
    """

    retarded: np.ndarray
    gamma_L: np.ndarray
    gamma_R: np.ndarray

    def mode_sum(self, lead):
        r""":math:`G^r\,\Gamma_{\rm lead}\,G^a`, the dense-route value of :func:`mode_sum`.

        ``lead`` is 'L' or 'R'.
        """
        gamma = self.gamma_L if _check_lead(lead) == "L" else self.gamma_R
        return self.retarded @ gamma @ self.retarded.conj().T


def dense_green(V, E, t=(1.0, 1.0, 1.0), edge_tol=EDGE_TOL):
    r"""Reference route: dense :math:`G^r` and :math:`\Gamma_{L,R}` of the bar (:class:`DenseGreen`).

    Builds the (N, N) matrix :math:`E - H - \Sigma_L - \Sigma_R` from :func:`hamiltonian` and the
    lead self-energy :attr:`LeadModes.self_energy` and inverts it: :math:`O(N^3)` work and
    :math:`O(N^2)` memory, for small bars only (``Nx * Ny * Nz <= MAX_DENSE_SITES``). Exact
    identities against the slice recursion (module docstring): :math:`G^\alpha = G^r\Gamma_\alpha
    G^a` (:meth:`DenseGreen.mode_sum`), the sum rule :math:`G^L + G^R = i(G^r - G^a)` and the
    Caroli transmission :math:`{\rm tr}(\Gamma_L G^r\Gamma_R G^a)`.

    Parameters
    ----------
    V : ndarray (Nx, Ny, Nz)
        On-site potential.
    E : float
        Energy, away from every transverse band edge (at least one open channel is not needed).
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz), tx > 0.
    edge_tol : float, optional
        Relative band-edge tolerance (:data:`EDGE_TOL`).

    References
    ----------
    HJ SM Eqs. 19-24 (the matching it replaces); module docstring ("Mode sums"); chapter
    {doc}`anderson`.
    """
    V = _check_potential(V)
    E = _check_energy(E)
    t = _check_hoppings(t)
    _check_dense(V, "dense_green")
    n, M = V.size, V.shape[1] * V.shape[2]
    Sigma = lead_modes(E, V.shape[1], V.shape[2], t, edge_tol).self_energy
    SL = np.zeros((n, n), complex)
    SR = np.zeros((n, n), complex)
    SL[:M, :M], SR[-M:, -M:] = Sigma, Sigma
    Gr = np.linalg.inv(E * np.eye(n) - hamiltonian(V, t).toarray() - SL - SR)
    return DenseGreen(retarded=Gr, gamma_L=1j * (SL - SL.conj().T), gamma_R=1j * (SR - SR.conj().T))


def diagonal_fluctuation(V, E, lead, t=(1.0, 1.0, 1.0)):
    r"""Fluctuations of the diagonal of one mode sum about its slice means, one realization.

    :math:`G^{\rm lead}_{ii}(E) = \sum_c|\psi_c(i)|^2` from the :func:`scattering_states` (no
    dense matrix), minus its mean over the slice :math:`i_x` of site i. These are the fluctuations
    whose correlation between energies, leads and realizations tells how independent the two
    terms of HJ's :math:`G^{\rm neq}` are.

    Parameters
    ----------
    V : ndarray (Nx, Ny, Nz)
        On-site potential.
    E : float
        Energy, away from every transverse band edge, with at least one open channel.
    lead : {'L', 'R'}
        The lead whose incoming states are summed.
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz).

    Returns
    -------
    ndarray (Nx * Ny * Nz,)
        Real, in the site order of :func:`hamiltonian`; it sums to zero over each slice.

    References
    ----------
    HJ Eq. 7 (the pair :math:`G^R(0^+) - G^L(0^-)`); chapter {doc}`anderson` (Sec. 1).
    """
    psi = scattering_states(V, E, lead, t)
    diagonal = np.sum(np.abs(psi) ** 2, axis=-1).reshape(len(psi), -1)
    return (diagonal - diagonal.mean(axis=1, keepdims=True)).ravel()


def bond_currents(G, shape, t=(1.0, 1.0, 1.0)):
    r"""Particle current of a mode sum through the Nx - 1 bonds x -> x + 1 of the bar.

    :math:`J_x = 2t_x\,{\rm Im}\sum_\perp G_{(x+1,\perp),(x,\perp)}` for a dense matrix ``G`` in the
    orientation of :func:`mode_sum` (:math:`G_{ij}` multiplies :math:`\langle c_j^\dagger c_i\rangle`).
    For :math:`G^L(E)` every bond carries the Landauer transmission :math:`T(E)`, for
    :math:`G^R(E)` it carries :math:`-T(E)` (current conservation).

    Parameters
    ----------
    G : ndarray (N, N)
        Dense matrix on the bar, N = Nx * Ny * Nz.
    shape : tuple (Nx, Ny, Nz)
        Shape of the bar (``V.shape``).
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz); only tx enters.

    Returns
    -------
    ndarray (Nx - 1,)

    References
    ----------
    Module docstring ("Mode sums"); chapter {doc}`anderson` (Sec. 1, fact iii).
    """
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
    if not isinstance(shape, tuple) or len(shape) != 3:
        raise ValueError(f"shape must be a tuple (Nx, Ny, Nz), got shape={shape!r}")
    for name, size in zip(("Nx", "Ny", "Nz"), shape):
        _check_size(f"shape {name}", size)
    tx = _check_hoppings(t)[0]
    Nx, M = shape[0], shape[1] * shape[2]
    G = _checks.array("G", G, dtype=complex, ndim=2)
    if G.shape != (Nx * M, Nx * M):
        raise ValueError(
            f"G must have shape (N, N) with N = Nx * Ny * Nz = {Nx * M} for shape={shape}, "
            f"got G.shape={G.shape}"
        )
    blocks = G.reshape(Nx, M, Nx, M)
    return np.array([2 * tx * np.trace(blocks[x + 1, :, x, :]).imag for x in range(Nx - 1)])


# --------------------------------------------------------------------------- slice statistics
def slice_gram(psi):
    """Channel-space Gram matrices M_a = psi_a^dagger psi_a of every x-slice a, (Nx, n, n)."""
    psi = _check_states(psi)
    blocks = psi.reshape(psi.shape[0], -1, psi.shape[-1])
    return np.einsum("aik,ail->akl", blocks.conj(), blocks, optimize=True)


def slice_moments(psi, weights=None):
    """Per-slice sums of G = sum_k w_k psi_k psi_k^dagger without forming G.

    Returns ``trace`` (Nx,) with trace[a] = sum_{i in a} G_ii and ``frobenius`` (Nx, Nx) with
    frobenius[a, b] = sum_{i in a, j in b} |G_ij|^2 (module docstring). ``weights`` (n,) real,
    default 1: e.g. concatenate psi_R at 0+ and psi_L at 0- along the last axis with weights
    +1 and -1 for G^R(0+) - G^L(0-).
    """
    psi = _check_states(psi)
    n = psi.shape[-1]
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights)
        if w.shape != (n,) or not np.isrealobj(w) or not np.all(np.isfinite(w)):
            raise ValueError(
                f"weights must be {n} finite real numbers (one per state), got shape {w.shape}"
            )
        w = w.astype(float)
    M = slice_gram(psi)
    trace = np.einsum("akk,k->a", M, w).real
    WMW = M * np.outer(w, w)
    Nx = len(M)
    frob = (WMW.reshape(Nx, -1) @ M.reshape(Nx, -1).conj().T).real
    return trace, frob


def disorder_moments(
    rng,
    Nx,
    Ny,
    Nz,
    W,
    t=(1.0, 1.0, 1.0),
    leads="L",
    energies=(0.0,),
    weights=(1.0,),
    edge_tol=EDGE_TOL,
):
    r"""One disorder realization: per-slice moments of a signed combination of mode sums.

    Draws ``V = potential(rng, Nx, Ny, Nz, W)`` and returns :func:`slice_moments` of
    :math:`G = \sum_m w_m\,G^{\ell_m}(E_m)` with lead ``leads[m]``, energy ``energies[m]`` and
    weight ``weights[m]``: ``leads="RL", energies=(0.2, -0.2), weights=(1, -1)`` is Hruza-Jin's
    :math:`G^{\rm neq} = G^R(0^+) - G^L(0^-)` (HJ Eq. 7, δμ = 1); ``leads="L"`` at one energy is the
    Gullans-Huse mode sum of Eqs. 62-72. The result is a dict with ``trace`` (Nx,) and
    ``frobenius`` (Nx, Nx) (see :func:`slice_moments`), ``term_traces`` (n_terms, Nx) with the
    unweighted slice traces of each term's :math:`G^{\ell_m}(E_m)`, ``n_open`` (the open channels at each
    energy) and ``V_mean`` (the mean of V, a handle for tests). A module-level function of
    ``rng`` and plain parameters, so it runs under ``ensemble.run_ensemble``. Every term is checked
    before the first solve, and a bar whose estimated memory (sweep, states, Gram matrices)
    exceeds :func:`nqlib._checks.memory_budget` (the machine's memory, or ``$NQLIB_MAX_GIB``) is refused.
    """
    energies, weights = _check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol)
    V = potential(rng, Nx, Ny, Nz, W)
    blocks, w_all, n_open, terms = [], [], [], []
    for lead, E, w in zip(leads, energies, weights):
        psi = scattering_states(V, E, lead, t, edge_tol)
        blocks.append(psi)
        terms.append(np.sum(np.abs(psi.reshape(Nx, -1, psi.shape[-1])) ** 2, axis=(1, 2)))
        w_all.append(np.full(psi.shape[-1], float(w)))
        n_open.append(psi.shape[-1])
    trace, frob = slice_moments(np.concatenate(blocks, axis=-1), np.concatenate(w_all))
    return {
        "trace": trace,
        "frobenius": frob,
        "term_traces": np.array(terms),
        "n_open": np.array(n_open),
        "V_mean": float(V.mean()),
    }


@dataclass(frozen=True, eq=False)
class DensityProfile:
    r"""Hruza-Jin's density profile :math:`g_1(x)` and its slope over disorder realizations.

    ``x`` (Nx,): :math:`i_x/N_x`; ``g1`` (runs, Nx): :math:`[G^{\rm neq}_{ii}]_\perp` per
    realization; ``terms`` (runs, n_terms, Nx): the same for each term of the mode sum;
    ``slopes`` (runs,): least-squares slope of ``g1`` in x per realization; ``slope``,
    ``slope_err``: their mean and its standard error (:math:`\Delta n^{(1)}`); ``nu``: bulk
    density of states per site, :math:`\sum_m [G^{(m)}_{ii}]_\perp/2\pi` averaged over
    realizations and the central half of the slices (x in [Nx/4, Nx - Nx/4)).
    """

    x: np.ndarray
    g1: np.ndarray
    terms: np.ndarray
    slopes: np.ndarray
    slope: float
    slope_err: float
    nu: float

    @property
    def four_pi_nu(self):
        r""":math:`4\pi\nu`, the large-N limit of the slope (chapter {doc}`anderson`)."""
        return 4 * np.pi * self.nu


def density_profile(trace, term_traces, n_perp):
    r"""Hruza-Jin's :math:`g_1(x)`, its slope :math:`\Delta n^{(1)}` and the bulk density of states.

    From stacked :func:`disorder_moments` of :math:`G^{\rm neq} = G^R(0^+) - G^L(0^-)` (``leads="RL",
    energies=(0.2, -0.2), weights=(1, -1)``): :math:`g_1 = {\rm trace}/N_\perp` is the
    cross-section average of the diagonal (HJ Eqs. 9-10 at n = 1); the slope of
    :math:`g_1 = \Delta n\,x + {\rm const}` in :math:`x = i_x/N_x` is fitted by least squares in
    every realization, and its mean and standard error over realizations are
    :math:`\Delta n^{(1)}`. By the sum rule :math:`G^L + G^R = i(G^r - G^a)` the sum of the two
    terms' diagonals is :math:`2\pi` times the local density of states (at the two energies), so
    ``nu`` is the bulk density of states per site.

    Parameters
    ----------
    trace : ndarray (runs, Nx)
        Slice traces of the signed mode sum, one row per realization (runs >= 2).
    term_traces : ndarray (runs, n_terms, Nx)
        Unweighted slice traces of each term.
    n_perp : int
        Sites per slice, Ny * Nz.

    Returns
    -------
    DensityProfile

    References
    ----------
    HJ Eqs. 7, 9-10 and Fig. 3a; chapter {doc}`anderson` (Sec. 2).
    """
    trace = _checks.array("trace", trace, ndim=2)
    runs, Nx = trace.shape
    if runs < 2 or Nx < 2:
        raise ValueError(
            f"trace must have shape (runs, Nx) with runs >= 2 and Nx >= 2, got shape {trace.shape}"
        )
    term_traces = _checks.array("term_traces", term_traces, ndim=3)
    if term_traces.shape[0] != runs or term_traces.shape[2] != Nx or term_traces.shape[1] < 1:
        raise ValueError(
            f"term_traces must have shape (runs, n_terms, Nx) = ({runs}, n_terms, {Nx}), "
            f"got shape {term_traces.shape}"
        )
    n_perp = _checks.integer("n_perp", n_perp, 1)
    g1 = trace / n_perp
    terms = term_traces / n_perp
    x = np.arange(Nx) / Nx
    slopes = np.polyfit(x, g1.T, 1)[0]
    nu = terms.sum(axis=1)[:, Nx // 4 : Nx - Nx // 4].mean() / (2 * np.pi)
    return DensityProfile(
        x=x,
        g1=g1,
        terms=terms,
        slopes=slopes,
        slope=float(slopes.mean()),
        slope_err=float(slopes.std(ddof=1) / np.sqrt(runs)),
        nu=float(nu),
    )


def energy_correlation(
    rng, Nx, Ny, Nz, W, energies, t=(1.0, 1.0, 1.0), lead="L", edge_tol=EDGE_TOL
):
    r"""One disorder realization: slice sums of :math:`G(E_k)_{xy}\overline{G(E_0)_{xy}}` (GH Eqs. 65, 70).

    Draws ``V = potential(rng, Nx, Ny, Nz, W)`` and, with :math:`G = G^{\rm lead}`, returns
    ``cross`` (n_E, Nx, Nx) with

    .. math::

        {\rm cross}[k, a, b] = {\rm Re}\sum_{x\in a,\,y\in b} G(E_k)_{xy}\,\overline{G(E_0)_{xy}}
        = {\rm Re}\,{\rm tr}(K_a K_b^\dagger), \qquad K_a = \psi_a(E_0)^\dagger\,\psi_a(E_k),

    so that :math:`\sum_{nm}\Delta\Phi^{nm}_{AB}(E_0, E_k - E_0) = 2\sum_{a\in A, b\in B}{\rm cross}[k, a, b]`
    (the channel sum of GH Eq. 65; ``cross[0]`` is the ``frobenius`` of :func:`slice_moments`).
    """
    energies = tuple(energies)
    if not energies:
        raise ValueError("energies must hold at least one energy (the reference E_0 first)")
    lead = _check_lead(lead)
    _check_terms(
        Nx,
        Ny,
        Nz,
        t,
        lead * len(energies),
        energies,
        (1.0,) * len(energies),
        edge_tol,
        together=False,
    )
    V = potential(rng, Nx, Ny, Nz, W)
    ref = scattering_states(V, energies[0], lead, t, edge_tol).reshape(Nx, Ny * Nz, -1)
    cross = np.empty((len(energies), Nx, Nx))
    for k, E in enumerate(energies):
        psi = ref if k == 0 else scattering_states(V, E, lead, t, edge_tol).reshape(Nx, Ny * Nz, -1)
        K = np.einsum("aim,ain->amn", ref.conj(), psi, optimize=True).reshape(Nx, -1)
        cross[k] = (K @ K.conj().T).real
    return {"cross": cross}


def central_halves(L):
    """Slices of A and B: the left and right halves of the central L^3 cube of the (L + 2)-slice wire.

    Gullans-Huse's wire has slices 0..L+1; A = slices 1..L/2 and B = slices L+1-L/2..L (for odd L
    the middle slice belongs to neither). Returns the two index arrays.

    References
    ----------
    GH Sec. V A and Fig. 7; chapter {doc}`anderson_mutual_information` (Sec. 1).
    """
    L = _checks.integer("L", L, 2)
    _checks.memory(f"central_halves at L={L}", 8 * L)
    return np.arange(1, L // 2 + 1), np.arange(L + 1 - L // 2, L + 1)


def f_ab(frobenius, L):
    r"""Gullans-Huse's volume-law coefficient
    :math:`f_{AB} = \frac{4}{L_x^2L^2}\sum_{a\in A,b\in B}{\rm frobenius}[a, b]`.

    With ``frobenius`` the slice sums :math:`\sum_{x\in a,y\in b}|G^L_{xy}|^2` of
    :func:`slice_moments` (or :func:`disorder_moments`) on the :math:`(L+2)\times L\times L` wire,
    :math:`L_x = L + 2` and A, B of :func:`central_halves`, this is GH's
    :math:`f_{AB} = \frac{2}{L_x^2L^2}\sum_{nm}\Delta\Phi^{nm}_{AB}` (Eqs. 65 and 72, with
    :math:`\sum_{nm}\Delta\Phi^{nm}_{AB} = 2\sum_{x\in A,y\in B}|G_{xy}|^2`; see
    :func:`delta_phi`). A stack (..., Lx, Lx), e.g. the ``cross`` of :func:`energy_correlation`,
    gives one value per leading index.

    Parameters
    ----------
    frobenius : ndarray (..., L + 2, L + 2)
        Finite real slice sums.
    L : int
        Cross-section and cube size, >= 2.

    Returns
    -------
    float or ndarray (...)

    References
    ----------
    GH Eqs. 65, 69-73; chapter {doc}`anderson_mutual_information`
    (Sec. 1, the normalisation derived there).
    """
    L = _checks.integer("L", L, 2)
    frobenius = _checks.array("frobenius", frobenius)
    if frobenius.ndim < 2 or frobenius.shape[-2:] != (L + 2, L + 2):
        raise ValueError(
            f"frobenius must have shape (..., L + 2, L + 2) = (..., {L + 2}, {L + 2}) for "
            f"L={L}, got shape {frobenius.shape}"
        )
    A, B = central_halves(L)
    norm = (L + 2) ** 2 * L**2
    if frobenius.ndim == 2:
        return 4 * frobenius[np.ix_(A, B)].sum() / norm
    return 4 * frobenius[..., A, :][..., B].sum(axis=(-2, -1)) / norm


def f_ab_at(V, E, t=(1.0, 1.0, 1.0)):
    r"""Gullans-Huse's :math:`f_{AB}` of one :math:`(L+2)\times L\times L` bar at energy E.

    :func:`f_ab` of the slice sums :math:`\sum_{x\in a,y\in b}|G^L_{xy}(E)|^2` of the
    left-incoming :func:`scattering_states` (:func:`slice_moments`): one realization, at the cost
    of one sweep, without the dense :math:`(L^3)^2` mode sum.

    Parameters
    ----------
    V : ndarray (L + 2, L, L)
        On-site potential of the wire, L >= 2 (the clean bar is ``np.zeros``).
    E : float
        Energy, away from every transverse band edge (:func:`off_edge_energy`).
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz).

    Returns
    -------
    float

    References
    ----------
    GH Eqs. 65, 72; chapter {doc}`anderson_mutual_information` (Sec. 1, band edge,
    ballistic bar, Exercise 1).
    """
    shape = _check_potential(V).shape
    if shape[0] != shape[1] + 2 or shape[1] != shape[2] or shape[1] < 2:
        raise ValueError(f"V must have shape (L + 2, L, L) with L >= 2, got shape {shape}")
    psi = scattering_states(V, E, "L", t)
    return f_ab(slice_moments(psi)[1], shape[1])


def f_ab_clean(E, L, t=(1.0, 1.0, 1.0)):
    r"""Closed form of :math:`f_{AB}` for the clean wire: :math:`\sum_{k\ \rm open}v_k^{-2}/L_x^2`.

    At W = 0 the left-incoming states are plane waves :math:`\chi_k(\perp)e^{ik_xx}/\sqrt{v_k}`
    and the orthogonality of the :math:`\chi_k` gives every slice pair the weight
    :math:`\sum_{\perp\perp'}|G_{(a,\perp),(b,\perp')}|^2 = \sum_k v_k^{-2}`; with
    :math:`|A| = |B| = L/2` slices and :math:`L_x = L + 2`, :math:`f_{AB} = \sum_k v_k^{-2}/L_x^2`
    (even L). It stays of order one: no volume law.

    Parameters
    ----------
    E : float
        Energy, away from every transverse band edge.
    L : int
        Cross-section and cube size, even, >= 2.
    t : tuple of three floats, optional
        Hoppings (tx, ty, tz).

    Returns
    -------
    float

    References
    ----------
    GH Sec. V A (the ballistic contrast); chapter {doc}`anderson_mutual_information` (Sec. 3).
    """
    L = _checks.integer("L", L, 2)
    if L % 2:
        raise ValueError(f"L must be even (A and B are then whole halves), got L={L}")
    _checks.memory(f"f_ab_clean at L={L}", 16 * L**4)  # the transverse basis of lead_modes
    velocity = lead_modes(E, L, L, t).velocity
    return np.sum(velocity**-2.0) / (L + 2) ** 2


def delta_phi(psi, A, B, psi_shifted=None):
    r"""Reference route: :math:`\sum_{nm}\Delta\Phi^{nm}_{AB}(E, \Delta)` of GH Eq. 65, by explicit loops.

    :math:`\Delta\Phi_{AB} = \Phi_{A\cup B} - \Phi_A - \Phi_B` with, for a set S of sites,

    .. math::

        \Phi^{nm}_S = \Bigl|\sum_{x\in S}\phi^{n*}(x,E)\,\phi^m(x,E')\Bigr|^2
                    - \sum_{x\in S}|\phi^n(x,E)|^2\,|\phi^m(x,E')|^2,

    summed over channel pairs (n, m) in a Python loop: :math:`O(n^2 N)` work, for small bars.
    It equals :math:`2\,{\rm Re}\sum_{x\in A,y\in B}G_{xy}(E')\overline{G_{xy}(E)}`, which
    :func:`energy_correlation` and :func:`f_ab` compute from slice Gram matrices.

    Parameters
    ----------
    psi : ndarray (Nx, Ny, Nz, n)
        Scattering states at E (the :math:`\phi^n`).
    A, B : sequences of int
        Disjoint slice index sets in [0, Nx).
    psi_shifted : ndarray (Nx, Ny, Nz, n'), optional
        States at :math:`E' = E + \Delta` (the :math:`\phi^m`); default ``psi`` (:math:`\Delta = 0`).

    Returns
    -------
    float

    References
    ----------
    GH Eq. 65 (Eqs. 66-70 for Delta != 0); chapter {doc}`anderson_mutual_information`
    (Sec. 1, Exercise 2).
    """
    psi = _check_states(psi)
    other = psi if psi_shifted is None else _check_states(psi_shifted, "psi_shifted")
    Nx = psi.shape[0]
    if other.shape[:3] != psi.shape[:3]:
        raise ValueError(
            f"psi_shifted must have the bar shape of psi, {psi.shape[:3]}, got {other.shape[:3]}"
        )
    A = _checks.indices("A", A, 0, Nx - 1)
    B = _checks.indices("B", B, 0, Nx - 1)
    if np.intersect1d(A, B).size:
        raise ValueError(
            f"A and B must be disjoint slice sets, got common slices {np.intersect1d(A, B).tolist()}"
        )
    _checks.work(
        f"delta_phi with {psi.shape[-1]} x {other.shape[-1]} channel pairs",
        psi.shape[-1] * other.shape[-1] * psi[0, ..., 0].size * (len(A) + len(B)),
    )
    p = psi.reshape(Nx, -1, psi.shape[-1])
    q = other.reshape(Nx, -1, other.shape[-1])

    def phi(slices):
        a, b = p[slices].reshape(-1, p.shape[-1]), q[slices].reshape(-1, q.shape[-1])
        total = 0.0
        for n in range(a.shape[1]):
            for m in range(b.shape[1]):
                u = a[:, n].conj() * b[:, m]  # phi^n*(x) phi^m(x)
                total += abs(u.sum()) ** 2 - np.sum(np.abs(a[:, n]) ** 2 * np.abs(b[:, m]) ** 2)
        return total

    return float(phi(np.concatenate([A, B])) - phi(A) - phi(B))


@dataclass(frozen=True, eq=False)
class EnergyCorrelationFit:
    r"""Gullans-Huse's :math:`i_{AB}(0, \epsilon)` with jackknife errors, and its shape.

    ``eps`` (n_eps,) as given (0 first); ``i``, ``i_err`` (n_eps,); ``sigma``, ``sigma_err``: width of
    the Gaussian :math:`e^{-\epsilon^2/2\sigma^2}` fitted on the window; ``integral``,
    ``integral_err``: :math:`\int i\,d\epsilon` over the non-negative ``eps`` (trapezoid);
    ``first_negative``: the smallest non-negative :math:`\epsilon` with :math:`i < 0` (NaN if none).
    """

    eps: np.ndarray
    i: np.ndarray
    i_err: np.ndarray
    sigma: float
    sigma_err: float
    integral: float
    integral_err: float
    first_negative: float

    @property
    def non_negative(self):
        r"""(eps, i, i_err) at the non-negative ``eps`` in increasing order: what is fitted and
        integrated, and what a plot of :math:`i_{AB}(0, \epsilon)` shows."""
        keep = _non_negative(self.eps)
        return self.eps[keep], self.i[keep], self.i_err[keep]


def i_ab(cross_sums, eps, fit_max=8.0):
    r"""Gullans-Huse's energy correlation :math:`i_{AB}(0, \epsilon)`, its width and integral.

    From per-realization inter-half sums
    :math:`c_r(\epsilon) = \sum_{a\in A,b\in B}{\rm cross}[\epsilon, a, b]`
    (:func:`energy_correlation` at :math:`E_k = \epsilon_k t/L_x^2`), :math:`i(\epsilon) =
    \overline{c(\epsilon)}/\overline{c(0)}` (a ratio of disorder averages, GH Eq. 69); the width
    :math:`\sigma` from the least-squares slope of :math:`\ln i = -\epsilon^2/2\sigma^2` (no
    intercept, :math:`0 < \epsilon \le` ``fit_max``, where i must be > 0) and :math:`\int i\,d\epsilon`
    over the non-negative ``eps`` by the trapezoid rule. All errors are jackknife errors over
    realizations (:func:`nqlib.stats.jackknife`), which keep the correlations between energies.

    Parameters
    ----------
    cross_sums : ndarray (runs, n_eps)
        Finite real sums, runs >= 2, one column per entry of ``eps``.
    eps : sequence of float (n_eps,)
        Scaled energy differences, distinct, ``eps[0] == 0``; negative entries are kept in ``i``
        (e.g. for the symmetry :math:`i(-\epsilon) = i(\epsilon)`) but not fitted or integrated.
    fit_max : float, optional
        Upper end of the Gaussian window (> 0; the window must hold a positive ``eps``).

    Returns
    -------
    EnergyCorrelationFit

    References
    ----------
    GH Eqs. 66-70 and Fig. 8c; chapter {doc}`anderson_mutual_information` (Sec. 2).
    """
    eps = _checks.array("eps", eps, ndim=1)
    if eps.size < 2 or eps[0] != 0 or np.unique(eps).size != eps.size:
        raise ValueError(
            f"eps must hold >= 2 distinct energies with eps[0] = 0, got eps={eps.tolist()}"
        )
    cross_sums = _checks.array("cross_sums", cross_sums, ndim=2)
    if cross_sums.shape[1] != eps.size or cross_sums.shape[0] < 2:
        raise ValueError(
            f"cross_sums must have shape (runs >= 2, len(eps) = {eps.size}), got shape {cross_sums.shape}"
        )
    fit_max = _checks.real("fit_max", fit_max, 0.0, open_low=True)
    keep = _non_negative(eps)
    eps_pos = eps[keep]
    window = (eps_pos > 0) & (eps_pos <= fit_max)
    if not window.any():
        raise ValueError(
            f"fit_max must leave a positive eps in (0, fit_max], got fit_max={fit_max!r}"
        )

    def estimates(c):
        i = c.mean(axis=0) / c[:, 0].mean()
        ip = i[keep]
        slope = np.sum(np.log(ip[window]) * eps_pos[window] ** 2) / np.sum(eps_pos[window] ** 4)
        return np.concatenate([i, [1 / np.sqrt(-2 * slope), np.trapezoid(ip, eps_pos)]])

    est, err = stats.jackknife(estimates, cross_sums)
    i = est[:-2]
    negative = i[keep] < 0
    first = float(eps_pos[np.argmax(negative)]) if negative.any() else float("nan")
    return EnergyCorrelationFit(
        eps=eps,
        i=i,
        i_err=err[:-2],
        sigma=float(est[-2]),
        sigma_err=float(err[-2]),
        integral=float(est[-1]),
        integral_err=float(err[-1]),
        first_negative=first,
    )


def _non_negative(eps):
    """Indices of the non-negative entries of ``eps``, in increasing order of eps."""
    positions = np.flatnonzero(eps >= 0)
    return positions[np.argsort(eps[positions])]


def u1_maps(
    rng,
    Nx,
    Ny,
    Nz,
    W,
    j,
    t=(1.0, 1.0, 1.0),
    leads="RL",
    energies=(0.2, -0.2),
    weights=(1.0, -1.0),
    edge_tol=EDGE_TOL,
):
    r"""One disorder realization: the two coherence maps of Hruza-Jin Fig. 2 for
    :math:`G = \sum_m w_m G^{\ell_m}(E_m)`.

    ``pair`` (Nx, Nx): :math:`\sum_{i_\perp} G_{(a, i_\perp), (b, i_\perp)}` (same transverse site);
    ``triple`` (Nx, Nx):
    :math:`\sum_{i_\perp, j_\perp} G_{(a, i_\perp), (j, j_\perp)}\,G_{(j, j_\perp), (c, i_\perp)}`
    at fixed slice ``j`` (first and last transverse sites equal). Both complex. Divide by
    :math:`N_yN_z` and :math:`(N_yN_z)^2` for HJ's :math:`[\cdot]_\perp` (Eq. 10). Same term
    conventions as :func:`disorder_moments`.
    """
    energies, weights = _check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol)
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < Nx:
        raise ValueError(f"j must be a slice index in [0, Nx) = [0, {Nx}), got j={j!r}")
    V = potential(rng, Nx, Ny, Nz, W)
    blocks, w = [], []
    for lead, E, wt in zip(leads, energies, weights):
        psi = scattering_states(V, E, lead, t, edge_tol)
        blocks.append(psi.reshape(Nx, Ny * Nz, -1))
        w.append(np.full(psi.shape[-1], float(wt)))
    psi, w = np.concatenate(blocks, axis=-1), np.concatenate(w)
    pair = np.einsum("aik,bik,k->ab", psi, psi.conj(), w, optimize=True)
    Mj = psi[j].conj().T @ psi[j]
    X = np.einsum("aik,kl->ail", psi, (w[:, None] * Mj) * w[None, :], optimize=True)
    triple = np.einsum("ail,cil->ac", X, psi.conj(), optimize=True)
    return {"pair": pair, "triple": triple}


# --------------------------------------------------------------------------- loop cumulants (HJ)
# moved here from nqlib.qssep (issue 17); the QSSEP shapes they are compared with are
# nqlib.cumulants.cyclic_cumulant
def loop_statistics(
    rng,
    Nx,
    Ny,
    Nz,
    W,
    pairs=(),
    t=(1.0, 1.0, 1.0),
    leads="RL",
    energies=(0.2, -0.2),
    weights=(1.0, -1.0),
    edge_tol=EDGE_TOL,
    realizations=1,
):
    r"""One disorder realization: the per-realization sums behind :func:`loop_cumulants`.

    Draws ``V = potential(rng, Nx, Ny, Nz, W)`` and forms
    :math:`G = \sum_m w_m G^{\ell_m}(E_m)` (conventions of :func:`disorder_moments`;
    the default is HJ's :math:`G^{\rm neq}`; its G_ij = sum_k psi_k(i) psi_k(j)^* is already in HJ
    convention). ``pairs`` lists slice pairs (b, c) at which the third-order cut
    :math:`i\in a \to j\in b\to k\in c\to i` is wanted for every slice a. Returns a dict:

    - ``mean`` (Nx, Nx, M): momentum diagonals of the blocks :math:`G_{ab}` (M = Ny Nz),
    - ``pair`` (Nx, Nx): :math:`{\rm tr}\,G_{ab}G_{ba}`,
    - ``square_mean`` (Nx, Nx, M): momentum diagonals of :math:`(G^2)_{ac}`, ``cube``: tr G^3,
    - ``triple`` (n_pairs, Nx): :math:`{\rm tr}\,G_{ab}G_{bc}G_{ca}`, and ``path_ab_bc``,
      ``path_bc_ca``, ``path_ca_ab`` (n_pairs, Nx, M): momentum diagonals of the two-edge products.

    With ``realizations = k > 1`` it draws k potentials from ``rng`` in turn and returns the mean
    of their sums: a block that stands for k realizations in :func:`loop_cumulants`, whose
    estimators are functions of means (the jackknife then runs over blocks). Long quasi-1d bars
    need this: ``mean`` and ``square_mean`` hold 2 Nx^2 M complex numbers per realization.
    The output records k as ``realizations`` (an int), which the bias correction of
    :func:`loop_cumulants` needs.

    A module-level function of ``rng`` and plain parameters, for :func:`nqlib.ensemble.run_ensemble`;
    formerly ``nqlib.qssep.anderson_loop_statistics`` (the name the shipped archive
    ``data/anderson-w6.npz`` records, :func:`nqlib.paper.realization_function`).

    References
    ----------
    HJ Eqs. 7, 9-10; chapters {doc}`qssep_anderson`, {doc}`anderson`.
    """
    energies, weights = _check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol)
    pairs = _check_pairs(pairs, Nx)
    realizations = _checks.integer("realizations", realizations, 1, 10**6)
    out = None
    for _ in range(realizations):
        V = potential(rng, Nx, Ny, Nz, W)
        more = _loop_sums(V, pairs, t, leads, energies, weights, edge_tol)
        out = more if out is None else {key: out[key] + more[key] for key in out}
    if realizations > 1:
        out = {key: v / realizations for key, v in out.items()}
    return {**out, "realizations": realizations}


def _loop_sums(V, pairs, t, leads, energies, weights, edge_tol):
    """:func:`loop_statistics` of one potential V (checked arguments)."""
    Nx, Ny, Nz = V.shape
    blocks, w = [], []
    for lead, E, weight in zip(leads, energies, weights):
        psi = scattering_states(V, E, lead, t, edge_tol)
        blocks.append(psi)
        w.append(np.full(psi.shape[-1], float(weight)))
    psi, w = np.concatenate(blocks, axis=-1), np.concatenate(w)
    M = Ny * Nz
    phi = np.fft.fft2(psi, axes=(1, 2), norm="ortho").reshape(Nx, M, -1)  # transverse momentum
    gram = np.einsum("aqk,aql->akl", phi.conj(), phi, optimize=True)  # M_a (unitary F drops out)
    wgw = gram * np.outer(w, w)  # W M_a W
    total = wgw.sum(axis=0)
    A = gram * w[:, None]  # W M_a
    pwc = phi * w  # phi_a W
    out = {
        "mean": np.einsum("aqk,bqk->abq", pwc, phi.conj(), optimize=True),
        "pair": np.einsum("akl,blk->ab", A, A, optimize=True).real,
        "square_mean": np.einsum("aqk,cqk->acq", phi @ total, phi.conj(), optimize=True),
        "cube": np.trace(np.linalg.matrix_power(A.sum(axis=0), 3)).real,
    }
    triple, ab_bc, bc_ca, ca_ab = [], [], [], []
    for b, c in pairs:
        triple.append(np.einsum("akl,lk->a", A, A[b] @ A[c], optimize=True))
        ab_bc.append(np.einsum("aqk,kq->aq", phi, wgw[b] @ phi[c].conj().T, optimize=True))
        bc_ca.append(np.einsum("ql,aql->aq", phi[b] @ wgw[c], phi.conj(), optimize=True))
        ca_ab.append(np.einsum("akl,qk,ql->aq", gram, pwc[c], pwc[b].conj(), optimize=True))
    shape = (len(pairs), Nx, M)
    out["triple"] = np.array(triple).reshape(len(pairs), Nx)
    out["path_ab_bc"] = np.array(ab_bc).reshape(shape)
    out["path_bc_ca"] = np.array(bc_ca).reshape(shape)
    out["path_ca_ab"] = np.array(ca_ab).reshape(shape)
    return out


def loop_cumulants(data, pairs=()):
    r"""Transverse sums of the disorder cumulants of loop variables from stacked :func:`loop_statistics`.

    For :math:`G = \sum_k w_k\psi_k\psi_k^\dagger` built from scattering states (HJ's
    :math:`G^{\rm neq} = G^R(0^+) - G^L(0^-)` has weights +1, -1) the transverse sums of the
    disorder cumulants of the loop variables follow from per-realization sums. With slices a, b, c,
    blocks :math:`G_{ab}` (:math:`N_yN_z` square) and :math:`\Sigma_\perp` the sum over all
    transverse positions,

    .. math::

        \Sigma_\perp\kappa(G_{ij}, G_{ji}) = \overline{{\rm tr}\,G_{ab}G_{ba}}
            - {\rm tr}\,\overline{G_{ab}}\,\overline{G_{ba}}, \qquad
        \Sigma_\perp\kappa(G_{ij}, G_{jk}, G_{ki}) = \overline{{\rm tr}\,G_{ab}G_{bc}G_{ca}}
            - {\rm tr}\,\overline{G_{ab}G_{bc}}\,\overline{G_{ca}} - (2\ {\rm cyclic})
            + 2\,{\rm tr}\,\overline{G_{ab}}\,\overline{G_{bc}}\,\overline{G_{ca}} .

    The disorder averages are translation invariant in the (periodic) transverse directions, hence
    diagonal in transverse momentum q: only the momentum diagonals :math:`(FXF^\dagger)_{qq}` of
    the blocks (F the unitary 2D Fourier transform) are kept per realization. Traces of products
    use the channel-space Gram matrices :math:`M_a = \psi_a^\dagger\psi_a`:
    :math:`{\rm tr}\,G_{ab}G_{bc}G_{ca} = {\rm tr}(WM_bWM_cWM_a)`.

    ``data``: dict of arrays with realizations along axis 0 (:func:`nqlib.ensemble.stack`);
    ``pairs`` as passed to the realization function. Returns a dict of ``(estimate, error)``
    (jackknife over realizations): ``g1`` (Nx,) = :math:`\Sigma_\perp \overline{G_{ii}}`;
    ``pair`` (Nx, Nx) = :math:`\Sigma_\perp\kappa(G_{ij},G_{ji})`, real;
    ``triple`` (n_pairs, Nx) = :math:`\Sigma_\perp\kappa(G_{ij},G_{jk},G_{ki})` (real part);
    ``m2`` and ``m3``: the sums of the second and third loop cumulants over all sites.
    Divide by :math:`(N_yN_z)^n` for HJ's transverse average :math:`[\cdot]_\perp` (Eq. 10).

    The estimates are unbiased for independent rows (realizations, or blocks of
    ``loop_statistics(realizations=k)``): every product of disorder averages in the formulas is
    estimated by its U-statistic, the mean over distinct rows, e.g.
    :math:`\widehat{\mu_X\mu_Y} = (n\bar X\bar Y - \overline{XY})/(n - 1)` for n rows. (The
    plug-in "products of sample means" would be biased by the momentum-diagonal part of the
    covariances divided by n, a relative :math:`O(1/(nN_yN_z))`: not the :math:`1 - 1/n` of a
    scalar cumulant, because the products of means are kept only on the momentum diagonal.)
    The errors are :func:`nqlib.stats.jackknife` of this statistic over rows.
    Formerly ``nqlib.qssep.anderson_cumulants``.

    References
    ----------
    HJ Eqs. 4, 9-10; chapter {doc}`qssep_anderson`.
    """
    need = (
        "mean",
        "pair",
        "square_mean",
        "cube",
        "triple",
        "path_ab_bc",
        "path_bc_ca",
        "path_ca_ab",
    )
    if not isinstance(data, dict) or any(k not in data for k in need):
        raise ValueError(
            f"data must be a dict with keys {need} (stacked loop_statistics), got "
            f"{sorted(data) if isinstance(data, dict) else type(data).__name__}"
        )
    rows = len(data["mean"])
    if rows < 4:
        raise ValueError(
            f"data must hold >= 4 rows (realizations or blocks): the unbiased third cumulant needs "
            f"3 distinct rows in every leave-one-out sample, got {rows}"
        )
    pairs = _check_pairs(pairs, np.shape(data["mean"])[1])
    if np.shape(data["triple"])[1] != len(pairs):
        raise ValueError(
            f"pairs has {len(pairs)} entries but data holds {np.shape(data['triple'])[1]} cuts"
        )
    b, c = pairs[:, 0], pairs[:, 1]
    a = np.arange(np.shape(data["mean"])[1])

    def cut(E):
        """E[..., a, b, q] -> the blocks ab, bc, ca of every (pair, a): (..., n_pairs, Nx, M)."""
        return (
            E[..., a[None, :], b[:, None], :],
            E[..., b, c, :][..., None, :],
            E[..., c[:, None], a[None, :], :],
        )

    rows_data = {k: np.asarray(data[k]) for k in need}
    E = rows_data["mean"]  # (rows, Nx, Nx, M)
    Eq = np.moveaxis(E, -1, 1)  # (rows, M, Nx, Nx)
    Qq = Eq @ Eq
    X, Y, Z = cut(E)
    # products within one row: what separates a product of means from its unbiased estimate
    rows_data.update(
        EE=np.einsum("rabq,rbaq->rab", E, E),
        SE=np.einsum("racq,rcaq->r", rows_data["square_mean"], E),
        EEm=np.moveaxis(Qq, 1, -1),  # E(q)^2 as Nx x Nx matrices
        EEE=np.trace(Qq @ Eq, axis1=2, axis2=3).sum(axis=1),
        PE=np.sum(
            rows_data["path_ab_bc"] * Z + rows_data["path_bc_ca"] * X + rows_data["path_ca_ab"] * Y,
            axis=-1,
        ),
        XY=X * Y,
        XZ=X * Z,
        YZ=Y * Z,
        XYZ=np.sum(X * Y * Z, axis=-1),
    )
    del E, Eq, Qq, X, Y, Z

    def statistic(m, n):  # m: means over n rows; U-statistics for products of averages
        E = m["mean"]  # (Nx, Nx, M): mean blocks, momentum-diagonal
        EE = np.einsum("abq,baq->ab", E, E)
        two = (n * EE - m["EE"]) / (n - 1)  # sum_q mu_ab(q) mu_ba(q)
        pair = (m["pair"] - two).real
        m2 = (m["pair"].sum() - two.sum()).real
        Eq = np.moveaxis(E, 2, 0)  # (M, Nx, Nx)
        SE = (n * np.einsum("acq,caq->", m["square_mean"], E) - m["SE"]) / (n - 1)
        QE = np.einsum("acq,caq->", m["EEm"], E)
        EEE = np.trace(Eq @ Eq @ Eq, axis1=1, axis2=2).sum()
        three = (n**2 * EEE - 3 * n * QE + 2 * m["EEE"]) / ((n - 1) * (n - 2))
        m3 = (m["cube"] - 3 * SE + 2 * three).real
        X, Y, Z = cut(E)
        paths = np.sum(m["path_ab_bc"] * Z + m["path_bc_ca"] * X + m["path_ca_ab"] * Y, axis=-1)
        PE = (n * paths - m["PE"]) / (n - 1)
        XYZ = (
            n**2 * np.sum(X * Y * Z, axis=-1)
            - n * np.sum(m["XY"] * Z + m["XZ"] * Y + m["YZ"] * X, axis=-1)
            + 2 * m["XYZ"]
        ) / ((n - 1) * (n - 2))
        triple = (m["triple"] - PE + 2 * XYZ).real
        g1 = np.einsum("aaq->a", E).real
        return {"g1": g1, "pair": pair, "triple": triple, "m2": m2, "m3": m3}

    keys, shapes = ("g1", "pair", "triple", "m2", "m3"), {}

    def flat(d):  # the statistic of the row means, as one vector for the jackknife
        out = statistic({k: v.mean(axis=0) for k, v in d.items()}, len(d["mean"]))
        shapes.update({k: np.shape(out[k]) for k in keys})
        return np.concatenate([np.ravel(out[k]) for k in keys])

    est, err = stats.jackknife(flat, rows_data)
    ends = np.cumsum([int(np.prod(shapes[k])) for k in keys])[:-1]
    return {
        k: (e.reshape(shapes[k]), d.reshape(shapes[k]))
        for k, e, d in zip(keys, np.split(est, ends), np.split(err, ends))
    }


def cut_pairs(Nx, cuts):
    """Slice pairs (j, k) nearest to the (y, z) cuts of g3, for slice coordinates x = (a + 1/2) / Nx.

    Parameters
    ----------
    Nx : int
        Number of slices.
    cuts : array_like, shape (n_cuts, 2)
        Points (y, z) in [0, 1].

    Returns
    -------
    list of tuple
        (j, k) per cut, the ``pairs`` argument of :func:`loop_statistics`.

    References
    ----------
    HJ Fig. 3e, f; chapter {doc}`qssep_anderson`.
    """
    _check_size("Nx", Nx)
    Nx = int(Nx)
    cuts = _checks.array("cuts", cuts, 0, 1, ndim=2)
    if cuts.shape[1] != 2:
        raise ValueError(f"cuts must have shape (n_cuts, 2), got {cuts.shape}")
    near = lambda v: int(np.clip(round(v * Nx - 0.5), 0, Nx - 1))  # noqa: E731
    return [(near(y), near(z)) for (y, z) in cuts.tolist()]


@dataclass(frozen=True)
class Imbalances:
    r"""The Anderson loop cumulants in HJ's scaling and the QSSEP imbalances fitted to them.

    Attributes
    ----------
    x : ndarray (Nx,)
        Slice coordinates (a + 1/2) / Nx.
    g1, g1_err : ndarray (Nx,)
        :math:`g_1` = transverse mean of :math:`G_{ii}` per slice, mean and standard error.
    dn1 : tuple
        :math:`\Delta n^{(1)}`: the mean over realizations of the least-squares slope of
        :math:`g_1`, and its standard error.
    A2, A3 : nqlib.qssep.Amplitude
        Amplitudes of :math:`g_2^Q` (slice pairs at least two apart) and :math:`g_3^Q` (first cut,
        slices at least two from both cut slices; NaN where none is).
    dn2, dn3 : tuple
        :math:`\Delta n^{(2,3)}` from them (:func:`nqlib.qssep.imbalance`).
    g2, g2_err : ndarray (Nx, Nx); g3, g3_err : ndarray (n_cuts, Nx)
        Scaled cumulants :math:`s^{n-1}\Sigma_\perp\kappa / M^n` (M = Ny Nz, s = Nx**length_power).
    m2, m3 : tuple
        Sums of the second and third loop cumulants over all sites / M^n, with errors.
    runs : int
        Number of realizations.
    """

    x: np.ndarray
    g1: np.ndarray
    g1_err: np.ndarray
    dn1: tuple
    A2: tuple
    A3: tuple
    dn2: tuple
    dn3: tuple
    g2: np.ndarray
    g2_err: np.ndarray
    g3: np.ndarray
    g3_err: np.ndarray
    m2: tuple
    m3: tuple
    runs: int

    def summary(self, chi2=False):
        """One line: the three imbalances with errors; with ``chi2`` the chi2/dof of the fits of
        A2 and A3 (and Delta n^(3) without a forced sign)."""
        (d1, e1), (d2, e2), (d3, e3) = self.dn1, self.dn2, self.dn3
        if _checks.flag("chi2", chi2):
            return (
                f"Delta n^(1) = {d1:.3f} +- {e1:.3f}, Delta n^(2) = {d2:.3f} +- {e2:.3f} "
                f"(chi2/dof {self.A2[2]:.1f}), Delta n^(3) = {d3:.3f} +- {e3:.3f} "
                f"(chi2/dof {self.A3[2]:.1f})"
            )
        return (
            f"Delta n^(1) = {d1:.3f} +- {e1:.3f}, Delta n^(2) = {d2:.3f} +- {e2:.3f}, "
            f"Delta n^(3) = {d3:+.3f} +- {e3:.3f}"
        )


def imbalances(data, pairs, length_power=1):
    r"""Fit the QSSEP shapes to the Anderson loop cumulants of stacked :func:`loop_statistics`.

    Parameters
    ----------
    data : dict
        Stacked outputs of :func:`loop_statistics` (realizations along axis 0).
    pairs : sequence of (j, k)
        The slice pairs they were computed with (:func:`cut_pairs`); the first is fitted.
    length_power : {1, -1}
        +1 for HJ's cube scaling :math:`N^{n-1}`, -1 for the quasi-1d :math:`N_x^{-(n-1)}`.

    Returns
    -------
    Imbalances

    References
    ----------
    HJ Eqs. 4-10, Figs. 3-4 and SM Figs. 5-7; chapter {doc}`qssep_anderson`.
    """
    if length_power not in (1, -1) or isinstance(length_power, bool):
        raise ValueError(f"length_power must be 1 or -1, got length_power={length_power!r}")
    cum = loop_cumulants(data, pairs)
    R, Nx, _, M = np.shape(data["mean"])
    x = (np.arange(Nx) + 0.5) / Nx
    g1_real = np.einsum("raaq->ra", data["mean"]).real / M  # per realization
    slopes = np.polyfit(x, g1_real.T, 1)[0]
    s = float(Nx) ** length_power
    g2, e2 = s * cum["pair"][0] / M**2, s * cum["pair"][1] / M**2
    g3, e3 = s**2 * cum["triple"][0] / M**3, s**2 * cum["triple"][1] / M**3
    A2 = qssep.g2_amplitude(g2, e2, x, min_separation=2)
    j, k = _check_pairs(pairs, Nx)[0]
    keep = (np.abs(np.arange(Nx) - j) >= 2) & (np.abs(np.arange(Nx) - k) >= 2)
    # cubes below N = 8 leave no slice far from both cut slices
    if keep.sum() >= 2:
        A3 = qssep.amplitude(
            g3[0][keep], e3[0][keep], cumulants.cyclic_cumulant([x[keep], x[j], x[k]])
        )
        dn3 = qssep.imbalance(A3, 3)
    else:
        A3, dn3 = qssep.Amplitude(np.nan, np.nan, np.nan), (np.nan, np.nan)
    return Imbalances(
        x=x,
        g1=g1_real.mean(0),
        g1_err=g1_real.std(0, ddof=1) / np.sqrt(len(g1_real)),
        dn1=(slopes.mean(), slopes.std(ddof=1) / np.sqrt(len(slopes))),
        A2=A2,
        A3=A3,
        dn2=qssep.imbalance(A2, 2),
        dn3=dn3,
        g2=g2,
        g2_err=e2,
        g3=g3,
        g3_err=e3,
        m2=(cum["m2"][0] / M**2, cum["m2"][1] / M**2),
        m3=(cum["m3"][0] / M**3, cum["m3"][1] / M**3),
        runs=R,
    )


def _check_pairs(pairs, Nx):
    """Slice pairs (b, c) as an (n_pairs, 2) int64 array of integers in [0, Nx - 1]."""
    flat = _checks.indices("pairs", np.reshape(pairs, -1), 0, Nx - 1, distinct=False, empty=True)
    if flat.size % 2:
        raise ValueError(
            f"pairs must be (b, c) slice pairs, got an odd number {flat.size} of entries"
        )
    return flat.reshape(-1, 2)


# --------------------------------------------------------------------------- private helpers
def _incoming_from_left(V, modes):
    """psi (Nx, Ny, Nz, n_open), r (n, n), t (n, n) for incidence from the left (module docstring)."""
    F, S0, source = _right_sweep(V, modes)
    psi = np.empty((len(F), len(source), source.shape[1]), dtype=complex)
    psi[0] = np.linalg.solve(S0, source)
    for x in range(1, len(F)):
        psi[x] = F[x] @ psi[x - 1]
    r, t = _amplitudes(psi[0], psi[-1], modes)
    return psi.reshape(V.shape + (-1,)), r, t


def _incoming_from_both(V, modes):
    """psi_L, psi_R (Nx, Ny, Nz, n_open) and S from ONE sweep of slice inversions.

    The sweep is the block-UL factorisation of A = E - H - Sigma_L - Sigma_R: with D_x its diagonal
    blocks and tx its off-diagonal ones, the Schur complements S_x = D_x - tx^2 S_{x+1}^{-1} turn
    A psi = b into S_x psi_x + tx psi_{x-1} = c_x with c_x = b_x + F_{x+1} c_{x+1}
    (F_x = -tx S_x^{-1}), solved upwards by psi_0 = S_0^{-1} c_0, psi_x = F_x (psi_{x-1} - c_x / tx).
    A left source (slice 0) has c_x = 0 for x > 0, giving psi_x = F_x psi_{x-1}; a right source
    (slice Nx - 1) costs only matrix-vector products, so both leads need one set of inversions
    instead of the two of the mirrored sweep.
    """
    F, S0, source = _right_sweep(V, modes)
    Nx, tx = len(F), modes.t[0]
    c = [None] * Nx
    c[-1] = source
    for x in range(Nx - 2, -1, -1):
        c[x] = F[x + 1] @ c[x + 1]
    n = source.shape[1]
    psi = np.empty((Nx, len(source), 2 * n), dtype=complex)
    psi[0] = np.linalg.solve(S0, np.concatenate([source, c[0]], axis=1))
    for x in range(1, Nx):
        psi[x, :, :n] = F[x] @ psi[x - 1, :, :n]
        psi[x, :, n:] = F[x] @ (psi[x - 1, :, n:] - c[x] / tx)
    psi_L, psi_R = psi[..., :n], psi[..., n:]
    r, t = _amplitudes(psi_L[0], psi_L[-1], modes)
    rp, tp = _amplitudes(psi_R[-1], psi_R[0], modes)
    S = np.block([[r, tp], [t, rp]])
    shape = V.shape + (-1,)
    return psi_L.reshape(shape), psi_R.reshape(shape), S


def _right_sweep(V, modes):
    """F_x = -tx S_x^{-1} (x >= 1), the slice-0 Schur complement S_0 and the lead source i sqrt(v) phi.

    S_{Nx-1} = E - h_{Nx-1} - Sigma_R, S_x = E - h_x - tx^2 S_{x+1}^{-1}, and Sigma_L enters S_0
    (module docstring); F_x is the ratio psi_x psi_{x-1}^{-1} of solutions outgoing at the right.
    """
    Nx, Ny, Nz = V.shape
    tx, ty, tz = modes.t
    M = Ny * Nz
    base = (modes.E * np.eye(M) - _transverse_hamiltonian(Ny, Nz, ty, tz)).astype(complex)
    Vs = V.reshape(Nx, M)
    Sigma = modes.self_energy
    diag = np.diag_indices(M)

    def pivot(x):
        A = base.copy()
        A[diag] -= Vs[x]
        return A

    F = [None] * Nx
    A = pivot(Nx - 1) - Sigma
    for x in range(Nx - 1, 0, -1):
        F[x] = np.linalg.inv(A)
        A = pivot(x - 1) - tx**2 * F[x]
        F[x] *= -tx
    A -= Sigma  # slice 0: left lead
    return F, A, 1j * modes.U_open * np.sqrt(modes.velocity)


def _amplitudes(psi_in, psi_out, modes):
    """Reflection and transmission amplitudes from a state on its incoming and far lead surfaces."""
    Uo, sqrtv = modes.U_open, np.sqrt(modes.velocity)
    r = sqrtv[:, None] * (Uo.T @ (psi_in - Uo / sqrtv))
    t = sqrtv[:, None] * (Uo.T @ psi_out)
    return r, t


def _prepare(V, E, t, edge_tol, n_leads):
    """Checked V and the lead modes at E, after refusing an energy without open channels and a
    solve for ``n_leads`` leads whose estimated memory exceeds the budget."""
    V = _check_potential(V)
    E = _check_energy(E)
    t = _check_hoppings(t)
    _check_edge_tol(edge_tol)
    Nx, Ny, Nz = V.shape
    n_open = _open_channels(E, Ny, Nz, t, edge_tol)
    _checks.memory(
        f"a scattering solve at Nx={Nx}, Ny={Ny}, Nz={Nz}",
        _scattering_bytes(Nx, Ny * Nz, n_leads * n_open),
    )
    return V, lead_modes(E, Ny, Nz, t, edge_tol)


def _check_terms(Nx, Ny, Nz, t, leads, energies, weights, edge_tol, together=True):
    """Check every argument of a signed mode sum (:func:`disorder_moments`) before any solve:
    sizes, hoppings, one lead 'L'/'R', finite energy (away from band edges, with open channels)
    and finite weight per term, and the estimated memory: of the states of all terms together,
    or (``together=False``, :func:`energy_correlation`) of the first term and the largest other
    one. Returns (energies, weights) as tuples."""
    for name, n in (("Nx", Nx), ("Ny", Ny), ("Nz", Nz)):
        _check_size(name, n)
    t = _check_hoppings(t)
    _check_edge_tol(edge_tol)
    if not isinstance(leads, str) or not leads or any(c not in _LEADS for c in leads):
        raise ValueError(
            f"leads must be a non-empty string of 'L'/'R', one per term, got leads={leads!r}"
        )
    energies, weights = tuple(energies), tuple(weights)
    if len(energies) != len(leads) or len(weights) != len(leads):
        raise ValueError(
            f"leads, energies and weights must have one entry per term, "
            f"got {len(leads)}, {len(energies)}, {len(weights)}"
        )
    for w in weights:
        if (
            isinstance(w, bool)
            or not isinstance(w, (int, float, np.integer, np.floating))
            or not np.isfinite(w)
        ):
            raise ValueError(f"weights must be finite real numbers, got weights={weights!r}")
    energies = tuple(_check_energy(E, "energies") for E in energies)
    _checks.memory(f"a mode sum at Nx={Nx}, Ny={Ny}, Nz={Nz}", _scattering_bytes(Nx, Ny * Nz, 0))
    n_open = [_open_channels(E, Ny, Nz, t, edge_tol) for E in energies]
    n_states = sum(n_open) if together else n_open[0] + max(n_open)
    _checks.memory(
        f"a mode sum of {len(leads)} term(s) at Nx={Nx}, Ny={Ny}, Nz={Nz}",
        _scattering_bytes(Nx, Ny * Nz, n_states),
    )
    return energies, weights


def _scattering_bytes(Nx, M, n_states):
    """Estimated peak memory of scattering solves on an Nx x M bar with n_states states in all:
    the slice sweep (Nx + 6 complex (M, M) matrices), the states and their copies (2 Nx M n) and
    the channel-space Gram matrices of the slice statistics and their temporaries (4 Nx n^2).
    Measured peak of :func:`disorder_moments` at Nx = Ny = Nz = 20, two terms: 0.98 GiB, estimate
    1.02 GiB."""
    return 16 * (M * M * (Nx + 6) + 2 * Nx * M * n_states + 4 * Nx * n_states**2)


def _channels(E, Ny, Nz, t, edge_tol):
    """(eps, labels, cos k) of the transverse channels at E, after refusing a channel at its band edge
    (see :func:`lead_modes`). O(Ny Nz)."""
    tx, ty, tz = t
    cy, cz = _ring_basis(Ny)[1], _ring_basis(Nz)[1]
    eps = (-2 * ty * cy[:, None] - 2 * tz * cz[None, :]).ravel()
    labels = np.stack(np.meshgrid(np.arange(Ny), np.arange(Nz), indexing="ij"), axis=-1).reshape(
        -1, 2
    )
    c = (eps - E) / (2 * tx)  # cos k for open channels
    edge = np.abs(np.abs(c) - 1) <= edge_tol
    if edge.any():
        j = int(np.flatnonzero(edge)[0])
        gap = np.abs(np.abs(c) - 1) * 2 * tx
        shift = max(1e-3 * tx, 10 * edge_tol * 2 * tx)
        raise ValueError(
            f"E={E!r} puts channel (qy, qz)={tuple(int(q) for q in labels[j])} "
            f"with eps_perp={eps[j]:.12g} at its "
            f"band edge: |E - eps_perp| = {abs(E - eps[j]):.12g} "
            f"is within {edge_tol:g} * 2tx of 2tx = {2 * tx:g} "
            f"(zero velocity, unit-current normalisation singular; {int(edge.sum())} channel(s) affected, "
            f"closest gap {gap[edge].min():.2g}). Shift the energy, "
            f"e.g. E={E + shift:.6g} or E={E - shift:.6g}"
        )
    return eps, labels, c


def _open_channels(E, Ny, Nz, t, edge_tol):
    """Number of open channels at E (> 0, else ValueError: no scattering states). O(Ny Nz)."""
    eps, _, c = _channels(E, Ny, Nz, t, edge_tol)
    n_open = int(np.sum(np.abs(c) < 1))
    if n_open == 0:
        tx, ty, tz = t
        lo, hi = eps.min() - 2 * tx, eps.max() + 2 * tx
        raise ValueError(
            f"E={E!r} has no open channel in the {Ny} x {Nz} lead with t={t} "
            f"(lead band [{lo:.6g}, {hi:.6g}], within |E| <= 2(tx+ty+tz) = {2 * (tx + ty + tz):.6g}); "
            "there are no scattering states"
        )
    return n_open


def _ring_basis(N):
    """Real orthonormal eigenbasis of S + S^T on a ring of N sites and cos(2 pi q / N) (module doc)."""
    y = np.arange(N)
    q = np.arange(N)
    U = np.empty((N, N))
    for j in q:
        if j == 0 or 2 * j == N:
            U[:, j] = np.cos(2 * np.pi * j * y / N) / np.sqrt(N)
        elif 2 * j < N:
            U[:, j] = np.sqrt(2 / N) * np.cos(2 * np.pi * j * y / N)
        else:
            U[:, j] = np.sqrt(2 / N) * np.sin(2 * np.pi * (N - j) * y / N)
    return U, np.cos(2 * np.pi * q / N)


def _transverse_hamiltonian(Ny, Nz, ty, tz):
    """Dense H_perp = -ty (S_y + S_y^T) - tz (S_z + S_z^T) on a slice (index y * Nz + z)."""

    def ring(N):
        S = np.roll(np.eye(N), 1, axis=1)
        return S + S.T

    return -ty * np.kron(ring(Ny), np.eye(Nz)) - tz * np.kron(np.eye(Ny), ring(Nz))


def _check_size(name, n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={n!r}")


def _check_energy(E, name="E"):
    if (
        isinstance(E, bool)
        or not isinstance(E, (int, float, np.integer, np.floating))
        or not np.isfinite(E)
    ):
        what = "a finite real number" if name == "E" else "finite real energies E"
        raise ValueError(f"{name} must be {what}, got E={E!r}")
    return float(E)


def _check_hoppings(t):
    real = (int, float, np.integer, np.floating)
    try:
        ok = len(t) == 3 and all(isinstance(x, real) and not isinstance(x, bool) for x in t)
    except TypeError:
        ok = False
    ok = ok and all(np.isfinite(t)) and t[0] > 0 and t[1] >= 0 and t[2] >= 0
    if not ok:
        raise ValueError(
            f"t must be three finite hoppings (tx, ty, tz) with tx > 0 and ty, tz >= 0, got t={t!r}"
        )
    return float(t[0]), float(t[1]), float(t[2])


def _check_potential(V):
    arr = np.asarray(V)
    if arr.ndim != 3 or min(arr.shape, default=0) < 1:
        raise ValueError(
            f"V must be a 3D array of shape (Nx, Ny, Nz) with all sizes >= 1, got shape {arr.shape}"
        )
    if not np.isrealobj(arr) or arr.dtype == bool or not np.all(np.isfinite(arr)):
        raise ValueError("V must hold finite real on-site energies")
    return arr.astype(float)


def _check_edge_tol(edge_tol):
    if (
        isinstance(edge_tol, bool)
        or not isinstance(edge_tol, (float, int, np.floating, np.integer))
        or not 0 <= edge_tol < 1
    ):
        raise ValueError(f"edge_tol must be a real number in [0, 1), got edge_tol={edge_tol!r}")


def _check_lead(lead):
    if lead not in _LEADS:
        raise ValueError(f"lead must be 'L' or 'R', got lead={lead!r}")
    return lead


def _check_dense(V, name):
    if V.size > MAX_DENSE_SITES:
        raise ValueError(
            f"{name} builds a dense (N, N) matrix: Nx * Ny * Nz must be <= {MAX_DENSE_SITES}, got {V.size} "
            f"for V.shape={V.shape}; use slice_gram / slice_moments for larger bars"
        )


def _check_states(psi, name="psi"):
    psi = _checks.array(name, psi, dtype=complex)
    if psi.ndim != 4 or min(psi.shape) < 1:
        raise ValueError(
            f"{name} must have shape (Nx, Ny, Nz, n_states) with all sizes >= 1, got shape {psi.shape}"
        )
    return psi

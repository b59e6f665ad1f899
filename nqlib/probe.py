r"""An interferometric probe of two-site coherence (Gullans & Huse, PRX 9, 021007 (2019), Sec. VII).

**Ideal probe** (GH Eqs. 84-86). Two sites i, j of a system in a Gaussian state with
:math:`C_{ij} = \langle c_i^\dagger c_j\rangle` leak, through weak tunnel barriers, into two
channels whose modes :math:`\psi_L, \psi_R` inherit the site operators:
:math:`\psi_L \propto c_i`, :math:`\psi_R \propto c_j` (same prefactor for both, dropped). The
channels meet at a beam splitter whose outputs go to two detectors,

.. math::

    a_L = r\,\psi_L + t\,\psi_R, \qquad a_R = -\bar t\,\psi_L + \bar r\,\psi_R,
    \qquad |r|^2 + |t|^2 = 1,

the general unitary 2x2 splitter up to an output phase that no detector sees. The mean counts are

.. math::

    I_L = \langle a_L^\dagger a_L\rangle = |r|^2 C_{ii} + |t|^2 C_{jj} + 2\,{\rm Re}(\bar r t\,C_{ij}),
    \qquad
    I_R = |t|^2 C_{ii} + |r|^2 C_{jj} - 2\,{\rm Re}(\bar r t\,C_{ij}),

so :math:`I_L + I_R = C_{ii} + C_{jj}` (charge conservation). GH write the second output as
:math:`a_R = t\psi_L + r\psi_R` (their Eq. 85, :math:`2{\rm Re}(\bar t r\,C_{ij})`); that splitter is
unitary only if :math:`{\rm Re}(\bar r t) = 0`, and then it equals ours up to an output phase, since
:math:`-\bar t/t = \bar r/r`. For GH's balanced splitter :math:`\bar r t` is imaginary, so
:math:`\bar r t - \bar t r = 2\bar r t` and GH Eq. 86, :math:`I_L - I_R = 2{\rm Re}[(\bar r t - \bar t r)C_{ij}]`,
is our :math:`I_L - I_R = 4{\rm Re}(\bar r t\,C_{ij})` (balanced). A phase shifter
:math:`e^{i\phi}` in the arm of :math:`\psi_R` multiplies t by :math:`e^{i\phi}`. We scan the
phase as :math:`r = 1/\sqrt2`, :math:`t = e^{i\phi}/\sqrt2`:

.. math::

    I_L - I_R = 2\,{\rm Re}(e^{i\phi} C_{ij}) = 2|C_{ij}|\cos(\phi + \arg C_{ij}),
    \qquad V = \frac{2|C_{ij}|}{C_{ii} + C_{jj}},

with V the visibility of each detector's fringe. All functions are linear in C, so C may also
be the *change* of the correlation matrix under a bias (a Hermitian matrix, not a state).

**Shot noise.** Per repetition the detectors count integers :math:`N_{L,R}`. For a Gaussian
state, with :math:`K_{ab} = \langle a_a^\dagger a_b\rangle = (\bar u\,C_2\,u^T)_{ab}` (u the
splitter, :math:`C_2` the 2x2 block), Wick's theorem gives
:math:`{\rm Cov}(N_a, N_b) = K_{ab}(\delta_{ab} - K_{ba})`, hence

.. math::

    {\rm Var}(N_L - N_R) = K_{LL}(1 - K_{LL}) + K_{RR}(1 - K_{RR}) + 2|K_{LR}|^2 .

**Device model** (beyond the paper). Single-particle tight-binding Hamiltonian (hopping 1, so
energies are in units of the channel hopping J and times in :math:`\hbar/J`):

- two *source* modes carrying the 2x2 block of C, with no dynamics of their own (the system is
  frozen during a repetition; GH's protocol: barriers closed while the system reaches its steady
  state, then opened);
- source i (j) couples with hopping :math:`-\gamma` to the first site of arm A (B), a chain of
  :math:`n_A` (:math:`n_B`) sites;
- the coupler: the last site of arm m hops with :math:`-u_{om}` to the first site of output o
  (u the splitter above), and the outputs are chains of ``out_length`` sites. In the rotated
  basis :math:`e_m = \sum_o \bar u_{om} o` each arm continues straight into its own chain, so the
  coupler is reflectionless at every energy and routes amplitude :math:`u_{om}` from arm m to
  output o.

At t = 0 the barriers open; the source modes decay at the golden-rule rate
:math:`\Gamma = 2\gamma^2` into the arms and everything ends up in the outputs. We evolve the
correlation matrix exactly, :math:`C(t) = \bar U C(0) U^T` with :math:`U = e^{-iht}`
(:func:`emitted_charges`), and count the charge in each output. One repetition = one emission;
the "current" is the charge per repetition times the repetition rate.

**Green's-function route** (:func:`detected_charges`). Each source mode is a level at E = 0
coupled to the end of a semi-infinite chain (the coupler does not reflect), with self-energy
:math:`\gamma^2 g(E)`, :math:`g(E) = (E - i\sqrt{4 - E^2})/2 = -e^{ik}` for
:math:`E = -2\cos k`. Its emission spectrum is :math:`\rho(E) = \Gamma(E)|E - \gamma^2 g(E)|^{-2}/2\pi`
with :math:`\Gamma(E) = \gamma^2\sqrt{4 - E^2}` (normalised to 1 for :math:`\gamma^2 < 2`, no bound
state), and a wave of energy E reaches the coupler from arm m with phase :math:`e^{ik n_m}`. The
charges after the emission are therefore

.. math::

    Q_o = \sum_{m, m'} C_{mm'}\,\bar u_{om} u_{om'}\,F_{mm'}, \qquad
    F_{AB} = \overline{F_{BA}} = F(\Delta) = \int_0^\pi \frac{2\gamma^2\sin^2 k}{\pi}
    \frac{e^{ik\Delta}\,dk}{|\gamma^2 e^{ik} - 2\cos k|^2}, \quad F_{AA} = F_{BB} = 1,

with :math:`\Delta = n_B - n_A` (m = A, B stands for sites i, j). As :math:`\gamma\to 0`,
:math:`\rho\to\delta(E)` and :math:`F \to e^{i\pi\Delta/2}`: the device is the ideal probe with
:math:`t \to t\,e^{i\pi\Delta/2}`. At finite :math:`\gamma` the emitted wave packets have length
:math:`v/\Gamma = 1/\gamma^2` sites (v = 2 at E = 0) and a path difference reduces their overlap.
The weight is even in :math:`q = k - \pi/2`, so :math:`F e^{-i\pi\Delta/2}` is real, and to leading order

.. math::

    1 - |F(\Delta)| = \gamma^2 A_\Delta + O(\gamma^4), \qquad
    A_\Delta = \frac{1}{2\pi}\int_{-\pi/2}^{\pi/2} \cot^2 q\,(1 - \cos\Delta q)\,dq ,

(the :math:`\gamma^2\cot^2 q` tails of the emission line), with :math:`A_\Delta = \Delta/2 - 1/2`
for even :math:`\Delta` (a Fejér-kernel integral) and :math:`A_\Delta \to |\Delta|/2` for large
:math:`\Delta`, the Lorentzian-packet estimate :math:`|F| \simeq e^{-\Gamma|\Delta|/2v}`. So the
interference term deviates from Eq. 86 by the relative amount :math:`\gamma^2 A_\Delta`.
For :math:`\Delta = 0` the device reproduces Eq. 84 exactly at every :math:`\gamma < \sqrt2`.
"""

from collections import namedtuple

import numpy as np
from scipy import integrate

from nqlib import _checks, gaussian

__all__ = [
    "beam_splitter_currents",
    "Fringe",
    "fringe",
    "difference_variance",
    "splitter_matrix",
    "device_hamiltonian",
    "emitted_charges",
    "coherence_factor",
    "detected_charges",
]

NORM_TOL = 1e-9
"""Allowed deviation of |r|^2 + |t|^2 from 1."""

Fringe = namedtuple("Fringe", ["difference", "amplitude", "offset", "visibility"])
Fringe.__doc__ = """I_L - I_R at each phase, its amplitude 2|C_ij|, the phase offset arg C_ij, and the visibility."""


# --------------------------------------------------------------------------- ideal probe
def beam_splitter_currents(C, i, j, r, t):
    """Mean detector counts (I_L, I_R) of GH Eqs. 84-85 for sites i, j (splitter convention: module doc)."""
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    r, t = _check_splitter(r, t)
    cross = 2 * np.real(np.conj(r) * t * C[i, j])
    n_i, n_j = C[i, i].real, C[j, j].real
    I_L = abs(r) ** 2 * n_i + abs(t) ** 2 * n_j + cross
    I_R = abs(t) ** 2 * n_i + abs(r) ** 2 * n_j - cross
    return float(I_L), float(I_R)


def fringe(C, i, j, phases):
    """Balanced splitter r = 1/sqrt2, t = e^{i phi}/sqrt2: I_L - I_R = 2 Re(e^{i phi} C_ij) (GH Eq. 86).

    Returns a :class:`Fringe` (difference at each phase, amplitude 2|C_ij|, offset arg C_ij,
    visibility 2|C_ij| / (C_ii + C_jj), nan if C_ii + C_jj = 0).
    """
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    phases = _checks.array("phases", phases)
    difference = np.empty(phases.shape)
    for index, phi in np.ndenumerate(phases):
        I_L, I_R = beam_splitter_currents(C, i, j, 1 / np.sqrt(2), np.exp(1j * phi) / np.sqrt(2))
        difference[index] = I_L - I_R
    amplitude = 2 * abs(C[i, j])
    total = (C[i, i] + C[j, j]).real
    visibility = amplitude / total if total > 0 else np.nan
    return Fringe(difference, amplitude, float(np.angle(C[i, j])), visibility)


def difference_variance(C, i, j, r, t):
    """Single-repetition variance of N_L - N_R for a Gaussian state (Wick's theorem, module doc)."""
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    block = gaussian.check_correlation_matrix(C[np.ix_([i, j], [i, j])])
    u = splitter_matrix(r, t)
    K = u.conj() @ block @ u.T
    n = K.diagonal().real
    return float(n[0] * (1 - n[0]) + n[1] * (1 - n[1]) + 2 * abs(K[0, 1]) ** 2)


def splitter_matrix(r, t):
    """The unitary u = [[r, t], [-conj(t), conj(r)]] with (a_L, a_R) = u (psi_L, psi_R)."""
    r, t = _check_splitter(r, t)
    return np.array([[r, t], [-np.conj(t), np.conj(r)]])


# --------------------------------------------------------------------------- device model
def device_hamiltonian(gamma, r, t, arm_lengths=(4, 4), out_length=40):
    """Single-particle Hamiltonian of sources + arms + coupler + outputs (module doc).

    Returns (h, sites): h Hermitian (n, n); ``sites`` maps "source" (2,), "arm_A", "arm_B",
    "out_L", "out_R" to index arrays.
    """
    gamma = _check_gamma(gamma)
    u = splitter_matrix(r, t)
    n_A, n_B = _check_arms(arm_lengths)
    M = _check_length("out_length", out_length)
    _checks.memory(f"device_hamiltonian with arm_lengths={arm_lengths}, out_length={out_length}",
                   48 * (2 + n_A + n_B + 2 * M) ** 2)
    sizes = {"source": 2, "arm_A": n_A, "arm_B": n_B, "out_L": M, "out_R": M}
    sites, start = {}, 0
    for name, size in sizes.items():
        sites[name] = np.arange(start, start + size)
        start += size
    h = np.zeros((start, start), dtype=complex)

    def hop(a, b, amplitude):
        h[a, b] += -amplitude
        h[b, a] += -np.conj(amplitude)

    for name in ("arm_A", "arm_B", "out_L", "out_R"):
        chain = sites[name]
        for a, b in zip(chain[:-1], chain[1:]):
            hop(a, b, 1.0)
    hop(sites["source"][0], sites["arm_A"][0], gamma)
    hop(sites["source"][1], sites["arm_B"][0], gamma)
    for o, out in enumerate(("out_L", "out_R")):
        for m, arm in enumerate(("arm_A", "arm_B")):
            hop(sites[out][0], sites[arm][-1], u[o, m])
    return h, sites


def emitted_charges(C, i, j, gamma, r, t, times, arm_lengths=(4, 4), out_length=None):
    """Exact time evolution of the device: charge in each output and left in the sources.

    Sources start in the 2x2 block of C (sites i, j), arms and outputs empty. Returns a dict of
    arrays over ``times``: ``out_L``, ``out_R``, ``source`` (charge still in the two source modes)
    and ``arms``. ``out_length`` defaults to max(times) + 10 sites, long enough that nothing
    comes back from the far ends (group velocity <= 2) before the last time.
    """
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    times = _checks.array("times", times)
    if times.ndim != 1 or times.size == 0 or times.min() < 0:
        raise ValueError(f"times must be a non-empty 1D array of finite times >= 0, got {times!r}")
    if out_length is None:
        out_length = int(np.ceil(times.max())) + 10
    h, sites = device_hamiltonian(gamma, r, t, arm_lengths, out_length)
    block = C[np.ix_([i, j], [i, j])]
    energies, V = np.linalg.eigh(h)
    source_rows = V[sites["source"], :].conj().T  # (n, 2)
    out = {key: np.empty(times.size) for key in ("out_L", "out_R", "source", "arms")}
    for k, time in enumerate(times):
        U = V @ (np.exp(-1j * energies * time)[:, None] * source_rows)  # U[:, sources] = e^{-iht}[:, src]
        density = np.einsum("nk,kl,nl->n", U.conj(), block, U).real  # diag(conj(U) C U^T)
        out["out_L"][k] = density[sites["out_L"]].sum()
        out["out_R"][k] = density[sites["out_R"]].sum()
        out["source"][k] = density[sites["source"]].sum()
        out["arms"][k] = density[sites["arm_A"]].sum() + density[sites["arm_B"]].sum()
    return out


def coherence_factor(gamma, path_difference):
    """F(Delta) = int rho(E) e^{i k(E) Delta} dE, the overlap factor of the two emitted packets (module doc)."""
    gamma = _check_gamma(gamma)
    if isinstance(path_difference, bool) or not isinstance(path_difference, (int, np.integer)):
        raise ValueError(f"path_difference must be an integer number of sites, got {path_difference!r}")
    g2 = gamma**2

    def weight(k):
        return 2 * g2 * np.sin(k) ** 2 / (np.pi * abs(g2 * np.exp(1j * k) - 2 * np.cos(k)) ** 2)

    options = dict(points=[np.pi / 2], limit=400, epsabs=1e-13, epsrel=1e-11)
    real = integrate.quad(lambda k: weight(k) * np.cos(k * path_difference), 0, np.pi, **options)[0]
    imag = integrate.quad(lambda k: weight(k) * np.sin(k * path_difference), 0, np.pi, **options)[0]
    return complex(real, imag)


def detected_charges(C, i, j, gamma, r, t, arm_lengths=(4, 4)):
    """Charges (Q_L, Q_R) in the outputs after the emission is complete (Green's-function route)."""
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    u = splitter_matrix(r, t)
    n_A, n_B = _check_arms(arm_lengths)
    F = coherence_factor(gamma, n_B - n_A)
    weights = np.array([[1.0, F], [np.conj(F), 1.0]])
    block = C[np.ix_([i, j], [i, j])] * weights
    Q = np.einsum("om,mn,on->o", u.conj(), block, u).real
    return float(Q[0]), float(Q[1])


# --------------------------------------------------------------------------- private helpers
def _check_matrix(C):
    C = _checks.array("C", C, dtype=complex)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] < 2:
        raise ValueError(f"C must be a square matrix of size >= 2, got shape {C.shape}")
    if not np.allclose(C, C.conj().T, atol=1e-9):
        raise ValueError("C must be Hermitian: C[i, j] = <c_i^dagger c_j> = conj(C[j, i])")
    return C


def _check_pair(C, i, j):
    n = len(C)
    for name, value in (("i", i), ("j", j)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
            raise ValueError(f"{name} must be a site index in [0, {n}), got {name}={value!r}")
    if i == j:
        raise ValueError(f"i and j must be different sites, got i = j = {i}")
    return int(i), int(j)


def _check_splitter(r, t):
    try:
        r, t = complex(r), complex(t)
    except (TypeError, ValueError):
        raise ValueError(f"r and t must be numbers, got r={r!r}, t={t!r}") from None
    norm = abs(r) ** 2 + abs(t) ** 2
    if not np.isfinite(norm) or abs(norm - 1) > NORM_TOL:
        raise ValueError(f"|r|^2 + |t|^2 must equal 1 within {NORM_TOL:g}, got {norm!r} for r={r!r}, t={t!r}")
    return r, t


def _check_gamma(gamma):
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.integer, np.floating)) \
            or not 0 < gamma < np.sqrt(2):
        raise ValueError(f"gamma must lie in (0, sqrt 2) (no bound state), got gamma={gamma!r}")
    return float(gamma)


def _check_arms(arm_lengths):
    try:
        n_A, n_B = arm_lengths
    except (TypeError, ValueError):
        raise ValueError(f"arm_lengths must be a pair of integers >= 1, got {arm_lengths!r}") from None
    return _check_length("arm_lengths[0]", n_A), _check_length("arm_lengths[1]", n_B)


def _check_length(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {name}={value!r}")
    return int(value)

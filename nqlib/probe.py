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
:math:`\bar r t - \bar t r = 2\bar r t` and GH Eq. 86,
:math:`I_L - I_R = 2{\rm Re}[(\bar r t - \bar t r)C_{ij}]`,
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
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from nqlib import _checks, gaussian, ssep

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
    "leading_coefficient",
    "DeviceRatio",
    "device_ratio",
    "Counts",
    "sample_counts",
    "estimate_coherence",
    "repetitions",
    "neas_repetitions",
    "CentredPair",
    "centred_pair",
]

NORM_TOL = 1e-9
"""Allowed deviation of |r|^2 + |t|^2 from 1."""

Fringe = namedtuple("Fringe", ["difference", "amplitude", "offset", "visibility"])
Fringe.__doc__ = (
    "I_L - I_R at each phase, its amplitude 2|C_ij|, the phase offset arg C_ij, and the visibility."
)


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
    _checks.memory(
        f"device_hamiltonian with arm_lengths={arm_lengths}, out_length={out_length}",
        48 * (2 + n_A + n_B + 2 * M) ** 2,
    )
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
        U = V @ (
            np.exp(-1j * energies * time)[:, None] * source_rows
        )  # U[:, sources] = e^{-iht}[:, src]
        density = np.einsum("nk,kl,nl->n", U.conj(), block, U).real  # diag(conj(U) C U^T)
        out["out_L"][k] = density[sites["out_L"]].sum()
        out["out_R"][k] = density[sites["out_R"]].sum()
        out["source"][k] = density[sites["source"]].sum()
        out["arms"][k] = density[sites["arm_A"]].sum() + density[sites["arm_B"]].sum()
    return out


def coherence_factor(gamma, path_difference):
    """F(Delta) = int rho(E) e^{i k(E) Delta} dE, the overlap factor of the two emitted packets.

    See the module doc.
    """
    gamma = _check_gamma(gamma)
    _check_path_difference(path_difference)
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


def leading_coefficient(path_difference):
    r"""A_Delta of the weak-tunnelling limit, :math:`1 - |F(\Delta)| = \gamma^2 A_\Delta + O(\gamma^4)`.

    Parameters
    ----------
    path_difference : int
        :math:`\Delta = n_B - n_A`, the difference of the arm lengths in sites.

    Returns
    -------
    float
        :math:`A_\Delta = \frac{1}{2\pi}\int_{-\pi/2}^{\pi/2} \cot^2 q\,(1 - \cos\Delta q)\,dq`
        by quadrature: 0 for :math:`\Delta = 0`, :math:`|\Delta|/2 - 1/2` for even
        :math:`\Delta \ne 0`, :math:`\to |\Delta|/2` for large :math:`|\Delta|`.

    References
    ----------
    Module docstring (device model, beyond GH Sec. VII); chapter {doc}`probe`.
    """
    _check_path_difference(path_difference)
    return integrate.quad(
        lambda q: (1 - np.cos(path_difference * q)) / np.tan(q) ** 2 / (2 * np.pi),
        -np.pi / 2,
        np.pi / 2,
        points=[0],
    )[0]


@dataclass(frozen=True)
class DeviceRatio:
    """The device's interference term over the ideal probe's (GH Eq. 86), by two routes.

    Attributes
    ----------
    evolved : float
        (Q_L - Q_R) of the exact time evolution (:func:`emitted_charges`) at ``time``, over the
        ideal I_L - I_R.
    green : float
        The same from the Green's-function route (:func:`detected_charges`, complete emission).
    time : float
        The time the evolution ran: until :math:`e^{-\\Gamma T} \\le 10^{-9}`, and at least 120.
    """

    evolved: float
    green: float
    time: float


def device_ratio(C, i, j, gamma, r, t, arm_lengths=(4, 4)):
    r"""Device over ideal probe: (Q_L - Q_R) / (I_L - I_R) with the arms' phase put into the ideal splitter.

    The ideal probe is GH Eq. 86 with :math:`t \to t\,e^{i\pi\Delta/2}`, the phase a wave at
    E = 0 picks up on the longer arm (module doc), so both ratios tend to 1 as
    :math:`\gamma \to 0`, and for :math:`\Delta = 0` they are 1 at every :math:`\gamma`. The time
    evolution runs until :math:`e^{-\Gamma T} = 10^{-9}` (:math:`\Gamma = 2\gamma^2`), at least
    to T = 120 (the slow band-edge tail then holds below :math:`10^{-6}` of the charge).

    Parameters
    ----------
    C : array_like, (n, n)
        Hermitian correlation matrix (or its change under a bias).
    i, j : int
        The two probed sites (into arm A and arm B).
    gamma : float
        Tunnel coupling in (0, sqrt 2).
    r, t : complex
        The splitter, :math:`|r|^2 + |t|^2 = 1`.
    arm_lengths : (int, int), optional
        :math:`(n_A, n_B)`, :math:`\Delta = n_B - n_A`.

    Returns
    -------
    DeviceRatio

    Raises
    ------
    ValueError
        For invalid arguments, or if the ideal interference term vanishes (no ratio).

    References
    ----------
    GH Eq. 86; module docstring (device model); chapter {doc}`probe`.
    """
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    r, t = _check_splitter(r, t)
    gamma = _check_gamma(gamma)
    n_A, n_B = _check_arms(arm_lengths)
    ideal = np.subtract(
        *beam_splitter_currents(C, i, j, r, t * np.exp(1j * np.pi * (n_B - n_A) / 2))
    )
    if ideal == 0:
        raise ValueError(
            f"the ideal interference term I_L - I_R vanishes for C[i, j]={C[i, j]!r}, r={r!r}, "
            f"t={t!r}: no ratio"
        )
    T_end = max(np.log(1e9) / (2 * gamma**2), 120.0)
    out = emitted_charges(C, i, j, gamma, r, t, [T_end], arm_lengths=(n_A, n_B))
    Q = detected_charges(C, i, j, gamma, r, t, (n_A, n_B))
    return DeviceRatio((out["out_L"][0] - out["out_R"][0]) / ideal, (Q[0] - Q[1]) / ideal, T_end)


# --------------------------------------------------------------------------- repetitions
@dataclass(frozen=True)
class Counts:
    """Detector counts of M repetitions: ``left[m]``, ``right[m]`` (bool: one particle or none)."""

    left: np.ndarray
    right: np.ndarray


def sample_counts(rng, C, i, j, r, t, repetitions):
    r"""M repetitions of the detector counts (N_L, N_R), drawn from their exact distribution.

    For a Gaussian state the output modes have correlation matrix :math:`K = \bar u C_2 u^T`
    (module doc) and, each mode holding 0 or 1 particles,
    :math:`P(1, 1) = \det K`, :math:`P(1, 0) = K_{LL} - \det K`, :math:`P(0, 1) = K_{RR} - \det K`.

    Parameters
    ----------
    rng : numpy.random.Generator
    C : array_like, (n, n)
        A correlation matrix (Hermitian, eigenvalues in [0, 1]).
    i, j : int
        The two probed sites.
    r, t : complex
        The splitter.
    repetitions : int
        M >= 1.

    Returns
    -------
    Counts
        Boolean arrays of length M; ``rng.choice`` draws one outcome per repetition.

    References
    ----------
    GH Sec. VII (Eqs. 84-86); Wick's theorem, module docstring; chapter {doc}`probe`.
    """
    _checks.generator(rng)
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    gaussian.check_correlation_matrix(C[np.ix_([i, j], [i, j])])
    u = splitter_matrix(r, t)
    M = _checks.integer("repetitions", repetitions, low=1)
    _checks.memory(f"sample_counts with repetitions={repetitions}", 24 * M)
    return _sample_counts(rng, C, i, j, u, M)


def estimate_coherence(rng, C, i, j, repetitions):
    r"""One experiment's estimate of :math:`C_{ij}`: M repetitions at each of two splitter phases.

    With the balanced splitter, :math:`N_L - N_R` averages to :math:`2\,{\rm Re}\,C_{ij}` at
    :math:`\phi = 0` and to :math:`2\,{\rm Im}\,C_{ij}` at :math:`\phi = -\pi/2` (GH Eq. 86),
    so the estimate is :math:`[\overline{N_L - N_R}|_0 + i\,\overline{N_L - N_R}|_{-\pi/2}]/2`,
    unbiased, with standard deviation of its real part :math:`\sigma_D / (2\sqrt M)`
    (:func:`difference_variance`). The repetitions at phase 0 are drawn first.

    Parameters
    ----------
    rng : numpy.random.Generator
    C : array_like, (n, n)
        A correlation matrix.
    i, j : int
        The two probed sites.
    repetitions : int
        M >= 1 repetitions per phase.

    Returns
    -------
    complex

    References
    ----------
    GH Eq. 86 and Sec. VII; chapter {doc}`probe`.
    """
    _checks.generator(rng)
    C = _check_matrix(C)
    i, j = _check_pair(C, i, j)
    gaussian.check_correlation_matrix(C[np.ix_([i, j], [i, j])])
    M = _checks.integer("repetitions", repetitions, low=1)
    _checks.memory(f"estimate_coherence with repetitions={repetitions}", 24 * M)
    real = _sample_counts(rng, C, i, j, splitter_matrix(1 / np.sqrt(2), 1 / np.sqrt(2)), M)
    imag = _sample_counts(rng, C, i, j, splitter_matrix(1 / np.sqrt(2), -1j / np.sqrt(2)), M)
    return (
        complex(
            np.mean(real.left.astype(float) - real.right),
            np.mean(imag.left.astype(float) - imag.right),
        )
        / 2
    )


def repetitions(C, i, j, abs2, confidence=3.0):
    r"""Repetitions per phase needed to see a coherence of size :math:`\sqrt{a}` at ``confidence`` sigmas.

    :math:`M = s^2\sigma_D^2 / (4a)`: the estimate of :func:`estimate_coherence` has standard
    deviation :math:`\sigma_D / (2\sqrt M)` per component, with :math:`\sigma_D^2` of the balanced
    splitter (:func:`difference_variance` at :math:`\phi = 0`) for the state C.

    Parameters
    ----------
    C : array_like, (n, n)
        The correlation matrix whose shot noise counts (one state, or the average state).
    i, j : int
        The two probed sites.
    abs2 : float
        :math:`a \ge 0`, the :math:`|C_{ij}|^2` to resolve (of this state, or a mean over states).
    confidence : float, optional
        s > 0 (default 3).

    Returns
    -------
    float
        M (not rounded); inf for ``abs2 = 0``.

    References
    ----------
    GH Sec. VII; chapter {doc}`probe`.
    """
    abs2 = _checks.real("abs2", abs2, 0)
    s = _checks.real("confidence", confidence, 0, open_low=True)
    variance = difference_variance(C, i, j, 1 / np.sqrt(2), 1 / np.sqrt(2))
    return s**2 * variance / (4 * abs2) if abs2 > 0 else np.inf


def neas_repetitions(L, delta, i, j, confidence=3.0):
    r"""Repetitions per phase to resolve the typical coherence of site pairs in the phase-II NEAS.

    The typical coherence is :math:`\overline{|C_{ij}|^2} = \delta^2 x(1 - y)/L` with
    :math:`x = (i+1)/(L+1) \le y = (j+1)/(L+1)`, GH's phase-II result, which equals minus the
    SSEP's connected two-point function (:func:`nqlib.ssep.two_point_scaling`); the shot noise
    is that of the average state, diagonal with the SSEP density (:func:`nqlib.ssep.density`),
    for which :math:`\sigma_D^2 = n_i(1 - n_j) + n_j(1 - n_i)`. Each pair gets
    :func:`repetitions` of that state and typical coherence.

    Parameters
    ----------
    L : int
        Number of sites, >= 2.
    delta : float
        Drive in [-1, 1].
    i, j : array_like of int
        The pairs' sites, in [0, L - 1], same length, ``i[k] != j[k]``.
    confidence : float, optional
        s > 0 (default 3).

    Returns
    -------
    numpy.ndarray
        M for each pair; inf where :math:`\delta = 0` (no coherence to resolve).

    References
    ----------
    GH Sec. VII and Eq. C10; chapter {doc}`probe`.
    """
    L = _checks.integer("L", L, low=2)
    _checks.memory(f"neas_repetitions at L={L}", 16 * L**2)
    i = _checks.indices("i", i, 0, L - 1, distinct=False)
    j = _checks.indices("j", j, 0, L - 1, distinct=False)
    if i.shape != j.shape:
        raise ValueError(f"i and j must have the same length, got {i.size} and {j.size}")
    abs2 = -ssep.two_point_scaling((i + 1) / (L + 1), (j + 1) / (L + 1), delta) / L
    n_bar = np.diag(ssep.density(L, delta)).astype(complex)
    return np.array([repetitions(n_bar, a, b, w, confidence) for a, b, w in zip(i, j, abs2)])


@dataclass(frozen=True)
class CentredPair:
    """One phase-II state seen through the probe (:func:`centred_pair`).

    ``i``, ``j``: the pair; ``C_ij``: its coherence; ``phases``, ``fringe``: the scanned
    phases and the :class:`Fringe` there; ``phase``, ``difference``: the chosen phase and
    I_L - I_R at it; ``separations``, ``repetitions``: :func:`neas_repetitions` of centred
    pairs; ``L``, ``delta``, ``separation``: the arguments.
    """

    i: int
    j: int
    C_ij: complex
    phases: np.ndarray
    fringe: Fringe
    phase: float
    difference: float
    separations: np.ndarray
    repetitions: np.ndarray
    L: int
    delta: float
    separation: int


def centred_pair(C, delta, separation, phase, phases):
    """The probe chapter's explorer: one NEAS state, a pair centred in the chain.

    The pair is ``i = L//2 - separation//2``, ``j = i + separation``; returns a
    :class:`CentredPair` with its :func:`fringe` over ``phases``, I_L - I_R at ``phase``,
    and the :func:`neas_repetitions` of every centred pair with even separation 2, 4, ...,
    L - 2 at drive ``delta`` (the repetitions do not depend on ``C``: they are those of the
    average state and typical coherence). Drawn by :func:`nqlib.plotting.probe_explorer`.

    References
    ----------
    GH Sec. VII; chapter {doc}`probe`.
    """
    C = _check_matrix(C)
    L = C.shape[0]
    delta = _checks.drive(delta)
    separation = _checks.integer("separation", separation, low=1, high=L - 1)
    phase = _checks.real("phase", phase)
    phases = _checks.array("phases", phases, ndim=1)
    i = L // 2 - separation // 2
    j = i + separation
    seps = np.arange(2, L - 1, 2)
    first = L // 2 - seps // 2
    reps = neas_repetitions(L, delta, first, first + seps)
    return CentredPair(
        i=i,
        j=j,
        C_ij=complex(C[i, j]),
        phases=phases,
        fringe=fringe(C, i, j, phases),
        phase=phase,
        difference=float(fringe(C, i, j, [phase]).difference[0]),
        separations=seps,
        repetitions=reps,
        L=L,
        delta=delta,
        separation=separation,
    )


# --------------------------------------------------------------------------- private helpers
def _sample_counts(rng, C, i, j, u, M):
    K = u.conj() @ C[np.ix_([i, j], [i, j])] @ u.T
    both = np.linalg.det(K).real
    p = np.array(
        [1 - K[0, 0].real - K[1, 1].real + both, K[0, 0].real - both, K[1, 1].real - both, both]
    )
    outcome = rng.choice(4, size=M, p=np.clip(p, 0, None))  # 0: (0,0), 1: (1,0), 2: (0,1), 3: (1,1)
    return Counts((outcome == 1) | (outcome == 3), (outcome == 2) | (outcome == 3))


def _check_path_difference(path_difference):
    if isinstance(path_difference, bool) or not isinstance(path_difference, (int, np.integer)):
        raise ValueError(
            f"path_difference must be an integer number of sites, got {path_difference!r}"
        )


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
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 0 <= value < n
        ):
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
        raise ValueError(
            f"|r|^2 + |t|^2 must equal 1 within {NORM_TOL:g}, got {norm!r} for r={r!r}, t={t!r}"
        )
    return r, t


def _check_gamma(gamma):
    if (
        isinstance(gamma, bool)
        or not isinstance(gamma, (int, float, np.integer, np.floating))
        or not 0 < gamma < np.sqrt(2)
    ):
        raise ValueError(f"gamma must lie in (0, sqrt 2) (no bound state), got gamma={gamma!r}")
    return float(gamma)


def _check_arms(arm_lengths):
    try:
        n_A, n_B = arm_lengths
    except (TypeError, ValueError):
        raise ValueError(
            f"arm_lengths must be a pair of integers >= 1, got {arm_lengths!r}"
        ) from None
    return _check_length("arm_lengths[0]", n_A), _check_length("arm_lengths[1]", n_B)


def _check_length(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {name}={value!r}")
    return int(value)

r"""Entropy production and the approach to local equilibrium after a quench (GH Sec. III E, VI).

The open circuit of :mod:`nqlib.circuit` (dense, small L) and :mod:`nqlib.freecircuit` (p2 = 0,
large L) is started from a product state with prescribed site occupations (entries 0 and 1 make
it pure) and followed in time; one time unit is L + 1 gates. Three exact statements frame the
measurements.

**Mean occupations.** Every gate ensemble exchanges the two spins with probability
:math:`E|U_{lr}|^2 = 1/2` and its random phases remove the coherent terms, so a gate on the bond
(a, a+1) maps the *averaged* occupations to :math:`\bar n_a, \bar n_{a+1} \to (\bar n_a +
\bar n_{a+1})/2` and a boundary gate maps :math:`\bar n_{\rm end} \to (\bar n_{\rm end} +
\rho_{\rm res})/2`, for any (p1, p2) and any state. One random gate therefore acts as

.. math::

    \bar n \to \bar n - \frac{1}{2(L+1)}\,(K\bar n - s), \qquad
    K = \mathrm{tridiag}(-1, 2, -1),\quad s = (\rho_L, 0, \dots, 0, \rho_R),

:func:`mean_occupations` applies it t (L + 1) times exactly (through the eigenmodes of K). At
long wavelengths this is diffusion with D = 1/2 (:data:`D_SPIN`).

**Phase I.** At p1 = 0 the gates are iSWAPs or identities: every site holds either its own initial
spin or a spin that came in from a reservoir, the state stays a product, and a reservoir spin
carries :math:`h((1 \pm \delta)/2)` (:math:`h` the binary entropy, equal for both signs). So
:math:`S(t) = h\,N_{\rm res}(t)` in every realization, and :math:`E N_{\rm res}(t) = \sum_i f_i(t)`
with f the mean occupation map for reservoirs at occupation 1 and f(0) = 0
(:func:`phase_one_entropy`). On a long chain :math:`f \to \mathrm{erfc}(x/\sqrt{4Dt})` from each
end, so :math:`E S \to 2h(\sqrt{4Dt/\pi} - 1/2)`, the -1/2 from summing over lattice sites
(:func:`phase_one_asymptote`).

**Bounds.** Single-site states are diagonal (the dynamics conserves the particle number), so
subadditivity gives :math:`S_A \le \sum_{i\in A} h(n_i)`, and by concavity the circuit average is
at most :math:`\sum_{i \in A} h(\bar n_i)`. A boundary gate raises the system entropy by at most
:math:`S_{\rm res} + \ln 2` (Araki-Lieb), and two boundary bonds fire at rate 1, so
:math:`E S(t) - S(0) \le 2\,[h((1+\delta)/2) + \ln 2]\, t`.

**Quench from a step** (GH Sec. VI, Eqs. 81-83). For a region A of 2x sites centred on the middle
bond, the deviation from local equilibrium is :math:`\Delta S(x, t) = \sum_{i \in A} h(n_i) - S_A
\ge 0` with the realization's own occupations (:func:`local_equilibrium_deficit`), read off at
the diffusion length :math:`l_D = \sqrt{D t}` by :func:`at_diffusion_length`.
"""

import numpy as np
from scipy import optimize

from nqlib import _checks, circuit, freecircuit, gaussian, quantum, stats
from nqlib import gates as _gates

__all__ = [
    "D_SPIN",
    "mean_occupations",
    "phase_one_entropy",
    "phase_one_asymptote",
    "phase_one_half_time",
    "half_saturation_time",
    "neel_occupations",
    "step_occupations",
    "region",
    "dense_trace",
    "gaussian_trace",
    "local_equilibrium_deficit",
    "at_diffusion_length",
    "growth_exponent",
    "crossing_time",
]

#: spin diffusion constant of the circuit (sites^2 per time unit): each bond hops with rate 1/2
D_SPIN = 0.5

MAX_L = 4000
"""Largest chain of the exact averaged occupations and of :func:`gaussian_trace`."""


def mean_occupations(initial, times, left, right):
    """Exact circuit-averaged occupations (len(times), L) after t (L + 1) random gates each.

    ``initial`` (L,) are the occupations at t = 0, ``left`` and ``right`` the occupations of the
    fresh reservoir spins (``(1 + delta)/2`` and ``(1 - delta)/2`` for the drive delta). Valid for
    every (p1, p2): see the module docstring.
    """
    f0 = _check_occupations(initial, "initial", max_L=MAX_L)
    t = _check_times(times)
    for name, value in (("left", left), ("right", right)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0 <= value <= 1
        ):
            raise ValueError(
                f"{name} must be a reservoir occupation in [0, 1], got {name}={value!r}"
            )
    L = len(f0)
    K = 2 * np.eye(L) - np.eye(L, k=1) - np.eye(L, k=-1)
    source = np.zeros(L)
    source[0], source[-1] = source[0] + left, source[-1] + right
    lam, V = np.linalg.eigh(K)
    fixed = V @ ((V.T @ source) / lam)
    decay = (1 - lam / (2 * (L + 1)))[None, :] ** (t[:, None] * (L + 1))
    return fixed + (decay * (V.T @ (f0 - fixed))[None, :]) @ V.T


def phase_one_entropy(L, times, delta):
    """Exact mean entropy (nats) at p1 = 0 from a pure product state: h((1+delta)/2) E N_res(t)."""
    _checks.drive(delta)
    if _check_L(L) > MAX_L:
        raise ValueError(f"L must be an integer in [2, {MAX_L}], got L={L!r}")
    f = mean_occupations(np.zeros(L), times, 1.0, 1.0)
    return float(gaussian.binary_entropy((1 + delta) / 2)) * f.sum(axis=1)


def phase_one_asymptote(times, delta):
    """Long-chain, long-time form of :func:`phase_one_entropy`: 2 h (sqrt(4 D t / pi) - 1/2).

    The lattice sum over sites i >= 1 of erfc(i / sqrt(4 D t)) is the integral from 0 minus half
    the integrand at 0 (Euler-Maclaurin), hence the -1/2; the remaining error vanishes as t grows.
    """
    _checks.drive(delta)
    t = _check_times(times)
    return (
        2
        * float(gaussian.binary_entropy((1 + delta) / 2))
        * (np.sqrt(4 * D_SPIN * t / np.pi) - 0.5)
    )


def phase_one_half_time(L):
    """Exact phase-I half-saturation time from the Neel state at delta = 0 (time units).

    The first time at which :func:`phase_one_entropy` reaches half its saturation value,
    L ln 2 / 2, linear in between integer times (:func:`crossing_time`). The exact curve is
    evaluated on blocks of integer times until it crosses, so memory stays O(L) per time.

    Parameters
    ----------
    L : int
        Chain length, 2 <= L <= MAX_L.

    Returns
    -------
    float

    References
    ----------
    GH Sec. III E (t_1/2 ~ L^2 in phase I: diffusive filling by reservoir spins); chapter
    {doc}`quench`.
    """
    if _check_L(L) > MAX_L:
        raise ValueError(f"L must be an integer in [2, {MAX_L}], got L={L!r}")
    level = L * np.log(2) / 2
    block = max(2, min(L * L, 2**21 // L))  # times per block: at most 16 MiB of occupations
    start = 0
    while True:  # the entropy grows monotonically to L ln 2 > level: this ends
        t = np.arange(start, start + block)
        S = phase_one_entropy(L, t, 0.0)
        if S[-1] >= level:
            return float(crossing_time(t, S, level))
        start = t[-1]  # the blocks overlap by one time: a crossing is never split


def half_saturation_time(times, samples, L):
    """Time at which the mean entropy of ``samples`` reaches L ln 2 / 2, with its jackknife error.

    Parameters
    ----------
    times : array_like of int
        Increasing integer times of the records.
    samples : array_like (n_runs, len(times))
        Entropy traces (nats) of n_runs >= 2 independent circuits, e.g. ``S`` of
        :func:`dense_trace` or :func:`gaussian_trace` from the Neel state.
    L : int
        Chain length (>= 2): the level is half the saturation value L ln 2.

    Returns
    -------
    (float, float)
        :func:`crossing_time` of the mean trace and its jackknife error (NaN if never reached).

    References
    ----------
    GH Sec. III E (entropy production from a pure state); chapter {doc}`quench`.
    """
    t = _check_times(times)
    samples = _checks.array("samples", samples, ndim=2)
    if samples.shape[1] != t.size or len(samples) < 2:
        raise ValueError(
            f"samples must have shape (n_runs >= 2, len(times)={t.size}), got {samples.shape}"
        )
    level = _check_L(L) * np.log(2) / 2
    estimate, error = stats.jackknife(lambda s: crossing_time(t, s.mean(axis=0), level), samples)
    return float(estimate), float(error)


def neel_occupations(L):
    """The Neel state's occupations (1, 0, 1, 0, ...), float (L,): a pure product state.

    References
    ----------
    GH Sec. III E (entropy production from a pure state); chapter {doc}`quench`.
    """
    L = _check_L(L)
    _checks.memory(f"neel_occupations at L={L}", 16 * L)
    return (np.arange(L) % 2 == 0).astype(float)


def step_occupations(L, delta):
    """The step of GH Sec. VI: (1 + delta)/2 on the left half, (1 - delta)/2 on the right (L even)."""
    if _check_L(L) % 2:
        raise ValueError(f"the step needs an even number of sites, got L={L}")
    _checks.drive(delta)
    _checks.memory(f"step_occupations at L={L}", 16 * L)
    return np.repeat([(1 + delta) / 2, (1 - delta) / 2], L // 2)


def region(L, x):
    """Sites of the region of half-width x around the middle bond: [L//2 - x, L//2 + x)."""
    L = _check_L(L)
    if (
        isinstance(x, bool)
        or not isinstance(x, (int, np.integer))
        or not 1 <= x <= min(L // 2, L - L // 2)
    ):
        raise ValueError(
            f"half-width x must be an integer in [1, {min(L // 2, L - L // 2)}] for L={L}, got x={x!r}"
        )
    return np.arange(L // 2 - x, L // 2 + x)


def dense_trace(rng, occupations, p1, p2, delta, times, half_widths=()):
    """One circuit from the product state ``occupations`` by the dense simulator (L <= 12).

    Records at every t in ``times`` (integer time units, increasing): the entropy ``S`` (nats),
    the occupations ``n`` (len(times), L) and the entropies ``S_region`` (len(times),
    len(half_widths)) of the regions :func:`region` (L, x). A realization function for
    :func:`nqlib.ensemble.run_ensemble`; with p2 = 0 and the same seed it runs the same circuit
    as :func:`gaussian_trace`.
    """
    occ = _check_occupations(occupations, "occupations", max_L=circuit.MAX_L)
    t, widths = _check_times(times), _check_widths(len(occ), half_widths)
    _check_circuit(rng, p1, p2, delta)
    L = len(occ)
    _checks.work(f"dense_trace up to times[-1]={t[-1]:g} at L={L}", t[-1] * (L + 1) * 4.0**L)
    rho = circuit.product_state(occ)
    out = _empty_trace(t, L, widths)
    now = 0
    for k, target in enumerate(t.astype(int)):
        for _ in range(target - now):  # one time unit per call, as in gaussian_trace
            rho = circuit._evolve(rho, L, L + 1, rng, p1, p2, delta)
        now = target
        out["S"][k] = quantum.number_conserving_entropy(rho)
        out["n"][k] = np.real(circuit._occupations(rho, L)[0])
        for j, x in enumerate(widths):
            out["S_region"][k, j] = quantum.number_conserving_entropy(
                quantum.partial_trace(rho, region(L, x))
            )
    return out


def gaussian_trace(rng, occupations, p1, delta, times, half_widths=()):
    """The same record as :func:`dense_trace` at p2 = 0, on the correlation matrix (large L)."""
    occ = _check_occupations(occupations, "occupations", max_L=MAX_L)
    t, widths = _check_times(times), _check_widths(len(occ), half_widths)
    _check_circuit(rng, p1, 0.0, delta)
    L = len(occ)
    _checks.work(
        f"gaussian_trace up to times[-1]={t[-1]:g} at L={L}", t[-1] * (L + 1) * L + t.size * L**3
    )
    C = np.diag(occ).astype(complex)
    out = _empty_trace(t, L, widths)
    now = 0
    for k, target in enumerate(t.astype(int)):
        for _ in range(target - now):  # one time unit per call, as in dense_trace
            C = freecircuit._evolve(C, L + 1, rng, p1, delta)
        now = target
        out["S"][k] = gaussian.entropy(C)
        out["n"][k] = np.real(np.diag(C))
        for j, x in enumerate(widths):
            out["S_region"][k, j] = gaussian.entropy(C, region(L, x))
    return out


def local_equilibrium_deficit(n, S_region, half_widths):
    """Delta S(x, t) = sum_{i in A} h(n_i) - S_A for the regions of :func:`region`.

    ``n`` (..., L) and ``S_region`` (..., len(half_widths)) as returned by the traces (leading
    axes: realizations and/or times). Non-negative by subadditivity.
    """
    n, S_region = _checks.array("n", n, -1e-9, 1 + 1e-9), _checks.array("S_region", S_region)
    widths = _check_widths(n.shape[-1], half_widths)
    if S_region.shape != n.shape[:-1] + (len(widths),):
        raise ValueError(
            f"S_region must have shape {n.shape[:-1] + (len(widths),)}, got {S_region.shape}"
        )
    h = gaussian.binary_entropy(np.clip(n, 0.0, 1.0))
    local = np.stack([h[..., region(n.shape[-1], x)].sum(axis=-1) for x in widths], axis=-1)
    return local - S_region


def at_diffusion_length(times, half_widths, values, D=D_SPIN):
    """values(x, t) at x = l_D(t) = sqrt(D t), linear in x between the recorded half-widths.

    ``values`` has shape (..., len(times), len(half_widths)); times with l_D outside
    [min(half_widths), max(half_widths)] give NaN.
    """
    t = _check_times(times)
    x = _checks.array("half_widths", half_widths)
    values = _checks.array("values", values)
    D = _checks.real("D", D, 0, open_low=True)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError(
            f"half_widths must be at least two increasing numbers, got {half_widths!r}"
        )
    if values.shape[-2:] != (t.size, x.size):
        raise ValueError(f"values must end in shape ({t.size}, {x.size}), got {values.shape}")
    lD = np.sqrt(D * t)
    j = np.clip(np.searchsorted(x, lD) - 1, 0, x.size - 2)
    w = (lD - x[j]) / (x[j + 1] - x[j])
    k = np.arange(t.size)
    out = (1 - w) * values[..., k, j] + w * values[..., k, j + 1]
    return np.where((lD >= x[0]) & (lD <= x[-1]), out, np.nan)


def growth_exponent(times, samples, t_min, t_max):
    """Exponent alpha of mean(samples) = a t^alpha + b on [t_min, t_max], with its jackknife error.

    ``samples`` (realizations, len(times)). The offset b absorbs what a pure power law cannot:
    the lattice term -h of :func:`phase_one_asymptote` and the transient of the first time unit,
    which would otherwise bias alpha by O(b / a t^alpha). For each alpha in [0.05, 3], (a, b) is
    a linear least-squares fit; alpha minimises the residual.
    """
    t = _check_times(times)
    samples = _checks.array("samples", samples)
    t_min, t_max = _checks.real("t_min", t_min), _checks.real("t_max", t_max)
    if samples.ndim != 2 or samples.shape[1] != t.size:
        raise ValueError(f"samples must have shape (realizations, {t.size}), got {samples.shape}")
    window = (t >= t_min) & (t <= t_max) & (t > 0)
    if window.sum() < 4:
        raise ValueError(
            f"need at least four positive times in [{t_min}, {t_max}], got {window.sum()}"
        )
    tw = t[window] / t[window].max()  # scaled: a t^alpha stays O(1) for every alpha

    def residual(alpha, y):
        A = np.stack([tw**alpha, np.ones_like(tw)], axis=1)
        return np.sum((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2)

    def fit(data):
        y = data[:, window].mean(axis=0)
        result = optimize.minimize_scalar(
            residual, bounds=(0.05, 3.0), args=(y,), method="bounded", options={"xatol": 1e-7}
        )
        return result.x

    alpha, error = stats.jackknife(fit, samples)
    return float(alpha), float(error)


def crossing_time(times, values, level):
    """First time at which ``values`` (..., len(times)) reaches ``level``, linear in between.

    NaN where the level is never reached; ``times[0]`` where it is reached at the start.
    """
    t = _check_times(times)
    values = _checks.array("values", values)
    level = _checks.real("level", level)
    if values.ndim == 0 or values.shape[-1] != t.size:
        raise ValueError(
            f"values must end in an axis of len(times)={t.size}, got shape {values.shape}"
        )
    above = values >= level
    k = np.argmax(above, axis=-1)
    reached = above.any(axis=-1)
    before = np.maximum(k - 1, 0)
    v0 = np.take_along_axis(values, before[..., None], axis=-1)[..., 0]
    v1 = np.take_along_axis(values, k[..., None], axis=-1)[..., 0]
    step = np.where(v1 > v0, (level - v0) / np.where(v1 > v0, v1 - v0, 1.0), 1.0)
    out = np.where(k == 0, t[0], t[before] + step * (t[k] - t[before]))
    return np.where(reached, out, np.nan)


# --------------------------------------------------------------------------- private helpers
def _empty_trace(t, L, widths):
    return {
        "t": t.copy(),
        "S": np.empty(t.size),
        "n": np.empty((t.size, L)),
        "S_region": np.empty((t.size, len(widths))),
    }


def _check_L(L):
    return _checks.integer("L", L, 2)


def _check_occupations(occupations, name, max_L):
    occ = _checks.array(name, occupations, 0, 1)
    if occ.ndim != 1 or not 2 <= occ.size <= max_L:
        raise ValueError(f"{name} must be 2..{max_L} occupations in [0, 1], got {occupations!r}")
    return occ


def _check_times(times):
    t = np.atleast_1d(_checks.array("times", times))
    if (
        t.ndim != 1
        or t.size == 0
        or not np.all(np.isfinite(t))
        or np.any(t < 0)
        or np.any(t != np.round(t))
        or np.any(np.diff(t) <= 0)
    ):
        raise ValueError(
            f"times must be increasing non-negative integers (time units), got {times!r}"
        )
    return t


def _check_widths(L, half_widths):
    widest = min(L // 2, L - L // 2)
    widths = _checks.indices("half_widths", half_widths, 1, widest, distinct=False, empty=True)
    return widths.tolist()


def _check_circuit(rng, p1, p2, delta):
    """The arguments the first gate would check, checked before the first record."""
    _checks.generator(rng)
    _gates._check_probabilities(p1, p2)
    _checks.drive(delta)

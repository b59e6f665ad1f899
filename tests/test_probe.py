"""The interferometric probe: GH Eqs. 84-86 on hand-computed 2-site cases and against dense Fock
space; shot noise against a dense computation; the device simulation (exact time evolution)
against the Green's-function charges and, as gamma -> 0, against Eq. 86; input validation.

Tolerances: closed forms and dense 4x4 computations agree to rounding (1e-12). The time evolution
is stopped when exp(-2 gamma^2 T) < 1e-9; charge still in the arms (slow band-edge particles)
is checked below 1e-5, which bounds its difference from the t -> infinity Green's-function route."""

import numpy as np
import pytest
from jordan_wigner import annihilators

from nqlib import gaussian, probe, ssep

S2 = 1 / np.sqrt(2)


def _two_site(n_i, n_j, c):
    return np.array([[n_i, c], [np.conj(c), n_j]], dtype=complex)


def _random_state(rng, n):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    U = np.linalg.qr(a)[0]
    return (U * rng.uniform(0, 1, n)) @ U.conj().T


# --------------------------------------------------------------------------- ideal probe
def test_single_particle_in_a_symmetric_superposition():
    # one particle in (c_0 + c_1)/sqrt2: C = [[1/2, 1/2], [1/2, 1/2]]; a 50:50 splitter with t = r
    # sends a_L = (psi_L + psi_R)/sqrt2 = the occupied mode: I_L = 1, I_R = 0 (by hand)
    C = _two_site(0.5, 0.5, 0.5)
    assert np.allclose(probe.beam_splitter_currents(C, 0, 1, S2, S2), (1.0, 0.0), atol=1e-15)
    # t = -r: the output L is the empty antisymmetric mode
    assert np.allclose(probe.beam_splitter_currents(C, 0, 1, S2, -S2), (0.0, 1.0), atol=1e-15)
    # t = i r: no interference, half each
    assert np.allclose(probe.beam_splitter_currents(C, 0, 1, S2, 1j * S2), (0.5, 0.5), atol=1e-15)


def test_hand_computed_unbalanced_case():
    # r = sqrt(0.2), t = sqrt(0.8) i, C_00 = 0.9, C_11 = 0.3, C_01 = 0.2 e^{i pi/2} = 0.2i:
    # Re(conj(r) t C_01) = Re(sqrt(0.16) i * 0.2 i) = -0.08
    # I_L = 0.2 * 0.9 + 0.8 * 0.3 + 2 (-0.08) = 0.26, I_R = 0.8 * 0.9 + 0.2 * 0.3 + 0.16 = 0.94
    C = _two_site(0.9, 0.3, 0.2j)
    I_L, I_R = probe.beam_splitter_currents(C, 0, 1, np.sqrt(0.2), 1j * np.sqrt(0.8))
    assert abs(I_L - 0.26) < 1e-14 and abs(I_R - 0.94) < 1e-14


def test_currents_against_dense_fock_space():
    rng = np.random.default_rng(1)
    C = _random_state(rng, 3)
    rho = gaussian.dense_state(C[np.ix_([0, 2], [0, 2])])
    c = annihilators(2)
    for r, t in ((0.6, 0.8j), (S2, np.exp(0.3j) * S2), (np.exp(-1j) * 0.28, 0.96)):
        u = probe.splitter_matrix(r, t)
        a = [u[o, 0] * c[0] + u[o, 1] * c[1] for o in range(2)]
        dense = [np.trace(rho @ a[o].conj().T @ a[o]).real for o in range(2)]
        assert np.allclose(probe.beam_splitter_currents(C, 0, 2, r, t), dense, atol=1e-12)


def test_conservation_and_symmetries():
    rng = np.random.default_rng(2)
    C = _random_state(rng, 4)
    for _ in range(5):
        theta, alpha, beta = rng.uniform(0, 2 * np.pi, 3)
        r, t = np.cos(theta / 2) * np.exp(1j * alpha), np.sin(theta / 2) * np.exp(1j * beta)
        I_L, I_R = probe.beam_splitter_currents(C, 1, 3, r, t)
        assert abs(I_L + I_R - (C[1, 1] + C[3, 3]).real) < 1e-13  # charge conservation
        # exchanging the sites (psi_L <-> psi_R) with r -> conj(r), t -> -conj(t) swaps the outputs
        J_L, J_R = probe.beam_splitter_currents(C, 3, 1, np.conj(r), -np.conj(t))
        assert np.allclose((J_L, J_R), (I_R, I_L), atol=1e-13)
        # GH's symmetric splitter [[r, t], [t, r]] (unitary iff Re(conj(r) t) = 0) gives Eq. 85
        t_sym = 1j * abs(t) * r / abs(r)
        K_L, K_R = probe.beam_splitter_currents(C, 1, 3, r, t_sym)
        eq85 = (
            abs(t_sym) ** 2 * C[1, 1]
            + abs(r) ** 2 * C[3, 3]
            + 2 * np.real(np.conj(t_sym) * r * C[1, 3])
        )
        assert abs(K_R - eq85.real) < 1e-13


def test_fringe_is_eq_86():
    C = _two_site(0.6, 0.4, 0.15 * np.exp(0.7j))
    phases = np.linspace(0, 2 * np.pi, 13)
    f = probe.fringe(C, 0, 1, phases)
    assert np.allclose(f.difference, 0.3 * np.cos(phases + 0.7), atol=1e-14)
    assert (
        abs(f.amplitude - 0.3) < 1e-15
        and abs(f.offset - 0.7) < 1e-14
        and abs(f.visibility - 0.3) < 1e-14
    )
    # GH Eq. 86 literally, 2 Re[(conj(r) t - conj(t) r) C_ij], holds for their splitters, Re(conj(r) t) = 0
    for r, t in ((S2, 1j * S2), (S2, -1j * S2), (1j * S2, S2)):
        I_L, I_R = probe.beam_splitter_currents(C, 0, 1, r, t)
        assert abs(I_L - I_R - 2 * np.real((np.conj(r) * t - np.conj(t) * r) * C[0, 1])) < 1e-14


def test_difference_variance_against_dense_fock_space():
    rng = np.random.default_rng(3)
    C = _random_state(rng, 2)
    rho = gaussian.dense_state(C)
    c = annihilators(2)
    for r, t in ((S2, S2), (0.6, 0.8 * np.exp(2j))):
        u = probe.splitter_matrix(r, t)
        a = [u[o, 0] * c[0] + u[o, 1] * c[1] for o in range(2)]
        D = a[0].conj().T @ a[0] - a[1].conj().T @ a[1]
        var = np.trace(rho @ D @ D).real - np.trace(rho @ D).real ** 2
        assert abs(probe.difference_variance(C, 0, 1, r, t) - var) < 1e-12


# --------------------------------------------------------------------------- device
def test_device_hamiltonian_is_hermitian_and_coupler_is_reflectionless():
    h, sites = probe.device_hamiltonian(0.3, 0.6, 0.8j, (3, 5), 20)
    assert np.allclose(h, h.conj().T)
    assert len(h) == 2 + 3 + 5 + 2 * 20
    # rotating the outputs by u^dagger turns the device into two straight chains (module doc)
    u = probe.splitter_matrix(0.6, 0.8j)
    R = np.eye(len(h), dtype=complex)
    L, Rr = sites["out_L"], sites["out_R"]
    for k in range(20):
        idx = [L[k], Rr[k]]
        R[np.ix_(idx, idx)] = u  # column m: the state e_m^dagger|0> has amplitude u_om on output o
    h_rot = R.conj().T @ h @ R
    assert (
        abs(h_rot[sites["arm_A"][-1], Rr[0]]) < 1e-15
        and abs(h_rot[sites["arm_B"][-1], L[0]]) < 1e-15
    )
    assert (
        abs(h_rot[sites["arm_A"][-1], L[0]] + 1) < 1e-15
        and abs(h_rot[sites["arm_B"][-1], Rr[0]] + 1) < 1e-15
    )


@pytest.mark.parametrize("gamma, arms", [(0.5, (4, 4)), (0.45, (3, 6)), (0.35, (2, 7))])
def test_time_evolution_against_greens_function(gamma, arms):
    C = _two_site(0.7, 0.35, 0.3 * np.exp(0.4j))
    r, t = np.sqrt(0.3), np.sqrt(0.7) * np.exp(1.1j)
    T = np.log(1e9) / (2 * gamma**2)
    out = probe.emitted_charges(C, 0, 1, gamma, r, t, [0.0, T], arm_lengths=arms)
    assert abs(out["source"][0] - 1.05) < 1e-12 and max(out["out_L"][0], out["out_R"][0]) < 1e-24
    assert out["source"][1] < 1e-8 and out["arms"][1] < 1e-5
    total = out["out_L"] + out["out_R"] + out["source"] + out["arms"]
    assert np.allclose(total, 1.05, atol=1e-12)  # charge conservation at all times
    Q = probe.detected_charges(C, 0, 1, gamma, r, t, arms)
    assert abs(out["out_L"][1] - Q[0]) < 1e-5 and abs(out["out_R"][1] - Q[1]) < 1e-5


def test_equal_arms_reproduce_eq_84_at_any_gamma():
    C = _two_site(0.55, 0.45, -0.2 + 0.1j)
    r, t = S2, np.exp(0.9j) * S2
    ideal = probe.beam_splitter_currents(C, 0, 1, r, t)
    for gamma in (0.2, 0.6, 1.0):
        assert np.allclose(probe.detected_charges(C, 0, 1, gamma, r, t, (5, 5)), ideal, atol=1e-10)
        assert (
            abs(probe.coherence_factor(gamma, 0) - 1) < 1e-10
        )  # sum rule: the spectrum is normalised


def test_even_path_difference_closed_form():
    assert probe.leading_coefficient(0) == 0
    for delta in (2, 4, 6):
        assert abs(probe.leading_coefficient(delta) - (delta / 2 - 0.5)) < 1e-10
        assert probe.leading_coefficient(-delta) == probe.leading_coefficient(delta)
    # Delta = 2 is exact at every gamma: F = -(1 - gamma^2 / 2)
    for gamma in (0.3, 0.7):
        assert abs(probe.coherence_factor(gamma, 2) + 1 - gamma**2 / 2) < 1e-10


def test_weak_tunnelling_limit_of_the_time_evolution():
    # the time-dependent simulation (not the Green's-function formula) approaches GH Eq. 86 with
    # t -> t e^{i pi Delta / 2}; the relative deviation of I_L - I_R is gamma^2 A_Delta + O(gamma^4)
    C = _two_site(0.5, 0.5, 0.25 * np.exp(0.3j))
    delta = 3
    phi = -0.3  # interference term maximal
    r, t = S2, np.exp(1j * (phi - np.pi * delta / 2)) * S2
    ideal = np.subtract(
        *probe.beam_splitter_currents(C, 0, 1, r, t * np.exp(1j * np.pi * delta / 2))
    )
    gammas = np.array([0.5, 0.35, 0.25])
    deviation = []
    for gamma in gammas:
        T = np.log(1e9) / (2 * gamma**2)
        out = probe.emitted_charges(C, 0, 1, gamma, r, t, [T], arm_lengths=(3, 3 + delta))
        deviation.append(1 - (out["out_L"][0] - out["out_R"][0]) / ideal)
    deviation = np.array(deviation)
    slope = np.polyfit(np.log(gammas), np.log(deviation), 1)[0]
    assert abs(slope - 2) < 0.1, (slope, deviation)
    A = probe.leading_coefficient(delta)
    ratio = deviation / (A * gammas**2)
    assert np.all(np.diff(np.abs(ratio - 1)) < 0) and abs(ratio[-1] - 1) < 0.05, ratio


def test_leading_coefficient_is_the_small_gamma_limit_of_the_coherence_factor():
    # an odd Delta (no closed form): 1 - |F| = gamma^2 A + O(gamma^4), so the two-point Richardson
    # estimate from gamma and gamma / 2 removes the gamma^4 term
    for delta in (1, 3, 5):
        g = 0.08
        dev = [1 - abs(probe.coherence_factor(x, delta)) for x in (g, g / 2)]
        richardson = (4 * dev[1] / (g / 2) ** 2 - dev[0] / g**2) / 3
        assert abs(richardson / probe.leading_coefficient(delta) - 1) < 1e-3, (delta, richardson)


@pytest.mark.parametrize("delta, gamma", [(0, 0.6), (1, 0.45), (3, 0.3)])
def test_device_ratio_two_routes_and_the_coherence_factor(delta, gamma):
    C = _two_site(0.5, 0.5, 0.25 * np.exp(0.3j))
    r, t = S2, np.exp(-1j * (0.3 + np.pi * delta / 2)) * S2  # interference term maximal
    ratio = probe.device_ratio(C, 0, 1, gamma, r, t, (3, 3 + delta))
    # with this phase I_L - I_R = 4 Re(conj(r) t F C_01) = 0.5 Re(F e^{-i pi Delta/2}) = 0.5 |F|
    F = probe.coherence_factor(gamma, delta) * np.exp(-1j * np.pi * delta / 2)
    assert abs(ratio.green - F.real) < 1e-12 and abs(F.imag) < 1e-10
    assert abs(ratio.evolved - ratio.green) < 1e-5
    assert ratio.time == max(np.log(1e9) / (2 * gamma**2), 120.0)
    if delta == 0:  # equal arms: Eq. 84 exactly
        assert abs(ratio.green - 1) < 1e-10 and abs(ratio.evolved - 1) < 1e-5
    with pytest.raises(ValueError, match="ideal interference term"):
        probe.device_ratio(_two_site(0.5, 0.5, 0.0), 0, 1, gamma, r, t, (3, 3 + delta))


# --------------------------------------------------------------------------- repetitions
def test_counts_of_pure_states_are_certain():
    # one particle in (c_0 + c_1)/sqrt2: with t = r it leaves through L every time (by hand);
    # both sites full: both detectors click every time (Pauli); empty: never
    rng = np.random.default_rng(1)
    counts = probe.sample_counts(rng, _two_site(0.5, 0.5, 0.5), 0, 1, S2, S2, 50)
    assert counts.left.all() and not counts.right.any()
    full = probe.sample_counts(rng, np.eye(3), 0, 2, 0.6, 0.8, 50)
    assert full.left.all() and full.right.all()
    empty = probe.sample_counts(rng, np.zeros((2, 2)), 0, 1, 0.6, 0.8j, 50)
    assert not empty.left.any() and not empty.right.any()


def test_counts_against_the_mean_currents_and_wick_variance():
    # the exact two-mode distribution (determinants) against GH Eqs. 84-85 and Wick's theorem
    rng = np.random.default_rng(2)
    C = _random_state(rng, 4)
    r, t = 0.6, 0.8 * np.exp(0.7j)
    M = 200_000
    counts = probe.sample_counts(rng, C, 1, 3, r, t, M)
    I_L, I_R = probe.beam_splitter_currents(C, 1, 3, r, t)
    for sample, mean in ((counts.left, I_L), (counts.right, I_R)):
        assert abs(sample.mean() - mean) < 5 * np.sqrt(mean * (1 - mean) / M)
    D = counts.left.astype(float) - counts.right
    var = probe.difference_variance(C, 1, 3, r, t)
    assert abs(D.var() / var - 1) < 5 * np.sqrt(2 / M) * 2


def test_estimate_coherence_exact_cases_and_statistics():
    rng = np.random.default_rng(3)
    # phi = 0 sees Re C_01 without noise when the state is a pure superposition along it
    assert probe.estimate_coherence(rng, _two_site(0.5, 0.5, 0.5), 0, 1, 30).real == 0.5
    assert probe.estimate_coherence(rng, _two_site(0.5, 0.5, 0.5j), 0, 1, 30).imag == 0.5
    # same draws as two sample_counts calls, phase 0 first
    C = _random_state(rng, 3)
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    first = probe.sample_counts(b, C, 0, 2, S2, S2, 7)
    second = probe.sample_counts(b, C, 0, 2, S2, -1j * S2, 7)
    expected = (
        complex(
            np.mean(first.left.astype(float) - first.right),
            np.mean(second.left.astype(float) - second.right),
        )
        / 2
    )
    assert probe.estimate_coherence(a, C, 0, 2, 7) == expected
    # unbiased, with the spread sigma_D / (2 sqrt M) of Wick's variance
    M, n = 100, 2000
    est = np.array([probe.estimate_coherence(rng, C, 0, 2, M) for _ in range(n)])
    sigma = np.sqrt(probe.difference_variance(C, 0, 2, S2, S2)) / (2 * np.sqrt(M))
    assert abs(est.real.mean() - C[0, 2].real) < 4 * sigma / np.sqrt(n)
    assert abs(est.imag.mean() - C[0, 2].imag) < 4 * sigma / np.sqrt(n)
    assert abs(est.real.std(ddof=1) / sigma - 1) < 4 / np.sqrt(2 * n)


def test_repetitions_by_hand():
    # diagonal state: sigma_D^2 = n_i (1 - n_j) + n_j (1 - n_i) (one particle: D = +-1)
    C = np.diag([0.3, 0.6, 0.9]).astype(complex)
    sigma2 = 0.3 * 0.1 + 0.9 * 0.7
    assert abs(probe.repetitions(C, 0, 2, 0.01) - 9 * sigma2 / 0.04) < 1e-12
    assert abs(probe.repetitions(C, 0, 2, 0.01, confidence=2.0) - 4 * sigma2 / 0.04) < 1e-12
    assert probe.repetitions(C, 0, 2, 0.0) == np.inf


def test_neas_repetitions_against_the_exact_two_point_function():
    # GH Eq. C10 (exact, ssep.connected_two_point) and the hand count of the noise
    L, delta = 20, 0.4
    i, j = np.array([2, 5, 9]), np.array([15, 11, 10])
    n = ssep.density(L, delta)
    abs2 = -ssep.connected_two_point(L, delta)[i, j]
    sigma2 = n[i] * (1 - n[j]) + n[j] * (1 - n[i])
    assert np.allclose(
        probe.neas_repetitions(L, delta, i, j), 9 * sigma2 / (4 * abs2), rtol=1e-12, atol=0
    )
    assert np.allclose(
        probe.neas_repetitions(L, delta, j, i), probe.neas_repetitions(L, delta, i, j)
    )
    seps = np.arange(2, L - 1, 2)
    centred = probe.neas_repetitions(L, delta, L // 2 - seps // 2, L // 2 - seps // 2 + seps)
    assert np.all(np.diff(centred) > 0)
    assert np.all(probe.neas_repetitions(L, 0.0, i, j) == np.inf)


def test_centred_pair_against_fringe_and_neas_repetitions():
    L, delta = 16, 0.4
    rng = np.random.default_rng(5)
    X = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
    C = X @ X.conj().T
    C /= 1.01 * np.linalg.eigvalsh(C).max()  # a valid correlation matrix
    phases = np.linspace(0, 2 * np.pi, 9)
    view = probe.centred_pair(C, delta, 6, 0.7, phases)
    assert (view.i, view.j) == (5, 11) and view.C_ij == C[5, 11]
    assert abs(view.difference - 2 * np.real(np.exp(0.7j) * C[5, 11])) < 1e-12
    np.testing.assert_array_equal(view.fringe.difference, probe.fringe(C, 5, 11, phases).difference)
    np.testing.assert_array_equal(view.separations, np.arange(2, 15, 2))
    first = L // 2 - view.separations // 2
    np.testing.assert_array_equal(
        view.repetitions, probe.neas_repetitions(L, delta, first, first + view.separations)
    )
    odd = probe.centred_pair(C, delta, 1, 0.0, phases)
    assert (odd.i, odd.j) == (8, 9)
    for bad, match in [
        (dict(separation=16), r"separation must be an integer in \[1, 15\]"),
        (dict(delta=1.5), r"delta"),
        (dict(phase=np.nan), r"phase"),
        (dict(phases=np.ones((2, 2))), r"phases"),
    ]:
        args = dict(C=C, delta=delta, separation=6, phase=0.0, phases=phases)
        args.update(bad)
        with pytest.raises(ValueError, match=match):
            probe.centred_pair(**args)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(r=0.6, t=0.7), r"\|r\|\^2 \+ \|t\|\^2 must equal 1"),
        (dict(r=1.0, t=1e-4), r"must equal 1"),
        (dict(r="a", t=0.5), "must be numbers"),
        (dict(i=1, j=1), "different sites"),
        (dict(i=0, j=3), r"j must be a site index in \[0, 3\)"),
        (dict(i=-1, j=1), "i must be a site index"),
        (dict(i=0.0, j=1), "i must be a site index"),
        (dict(C=np.ones((3, 2))), "square matrix"),
        (dict(C=np.array([[0.5, 0.2], [0.1, 0.5]])), "Hermitian"),
    ],
)
def test_validation_of_the_currents(kwargs, match):
    args = dict(C=np.eye(3) * 0.5, i=0, j=1, r=0.6, t=0.8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        probe.beam_splitter_currents(**args)


def test_validation_of_the_device():
    C = _two_site(0.5, 0.5, 0.1)
    with pytest.raises(ValueError, match="gamma must lie in"):
        probe.detected_charges(C, 0, 1, 1.5, S2, S2)
    with pytest.raises(ValueError, match="gamma must lie in"):
        probe.emitted_charges(C, 0, 1, 0.0, S2, S2, [1.0])
    with pytest.raises(ValueError, match="arm_lengths"):
        probe.device_hamiltonian(0.3, S2, S2, (0, 3))
    with pytest.raises(ValueError, match="times must be"):
        probe.emitted_charges(C, 0, 1, 0.3, S2, S2, [-1.0])
    with pytest.raises(ValueError, match="path_difference must be an integer"):
        probe.coherence_factor(0.3, 1.5)
    with pytest.raises(ValueError, match="eigenvalues of C"):
        probe.difference_variance(_two_site(1.2, 0.5, 0.0), 0, 1, S2, S2)
    with pytest.raises(ValueError, match="phases must hold finite"):
        probe.fringe(C, 0, 1, [np.nan])
    with pytest.raises(ValueError, match="path_difference must be an integer"):
        probe.leading_coefficient(2.0)
    with pytest.raises(ValueError, match="repetitions must be an integer >= 1"):
        probe.sample_counts(np.random.default_rng(0), C, 0, 1, S2, S2, 0)
    with pytest.raises(ValueError, match="rng must be"):
        probe.estimate_coherence(0, C, 0, 1, 10)
    with pytest.raises(ValueError, match="abs2 must be"):
        probe.repetitions(C, 0, 1, -0.1)
    with pytest.raises(ValueError, match="same length"):
        probe.neas_repetitions(10, 0.3, [1, 2], [5])

"""The trajectory helper and its burn-in rule: the samplers give what their hand-written loops
gave, the diffusion constant and length of each model set the relaxation time, and the
default burn-in removes the slow mode while the old (L + 1)**2 does not."""

import numpy as np
import pytest

from nqlib import circuit, freecircuit, gaussian, haarcircuit, qssep, quantum, ssep, trajectory


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- the loop
def test_sample_stacks_dicts_averages_mean_keys_and_stacks_plain_values():
    def step(x, n):
        return x + n

    out = trajectory.sample(
        0, step, 10, 2, 3, lambda x: {"x": x, "v": np.array([x, -x])}, mean=("v",)
    )
    assert out["x"].tolist() == [12, 14, 16]
    np.testing.assert_array_equal(out["v"], [14.0, -14.0])
    assert trajectory.sample(1.0, step, 0, 0.5, 2, lambda x: x).tolist() == [1.5, 2.0]
    assert [s for s in trajectory.states(0, step, 3, 1, 4)] == [4, 5, 6, 7]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(burn_in=-1), "burn_in"),
        (dict(between=0), "between"),
        (dict(n_samples=0), "n_samples"),
        (dict(step=3), "step"),
        (dict(measure=None), "measure"),
        (dict(mean=("y",)), "mean"),
    ],
)
def test_sample_refuses_bad_arguments(kwargs, name):
    args = dict(
        state=0,
        step=lambda x, n: x + n,
        burn_in=1,
        between=1,
        n_samples=2,
        measure=lambda x: {"x": x},
    )
    with pytest.raises(ValueError, match=name):
        trajectory.sample(**{**args, **kwargs})


def test_circuit_default_is_the_hand_written_loop_with_4_L_plus_1_squared():
    """The pre-helper loop of circuit.neas_samples, written out: same numbers, bit for bit."""
    L, p1, p2, delta, n = 3, 0.3, 0.2, 0.5, 4
    out = circuit.neas_samples(_rng(1), L, p1, p2, delta, n)
    rng = _rng(1)
    rho = circuit._evolve(
        circuit.local_equilibrium(L, delta), L, 4 * (L + 1) ** 3, rng, p1, p2, delta
    )
    for k in range(n):
        rho = circuit._evolve(rho, L, L + 1, rng, p1, p2, delta)
        assert out["S"][k] == quantum.entropy(rho) and out["P"][k] == quantum.purity(rho)
        assert out["I"][k] == quantum.mutual_information(rho, range(L // 2))
        np.testing.assert_array_equal(out["nn"][k], circuit.occupations(rho)[1])


def test_freecircuit_time_averages_are_the_hand_written_running_sums():
    L, p1, delta, n, burn_in = 7, 0.6, 0.4, 5, 20.0
    out = freecircuit.neas_samples(_rng(2), L, p1, delta, n, burn_in=burn_in, cuts=[2, 4])
    rng = _rng(2)
    C = freecircuit._evolve(
        freecircuit.local_equilibrium(L, delta), round(burn_in * (L + 1)), rng, p1, delta
    )
    density, abs2 = np.zeros(L), np.zeros((L, L))
    for k in range(n):
        C = freecircuit._evolve(C, L + 1, rng, p1, delta)
        assert out["S"][k] == gaussian.entropy(C)
        density += np.real(np.diag(C))
        abs2 += np.abs(C) ** 2
    np.testing.assert_array_equal(out["n"], density / n)
    np.testing.assert_array_equal(out["abs2"], abs2 / n)
    assert out["I"].shape == (n, 2)


def test_ssep_sample_is_the_hand_written_chain():
    L, delta, n = 7, 0.4, 50
    out = ssep.sample(_rng(8), L, delta, n, burn_in=3.0, sweeps_between=0.5)
    rng = _rng(8)
    tau = (rng.random(L) < ssep.density(L, delta)).astype(np.uint8)
    ssep._advance(tau, 3 * (L + 1), rng, (1 + delta) / 2, (1 - delta) / 2)
    for k in range(n):
        ssep._advance(tau, 4, rng, (1 + delta) / 2, (1 - delta) / 2)
        np.testing.assert_array_equal(out[k], tau)


def test_haar_default_keeps_20_L():
    out = haarcircuit.neas_purity(_rng(3), 3, 4)["purity"]
    assert np.array_equal(out, haarcircuit.neas_purity(_rng(3), 3, 4, burn_in=60)["purity"])
    assert not np.array_equal(out, haarcircuit.neas_purity(_rng(3), 3, 4, burn_in=59)["purity"])


# --------------------------------------------------------------------------- the rule
def test_default_burn_in_is_2_pi_squared_relaxation_times_and_4_L_plus_1_squared_at_D_half():
    for L in (1, 5, 64, 1023):
        assert trajectory.burn_in(L + 1) == 4.0 * (L + 1) ** 2
        assert trajectory.burn_in(L + 1) == pytest.approx(
            trajectory.BURN_IN_TAUS * trajectory.relaxation_time(L + 1)
        )
    assert trajectory.burn_in(9, 2.0) == 81.0
    with pytest.raises(ValueError, match="length"):
        trajectory.burn_in(0)
    with pytest.raises(ValueError, match="D"):
        trajectory.relaxation_time(3, -1)


def _slowest_rate(N, J, gamma_a, gamma_b):
    """Slowest decay rate of the mean occupations: J times the chain Laplacian, and each end site
    pulled to its reservoir at rate gamma (the mean equation of the circuits, SSEP and QSSEP)."""
    M = J * (np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1) - 2 * np.eye(N))
    M[0, 0], M[-1, -1] = -J - gamma_a, -J - gamma_b
    return -np.linalg.eigvalsh(M).max()


@pytest.mark.parametrize(
    "N, J, gamma_a, gamma_b", [(40, 0.5, 0.5, 0.5), (60, 1.0, 1.0, 1.0), (50, 1.0, 0.5, 2.0)]
)
def test_relaxation_time_is_the_slowest_mode_of_the_mean_equation(N, J, gamma_a, gamma_b):
    """D = J and length N - 1 + J/gamma_a + J/gamma_b (L + 1 for the circuits: J = gamma = 1/2)."""
    tau = trajectory.relaxation_time(N - 1 + J / gamma_a + J / gamma_b, J)
    assert _slowest_rate(N, J, gamma_a, gamma_b) * tau == pytest.approx(1, abs=3e-3)


def test_freecircuit_mean_relaxes_with_D_one_half():
    """Monte Carlo: the average occupation of free circuits started empty, after one relaxation
    time, is the solution of the mean equation with J = gamma = 1/2 (the gate measure's D)."""
    L, delta, chains = 6, 1.0, 400
    t = round(trajectory.relaxation_time(L + 1))
    rng = _rng(4)
    n = np.array(
        [
            np.real(
                np.diag(
                    freecircuit._evolve(np.zeros((L, L), complex), t * (L + 1), rng, 0.7, delta)
                )
            )
            for _ in range(chains)
        ]
    )
    M = 0.5 * (np.diag(np.ones(L - 1), 1) + np.diag(np.ones(L - 1), -1) - 2 * np.eye(L))
    source = np.zeros(L)
    source[0] = 0.5 * (1 + delta) / 2
    w, V = np.linalg.eigh(M)
    stationary = -np.linalg.solve(M, source)
    exact = stationary - V @ (np.exp(w * t) * (V.T @ stationary))
    error = n.std(axis=0) / np.sqrt(chains)
    assert np.all(np.abs(n.mean(axis=0) - exact) < 4 * error + 1e-3), (n.mean(axis=0), exact)
    assert np.abs(exact - stationary).max() > 0.1  # one relaxation time is far from stationary


def test_qssep_mean_relaxes_with_D_J():
    """Monte Carlo of QSSEP started empty: the mean density after one relaxation time follows the
    mean equation with D = J and boundary rates gamma (the rule's tau for QSSEP)."""
    N, J, chains, dt = 8, 1.0, 40, 0.02
    t = trajectory.relaxation_time(N + 1, J)
    rng = _rng(5)
    n = np.array(
        [
            np.real(
                np.diag(qssep._evolve(np.zeros((N, N), complex), t, dt, rng, J, 1.0, 1.0, 0.0, 1.0))
            )
            for _ in range(chains)
        ]
    )
    M = J * (np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1) - 2 * np.eye(N))
    source = np.zeros(N)
    source[-1] = 1.0  # gamma_b n_b
    w, V = np.linalg.eigh(M)
    stationary = -np.linalg.solve(M, source)
    np.testing.assert_allclose(stationary, qssep.coordinate(N), atol=1e-12)
    exact = stationary - V @ (np.exp(w * t) * (V.T @ stationary))
    error = n.std(axis=0) / np.sqrt(chains)
    assert np.all(np.abs(n.mean(axis=0) - exact) < 4 * error + 2e-3), (n.mean(axis=0), exact)


def _ssep_profiles(L, burn_in, chains, seed):
    """Profiles of SSEP chains started empty (delta = 1) after ``burn_in`` time units, each run
    with :func:`nqlib.trajectory.sample` and ssep's own Monte Carlo step."""
    rng = _rng(seed)

    def step(tau, steps):
        ssep._advance(tau, steps, rng, 1.0, 0.0)
        return tau

    return np.array(
        [
            trajectory.sample(np.zeros(L, np.uint8), step, round(burn_in * (L + 1)), 1, 1, np.copy)[
                0
            ]
            for _ in range(chains)
        ]
    )


def test_default_burn_in_reaches_the_stationary_profile_and_a_short_one_does_not():
    L, chains = 10, 3000
    exact = ssep.density(L, 1.0)
    mode = np.sin(np.pi * np.arange(1, L + 1) / (L + 1))  # the slowest mode

    def slow_amplitude(burn_in, seed):
        n = _ssep_profiles(L, burn_in, chains, seed).astype(float)
        a = (n - exact) @ mode
        return a.mean(), a.std() / np.sqrt(chains)

    amplitude, error = slow_amplitude(trajectory.burn_in(L + 1), 6)
    assert abs(amplitude) < 4 * error
    amplitude, error = slow_amplitude(
        trajectory.relaxation_time(L + 1), 7
    )  # one tau: still empty-ish
    assert amplitude < -8 * error


def test_mean_equation_left_after_the_old_and_the_new_default():
    """Exact mean dynamics of SSEP from the empty chain: the old default (L+1)**2 leaves a
    resolvable 7e-3 of the slow mode, the rule's 4 (L+1)**2 leaves below 1e-8."""
    L = 30
    M = 0.5 * (np.diag(np.ones(L - 1), 1) + np.diag(np.ones(L - 1), -1) - 2 * np.eye(L))
    w, V = np.linalg.eigh(M)
    stationary = ssep.density(L, 1.0)
    residual = [
        np.abs(V @ (np.exp(w * t) * (V.T @ stationary))).max() / stationary.max()
        for t in ((L + 1) ** 2, trajectory.burn_in(L + 1))
    ]
    assert 2e-3 < residual[0] < 2e-2 and residual[1] < 1e-8


def test_chain_schedule_checks_and_applies_the_default_rule():
    assert trajectory.chain_schedule(9, 0.5) == (0.5, 4 * 10**2)
    assert trajectory.chain_schedule(9, 2, burn_in=0) == (2.0, 0.0)
    assert trajectory.chain_schedule(3, 1.0, 7.5) == (1.0, 7.5)
    for args, match in [
        ((0, 1.0), "L must be an integer"),
        ((4, 0.0), "sweeps_between"),
        ((4, 1.0, -1.0), "burn_in"),
        ((4, 1.0, np.nan), "burn_in"),
    ]:
        with pytest.raises(ValueError, match=match):
            trajectory.chain_schedule(*args)

"""Operator spreading (GH Sec. III A): exact gate averages, the closed pair-state dynamics against
dense circuits, the weight chain and its sampler, and the linear front equations."""

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import ive

from nqlib import gates, spreading

KINDS = {0: (0.0, 0.0), 1: (1.0, 0.0), 2: (0.0, 1.0)}  # (p1, p2) selecting one ensemble


def test_quadrature_is_exact_for_second_moments():
    for kind, (p1, p2) in KINDS.items():
        reference = spreading.two_copy_map(p1, p2)
        weights, us = gates.quadrature(kind, n_phase=7, n_theta=5)
        finer = sum(
            w * np.kron(R, R.conj()) for w, R in zip(weights, map(spreading.heisenberg_matrix, us))
        )
        assert np.abs(finer - reference).max() < 1e-13, kind


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_two_copy_map_is_the_monte_carlo_average(kind):
    """The quadrature (exact) against sampled gates (spreading.sampled_two_copy_map)."""
    p1, p2 = KINDS[kind]
    mc = spreading.sampled_two_copy_map(np.random.default_rng(10 + kind), p1, p2, 1500)
    exact = spreading.two_copy_map(p1, p2)
    assert np.all(np.abs(mc.mean - exact) <= 5 * mc.error + 1e-12)


def test_sampled_two_copy_map_errors_are_the_spread_of_independent_estimates():
    """The per-entry standard error against the scatter of 40 independent small estimates."""
    rng = np.random.default_rng(3)
    runs = [spreading.sampled_two_copy_map(rng, 0.3, 0.3, 25) for _ in range(40)]
    means = np.array([r.mean for r in runs])
    scatter = np.hypot(means.real.std(axis=0, ddof=1), means.imag.std(axis=0, ddof=1))
    typical = np.mean([r.error for r in runs], axis=0)
    fluctuating = typical > 1e-3
    ratio = np.median(scatter[fluctuating] / typical[fluctuating])
    assert 0.85 < ratio < 1.15, ratio
    with pytest.raises(ValueError, match="n_gates must be an integer >= 2"):
        spreading.sampled_two_copy_map(rng, 0.3, 0.3, 1)


def test_heisenberg_matrix_is_unitary_and_iswap_moves_fermions_without_strings():
    R = spreading.heisenberg_matrix(gates.ISWAP)
    assert np.allclose(R.conj().T @ R, np.eye(16), atol=1e-13)
    # c^dagger on site 1 (index 4*2 + 0) goes to c^dagger on site 2 (index 4*0 + 2), up to a phase
    assert abs(abs(R[2, 8]) - 1) < 1e-13


def test_weights_do_not_close_but_six_pair_states_do():
    P = spreading.pair_map(0.3, 0.3)  # raises if the 36-dim space leaked
    i = spreading.PAIR_LABELS.index
    assert abs(P[i("1ZZ1"), i("ZZ11")] - 0.3 / 6) < 1e-14  # a weight makes a coherence (p1 / 6)
    assert abs(P[i("++--"), i("1ZZ1")] + 0.3 / 6) < 1e-14  # which feeds back with a minus sign
    # total weight (sum over weights, coherences count zero) is conserved by every column
    e = np.array([1, 1, 0, 0, 1, 1.0])
    assert np.allclose(np.kron(e, e) @ P, np.kron(e, e), atol=1e-14)
    # Z1 + Z2 is conserved: (Z1 + Z2) (x) (Z1 + Z2)^* = ZZ11 + 11ZZ + Z11Z + 1ZZ1 is a fixed point
    v = np.zeros(36)
    v[[i("ZZ11"), i("11ZZ"), i("Z11Z"), i("1ZZ1")]] = 1
    assert np.allclose(P @ v, v, atol=1e-14)
    W = spreading.weight_chain(0.3, 0.3)
    assert W.min() >= 0 and np.allclose(W.sum(axis=0), 1, atol=1e-14)


def test_labels_follow_the_documented_index_order():
    assert spreading.PAIR_LABELS[6 * 2 + 3] == "1ZZ1" and len(set(spreading.PAIR_LABELS)) == 36
    assert spreading.WEIGHT_LABELS[4 * 2 + 0] == "+1" and len(set(spreading.WEIGHT_LABELS)) == 16


def test_outcomes_read_one_column_of_either_map():
    P1 = spreading.pair_map(1.0, 0.0)
    out = spreading.outcomes(P1, "1ZZ1")
    i = spreading.PAIR_LABELS.index
    column = P1[:, i("1ZZ1")]
    assert set(out) == {spreading.PAIR_LABELS[k] for k in np.flatnonzero(np.abs(column) > 1e-12)}
    assert all(out[label] == column[i(label)] for label in out)
    assert abs(out["++--"] + 1 / 6) < 1e-13  # negative entries are kept
    W = spreading.weight_chain(0.0, 1.0)
    moves = spreading.outcomes(W, "+1")  # mu_2: c moves, or stays and dresses its neighbour
    assert abs(sum(moves.values()) - 1) < 1e-13 and min(moves.values()) > 0
    assert list(moves) == sorted(moves, key=spreading.WEIGHT_LABELS.index)
    assert spreading.outcomes(W, "+1", tol=1.0) == {}


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.eye(4), "11"), "M must be a pair_map"),
        ((np.eye(16), "ZZ11"), "source must be one of the 16 labels"),
        ((np.eye(36), 3), "source must be one of the 36 labels"),
        ((np.full((16, 16), np.nan), "+1"), "M must"),
        ((np.eye(16), "+1", -1.0), "tol must"),
    ],
)
def test_outcomes_refuse_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        spreading.outcomes(*args)


def test_one_gate_average_equals_dense_evolution_over_the_quadrature():
    """Exact, not statistical: average U^dag O U over each ensemble's quadrature on L = 3."""
    L, site = 3, 1
    Z, sp_ = np.diag([1.0, -1.0]), np.sqrt(2) * np.array([[0.0, 1.0], [0.0, 0.0]])
    O = np.kron(np.kron(Z, sp_), np.eye(2))  # sqrt2 c^dagger on site 1
    zs = [np.diag(_on_site(Z, x, L)) for x in range(L)]
    for kind, (p1, p2) in KINDS.items():
        weights, us = gates.quadrature(kind)
        dense = np.zeros(L)
        for bond in range(L - 1):
            for w, U in zip(weights, us):
                full = np.kron(np.kron(np.eye(2**bond), U), np.eye(2 ** (L - bond - 2)))
                A = full.conj().T @ O @ full
                dense += (
                    w
                    / (L - 1)
                    * np.array(
                        [
                            0.5 * (1 - np.real(np.trace(A.conj().T @ (z[:, None] * A * z))) / 8)
                            for z in zs
                        ]
                    )
                )
        exact = spreading.averaged_otoc(L, p1, p2, 1, site=site)[1]
        assert np.abs(dense - exact).max() < 1e-12, kind


def test_exact_averaged_process_matches_dense_circuits():
    L, n_gates, p1, p2 = 4, 8, 0.3, 0.3
    exact = spreading.averaged_otoc(L, p1, p2, n_gates)
    rng = np.random.default_rng(20)
    dense = np.array([spreading.dense_otoc(rng, L, p1, p2, n_gates, 1)["otoc"] for _ in range(800)])
    mean, se = dense.mean(axis=0), dense.std(axis=0) / np.sqrt(len(dense))
    assert np.all(np.abs(mean - exact) <= 5 * se + 1e-12)
    assert np.allclose(
        exact.sum(axis=1)[:2], 1
    )  # one fermion operator until the first mu_1/mu_2 gate acts


def test_coherences_change_the_weights():
    coherent = spreading.averaged_otoc(4, 0.5, 0.5, 30)
    chain = spreading.averaged_otoc(4, 0.5, 0.5, 30, coherent=False)
    gap = np.abs(coherent - chain).max()
    assert 1e-3 < gap < 0.05  # nonzero (no closure), small (GH's incoherent picture is close)
    # without partial swaps or without interactions no coherence is ever fed back
    for p1, p2 in ((0.0, 0.7), (0.7, 0.0)):
        assert np.allclose(
            spreading.averaged_otoc(4, p1, p2, 20),
            spreading.averaged_otoc(4, p1, p2, 20, coherent=False),
            atol=1e-13,
        )


def test_sampler_matches_the_exact_weight_chain_in_continuous_time():
    L, p1, p2, times = 5, 0.4, 0.4, np.array([0.0, 0.7, 1.5])
    exact = spreading.poisson_clock(
        spreading.averaged_otoc(L, p1, p2, 60, coherent=False), L, times
    )
    out = spreading.sample_chain(np.random.default_rng(30), L, p1, p2, times, 20000)
    se = np.sqrt(out["otoc"] * (1 - out["otoc"]) / 20000) + 1e-12
    assert np.all(np.abs(out["otoc"] - exact) <= 5 * se)
    assert out["reached_end"]  # L = 5 is small on purpose; the flag must say so


@pytest.mark.parametrize("p1, p2", [(0.0, 0.6), (0.6, 0.0)])
def test_no_ballistic_spreading_on_the_axes(p1, p2):
    """One fermion operator, never multiplied: a random walk with D = 1/2, <x^2> = t."""
    times = np.array([10.0, 40.0])
    out = spreading.sample_chain(np.random.default_rng(40), 301, p1, p2, times, 3000)
    assert np.all(out["count"] == 1) and not out["reached_end"]
    x2 = (out["right"] - 150) ** 2
    assert np.all(np.abs(x2.mean(axis=0) - times) <= 5 * x2.std(axis=0) / np.sqrt(3000))


def test_chain_batches_are_consecutive_sample_chain_runs_and_fill_in_behind_the_front():
    """Batches = repeated sample_chain on one generator; behind the front the weights are
    uniform, C -> 1/2 (GH Sec. III A), with an error bar from the batches."""
    times = np.linspace(0, 60, 13)
    batches = spreading.sample_chain_batches(
        np.random.default_rng(5), 151, 0.5, 0.5, times, 30, n_batches=3
    )
    rng = np.random.default_rng(5)
    runs = [spreading.sample_chain(rng, 151, 0.5, 0.5, times, 30) for _ in range(3)]
    np.testing.assert_array_equal(batches.right, np.concatenate([r["right"] for r in runs]))
    np.testing.assert_allclose(batches.otoc, np.mean([r["otoc"] for r in runs], axis=0), atol=1e-15)
    assert batches.otoc[0, 75] == 1 and batches.otoc[0].sum() == 1  # c^dagger on the middle site
    mean, error = batches.otoc_near(30, half_width=5)
    by_hand = [r["otoc"][times >= 30][:, 70:81].mean() for r in runs]
    assert mean == pytest.approx(np.mean(by_hand), rel=1e-12)
    assert error == pytest.approx(np.std(by_hand, ddof=1) / np.sqrt(3), rel=1e-9)
    assert abs(mean - 0.5) < 4 * error + 0.03 and not batches.reached_end
    with pytest.raises(ValueError, match="n_batches must be an integer in \\[2, 1000\\]"):
        spreading.sample_chain_batches(rng, 151, 0.5, 0.5, times, 30, n_batches=1)


def test_front_moves_ballistically_inside_the_phase():
    times = np.linspace(0, 60, 13)
    out = spreading.sample_chain(np.random.default_rng(50), 201, 0.5, 0.5, times, 100)
    v, err = spreading.front_velocity(times, out["right"], 30)
    assert not out["reached_end"] and v > 10 * err and 0.2 < v < 1.0


def test_chain_rates_and_linear_speed_limits():
    D, r1, r2 = spreading.chain_rates(0.3, 0.2)
    assert np.allclose([D, r1, r2], [0.5, 0.2, 0.2], atol=1e-14)
    v = spreading.linear_front_speed(1.0, 1e-6, D=0.5, lattice=False)
    assert abs(v**2 / (8 * 0.5 * 1e-6) - 1) < 1e-3  # r2 << r1: v^2 = 8 D r2
    v = spreading.linear_front_speed(1e-6, 1.0, D=0.5, lattice=False)
    assert abs(v**2 / (4 * 0.5 * np.sqrt(2e-6)) - 1) < 1e-2  # r1 << r2: v^2 = 4 D sqrt(2 r1 r2)
    # the lattice speed tends to the continuum one for slow growth
    assert (
        abs(
            spreading.linear_front_speed(1e-4, 1e-4)
            / spreading.linear_front_speed(1e-4, 1e-4, lattice=False)
            - 1
        )
        < 1e-3
    )
    assert spreading.linear_front_speed(0.0, 0.3) == 0.0 and spreading.tau_in(0.0, 0.3) == np.inf


def test_front_solver_is_the_exact_lattice_solution():
    r1, r2, D, L = 0.3, 0.2, 0.5, 150
    out = spreading.solve_front_equations(r1, r2, 40.0, 5, L, D=D)
    A = np.array([[-r1, 2 * r2], [r1, 0.0]])
    x = out["x"]
    for t, n, c in zip(out["t"], out["n"], out["c"]):
        kernel = ive(np.abs(x), 2 * D * t)  # e^{-2Dt} I_x(2Dt): lattice heat kernel
        amp = expm(A * t) @ np.array([0.0, 1.0])
        assert np.allclose(n, amp[0] * kernel, rtol=1e-8, atol=1e-12 * amp.max())
        assert np.allclose(c, amp[1] * kernel, rtol=1e-8, atol=1e-12 * amp.max())


def test_front_solver_speed_approaches_the_pulled_front_speed():
    r1, r2, D = 0.3, 0.2, 0.5
    out = spreading.solve_front_equations(r1, r2, 400.0, 5, 600, D=D)
    t, x = out["t"][-2:], out["front"][-2:]
    v = spreading.linear_front_speed(r1, r2, D)
    mu = 0.5 * (-r1 + np.sqrt(r1**2 + 8 * r1 * r2))
    lam = _argmin_lambda(mu, D)
    slope = np.diff(x)[0] / np.diff(t)[0]
    # level set of e^{mu t - lambda x} / sqrt(t): slope = v - ln(t2/t1) / (2 lambda (t2 - t1)) + O(1/t^2)
    corrected = v - np.log(t[1] / t[0]) / (2 * lam * (t[1] - t[0]))
    assert abs(slope / corrected - 1) < 5e-3


def _on_site(A, x, L):
    out = np.eye(1)
    for k in range(L):
        out = np.kron(out, A if k == x else np.eye(2))
    return out


def _argmin_lambda(mu, D):
    from scipy.optimize import minimize_scalar

    return minimize_scalar(
        lambda lam: (mu + 2 * D * (np.cosh(lam) - 1)) / lam, bounds=(1e-9, 50), method="bounded"
    ).x


def test_input_validation():
    with pytest.raises(ValueError, match="kind"):
        gates.quadrature(3)
    with pytest.raises(ValueError, match="p1 \\+ p2"):
        spreading.two_copy_map(0.7, 0.5)
    with pytest.raises(ValueError, match="L must"):
        spreading.averaged_otoc(9, 0.1, 0.1, 2)
    with pytest.raises(ValueError, match="site"):
        spreading.dense_otoc(np.random.default_rng(0), 4, 0.1, 0.1, 1, 1, site=4)
    with pytest.raises(ValueError, match="times"):
        spreading.sample_chain(np.random.default_rng(0), 11, 0.1, 0.1, [2.0, 1.0], 2)
    with pytest.raises(ValueError, match="n_gates"):
        spreading.poisson_clock(np.zeros((3, 4)), 4, [5.0])


def test_butterfly_velocity_wraps_the_sampled_front():
    # the same seed gives the same trajectories: v equals front_velocity on a direct sample_chain run
    out = spreading.butterfly_velocity(np.random.default_rng(5), 0.5, 0.5, 20, horizon=10.0)
    times = np.linspace(0.0, out["t_max"], 81)
    direct = spreading.sample_chain(np.random.default_rng(5), out["L"], 0.5, 0.5, times, 20)
    assert spreading.front_velocity(times, direct["right"], out["t_max"] / 2) == (
        out["v"],
        out["err"],
    )
    half = times <= out["t_max"] / 2
    early = spreading.front_velocity(times[half], direct["right"][:, half], out["t_max"] / 4)
    assert early == (out["v_half"], out["err_half"])
    D, r1, r2 = spreading.chain_rates(0.5, 0.5)
    assert out["v_linear"] == spreading.linear_front_speed(r1, r2, D)
    # v_B grows with p2 at fixed p1 (GH Eq. 26); the gap is many standard errors at 40 trajectories
    slow = spreading.butterfly_velocity(np.random.default_rng(6), 0.5, 0.02, 40, horizon=20.0)
    fast = spreading.butterfly_velocity(np.random.default_rng(7), 0.5, 0.5, 40, horizon=20.0)
    assert fast["v"] - slow["v"] > 5 * np.hypot(fast["err"], slow["err"])


@pytest.mark.parametrize("p1, p2, n", [(0.0, 0.5, 10), (0.5, 0.0, 10), (0.5, 0.5, 1)])
def test_butterfly_velocity_rejects_axes_and_single_samples(p1, p2, n):
    with pytest.raises(ValueError):
        spreading.butterfly_velocity(np.random.default_rng(0), p1, p2, n)


def test_velocity_scan_recovers_exact_power_laws_and_the_linear_theory_exponents():
    """Synthetic v = 2 p^0.3 gives b = 0.3; the linear front theory of chain_rates gives GH's
    1/4 along p1 -> 0 (p2 = 0.9) and 1/2 along p2 -> 0 (p1 = 0.9)."""
    p = np.array([1e-3, 3e-3, 1e-2, 3e-2])
    fake = [
        dict(
            v=2 * q**0.3, err=0.01 * q**0.3, v_half=q**0.3, err_half=0.02 * q**0.3, v_linear=q**0.5
        )
        for q in p
    ]
    scan = spreading.velocity_scan(p, fake)
    assert scan.chain[0] == pytest.approx(0.3, abs=1e-12) and scan.half[0] == pytest.approx(
        0.3, abs=1e-12
    )
    np.testing.assert_allclose(scan.ratio, 2 * p**-0.2, rtol=1e-12)
    small = np.array([1e-4, 3e-4, 1e-3])
    for pairs, exponent in (([(q, 0.9) for q in small], 0.25), ([(0.9, q) for q in small], 0.5)):
        linear = [
            spreading.linear_front_speed(
                *spreading.chain_rates(*pp)[1:], spreading.chain_rates(*pp)[0]
            )
            for pp in pairs
        ]
        results = [dict(v=s, err=0.01 * s, v_half=s, err_half=0.01 * s, v_linear=s) for s in linear]
        assert abs(spreading.velocity_scan(small, results).linear[0] - exponent) < 0.03
    with pytest.raises(ValueError, match="velocities must be a list of 4"):
        spreading.velocity_scan(p, fake[:3])
    with pytest.raises(ValueError, match=r"velocities\[0\] must be a butterfly_velocity result"):
        spreading.velocity_scan(p, [{}] * 4)


def test_tau_in_map_is_tau_in_inside_the_triangle_and_nan_outside():
    p1 = np.array([0.1, 0.5, 0.9, 0.0])
    p2 = np.array([[0.2], [0.6]])
    out = spreading.tau_in_map(p1, p2)
    assert out.shape == (2, 4)
    for i, b in enumerate(p2[:, 0]):
        for j, a in enumerate(p1):
            if a + b <= 1:
                assert out[i, j] == spreading.tau_in(a, b)  # same call, same number
            else:
                assert np.isnan(out[i, j])
    assert out[0, 3] == np.inf  # p1 = 0: no spreading, as tau_in says
    for kwargs, name in ((dict(p1=[0.2, np.nan], p2=0.3), "p1"), (dict(p1=0.2, p2=[1.5]), "p2")):
        with pytest.raises(ValueError, match=name):
            spreading.tau_in_map(**kwargs)
    with pytest.raises(ValueError, match="broadcast"):
        spreading.tau_in_map([0.1, 0.2], [0.1, 0.2, 0.3])

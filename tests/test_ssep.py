"""SSEP: closed forms (GH Eqs. C9-C11) against the exact master equation, the moment
hierarchy and Monte Carlo; input validation."""

import numpy as np
import pytest

from nqlib import ensemble, ssep


def _moments_from_distribution(L, P):
    m = ssep.distribution_moments(P)
    return m.mean, m.second, m.third


@pytest.mark.parametrize("L", [1, 2, 3, 7, 12])
@pytest.mark.parametrize("delta", [1.0, 0.37, -0.8, 0.0])
def test_master_equation_reproduces_closed_forms(L, delta):
    P = ssep.steady_state(L, delta)
    assert P.shape == (2**L,)
    assert P.min() >= 0 and abs(P.sum() - 1) < 1e-13
    mean, second, _ = _moments_from_distribution(L, P)
    np.testing.assert_allclose(mean, ssep.density(L, delta), rtol=0, atol=1e-12)
    cov = second - np.outer(mean, mean)
    np.testing.assert_allclose(cov, ssep.connected_two_point(L, delta), rtol=0, atol=1e-12)


def test_master_equation_at_largest_size():
    L, delta = 16, 0.9
    P = ssep.steady_state(L, delta)
    assert np.abs(ssep.generator(L, delta) @ P).max() < 1e-12 * P.max()
    mean, second, _ = _moments_from_distribution(L, P)
    cov = second - np.outer(mean, mean)
    np.testing.assert_allclose(cov, ssep.connected_two_point(L, delta), rtol=0, atol=1e-12)


def test_distribution_moments_by_hand():
    # a product measure: <tau_i> = rho_i, the covariance is diagonal rho (1 - rho), and the third
    # moment of distinct sites factorises; a point mass gives the configuration itself
    rho = np.array([0.2, 0.7, 0.5])
    tau = ssep.configurations(3).astype(bool)
    m = ssep.distribution_moments(np.prod(np.where(tau, rho, 1 - rho), axis=1))
    np.testing.assert_allclose(m.mean, rho, atol=1e-15)
    np.testing.assert_allclose(m.covariance, np.diag(rho * (1 - rho)), atol=1e-15)
    assert abs(m.third[0, 1, 2] - rho.prod()) < 1e-15 and abs(m.third[1, 1, 1] - rho[1]) < 1e-15
    point = ssep.distribution_moments(np.eye(8)[5])  # configuration 5 = (1, 0, 1)
    assert point.mean.tolist() == [1, 0, 1] and np.all(point.covariance == 0)
    with pytest.raises(ValueError, match="must have 2\\*\\*L entries"):
        ssep.distribution_moments(np.ones(6) / 6)
    with pytest.raises(ValueError, match="must sum to 1"):
        ssep.distribution_moments(np.ones(4))


def test_generator_conserves_probability_and_is_a_rate_matrix():
    W = ssep.generator(6, 0.4).toarray()
    np.testing.assert_allclose(W.sum(axis=0), 0, atol=1e-15)
    off = W - np.diag(np.diag(W))
    assert off.min() >= 0
    # the boundary spin flips of site 1 happen at total rate 1/2: (1+delta)/4 + (1-delta)/4
    empty, site1 = 0, 1 << 5
    assert W[site1, empty] == pytest.approx((1 + 0.4) / 4)
    assert W[empty, site1] == pytest.approx((1 - 0.4) / 4)


def test_without_drive_the_state_is_a_product_measure():
    L = 8
    P = ssep.steady_state(L, 0.0)
    np.testing.assert_allclose(P, 2.0**-L, atol=1e-14)


def test_configuration_order_is_kronecker():
    tau = ssep.configurations(3)
    assert tau[1].tolist() == [0, 0, 1] and tau[4].tolist() == [1, 0, 0]


@pytest.mark.parametrize("L", [2, 5, 10])
def test_hierarchy_agrees_with_master_equation(L):
    delta = 0.83
    mean, second, third = _moments_from_distribution(L, ssep.steady_state(L, delta))
    np.testing.assert_allclose(ssep.product_moments(L, delta, 1), mean, atol=1e-12)
    np.testing.assert_allclose(ssep.product_moments(L, delta, 2), second, atol=1e-12)
    np.testing.assert_allclose(ssep.product_moments(L, delta, 3), third, atol=1e-12)


def test_hierarchy_agrees_with_closed_forms_at_large_L():
    L, delta = 80, 0.6
    M2 = ssep.product_moments(L, delta, 2)
    rho = ssep.density(L, delta)
    np.testing.assert_allclose(np.diag(M2), rho, atol=1e-12)
    np.testing.assert_allclose(
        M2 - np.outer(rho, rho), ssep.connected_two_point(L, delta), atol=1e-12
    )


def test_three_point_function_scales_as_delta_cubed_and_converges_to_eq_C11():
    kappa_1 = ssep.connected_three_point(20, 1.0)
    kappa_half = ssep.connected_three_point(20, 0.5)
    i, j, k = np.indices(kappa_1.shape)
    distinct = (i < j) & (j < k)
    np.testing.assert_allclose(kappa_half[distinct], kappa_1[distinct] / 8, rtol=1e-9, atol=1e-15)
    errors = []
    for L in (20, 40, 80):
        kappa = ssep.connected_three_point(L, 1.0)
        x = np.arange(1, L + 1) / (L + 1)
        scaling = ssep.three_point_scaling(*np.meshgrid(x, x, x, indexing="ij"), 1.0)
        i, j, k = np.indices(kappa.shape)
        distinct = (i < j) & (j < k)
        errors.append(np.abs(L**2 * kappa[distinct] - scaling[distinct]).max())
    # corrections are O(1/L): doubling L halves the largest deviation (within 20 %)
    assert errors[0] < 0.02
    for coarse, fine in zip(errors, errors[1:]):
        assert 0.4 < fine / coarse < 0.6


def test_scaling_functions_are_symmetric_and_have_the_right_values():
    assert ssep.two_point_scaling(0.25, 0.5, 1.0) == pytest.approx(-0.125)
    assert ssep.two_point_scaling(0.5, 0.25, -0.5) == pytest.approx(-0.03125)
    assert ssep.three_point_scaling(0.1, 0.2, 0.6, 1.0) == pytest.approx(-2 * 0.1 * 0.6 * 0.4)
    assert ssep.three_point_scaling(0.6, 0.1, 0.2, 1.0) == pytest.approx(-2 * 0.1 * 0.6 * 0.4)


def test_connected_two_point_at_coinciding_sites_is_the_variance():
    rho = ssep.density(9, 0.3)
    np.testing.assert_allclose(np.diag(ssep.connected_two_point(9, 0.3)), rho * (1 - rho))


def test_monte_carlo_reproduces_density_and_correlations():
    L, delta = 20, 1.0
    runs = ensemble.run_ensemble(
        ssep.monte_carlo_moments,
        8,
        seed=11,
        L=L,
        delta=delta,
        n_samples=20_000,
        blocks=4,
        progress=False,
    )
    data = ensemble.stack(runs)

    def estimate(d):
        mean, cov, k3 = ssep.cumulants_from_moments({k: v.sum(axis=0) for k, v in d.items()})
        return np.concatenate([mean, [cov.sum()]])

    value, error = ensemble.jackknife(estimate, data)
    exact = np.concatenate([ssep.density(L, delta), [ssep.connected_two_point(L, delta).sum()]])
    z = (value - exact) / error
    assert np.abs(z).max() < 5, z  # 21 statistics, 8 chains: |z| > 5 is a real discrepancy
    # the variance of the particle number is well below the uncorrelated value
    uncorrelated = np.sum(ssep.density(L, delta) * (1 - ssep.density(L, delta)))
    assert (uncorrelated - value[-1]) / error[-1] > 5


def test_monte_carlo_is_reproducible_from_the_seed():
    a = ssep.sample(np.random.default_rng(5), 10, 0.5, 50)
    b = ssep.sample(np.random.default_rng(5), 10, 0.5, 50)
    c = ssep.sample(np.random.default_rng(6), 10, 0.5, 50)
    assert a.dtype == np.uint8 and a.shape == (50, 10)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_cumulants_from_moments_on_known_samples():
    x = np.random.default_rng(2).integers(0, 2, size=(500, 6)).astype(float)
    counts = x.reshape(500, 3, 2).sum(axis=2)
    sums = {
        "n": 500.0,
        "s1": x.sum(0),
        "s2": x.T @ x,
        "b3": np.einsum("ta,tb,tc->abc", counts, counts, counts),
    }
    mean, cov, k3 = ssep.cumulants_from_moments(sums)
    np.testing.assert_allclose(mean, x.mean(0))
    np.testing.assert_allclose(cov, np.cov(x.T, bias=True), atol=1e-14)
    centred = counts - counts.mean(0)
    np.testing.assert_allclose(
        k3, np.einsum("ta,tb,tc->abc", centred, centred, centred) / 500, atol=1e-12
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ssep.density(0, 0.5), "L must be a positive integer"),
        (lambda: ssep.density(4.0, 0.5), "L must be a positive integer"),
        (lambda: ssep.density(True, 0.5), "L must be a positive integer"),
        (
            lambda: ssep.connected_two_point(5, 1.5),
            r"delta must be a finite real number in \[-1, 1\]",
        ),
        (lambda: ssep.density(5, "0.1"), "delta must be a finite real number"),
        (lambda: ssep.steady_state(17, 0.5), "L must be <= 16"),
        (lambda: ssep.product_moments(5, 0.5, 4), "order must be 1, 2 or 3"),
        (
            lambda: ssep.sample(np.random.default_rng(), 5, 0.5, 0),
            "n_samples must be a positive integer",
        ),
        (
            lambda: ssep.sample(np.random.default_rng(), 5, 0.5, 3, sweeps_between=0),
            "sweeps_between must be a finite real number > 0",
        ),
        (lambda: ssep.sample(7, 5, 0.5, 3), "rng must be a numpy.random.Generator"),
        (
            lambda: ssep.monte_carlo_moments(np.random.default_rng(), 10, 0.5, 5, blocks=3),
            "blocks must divide L",
        ),
    ],
)
def test_invalid_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sample_old_keyword_rng_still_works_with_a_warning():
    new = ssep.sample(np.random.default_rng(2), 6, 0.4, 5, burn_in=2.0)
    with pytest.warns(DeprecationWarning, match=r"ssep.sample takes rng first"):
        old = ssep.sample(6, 0.4, 5, rng=np.random.default_rng(2), burn_in=2.0)
    np.testing.assert_array_equal(old, new)

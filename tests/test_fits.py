"""nqlib.fits against closed forms, numpy.polyfit (an independent algorithm) and Monte Carlo
coverage of the error bars."""

import numpy as np
import pytest

from nqlib import fits


def test_line_equals_polyfit_with_unscaled_covariance():
    rng = np.random.default_rng(1)
    x = np.linspace(0.1, 2, 9)
    sigma = rng.uniform(0.05, 0.2, x.size)
    y = 0.3 - 1.7 * x + sigma * rng.normal(size=x.size)
    fit = fits.line(x, y, sigma)
    (slope, intercept), cov = np.polyfit(x, y, 1, w=1 / sigma, cov="unscaled")
    np.testing.assert_allclose(fit.params, [intercept, slope], rtol=1e-12)
    np.testing.assert_allclose(fit.cov, cov[::-1, ::-1], rtol=1e-10)
    residual = np.sum(((y - intercept - slope * x) / sigma) ** 2) / (x.size - 2)
    assert fit.chi2_dof == pytest.approx(residual, rel=1e-12)


def test_line_without_sigma_scales_by_the_residuals_like_polyfit():
    rng = np.random.default_rng(2)
    x = np.arange(6.0)
    y = 1 + 2 * x + rng.normal(size=6)
    fit = fits.line(x, y)
    _, cov = np.polyfit(x, y, 1, cov=True)
    # polyfit's cov=True scales the unweighted covariance by chi2 / (n - k) as well
    np.testing.assert_allclose(fit.cov, cov[::-1, ::-1], rtol=1e-10)
    assert fit.chi2_dof == 1.0


def test_without_sigma_and_without_spare_points_the_errors_are_nan():
    fit = fits.power_law([2.0, 4.0], [3.0, 12.0])
    assert fit.params[1] == pytest.approx(2.0, rel=1e-12)
    assert np.all(np.isnan(fit.errors)) and np.isnan(fit.chi2_dof)


def test_exact_data_are_reproduced():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = fits.power_law(x, 3 * x**-0.75, 0.03 * x**-0.75)
    assert fit.params[1] == pytest.approx(-0.75, abs=1e-12)
    assert np.exp(fit.params[0]) == pytest.approx(3, rel=1e-12)
    # sigma of log y = relative error 0.01 at every point
    ref = fits.line(np.log(x), np.log(3 * x**-0.75), np.full(4, 0.01))
    np.testing.assert_allclose(fit.cov, ref.cov, rtol=1e-12)
    sizes = np.array([8.0, 12.0, 16.0, 24.0])
    fit = fits.extrapolate(sizes, 1.7 - 0.4 / sizes + 2.5 / sizes**2, powers=(1, 2))
    np.testing.assert_allclose(fit.params, [1.7, -0.4, 2.5], atol=1e-10)


def test_two_size_extrapolation_is_richardson():
    # y_inf = 2 y(N) - y(N/2) with error hypot(2 e(N), e(N/2))
    (y_half, e_half), (y_full, e_full) = (0.9, 0.03), (0.8, 0.02)
    fit = fits.extrapolate([10, 20], [y_half, y_full], [e_half, e_full])
    assert fit.params[0] == pytest.approx(2 * y_full - y_half, rel=1e-12)
    assert fit.errors[0] == pytest.approx(np.hypot(2 * e_full, e_half), rel=1e-12)
    assert np.isnan(fit.chi2_dof)


def test_amplitude_closed_form_and_scale_factor():
    shape = np.array([1.0, 2.0, 3.0])
    sigma = np.array([0.1, 0.1, 0.2])
    w = 1 / sigma**2
    consistent = 2 * shape + np.array([0.05, -0.05, 0.02])
    fit = fits.amplitude(consistent, sigma, shape)
    A = np.sum(w * consistent * shape) / np.sum(w * shape**2)
    assert fit.params[0] == pytest.approx(A, rel=1e-12)
    assert fit.chi2_dof < 1 and fit.errors[0] == pytest.approx(np.sum(w * shape**2) ** -0.5)
    misfit = 2 * shape + np.array([0.5, -0.5, 0.5])
    fit = fits.amplitude(misfit, sigma, shape)
    assert fit.chi2_dof > 1
    assert fit.errors[0] == pytest.approx(np.sqrt(fit.chi2_dof / np.sum(w * shape**2)))


def test_error_bars_cover_the_truth_in_repeated_experiments():
    # pulls (estimate - truth) / error must have unit spread when the errors are right
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 7)
    sigma = np.linspace(0.1, 0.3, 7)
    sizes = np.array([6.0, 8.0, 12.0, 16.0, 24.0])
    pulls = {"slope": [], "zero": [], "y_inf": [], "alpha": []}
    for _ in range(2000):
        fit = fits.line(x, 1 - 2 * x + sigma * rng.normal(size=7), sigma)
        pulls["slope"].append((fit.params[1] + 2) / fit.errors[1])
        zero, error = fits.zero_crossing(fit)
        pulls["zero"].append((zero - 0.5) / error)
        s_sizes = 0.01 * np.ones(5)
        fit = fits.extrapolate(sizes, 0.3 + 1 / sizes + s_sizes * rng.normal(size=5), s_sizes)
        pulls["y_inf"].append((fit.params[0] - 0.3) / fit.errors[0])
        y = 2 * sizes**0.5 * (1 + 0.01 * rng.normal(size=5))
        fit = fits.power_law(sizes, y, 0.01 * 2 * sizes**0.5)
        pulls["alpha"].append((fit.params[1] - 0.5) / fit.errors[1])
    for name, values in pulls.items():
        values = np.asarray(values)
        assert abs(values.mean()) < 0.1, name
        assert 0.93 < values.std() < 1.07, (name, values.std())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fits.line([1, 2], [1, 2, 3]), "y must have 2 entries"),
        (lambda: fits.line([1, 2, 3], [1, np.nan, 3]), "y must be finite"),
        (lambda: fits.line([1, 2, 3], [1, 2, 3], [1, 0, 1]), "sigma must be > 0"),
        (lambda: fits.line([1, 1, 1], [1, 2, 3], [1, 1, 1]), "not determined"),
        (lambda: fits.line([1], [1], [1]), "at least as many points"),
        (lambda: fits.power_law([1, 2], [1, -2], [1, 1]), "y must be > 0"),
        (lambda: fits.extrapolate([0, 2], [1, 2], [1, 1]), "sizes must be > 0"),
        (lambda: fits.extrapolate([1, 2, 3], [1, 2, 3], powers=(1, 1)), "powers must be distinct"),
        (lambda: fits.amplitude([1, 2], [1, 1], [0, 0]), "shape must not be zero"),
        (lambda: fits.zero_crossing(fits.line([1, 2, 3], [2, 2, 2], [1, 1, 1])), "slope 0"),
        (lambda: fits.zero_crossing((1, 2)), "fit must be the Fit of a straight line"),
    ],
)
def test_bad_input_is_refused_with_its_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_non_numbers_are_a_type_error():
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        fits.line(["a", "b"], [1, 2])


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda: fits.line([0, 1, 2], [0, 1, 2, 3]), ("y", "x")),
        (lambda: fits.line([0, 1, 2], [0, 1, 2], [1, 1]), ("sigma", "x")),
        (lambda: fits.amplitude([1, 2, 3, 4], [1, 1, 1, 1], [1, 2, 3]), ("y", "shape")),
        (lambda: fits.extrapolate([8, 16, 32], [1, 2, 3, 4]), ("y", "sizes")),
        (lambda: fits.power_law([1, 2, 3], [1, 4, 9, 16]), ("y", "x")),
        (lambda: fits.power_law([1, 2, 3, 4], [1, 4, 9], [1, 1, 1, 1]), ("y", "x")),
        (lambda: fits.weighted_least_squares(np.ones((3, 1)), [1, 2]), ("y", "design")),
    ],
)
def test_mismatched_lengths_name_both_arguments(call, names):
    """A short x (or shape, sizes) is named too, not only the y it disagrees with (audit)."""
    with pytest.raises(ValueError) as error:
        call()
    for name in names:
        assert f" {name} " in f" {error.value} ".replace("(", " ").replace(")", " ")


def test_crossing_is_exact_on_a_line_and_agrees_with_numpy_interp():
    x = np.linspace(0.0, 3.0, 7)
    assert fits.crossing(x, 2 * x + 1, 4.0) == pytest.approx(1.5, abs=1e-14)  # 2 x + 1 = 4
    x = np.linspace(0.1, 2.0, 9)
    y = np.exp(-x)  # decreasing: np.interp of the inverse, an independent route
    assert fits.crossing(x, y, 0.5) == pytest.approx(np.interp(0.5, y[::-1], x[::-1]), abs=1e-14)
    assert fits.crossing([0, 1, 2, 3], [0, 1, 0, 1], 0.5) == 0.5  # the first crossing
    assert fits.crossing([0, 1, 2], [0, 1, 2], 1.0) == 1.0  # reaching the level counts


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fits.crossing([0, 1, 2], [0, 1, 2], 5.0), "never reaches level"),
        (lambda: fits.crossing([0, 1, 2], [1, 2, 3], 1.0), "equals level"),
        (lambda: fits.crossing([0], [0], 1.0), "at least two points"),
        (lambda: fits.crossing([0, 1], [0, 1, 2], 0.5), "y must have 2 entries"),
        (lambda: fits.crossing([0, 1], [0, 1], float("nan")), "level must be finite"),
    ],
)
def test_crossing_refuses_what_it_cannot_interpolate(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_extrapolate_twice_recovers_a_model_and_propagates_two_point_errors():
    """Noise-free y = c0 + c2 d^2 + (a + b d^2) / N: both steps are exact; with two drives the
    zero-drive error is the closed form of a line through two points."""
    sizes, drives = np.array([16.0, 32.0, 64.0]), np.array([0.2, 0.3])
    y = np.array([[0.17 - 0.4 * d**2 + (0.3 + 2 * d**2) / n for n in sizes] for d in drives])
    sigma = np.array([[0.01, 0.02, 0.03], [0.02, 0.01, 0.05]])
    at_drive, zero = fits.extrapolate_twice(sizes, drives, y, sigma)
    np.testing.assert_allclose(
        [f.params for f in at_drive],
        [[0.17 - 0.4 * d**2, 0.3 + 2 * d**2] for d in drives],
        atol=1e-12,
    )
    np.testing.assert_allclose(zero.params, [0.17, -0.4], atol=1e-12)
    (e1, e2), (x1, x2) = [f.errors[0] for f in at_drive], drives**2
    assert zero.errors[0] == pytest.approx(np.hypot(x2 * e1, x1 * e2) / (x2 - x1), rel=1e-10)
    with pytest.raises(ValueError, match="drives"):
        fits.extrapolate_twice(sizes, [0.2], y, sigma)

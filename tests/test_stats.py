"""nqlib.stats: stacking realizations and jackknife errors, and the refusal of bad input."""

import numpy as np
import pytest

from nqlib import stats


def test_stack_numbers_arrays_and_dicts():
    assert stats.stack([1.0, 2.0]).tolist() == [1.0, 2.0]
    assert stats.stack([np.ones(2), np.zeros(2)]).shape == (2, 2)
    out = stats.stack([{"a": 1.0, "b": np.ones(3)}, {"a": 2.0, "b": np.zeros(3)}])
    assert out["a"].tolist() == [1.0, 2.0] and out["b"].shape == (2, 3)


def test_jackknife_of_the_mean_is_the_standard_error():
    data = np.array([1.0, 2.0, 4.0, 7.0])
    estimate, error = stats.jackknife(np.mean, data)
    assert estimate == pytest.approx(data.mean())
    assert error == pytest.approx(data.std(ddof=1) / np.sqrt(len(data)))


def test_mean_error_by_hand_and_of_complex_samples():
    """Standard error sqrt(s^2/n) written out for three samples, and the complex variance as the
    mean square distance |z - mean|^2 (numpy.var of the complex array, another route)."""
    samples = np.array([[1.0, -2.0], [3.0, 0.0], [8.0, 1.0]])
    mean, error = stats.mean_error(samples)
    assert mean.tolist() == [4.0, -1 / 3]
    s2 = np.array([(9 + 1 + 16) / 2, (25 / 9 + 1 / 9 + 16 / 9) / 2])
    np.testing.assert_allclose(error, np.sqrt(s2 / 3), rtol=1e-14)
    np.testing.assert_allclose(
        stats.mean_error(samples, ddof=0).error, np.sqrt(s2 * 2 / 3 / 3), rtol=1e-14
    )
    z = np.random.default_rng(2).normal(size=(7, 4)) * (1 + 2j) + 0.5j
    mean, error = stats.mean_error(z)
    np.testing.assert_allclose(mean, z.sum(axis=0) / 7, rtol=1e-14)
    np.testing.assert_allclose(error, np.sqrt(np.var(z, axis=0, ddof=1) / 7), rtol=1e-12)
    # a real sample padded with a zero imaginary part has the same error
    real = z.real
    np.testing.assert_allclose(stats.mean_error(real + 0j).error, stats.mean_error(real).error)


def test_z_scores_of_two_estimates_and_against_zero():
    z = stats.z_scores([1.0, 5.0], [0.3, 0.0], [0.2, 1.0], [0.4, 2.0])
    np.testing.assert_allclose(z, [0.8 / 0.5, 2.0], rtol=1e-14)  # 3-4-5 and exact b_err
    assert stats.z_scores(-3.0, 1.5) == -2.0  # defaults: distance from zero
    # the z-score of a mean of 20 draws against its exact value follows Student's t with 19
    # degrees of freedom: mean 0, variance 19/17
    rng = np.random.default_rng(4)
    draws = rng.normal(2.0, 3.0, size=(20, 4000))
    mean, error = stats.mean_error(draws)
    zs = stats.z_scores(mean, error, 2.0)
    assert abs(zs.mean()) < 0.1 and abs(zs.var() - 19 / 17) < 0.1
    with pytest.raises(ValueError, match="must not both be zero"):
        stats.z_scores([1.0, 2.0], [0.1, 0.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="must broadcast together"):
        stats.z_scores([1.0, 2.0], [0.1, 0.1, 0.1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: stats.stack([]), r"results must be a non-empty list"),
        (lambda: stats.stack([{"a": 1.0}, 1.0]), r"results\[1\] has keys"),
        (
            lambda: stats.stack([np.ones(2), np.ones(3)]),
            r"results\[i\] must all have the same shape, got \(2,\) for i = 0 and \(3,\) for i = 1",
        ),
        (
            lambda: stats.stack([{"a": np.ones(2)}, {"a": np.ones(3)}]),
            r"results\[i\]\['a'\] must all have the same shape",
        ),
        (lambda: stats.mean_error([1.0]), r"samples must hold >= 2 realizations"),
        (lambda: stats.mean_error(np.ones((3, 2)), ddof=2), r"ddof must be 0 or 1"),
        (lambda: stats.z_scores(1.0, -0.1), r"a_err must hold numbers"),
        (lambda: stats.jackknife("mean", np.ones(3)), r"estimator must be callable"),
        (lambda: stats.jackknife(np.mean, "oops"), r"data must be an array with realizations"),
        (lambda: stats.jackknife(np.mean, 1.0), r"data must be an array with realizations"),
        (lambda: stats.jackknife(np.mean, [1.0]), r"data must hold >= 2 realizations"),
        (
            lambda: stats.jackknife(np.mean, {"a": np.ones(3), "b": np.ones(2)}),
            r"data must hold >= 2 realizations",
        ),
    ],
)
def test_bad_input_is_refused_with_its_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()

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

"""Least-squares fits with error bars: the one place where the chapters fit their data.

Every fit is a weighted linear least-squares problem y ~ X p with independent Gaussian errors
sigma_i on the data y_i. With W = diag(1/sigma^2) the estimate and its covariance are

    p = (X^T W X)^{-1} X^T W y,        cov(p) = (X^T W X)^{-1},

the covariance being exact when the sigma_i are the true standard errors ("unscaled", as
``numpy.polyfit(..., cov="unscaled")``). The goodness of fit is chi^2 per degree of freedom,
chi^2/dof = sum_i (y_i - (X p)_i)^2 / sigma_i^2 / (n - k) for n points and k parameters (NaN when
n = k). Without sigma (equal unknown errors) the residual scatter sets them: sigma_i^2 = chi^2 of
the unit-weight fit / (n - k); with n = k the parameters are exact and their errors NaN.

Models (all return a :class:`Fit`):

* :func:`line` -- y = a + b x, params (a, b); :func:`zero_crossing` -- x where a + b x = 0;
* :func:`amplitude` -- y = A s(x) for a known shape s; the error is multiplied by
  sqrt(max(1, chi^2/dof)) (the Particle Data Group scale factor) so that it also covers a misfit
  of the shape;
* :func:`extrapolate` -- y = y_inf + sum_k beta_k / N^{p_k} (finite-size extrapolation in 1/N, or
  1/N and 1/N^2 as Hruza and Jin do); params (y_inf, beta_1, ...); :func:`extrapolate_twice`
  -- that at each drive, then a line in drive^2 to zero drive;
* :func:`power_law` -- y = c x^alpha fitted as log y = log c + alpha log x with sigma(log y) =
  sigma / y; params (log c, alpha).

Exponents of a power law with an offset, a t^alpha + b, need a non-linear fit and live with
their physics (:func:`nqlib.quench.growth_exponent`).
"""

import dataclasses

import numpy as np

__all__ = [
    "Fit",
    "weighted_least_squares",
    "line",
    "zero_crossing",
    "amplitude",
    "extrapolate",
    "extrapolate_twice",
    "power_law",
    "crossing",
]


@dataclasses.dataclass(frozen=True)
class Fit:
    """Result of a linear least-squares fit.

    Attributes
    ----------
    params : ndarray (k,)
        Best-fit parameters, in the order the model's docstring gives.
    cov : ndarray (k, k)
        Their covariance matrix.
    chi2_dof : float
        chi^2 per degree of freedom (NaN with no degree of freedom).
    """

    params: np.ndarray
    cov: np.ndarray
    chi2_dof: float

    @property
    def errors(self) -> np.ndarray:
        """Standard errors of the parameters, sqrt(diag(cov))."""
        return np.sqrt(np.diag(self.cov))


def weighted_least_squares(design, y, sigma=None) -> Fit:
    """Fit y ~ design @ params; ``design`` is (n, k), ``y`` and ``sigma`` are (n,).

    ``sigma`` are the standard errors of y (all > 0); None means equal errors estimated from the
    residuals (NaN when n = k). See the module docstring for the formulas.
    """
    design = _finite("design", design, ndim=2)
    n, k = design.shape
    y = _finite("y", y, ndim=1, length=n, per="row of design")
    if n < k:
        raise ValueError(f"need at least as many points as parameters, got {n} points for {k}")
    scale_by_residuals = sigma is None
    if scale_by_residuals:
        sigma = np.ones(n)
    sigma = _finite("sigma", sigma, ndim=1, length=n, per="row of design")
    if np.any(sigma <= 0):
        raise ValueError(f"sigma must be > 0 everywhere, got min(sigma)={sigma.min()!r}")
    whitened = design / sigma[:, None]
    if np.linalg.matrix_rank(whitened) < k:
        raise ValueError(
            f"the {k} parameters are not determined by these points (the design "
            "matrix is singular, e.g. fewer distinct x than parameters)"
        )
    cov = np.linalg.inv(whitened.T @ whitened)
    params = cov @ whitened.T @ (y / sigma)
    chi2 = float(np.sum(((y - design @ params) / sigma) ** 2))
    chi2_dof = chi2 / (n - k) if n > k else float("nan")
    if scale_by_residuals:  # NaN errors when n = k: the residuals say nothing then
        cov, chi2_dof = cov * chi2_dof, 1.0 if n > k else float("nan")
    return Fit(params, cov, chi2_dof)


def line(x, y, sigma=None) -> Fit:
    """Straight line y = a + b x; params (a, b)."""
    x = _finite("x", x, ndim=1)
    y = _finite("y", y, ndim=1, length=len(x), per="point of x")
    if sigma is not None:
        sigma = _finite("sigma", sigma, ndim=1, length=len(x), per="point of x")
    return weighted_least_squares(np.column_stack([np.ones_like(x), x]), y, sigma)


def zero_crossing(fit: Fit):
    """(x0, error) where the line ``fit`` (from :func:`line`) crosses zero: x0 = -a/b, with the
    linearised error propagated from the covariance of (a, b)."""
    if not isinstance(fit, Fit) or fit.params.shape != (2,):
        raise ValueError(f"fit must be the Fit of a straight line (two params), got {fit!r}")
    a, b = fit.params
    if b == 0:
        raise ValueError("the fitted line has slope 0: it does not cross zero")
    gradient = np.array([-1 / b, a / b**2])  # d(-a/b)/da, d(-a/b)/db
    return -a / b, float(np.sqrt(gradient @ fit.cov @ gradient))


def amplitude(y, sigma, shape) -> Fit:
    """Amplitude A of y = A * shape; error scaled by sqrt(max(1, chi^2/dof)) (module docstring)."""
    shape = _finite("shape", shape, ndim=1)
    if not np.any(shape):
        raise ValueError("shape must not be zero everywhere")
    y = _finite("y", y, ndim=1, length=len(shape), per="point of shape")
    fit = weighted_least_squares(shape[:, None], y, sigma)
    scale = max(1.0, fit.chi2_dof) if np.isfinite(fit.chi2_dof) else 1.0
    return Fit(fit.params, fit.cov * scale, fit.chi2_dof)


def extrapolate(sizes, y, sigma=None, powers=(1,)) -> Fit:
    """y(N) = y_inf + sum_k beta_k / N**powers[k]; params (y_inf, beta_1, ...).

    With two sizes N and N/2 and ``powers=(1,)`` this is y_inf = 2 y(N) - y(N/2).
    """
    sizes = _finite("sizes", sizes, ndim=1)
    if np.any(sizes <= 0):
        raise ValueError(f"sizes must be > 0, got {sizes.tolist()}")
    y = _finite("y", y, ndim=1, length=len(sizes), per="entry of sizes")
    powers = _finite("powers", powers, ndim=1)
    if len(powers) == 0 or np.any(powers <= 0) or len(set(powers.tolist())) < len(powers):
        raise ValueError(f"powers must be distinct positive numbers, got {powers.tolist()}")
    design = np.column_stack([np.ones_like(sizes)] + [sizes**-p for p in powers])
    return weighted_least_squares(design, y, sigma)


def extrapolate_twice(sizes, drives, y, sigma):
    """Two extrapolations: N -> inf linear in 1/N at each drive, then drive -> 0 linear in drive^2.

    Parameters
    ----------
    sizes : array_like (n_sizes,)
        System sizes N (> 0).
    drives : array_like (n_drives,)
        Drive strengths (at least two distinct drive**2).
    y, sigma : array_like (n_drives, n_sizes)
        Data and their standard errors, one row per drive.

    Returns
    -------
    at_drive : tuple of Fit
        :func:`extrapolate` of each row: params (y_inf, beta_1) at that drive.
    zero : Fit
        :func:`line` through the (drive^2, y_inf) points weighted by their errors: params
        (y at drive 0, slope in drive^2).

    References
    ----------
    GH Sec. III C (the coefficients of the phase-II volume law, Eqs. 35-36); chapter
    {doc}`circuit_phases`.
    """
    drives = _finite("drives", drives, ndim=1)
    y = _finite("y", y, ndim=2)
    sigma = _finite("sigma", sigma, ndim=2)
    if y.shape[0] != len(drives) or sigma.shape != y.shape:
        raise ValueError(
            f"y and sigma must have shape (len(drives), len(sizes)) = ({len(drives)}, "
            f"n_sizes), got y {y.shape} and sigma {sigma.shape}"
        )
    at_drive = tuple(extrapolate(sizes, row, err) for row, err in zip(y, sigma))
    zero = line(drives**2, [f.params[0] for f in at_drive], [f.errors[0] for f in at_drive])
    return at_drive, zero


def power_law(x, y, sigma=None) -> Fit:
    """y = c x^alpha as log y = log c + alpha log x; params (log c, alpha). Needs x, y > 0."""
    x = _finite("x", x, ndim=1)
    y = _finite("y", y, ndim=1, length=len(x), per="point of x")
    for name, values in (("x", x), ("y", y)):
        if np.any(values <= 0):
            raise ValueError(
                f"{name} must be > 0 for a power law, got min({name})={values.min()!r}"
            )
    log_sigma = (
        None
        if sigma is None
        else _finite("sigma", sigma, ndim=1, length=len(y), per="point of y") / y
    )
    return line(np.log(x), np.log(y), log_sigma)


def crossing(x, y, level):
    """Where the data first reach ``level``: linear interpolation between the two points around it.

    Parameters
    ----------
    x, y : array_like (n,)
        The data, n >= 2, in the order they are scanned (pass log(x) for a log-linear
        interpolation, delta^2 for one in delta^2).
    level : float
        The value of y sought; y[0] must lie on one side of it and some later y on the other.

    Returns
    -------
    float
        x[k-1] + (level - y[k-1]) (x[k] - x[k-1]) / (y[k] - y[k-1]) for the first k where y
        reaches or passes ``level``.

    References
    ----------
    Chapters {doc}`negativity` (onset of the negativity bound) and {doc}`abc_model` (half-way
    point of the dephasing crossover).
    """
    x = _finite("x", x, ndim=1)
    if len(x) < 2:
        raise ValueError(f"x must have at least two points, got {len(x)}")
    y = _finite("y", y, ndim=1, length=len(x), per="point of x")
    level = _finite("level", level, ndim=0)
    side = np.sign(y - level)
    if side[0] == 0:
        raise ValueError(f"y[0] = {y[0]!r} equals level: there is no crossing to interpolate")
    reached = np.nonzero(side != side[0])[0]
    if not reached.size:
        raise ValueError(
            f"y never reaches level = {float(level)!r} (y lies in [{y.min()!r}, {y.max()!r}])"
        )
    k = reached[0]
    return float(x[k - 1] + (level - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))


def _finite(name, values, ndim, length=None, per="data point"):
    """``values`` as a finite float array with ``ndim`` dimensions (and ``length`` rows, one
    ``per`` row or entry of the argument that sets the number of points, named in the message)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {values!r}") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} must have {length} entries (one per {per}), got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    return array

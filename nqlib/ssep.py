r"""The symmetric simple exclusion process (SSEP) between two reservoirs.

Averaged over its random gates, the current-driven random circuit of Gullans and Huse
(PRX 9, 021007 (2019), Sec. II and App. C) leaves a state whose diagonal is the stationary
distribution of the SSEP: particles (spin up, :math:`\tau_i = 1`) on sites 1..L hop across each
bulk bond at rate 1/2, and the two boundary bonds exchange site 1 (site L) with a fresh
reservoir spin of density :math:`\rho_L = (1+\delta)/2` (:math:`\rho_R = (1-\delta)/2`), also at
rate 1/2. One unit of time is one gate per bond on average (L + 1 gates).

Closed forms (GH Eqs. C9-C11), sites 1 <= i < j < k <= L, x = i/(L+1):

.. math::

    \langle\tau_i\rangle = \frac{1+\delta}{2} - \delta\,\frac{i}{L+1}, \qquad
    \langle\tau_i\tau_j\rangle_c = -\frac{i\,(L+1-j)}{(L+1)^2 L}\,\delta^2,

    L^2 \langle\tau_i\tau_j\tau_k\rangle_c \to -2\,x(1-2y)(1-z)\,\delta^3 \quad (L\to\infty).

Three independent routes are implemented:

* :func:`steady_state` — the full master equation on all :math:`2^L` configurations (sparse
  solve, L <= 16);
* :func:`product_moments` — the closed hierarchy of moment equations: for SSEP the generator
  maps a product of k occupations on distinct sites to a combination of such products (plus
  products of k - 1 occupations when a particle crosses into a reservoir), so the stationary
  moments of order k solve a sparse linear system on the k-subsets of sites. Exact at any L;
* :func:`sample` / :func:`monte_carlo_moments` — a random-sequential Monte Carlo (numba) of the
  same process, one bond per step, as the circuit applies its gates.

Arrays are 0-based: index ``i`` is site ``i + 1``. A configuration index ``s`` in
``range(2**L)`` has site ``i`` occupied when bit ``L - 1 - i`` of ``s`` is set (site 0 is the most
significant bit, as in a Kronecker product). In the qubit basis of the circuit (up = occupied =
basis state 0) the same distribution reads ``P[::-1]``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from nqlib import _checks, trajectory

__all__ = [
    "density",
    "connected_two_point",
    "two_point_scaling",
    "three_point_scaling",
    "configurations",
    "steady_state",
    "Moments",
    "distribution_moments",
    "product_moments",
    "connected_three_point",
    "sample",
    "monte_carlo_moments",
    "cumulants_from_moments",
]

MAX_MASTER_EQUATION_L = 16


# --------------------------------------------------------------------------- closed forms
def density(L, delta):
    """Exact mean occupation <tau_i> of sites 1..L (GH Eq. C9), shape (L,)."""
    L, delta = _check(L, delta)
    i = np.arange(1, L + 1)
    return (1 + delta) / 2 - delta * i / (L + 1)


def connected_two_point(L, delta):
    """Exact covariance matrix <tau_i tau_j> - <tau_i><tau_j>, shape (L, L).

    Off the diagonal this is GH Eq. C10, ``-i (L+1-j) delta**2 / ((L+1)**2 L)`` for i < j; on
    the diagonal it is the single-site variance ``rho_i (1 - rho_i)`` (occupations are 0 or 1).
    """
    L, delta = _check(L, delta)
    _checks.memory(f"connected_two_point at L={L}", 32 * L**2)
    i = np.arange(1, L + 1)
    lo, hi = np.minimum.outer(i, i), np.maximum.outer(i, i)
    cov = -lo * (L + 1 - hi) * delta**2 / ((L + 1) ** 2 * L)
    rho = density(L, delta)
    np.fill_diagonal(cov, rho * (1 - rho))
    return cov


def two_point_scaling(x, y, delta):
    """Scaling function of the two-point function: L <tau_i tau_j>_c -> -delta^2 min(1-max).

    ``x``, ``y``: scaled positions in [0, 1] (numbers or arrays that broadcast together).
    """
    x, y = _checks.array("x", x, 0, 1), _checks.array("y", y, 0, 1)
    delta = _checks.drive(delta)
    return -(delta**2) * np.minimum(x, y) * (1 - np.maximum(x, y))


def three_point_scaling(x, y, z, delta):
    """Scaling function of GH Eq. C11: L^2 <tau_i tau_j tau_k>_c -> -2 delta^3 a(1-2b)(1-c).

    ``a <= b <= c`` are the sorted scaled positions; the function is symmetric in its arguments.
    """
    positions = [_checks.array(name, v, 0, 1) for name, v in (("x", x), ("y", y), ("z", z))]
    delta = _checks.drive(delta)
    a, b, c = np.sort(np.broadcast_arrays(*positions), axis=0)
    return -2 * delta**3 * a * (1 - 2 * b) * (1 - c)


# --------------------------------------------------------------------------- master equation
def configurations(L):
    """All 2**L occupation configurations as a (2**L, L) uint8 array (row s = configuration s)."""
    L = _check_size(L, MAX_MASTER_EQUATION_L)
    s = np.arange(2**L)[:, None]
    return ((s >> (L - 1 - np.arange(L))) & 1).astype(np.uint8)


def generator(L, delta):
    """Sparse generator W of the master equation dP/dt = W P (columns sum to zero)."""
    L, delta = _check(L, delta)
    _check_size(L, MAX_MASTER_EQUATION_L)
    tau = configurations(L).astype(bool)
    states = np.arange(2**L)
    rows, cols, rates = [], [], []
    for i in range(L - 1):  # bulk bond (i, i+1): exchange at rate 1/2 when occupations differ
        moving = states[tau[:, i] != tau[:, i + 1]]
        flip = (1 << (L - 1 - i)) | (1 << (L - 2 - i))
        rows.append(moving ^ flip)
        cols.append(moving)
        rates.append(np.full(moving.size, 0.5))
    for site, rho in ((0, (1 + delta) / 2), (L - 1, (1 - delta) / 2)):
        # boundary bond: with rate 1/2 the site takes the value of a fresh reservoir spin
        occupied = tau[:, site]
        rows.append(states ^ (1 << (L - 1 - site)))
        cols.append(states)
        rates.append(np.where(occupied, 0.5 * (1 - rho), 0.5 * rho))
    rows, cols, rates = map(np.concatenate, (rows, cols, rates))
    W = sp.coo_matrix((rates, (rows, cols)), shape=(2**L, 2**L)).tocsr()
    W = W - sp.diags(np.asarray(W.sum(axis=0)).ravel())
    return W.tocsr()


def steady_state(L, delta):
    """Exact stationary distribution P over the 2**L configurations (sparse solve, L <= 16).

    Solves W P = 0 with one balance equation replaced by the normalisation sum(P) = 1, by
    BiCGSTAB started from the product measure with the exact densities (close to the answer:
    the correlations are O(1/L)), to a residual at rounding level. Returns an array of shape
    (2**L,); see :func:`configurations` for the order of the configurations.
    """
    W = generator(L, delta)
    L, delta = _check(L, delta)
    n = W.shape[0]
    A = W.tolil()
    A[0, :] = np.ones(n)  # one balance equation is redundant: impose normalisation instead
    rhs = np.zeros(n)
    rhs[0] = 1.0
    tau = configurations(L).astype(bool)
    rho = density(L, delta)
    start = np.prod(np.where(tau, rho, 1 - rho), axis=1)
    P, info = spla.bicgstab(A.tocsr(), rhs, x0=start, rtol=1e-15, atol=0.0, maxiter=100 * n)
    residual = np.abs(W @ P).max()
    if info != 0 or residual > 1e-12 * P.max():
        raise RuntimeError(
            f"master equation solve did not converge (info={info}, residual={residual:.1e})"
        )
    return P


@dataclass(frozen=True)
class Moments:
    """Product moments of the occupations up to third order, and the covariance.

    ``mean[i]`` = <tau_i>, ``second[i, j]`` = <tau_i tau_j>, ``third[i, j, k]`` =
    <tau_i tau_j tau_k>, ``covariance`` = second - outer(mean, mean).
    """

    mean: np.ndarray
    second: np.ndarray
    third: np.ndarray
    covariance: np.ndarray


def distribution_moments(P):
    """Moments of the occupations under a distribution P over the 2**L configurations.

    The sums over configurations of the master-equation route (:func:`steady_state`), in the
    order of :func:`configurations`.

    Parameters
    ----------
    P : array_like, (2**L,)
        Probabilities (non-negative, summing to 1 within 1e-9), L in [1, 16].

    Returns
    -------
    Moments

    References
    ----------
    GH App. C (Eqs. C9-C11, which these moments check); chapter {doc}`ssep`.
    """
    P = _checks.array("P", P, 0, ndim=1)
    L = P.size.bit_length() - 1
    if P.size != 2**L or not 1 <= L <= MAX_MASTER_EQUATION_L:
        raise ValueError(
            f"P must have 2**L entries with 1 <= L <= {MAX_MASTER_EQUATION_L}, got {P.size}"
        )
    if abs(P.sum() - 1) > 1e-9:
        raise ValueError(f"P must sum to 1 (a probability distribution), got sum(P)={P.sum()!r}")
    tau = configurations(L).astype(float)
    mean = tau.T @ P
    second = (tau.T * P) @ tau
    third = np.einsum("s,si,sj,sk->ijk", P, tau, tau, tau)
    return Moments(mean, second, third, second - np.outer(mean, mean))


# --------------------------------------------------------------------------- moment hierarchy
def product_moments(L, delta, order):
    """Exact stationary moments <tau_i1 ... tau_ik> from the closed moment hierarchy.

    Returns an array of shape ``(L,) * order``, symmetric in its indices. For distinct sites it
    solves the stationary equations of the k-point functions; coinciding indices reduce to a
    lower order because tau**2 = tau. ``order`` is 1, 2 or 3. Refuses (ValueError) an L whose
    estimated memory, about 8 (order + 3) L**order bytes for the dense tensors and their index
    arrays, exceeds :func:`nqlib._checks.memory_budget` (the machine's memory, or
    ``$NQLIB_MAX_GIB``), e.g. L = 1000 at order 3.
    """
    L, delta = _check(L, delta)
    if order not in (1, 2, 3):
        raise ValueError(f"order must be 1, 2 or 3, got order={order!r}")
    _checks.memory(
        f"product_moments at L={L}, order={order}",
        8 * L**order * (order + 3) + 8 * math.comb(L, order) * (7 * order + 10),
    )
    dense = np.ones(())  # the moment of order 0
    for k in range(1, order + 1):
        subsets, values = _solve_distinct(L, delta, k, dense)
        lower, dense = dense, np.empty((L,) * k)
        for perm in itertools.permutations(range(k)):
            dense[tuple(subsets[:, perm].T)] = values
        for a, b in itertools.combinations(range(k), 2):  # coinciding pair: tau_i^2 = tau_i
            idx = np.indices((L,) * k)
            same = idx[a] == idx[b]
            rest = [idx[c][same] for c in range(k) if c != b]
            dense[same] = lower[tuple(rest)]
    return dense


def connected_three_point(L, delta):
    """Exact joint cumulant tensor kappa(tau_i, tau_j, tau_k), shape (L, L, L), from the hierarchy.

    All index combinations are included (coinciding ones too), so the third cumulant of any
    region count N_A = sum_{i in A} tau_i is ``kappa[A][:, A][:, :, A].sum()``.
    """
    M3 = product_moments(L, delta, 3)
    M2 = np.einsum("iij->ij", M3)  # tau_i^2 = tau_i
    m = np.einsum("iii->i", M3)
    return (
        M3
        - np.einsum("i,jk->ijk", m, M2)
        - np.einsum("j,ik->ijk", m, M2)
        - np.einsum("k,ij->ijk", m, M2)
        + 2 * np.einsum("i,j,k->ijk", m, m, m)
    )


def _solve_distinct(L, delta, k, lower):
    """Stationary moments of order k on distinct sites, given the dense moments of order k - 1.

    Each particle of the k-subset S hops to an empty neighbouring site at rate 1/2; hopping onto
    a reservoir replaces its occupation by the reservoir density. The stationary equations form a
    symmetric negative-definite system (a graph Laplacian with absorbing boundaries), solved by
    conjugate gradients. Returns the subsets (n, k) and their moments (n,).
    """
    subsets = np.array(list(itertools.combinations(range(L), k)), dtype=np.int64).reshape(-1, k)
    n = len(subsets)
    code = np.full((L,) * k, -1, dtype=np.int64)
    code[tuple(subsets.T)] = np.arange(n)
    rho = {-1: (1 + delta) / 2, L: (1 - delta) / 2}
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    rhs = np.zeros(n)
    for p in range(k):
        for step in (-1, 1):
            target = subsets[:, p] + step
            neighbour = subsets[:, p + step] if 0 <= p + step < k else np.full(n, -99)
            free = target != neighbour  # exchanging two particles changes nothing
            diag[free] -= 0.5
            for edge, density_there in rho.items():
                hit = free & (target == edge)  # the particle meets a reservoir
                others = np.delete(subsets[hit], p, axis=1)
                rhs[hit] -= 0.5 * density_there * lower[tuple(others.T)]
            move = free & (target >= 0) & (target < L)
            moved = subsets[move].copy()
            moved[:, p] = target[move]
            rows.append(np.flatnonzero(move))
            cols.append(code[tuple(moved.T)])
            vals.append(np.full(move.sum(), 0.5))
    rows, cols, vals = (np.concatenate(v) for v in (rows, cols, vals))
    A = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)) + sp.diags(diag)
    values, info = spla.cg(-A.tocsr(), -rhs, rtol=1e-14, atol=0.0, maxiter=100 * n)
    if info != 0:
        raise RuntimeError(f"moment hierarchy solve did not converge (order {k}, info={info})")
    return subsets, values


# --------------------------------------------------------------------------- Monte Carlo
@_checks.rng_first
def sample(rng, L, delta, n_samples, *, sweeps_between=1.0, burn_in=None):
    """Stationary SSEP configurations from a random-sequential Monte Carlo.

    Each step picks one of the L + 1 bonds uniformly and, with probability 1/2, exchanges its two
    sites (a boundary bond gives the site a fresh reservoir value). ``sweeps_between`` time units
    (of L + 1 steps) separate consecutive samples; ``burn_in`` defaults to
    :func:`nqlib.trajectory.burn_in`, 4 (L + 1)**2 time units: 2 pi**2 slowest relaxation times
    2 (L + 1)**2 / pi**2. The chain starts from
    independent sites with the exact mean density. Returns uint8 array (n_samples, L).
    The old spelling ``sample(L, delta, n_samples, rng=rng)`` works for one release
    (DeprecationWarning).
    """
    L, delta = _check(L, delta)
    n_samples = _check_positive_int("n_samples", n_samples)
    _checks.generator(rng)
    sweeps_between, burn_in = trajectory.chain_schedule(L, sweeps_between, burn_in)
    steps_between = max(1, round(sweeps_between * (L + 1)))
    _checks.memory(f"sample with n_samples={n_samples} at L={L}", n_samples * L + 8 * L)
    _checks.work(
        f"sample with burn_in={burn_in}, n_samples={n_samples} at L={L}",
        burn_in * (L + 1) + float(n_samples) * steps_between,
    )
    tau = (rng.random(L) < density(L, delta)).astype(np.uint8)
    rho_left, rho_right = (1 + delta) / 2, (1 - delta) / 2

    def step(tau, steps):
        _advance(tau, steps, rng, rho_left, rho_right)  # in place: tau is this chain's own array
        return tau

    return trajectory.sample(tau, step, round(burn_in * (L + 1)), steps_between, n_samples, np.copy)


def monte_carlo_moments(rng, L, delta, n_samples, blocks, sweeps_between=1.0, burn_in=None):
    """Raw moment sums of one Monte Carlo chain, for pooling over an ensemble of chains.

    Returns a dict with ``n`` (number of samples), ``s1`` = sum of tau (L,), ``s2`` = sum of
    tau tau^T (L, L), and ``b3`` = sum of N (x) N (x) N for the counts N of ``blocks`` equal
    blocks of sites, shape (blocks,)*3 (L must be divisible by ``blocks``). Use it as the
    realization function of :func:`nqlib.ensemble.run_ensemble` and
    :func:`cumulants_from_moments` on the pooled sums.
    """
    L, _ = _check(L, delta)
    blocks = _check_positive_int("blocks", blocks)
    if L % blocks:
        raise ValueError(f"blocks must divide L, got L={L}, blocks={blocks}")
    tau = sample(rng, L, delta, n_samples, sweeps_between=sweeps_between, burn_in=burn_in)
    x = tau.astype(np.float64)
    counts = x.reshape(len(x), blocks, L // blocks).sum(axis=2)
    return {
        "n": np.float64(len(x)),
        "s1": x.sum(axis=0),
        "s2": x.T @ x,
        "b3": np.einsum("ta,tb,tc->abc", counts, counts, counts, optimize=True),
    }


def cumulants_from_moments(sums):
    """Mean (L,), covariance (L, L) and block third-cumulant tensor from pooled raw sums.

    ``sums`` is a dict with the keys of :func:`monte_carlo_moments` (summed over chains).
    """
    if not isinstance(sums, dict) or any(key not in sums for key in ("n", "s1", "s2", "b3")):
        raise ValueError(
            f"sums must be a dict with keys 'n', 's1', 's2', 'b3' "
            f"(monte_carlo_moments), got sums={sums!r}"
        )
    for key in ("n", "s1", "s2", "b3"):
        _checks.array(f"sums[{key!r}]", sums[key])
    n = sums["n"]
    mean = sums["s1"] / n
    cov = sums["s2"] / n - np.outer(mean, mean)
    blocks = sums["b3"].shape[0]
    pool = np.ones((len(mean) // blocks, 1))
    m = np.kron(np.eye(blocks), pool).T @ mean  # block means
    M2 = np.kron(np.eye(blocks), pool).T @ (sums["s2"] / n) @ np.kron(np.eye(blocks), pool)
    M3 = sums["b3"] / n
    k3 = (
        M3
        - np.einsum("a,bc->abc", m, M2)
        - np.einsum("b,ac->abc", m, M2)
        - np.einsum("c,ab->abc", m, M2)
        + 2 * np.einsum("a,b,c->abc", m, m, m)
    )
    return mean, cov, k3


def _advance(tau, steps, rng, rho_left, rho_right):
    chunk = 1_000_000
    while steps > 0:
        n = min(chunk, steps)
        _steps_kernel(tau, rng.random((n, 2)), rho_left, rho_right)
        steps -= n


@njit(cache=True)
def _steps_kernel(tau, u, rho_left, rho_right):
    L = tau.size
    for t in range(u.shape[0]):
        bond = int(u[t, 0] * (L + 1))  # bond b joins sites b-1 and b (0 and L are reservoirs)
        if u[t, 0] * (L + 1) - bond >= 0.5:  # the gate exchanges with probability 1/2
            continue
        if bond == 0:
            tau[0] = 1 if u[t, 1] < rho_left else 0
        elif bond == L:
            tau[L - 1] = 1 if u[t, 1] < rho_right else 0
        else:
            tau[bond - 1], tau[bond] = tau[bond], tau[bond - 1]


# --------------------------------------------------------------------------- validation
def _check(L, delta):
    """(L, delta) after checking them; refuses an L whose profile (L,) exceeds the memory budget."""
    L = _check_positive_int("L", L)
    delta = _checks.drive(delta)
    _checks.memory(f"an SSEP profile at L={L}", 32 * L)
    return L, delta


def _check_size(L, max_L):
    L = _check_positive_int("L", L)
    if L > max_L:
        raise ValueError(f"L must be <= {max_L} for the exact master equation, got L={L}")
    return L


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
    return int(value)

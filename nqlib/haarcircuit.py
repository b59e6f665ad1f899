r"""The open random circuit without a conservation law (Gullans & Huse, App. F).

A chain of L qubits evolves by Haar-random two-qubit gates on randomly chosen bonds. Bond 0
couples site 1 to a fresh, fully polarized reservoir qubit :math:`|{\uparrow}\rangle` that is
traced out afterwards (GH Eqs. F1-F2); bonds 1..L-1 are the chain bonds. One time unit is L
gates. Nothing is conserved, the average state is :math:`2^{-L}\,1`, but the purity of the
late-time states is not :math:`2^{-L}`: the reservoir keeps injecting known states.

**Operator weights.** Write :math:`\rho = 2^{-L}\sum_S a_S\,\sigma^S` over Pauli strings S, so
:math:`\mathrm{tr}\rho^2 = 2^{-L}\sum_S |a_S|^2` with :math:`a_{1\cdots1} = 1`. Haar gates form a
unitary 2-design: for any operator X on two qubits (d = 4),

.. math::

    \mathbb{E}_U\,(U\otimes U)X(U\otimes U)^\dagger = \alpha\,1 + \beta\,\mathrm{SWAP},\qquad
    \mathrm{tr}X = \alpha d^2 + \beta d,\quad \mathrm{tr}(X\,\mathrm{SWAP}) = \alpha d + \beta d^2 ,

so the averaged :math:`|a_S|^2` obey a linear Markov-like map that only sees whether each site
carries the identity (0) or not (1) (GH Eqs. F4-F6; :func:`pattern_map` derives it from the
formula above). On a chain bond the identity pair stays and any other weight is spread
uniformly over the 15 non-identity Pauli pairs: patterns (01, 10, 11) receive
(3/15, 3/15, 9/15) of it. At the reservoir bond a string with the identity on site 1 keeps its
weight and gives birth to weight b on site-1 non-identity strings; a string with a non-identity
on site 1 keeps 1 - d of its weight (GH Eq. F5), with b = 3/15 = 0.2 and d = 1 - 6/15 = 0.6.

GH's Eq. F6 prints 1/3 for each of the three patterns instead. The choice does not change the
reduced chain's rates b and d, but it moves the stationary share of weight on site 1 from 1/2
(GH) to 3/4 (Haar), and with it the large-L purity: :math:`-\log_2\mathbb{E}\,\mathrm{tr}\rho^2
\to L - \log_2(3/2) = L - 0.585`, not GH's L - 1 (Eq. F10); dense simulations agree with the
Haar value (tests).

:func:`average_purity` solves the fixed point of the averaged map on all :math:`2^L` patterns
exactly; :func:`reduced_purity` is the three-population reduction of GH Eq. F8 for large L;
:func:`neas_purity` time-averages the purity of dense simulations (small L), an independent route.
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from nqlib import _checks, trajectory

__all__ = [
    "haar_unitary",
    "twirl",
    "pauli_pairs",
    "pattern_map",
    "sampled_weights",
    "boundary_rates",
    "averaged_map",
    "pattern_weights",
    "average_purity",
    "reduced_purity",
    "neas_purity",
    "MAX_PATTERN_L",
    "MAX_DENSE_L",
]

MAX_PATTERN_L = 13  # sparse LU fill: 3 s at L = 12, ~30 s at 13
MAX_DENSE_L = 10
_PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)


def haar_unitary(rng, d=4):
    """A Haar-random d x d unitary (QR of a complex Gaussian matrix with the phases fixed)."""
    _checks.generator(rng)
    d = _checks.integer("d", d, low=1)
    _checks.memory(f"haar_unitary at d={d}", 80 * d**2)
    Z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2)
    Q, R = np.linalg.qr(Z)
    return Q * (np.diag(R) / np.abs(np.diag(R)))


def twirl(X):
    """Exact Haar average E_U (U (x) U) X (U (x) U)^dagger for X on two copies of C^d (d^2 x d^2)."""
    X = _checks.array("X", X, dtype=complex)
    d = int(round(np.sqrt(len(X)))) if X.ndim else 0
    if X.shape != (d * d, d * d) or d < 1:
        raise ValueError(f"X must be a (d^2, d^2) matrix, got shape {X.shape}")
    swap = np.eye(d * d)[[(i % d) * d + i // d for i in range(d * d)]]
    alpha, beta = np.linalg.solve([[d * d, d], [d, d * d]], [np.trace(X), np.trace(X @ swap)])
    return alpha * np.eye(d * d) + beta * swap


def pauli_pairs():
    r"""The 16 two-qubit Pauli strings and their identity/non-identity patterns.

    Returns
    -------
    strings : numpy.ndarray, (16, 4, 4)
        :math:`\sigma_i\otimes\sigma_j` at index 4 i + j, with
        :math:`\sigma_0, \ldots, \sigma_3 = 1, X, Y, Z` and i the first site of the pair
        (the reservoir qubit at the reservoir bond).
    patterns : numpy.ndarray of int, (16,)
        (i > 0) + 2 (j > 0): bit 0 for the first site, bit 1 for the second; the order
        (00, 01, 10, 11) of :func:`pattern_map`.

    References
    ----------
    GH App. F (Eqs. F3-F6); chapter {doc}`open_haar_circuit`.
    """
    strings = np.array([np.kron(_PAULI[i], _PAULI[j]) for i in range(4) for j in range(4)])
    patterns = np.array([(i > 0) + 2 * (j > 0) for i in range(4) for j in range(4)])
    return strings, patterns


def sampled_weights(rng, pauli, n_gates):
    r"""Monte Carlo route to a column of :func:`pattern_map`: pattern weights of rotated Pauli strings.

    For each of ``n_gates`` Haar-random two-qubit gates U (:func:`haar_unitary`, one per row, in
    order) and the Pauli string :math:`\sigma = \sigma_i\otimes\sigma_j`, the weight of
    :math:`A = U\sigma U^\dagger` on each pattern q,
    :math:`\sum_{P \in q} |\mathrm{tr}(PA)|^2/16`. Each row sums to 1 (unitarity); the mean
    over gates estimates ``pattern_map()[:, p]`` with p the pattern of :math:`\sigma`, and at the
    reservoir bond ``(3, 0)`` (Z on the reservoir) gives b of :func:`boundary_rates` in column 2.

    Parameters
    ----------
    rng : numpy.random.Generator
    pauli : (int, int)
        (i, j), each in [0, 3] (1, X, Y, Z).
    n_gates : int
        Number of sampled gates, >= 1.

    Returns
    -------
    numpy.ndarray, (n_gates, 4)
        Weights on the patterns (00, 01, 10, 11) of :func:`pauli_pairs`.

    References
    ----------
    GH App. F, Eqs. F4-F6; chapter {doc}`open_haar_circuit`.
    """
    _checks.generator(rng)
    try:
        i, j = pauli
    except (TypeError, ValueError):
        raise ValueError(
            f"pauli must be a pair (i, j) of integers in [0, 3], got pauli={pauli!r}"
        ) from None
    i, j = (
        _checks.integer(name, v, low=0, high=3) for name, v in (("pauli[0]", i), ("pauli[1]", j))
    )
    n_gates = _checks.integer("n_gates", n_gates, low=1)
    _checks.memory(f"sampled_weights with n_gates={n_gates}", 32 * n_gates)
    strings, patterns = pauli_pairs()
    sigma = strings[4 * i + j]
    out = np.zeros((n_gates, 4))
    for k in range(n_gates):
        U = haar_unitary(rng)
        A = U @ sigma @ U.conj().T
        for P, q in zip(strings, patterns):
            out[k, q] += abs(np.trace(P @ A)) ** 2 / 16
    return out


def pattern_map():
    """4 x 4 matrix of averaged weight transfer on a chain bond between patterns (00, 01, 10, 11).

    Entry [q, p] = sum over Pauli pairs P of pattern q of E|tr(P U Q U^dagger)|^2 / 16 for one
    Pauli pair Q of pattern p (the same for every Q of that pattern), from :func:`twirl` with
    |tr(P A)|^2 = tr[(P (x) P)(A (x) A^dagger)] and A (x) A^dagger = (U (x) U)(Q (x) Q)(U (x) U)^dagger.
    """
    paulis, pattern = pauli_pairs()
    out = np.zeros((4, 4))
    for p in range(4):
        Q = paulis[list(pattern).index(p)]
        average = twirl(np.kron(Q, Q.conj().T))
        for P, q in zip(paulis, pattern):
            out[q, p] += np.real(np.trace(np.kron(P, P) @ average)) / 16
    return out


def boundary_rates():
    """(b, d) of the reservoir bond (GH Eq. F5), derived with :func:`twirl`.

    The reservoir qubit enters as (1 + Z)/2 and is traced out, so only pairs with the identity
    on the reservoir survive. b: weight given to site-1 non-identity strings by a string with the
    identity on site 1 (through Z (x) 1); 1 - d: weight kept by a site-1 non-identity string
    (through 1 (x) Q and Z (x) Q).
    """
    T = pattern_map()
    born = T[2, 1]  # (Z on the reservoir, 1 on site 1) -> (1, non-identity on site 1)
    kept = T[2, 2] + T[2, 3]  # inputs 1 (x) Q and Z (x) Q, both with coefficient a_(Q, rest)
    return float(born), float(1 - kept)


def averaged_map(L, bulk=None):
    """Sparse 2^L x 2^L map of one random-bond step on site patterns (bit i = site i+1).

    ``bulk`` replaces the chain-bond pattern map (default :func:`pattern_map`), e.g. by GH's
    Eq. F6 to compare the two.
    """
    L = _check_L(L, MAX_PATTERN_L)
    b, d = boundary_rates()
    T = pattern_map() if bulk is None else _checks.array("bulk", bulk)
    if T.shape != (4, 4) or np.any(T < 0) or not np.allclose(T.sum(axis=0), 1):
        raise ValueError(
            "bulk must be a 4 x 4 non-negative matrix whose columns sum to 1 (weight conservation)"
        )
    n = 2**L
    s = np.arange(n)
    trivial = (s & 1) == 0
    rows = [s, s[trivial] | 1]
    cols = [s, s[trivial]]
    vals = [np.where(trivial, 1.0, 1 - d), np.full(trivial.sum(), b)]
    for i in range(L - 1):
        pair = (s >> i) & 3
        base = s & ~(3 << i)
        for q in range(4):
            for p in range(4):
                if T[q, p] > 1e-15:
                    m = pair == p
                    rows.append(base[m] | (q << i))
                    cols.append(s[m])
                    vals.append(np.full(m.sum(), T[q, p]))
    M = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return M / L


def pattern_weights(L, bulk=None):
    r"""Late-time average weights :math:`w_\pi` on the :math:`2^L` identity/non-identity patterns.

    The fixed point of :func:`averaged_map` normalised by :math:`w_{0\cdots0} = 1` (the identity
    string), solved by sparse LU; :math:`\mathbb{E}\,\mathrm{tr}\rho^2 = 2^{-L}\sum_\pi w_\pi`
    (:func:`average_purity`). Summing the weights with a non-identity on site 1 (bit 0 set) gives
    GH's :math:`p_1`, the others minus 1 their :math:`p_\mu`.

    Parameters
    ----------
    L : int
        Sites, in [1, ``MAX_PATTERN_L``].
    bulk : array_like, (4, 4), optional
        Chain-bond pattern map (default :func:`pattern_map`), as in :func:`averaged_map`.

    Returns
    -------
    numpy.ndarray, (2**L,)
        Weights indexed by the pattern (bit i = site i + 1), entry 0 equal to 1.

    References
    ----------
    GH App. F, Eqs. F4-F8; chapter {doc}`open_haar_circuit`.
    """
    M = averaged_map(L, bulk)
    n = M.shape[0]
    A = (sp.identity(n) - M).tocsc()[1:, 1:]
    weights = (
        spla.spsolve(A, M[1:, 0].toarray().ravel())
        if n > 2
        else np.array([M[1, 0] / (1 - M[1, 1])])
    )
    return np.concatenate([[1.0], weights])


def average_purity(L, bulk=None):
    """Exact late-time average E tr(rho^2) of the L-site chain (fixed point of :func:`averaged_map`)."""
    weights = pattern_weights(L, bulk)
    return float((1 + np.sum(weights[1:])) / len(weights))


def reduced_purity(L, site_one_fraction=None):
    """E tr(rho^2) from GH's three-population reduction (Eq. F8) for large L.

    p0 = 1 (identity string), p1 (non-identity on site 1), pm (identity on site 1, non-identity
    elsewhere). Stationarity of the reservoir bond: b (1 + pm) = d p1. The chain bonds set the
    ratio p1 / (p1 + pm) = ``site_one_fraction``: by default 3/4, the fraction of Pauli strings
    with a non-identity on a given site, which the exact fixed point reaches for L >= 6 (a unit
    test); GH's Eq. F6 (1/3 to each pattern) gives pm = p1, i.e. 1/2. Returns 2^-L (1 + p1 + pm).

    Stationarity gives p1 + pm = b / (d f - b (1 - f)), which is positive, as a sum of weights
    must be, only for f > b / (b + d) = 1/4; ``site_one_fraction`` must lie in (1/4, 1] (at
    1/4 the weight diverges, below it the "purity" turns negative).
    """
    L = _check_L(L, 10**6)
    b, d = boundary_rates()
    lowest = b / (b + d)
    f = (
        0.75
        if site_one_fraction is None
        else _checks.real("site_one_fraction", site_one_fraction, lowest, 1, open_low=True)
    )
    total = b / (d * f - b * (1 - f))
    return float((1 + total) * 2.0**-L)


def neas_purity(rng, L, n_samples, burn_in=None):
    """Time-averaged purity of one dense simulation: dict with ``purity`` (n_samples,).

    Starts from the fully mixed state, discards ``burn_in`` time units (an integer >= 0, default
    20 L: nothing is conserved here, so the diffusive rule of :func:`nqlib.trajectory.burn_in`
    does not apply) and records tr(rho^2) after every time unit (L gates). A realization
    function for :func:`nqlib.ensemble.run_ensemble`.
    """
    _checks.generator(rng)
    L = _check_L(L, MAX_DENSE_L)
    _checks.sample_count(n_samples)
    burn_in = 20 * L if burn_in is None else _checks.integer("burn_in", burn_in, low=0)
    _checks.memory(f"neas_purity with n_samples={n_samples}", 8 * n_samples)
    _checks.work(
        f"neas_purity with burn_in={burn_in}, n_samples={n_samples} at L={L}",
        float(burn_in + n_samples) * L * 4.0**L,
    )

    def step(rho, time):
        for _ in range(time * L):
            rho = _apply_random_gate(rho, rng, L)
        return rho

    return trajectory.sample(
        np.eye(2**L, dtype=complex) / 2**L,
        step,
        burn_in,
        1,
        n_samples,
        lambda rho: {"purity": np.real(np.vdot(rho, rho))},
    )


def _apply_random_gate(rho, rng, L):
    n = 2**L
    bond, U = rng.integers(L), haar_unitary(rng)
    if bond == 0:  # reservoir qubit in |0>, then traced out: Kraus K_r = <r|U|0> on site 1
        t = rho.reshape(2, n // 2, 2, n // 2)
        K = U.reshape(2, 2, 2, 2)[:, :, 0, :]
        return sum(np.einsum("ab,bjck,dc->ajdk", K[r], t, K[r].conj()) for r in range(2)).reshape(
            n, n
        )
    i = bond - 1  # chain sites (i, i+1), 0-based
    left = U @ rho.reshape(2**i, 4, -1).transpose(1, 0, 2).reshape(4, -1)
    rho = left.reshape(4, 2**i, -1).transpose(1, 0, 2).reshape(n, n)
    right = rho.reshape(n, 2**i, 4, -1).transpose(0, 1, 3, 2) @ U.conj().T
    return right.transpose(0, 1, 3, 2).reshape(n, n)


def _check_L(L, largest):
    return _checks.integer("L", L, 1, largest)

"""The shipped paper-scale archives (data/*.npz) cannot drift from the code.

Checks each archive's provenance record and shapes, then recomputes a few realizations at the
smallest stored size from their seeds alone (the seeding contract of nqlib.ensemble) with the realization
function and parameters the provenance names, and requires the stored per-realization numbers to
1e-12 relative. A last test shows that this comparison fails when a stored value is perturbed.
"""

import dataclasses
import json
import os
import re

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nqlib import paper

NAME = "anderson-w6"  # the first archive; the tests that name it check its particulars
NAMES = [name for name in sorted(paper.DATASETS) if (paper.DATA / f"{name}.npz").exists()]
QUASI1D = {"anderson-q1d-w2": 2.0, "anderson-q1d-w4": 4.0, "anderson-q1d-w5": 5.0}
# cubes: W and the seed prefix (size N adds N)
CUBES = {
    "anderson-w6": (6.0, [2026, 19]),
    "anderson-w6-n32": (6.0, [2026, 19]),
    "anderson-w4": (4.0, [2026, 19, 4, 4]),
    "anderson-w7": (7.0, [2026, 19, 4, 7]),
}
GULLANS_HUSE = {"gh-fab-w8": [2026, 19, 2], "gh-iab-w8": [2026, 19, 3]}
LOOPS = sorted(QUASI1D) + sorted(CUBES)  # made by anderson.loop_statistics
RTOL = 1e-12
# The spot check recomputes realizations of the smallest stored size when one takes less than
# this (by the archive's own timing); anderson-w6-n32 holds only N = 32 (~3 min a realization):
# it is the same function and seeding as anderson-w6, which is recomputed, and
# NQLIB_SLOW_ARCHIVE_CHECK=1 recomputes its first realization too.
SPOT_CHECK_MAX_S = 20.0


@pytest.fixture(scope="module")
def archive():
    return paper.load(NAME)


@pytest.fixture(scope="module", params=NAMES)
def any_archive(request):
    return paper.load(request.param)


def test_every_registered_data_set_is_shipped():
    assert NAMES == sorted(paper.DATASETS) == sorted([*LOOPS, *GULLANS_HUSE])


def _function(provenance):
    return paper.realization_function(provenance)


def _recompute(provenance, N, index):
    """The per-realization scalars of realization ``index`` at size ``N``, from its seed alone."""
    rng = np.random.Generator(np.random.PCG64(paper.realization_seed(provenance, N, index)))
    with threadpool_limits(limits=1):  # as run_ensemble runs every realization
        out = _function(provenance)(rng=rng, **provenance["per_size"][str(N)]["params"])
    return paper.DATASETS[provenance["name"]].scalars(out, N)


def _mismatch(stored, recomputed):
    """Largest relative difference, entry by entry."""
    stored, recomputed = np.asarray(stored), np.asarray(recomputed)
    return float(np.max(np.abs(stored - recomputed) / np.abs(recomputed)))


def test_provenance_is_complete_and_consistent(any_archive):
    arrays, prov = any_archive
    assert prov["name"] in NAMES and prov["format"] == 1
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", prov["nqlib_version"])
    assert re.fullmatch(r"[0-9a-f]{40}", prov["git_commit"])
    assert prov["git_nqlib_dirty"] is False  # produced from a committed library
    assert re.fullmatch(r"[0-9a-f]{64}", prov["nqlib_source_sha256"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", prov["date"])
    assert {"platform", "cpu_model", "cpu_count"} <= set(prov["machine"])
    assert prov["machine"]["cpu_count"] >= 1 and prov["wall_s"] > 0
    assert prov["complete"] and prov["sizes_done"] == prov["sizes_planned"]
    assert arrays["sizes"].tolist() == prov["sizes_done"]
    assert arrays["runs"].tolist() == [prov["per_size"][str(N)]["runs"] for N in prov["sizes_done"]]
    hoppings = [1.0, 1.0, 1.0] if prov["name"] in GULLANS_HUSE else [1.0, 0.4, 0.4]
    for N in prov["sizes_done"]:
        entry = prov["per_size"][str(N)]
        assert entry["params"]["t"] == hoppings
        assert paper._plain(paper.DATASETS[prov["name"]].params(N)) == entry["params"]
        assert sum(run["wall_s"] for run in entry["compute_log"]) > 0


@pytest.mark.parametrize("name", sorted(CUBES))
def test_the_cube_archives_record_their_sizes_seeds_and_function(name):
    W, seed = CUBES[name]
    arrays, prov = paper.load(name)
    assert prov["function"] == "nqlib.anderson.loop_statistics"
    for N in prov["sizes_done"]:
        entry = prov["per_size"][str(N)]
        assert entry["seed"] == [*seed, N]
        assert entry["params"]["Nx"] == entry["params"]["Ny"] == entry["params"]["Nz"] == N
        assert entry["params"]["W"] == W
    if len(arrays["runs"]) > 1:  # issue 19: >= 200 realizations at all but the largest size
        assert min(arrays["runs"][:-1]) >= 200


def test_the_n32_archive_continues_the_w6_cubes():
    """One series: same settings and seeding rule, the next size; paper.combine joins them."""
    arrays, provs = paper.combine(NAME, "anderson-w6-n32")
    w6, _ = paper.load(NAME)
    assert arrays["sizes"].tolist() == [*w6["sizes"].tolist(), 32]
    assert [p["name"] for p in provs] == [NAME, "anderson-w6-n32"]
    S = len(w6["sizes"])
    for key in ("dn2", "dn3", "A2", "A3", "scalar_mean", "runs"):
        assert np.array_equal(arrays[key][:S], w6[key]), key
    assert arrays["scalars"].shape == (S + 1, w6["scalars"].shape[1], 4)
    assert np.array_equal(arrays["g3_N32"], paper.load("anderson-w6-n32")[0]["g3"][0])
    with pytest.raises(ValueError, match="one series"):
        paper.combine(NAME, "anderson-w4")  # another W
    with pytest.raises(ValueError, match="one series"):
        paper.combine("anderson-w6-n32", NAME)  # sizes not increasing
    with pytest.raises(ValueError, match="at least one"):
        paper.combine()


@pytest.mark.parametrize("name", sorted(GULLANS_HUSE))
def test_the_gullans_huse_archives(name):
    """f_AB per realization at every energy; summaries are means, jackknife ratios of means."""
    arrays, prov = paper.load(name)
    assert prov["function"] == "nqlib.anderson.energy_correlation"
    eps = paper.GH_EPS if name == "gh-iab-w8" else (0.0,)
    assert arrays["scalar_names"].tolist() == [f"f_ab[eps={e:g}]" for e in eps]
    for s, N in enumerate(arrays["sizes"]):
        entry = prov["per_size"][str(N)]
        assert entry["seed"] == [*GULLANS_HUSE[name], N] and entry["params"]["W"] == 8.0
        assert (entry["params"]["Nx"], entry["params"]["Ny"]) == (N + 2, N)
        f = arrays["scalars"][s, : arrays["runs"][s], 0]
        np.testing.assert_allclose(
            arrays["f_ab"][s], [f.mean(), f.std(ddof=1) / np.sqrt(len(f))], rtol=1e-12
        )
    if name == "gh-iab-w8":
        assert np.array_equal(arrays["eps"][0], eps) and np.allclose(
            arrays["i_ab"][:, 0], 1, rtol=1e-12
        )
        f = arrays["scalars"][-1, : arrays["runs"][-1]]
        np.testing.assert_allclose(arrays["i_ab"][-1], f.mean(0) / f[:, 0].mean(), rtol=1e-12)
        assert np.all(arrays["sigma"][:, 1] > 0) and np.all(arrays["integral"][:, 1] > 0)
    else:
        assert max(arrays["sizes"]) >= 24  # issue 19: f_AB to L = 24


@pytest.mark.parametrize("name", sorted(QUASI1D))
def test_the_quasi1d_archives_hold_500_realizations_of_8x8_bars_to_nx_100(name):
    arrays, prov = paper.load(name)
    assert prov["function"] == "nqlib.anderson.loop_statistics"
    assert max(prov["sizes_done"]) >= 100  # issue 19: N_x up to >= 100
    for N in prov["sizes_done"]:
        entry = prov["per_size"][str(N)]
        assert entry["seed"] == [2026, 19, 1, int(QUASI1D[name]), N]
        params = entry["params"]
        assert params["Nx"] == N and params["Ny"] == params["Nz"] == 8
        assert params["W"] == QUASI1D[name]
        assert entry["runs"] * params["realizations"] >= 500  # HJ's count
        assert paper._plain(paper.DATASETS[name].params(N)) == params  # the registry's
    assert arrays["dn1"].shape == (len(arrays["sizes"]), 2)


@pytest.mark.parametrize("name", LOOPS)
def test_shapes_and_summaries(name):
    arrays, prov = paper.load(name)
    S, R, K = len(arrays["sizes"]), int(arrays["runs"].max()), len(arrays["scalar_names"])
    assert arrays["scalar_names"].tolist() == ["dn1", "density", "tr_G2", "tr_G3"]
    assert arrays["scalars"].shape == (S, R, K)
    for s, runs in enumerate(arrays["runs"]):
        assert np.all(np.isfinite(arrays["scalars"][s, :runs]))
        assert np.all(np.isnan(arrays["scalars"][s, runs:]))  # padding only
        mean = arrays["scalars"][s, :runs].mean(axis=0)
        assert np.allclose(arrays["scalar_mean"][s], mean, rtol=1e-12, atol=0)
    for key, shape in (
        ("dn2", (S, 2)),
        ("dn3", (S, 2)),
        ("A2", (S, 3)),
        ("A3", (S, 3)),
        ("m2", (S, 2)),
    ):
        assert arrays[key].shape == shape, key
        assert np.all(np.isfinite(arrays[key])), key
    for s, N in enumerate(arrays["sizes"]):
        # named per size where sizes differ, stacked in a one-size archive
        g2, g2_err, g3 = (
            arrays[f"{k}_N{N}"] if f"{k}_N{N}" in arrays else arrays[k][s]
            for k in ("g2", "g2_err", "g3")
        )
        assert g2.shape == g2_err.shape == (N, N)
        assert g3.shape == (2, N)
    # Delta n^(n) = sign(A) |A|^(1/n)
    assert np.allclose(arrays["dn2"][:, 0], np.sqrt(arrays["A2"][:, 0]), rtol=1e-12)
    assert np.allclose(arrays["dn3"][:, 0], np.cbrt(arrays["A3"][:, 0]), rtol=1e-12)


@pytest.mark.parametrize("which", ["first", "second", "last"])
def test_stored_realizations_are_recomputed_from_their_seeds(any_archive, which):
    arrays, prov = any_archive
    N, runs = int(arrays["sizes"][0]), int(arrays["runs"][0])
    log = prov["per_size"][str(N)]["compute_log"]
    computed = sum(r["runs"] - r["cached_before"] for r in log)
    seconds = sum(r["wall_s"] for r in log) / max(computed, 1)
    if seconds > SPOT_CHECK_MAX_S:
        if which != "first" or os.environ.get("NQLIB_SLOW_ARCHIVE_CHECK") != "1":
            pytest.skip(f"{prov['name']}: {seconds:.0f} s a realization (see SPOT_CHECK_MAX_S)")
    index = {"first": 0, "second": 1, "last": runs - 1}[which]
    stored = arrays["scalars"][0, index]
    assert _mismatch(stored, _recompute(prov, N, index)) < RTOL


def test_the_spot_check_fails_for_a_perturbed_value(archive):
    arrays, prov = archive
    N = int(arrays["sizes"][0])
    recomputed = _recompute(prov, N, 0)
    for k in range(len(recomputed)):
        perturbed = arrays["scalars"][0, 0].copy()
        perturbed[k] *= 1 + 1e-10
        assert _mismatch(perturbed, recomputed) > RTOL, k
    # and another realization's numbers are not this one's
    assert _mismatch(arrays["scalars"][0, 1], recomputed) > RTOL


def test_realization_function_resolves_recorded_names():
    from nqlib import anderson

    for name, fn in (
        ("nqlib.anderson.loop_statistics", anderson.loop_statistics),
        ("nqlib.anderson.energy_correlation", anderson.energy_correlation),
    ):
        assert paper.realization_function({"function": name}) is fn
    for bad in ({}, {"function": "numpy.sum"}, {"function": "nqlib.anderson.no_such"}, "x"):
        with pytest.raises(ValueError, match="provenance"):
            paper.realization_function(bad)


def test_load_refuses_unknown_names_and_seeds_out_of_range(archive):
    _, prov = archive
    with pytest.raises(ValueError, match="name must be one of"):
        paper.load("no-such-data")
    with pytest.raises(ValueError, match="N must be one of"):
        paper.realization_seed(prov, 7, 0)
    with pytest.raises(ValueError, match="index must be an int"):
        paper.realization_seed(
            prov, prov["sizes_done"][0], prov["per_size"][str(prov["sizes_done"][0])]["runs"]
        )


def test_production_resumes_from_the_cache_and_records_it(tmp_path):
    """A tiny data set made twice: the second run loads every realization from the cache, writes
    the same numbers, and its provenance logs both invocations."""
    spec = dataclasses.replace(paper.DATASETS[NAME], sizes=(8,), runs=(4,))  # >= 4: unbiased k3
    paper.DATASETS["tiny-test"] = spec
    try:
        out, cache = tmp_path / "tiny.npz", tmp_path / "cache"
        paper._produce("tiny-test", out=out, cache=cache)
        with np.load(out) as first:
            scalars = first["scalars"].copy()
        paper._produce("tiny-test", out=out, cache=cache)
        with np.load(out) as second:
            assert np.array_equal(second["scalars"], scalars)
            prov = json.loads(str(second["provenance"]))
    finally:
        del paper.DATASETS["tiny-test"]
    log = prov["per_size"]["8"]["compute_log"]
    assert [entry["cached_before"] for entry in log] == [0, 4]
    assert prov["complete"] and prov["sizes_done"] == [8]


def test_imbalances_read_the_three_orders_of_cube_and_quasi1d_archives():
    cube, _ = paper.load(NAME)
    dn = paper.imbalances(cube)
    assert np.array_equal(dn[1][0], cube["scalar_mean"][:, 0])  # mean slope per realization
    assert np.array_equal(dn[1][1], cube["scalar_sem"][:, 0])
    assert np.array_equal(dn[3][0], cube["dn3"][:, 0]) and np.array_equal(
        dn[2][1], cube["dn2"][:, 1]
    )
    bar, _ = paper.load("anderson-q1d-w5")
    assert np.array_equal(paper.imbalances(bar)[1][0], bar["dn1"][:, 0])
    with pytest.raises(ValueError, match="cube or quasi-1d archive"):
        paper.imbalances(paper.load("gh-fab-w8")[0])


def test_cube_and_quasi1d_summaries_are_the_imbalances_of_the_anderson_module():
    """One owner of the fits: the archives store anderson.imbalances in HJ's two scalings."""
    from nqlib import anderson, ensemble

    N = 8
    params = paper.DATASETS[NAME].params(N)
    data = ensemble.stack(
        [anderson.loop_statistics(np.random.default_rng([5, i]), **params) for i in range(4)]
    )
    fit = anderson.imbalances(data, anderson.cut_pairs(N, paper._CUT_YZ))
    cube = paper.DATASETS[NAME].summary(data, N)
    assert np.array_equal(cube["A2"], [fit.A2.value, fit.A2.error, fit.A2.chi2_dof])
    assert np.array_equal(cube["dn3"], fit.dn3) and np.array_equal(cube["dn1"], fit.dn1)
    assert np.array_equal(cube["g3"], fit.g3) and np.array_equal(cube["m2"], fit.m2)
    bar = paper.DATASETS["anderson-q1d-w5"].summary(data, N)  # N_x^(1-n) instead of N^(n-1)
    assert np.allclose(bar["g2"], cube["g2"] / N**2, rtol=1e-14, atol=0)
    assert np.allclose(bar["g3"], cube["g3"] / N**4, rtol=1e-14, atol=0)

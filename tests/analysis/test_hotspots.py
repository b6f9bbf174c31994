"""Hotspots: Gi* per unit grid equals esda called directly on the same counts with
independently built queen weights; a planted cluster is found; the weekly Gi* computed for all
weeks at once equals esda week by week; FDR only ever removes hotspots; H3 cells; the trend
labels; bad input."""

import io
import json
from datetime import timedelta

import esda
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from libpysal.weights import lat2W

from analysis.hotspots import contiguity, gi_star_z, mann_kendall, trend_labels

from .helpers import CELL, SIDE, START, cases_add, lattice_order

URL = "/api/v1/analysis/hotspots"
RNG = np.random.default_rng(11)
#: The planted hotspot: a 3 × 3 block of grids, rows 6-8, columns 1-3.
BLOCK = [(r, c) for r in (6, 7, 8) for c in (1, 2, 3)]


def _plant(lattice, *, background=600, per_block_grid=40):
    noise = RNG.uniform(1, SIDE * CELL - 1, size=(background, 2))
    blocks = [
        RNG.uniform(
            (c * CELL + 5, r * CELL + 5),
            ((c + 1) * CELL - 5, (r + 1) * CELL - 5),
            (per_block_grid, 2),
        )
        for r, c in BLOCK
    ]
    cases_add(lattice, np.vstack([noise, *blocks]))


def _features(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return {f["properties"]["cell"]: f for f in response.json()["features"]}


@pytest.mark.django_db
def test_gi_star_equals_esda_on_the_same_counts(lattice, client_for):
    _plant(lattice)
    features = _features(client_for("planner").get(URL, {"trend": "false"}))
    order = lattice_order(lattice["grids"])
    codes = {rc: g.code for rc, g in lattice["grids"].items()}
    # The counts in lattice order (row-major from the south-west), as lat2W numbers cells.
    counts = np.zeros(SIDE * SIDE)
    for rc in order:
        counts[rc[0] * SIDE + rc[1]] = features[codes[rc]]["properties"]["count"]
    assert counts.sum() == 600 + 9 * 40
    w = lat2W(SIDE, SIDE, rook=False)  # queen contiguity, built without our geometry code
    direct = esda.G_Local(counts, w, transform="B", star=True, permutations=0)
    for rc in order:
        k = rc[0] * SIDE + rc[1]
        props = features[codes[rc]]["properties"]
        assert props["gi_z"] == pytest.approx(direct.Zs[k], abs=1e-4)
        assert props["p"] == pytest.approx(min(1, 2 * direct.p_norm[k]), abs=1e-6)


@pytest.mark.django_db
def test_the_planted_block_is_hot(lattice, client_for):
    _plant(lattice)
    features = _features(client_for("planner").get(URL))
    codes = {rc: g.code for rc, g in lattice["grids"].items()}
    centre = features[codes[7, 2]]["properties"]
    assert centre["class"] == "hot_99" and centre["bin"] == 3
    hot = {cell for cell, f in features.items() if f["properties"]["bin"] > 0}
    assert len({codes[rc] for rc in BLOCK} & hot) >= 8
    # Far from the block nothing is hot.
    assert not hot & {codes[r, c] for r in range(0, 3) for c in range(6, 10)}
    geometry = features[codes[7, 2]]["geometry"]
    assert geometry["type"] == "MultiPolygon"  # as the grid is stored
    lon, lat = geometry["coordinates"][0][0][0]
    assert 113 < lon < 115 and 34 < lat < 35  # WGS-84


@pytest.mark.django_db
def test_permutations_and_fdr(lattice, client_for):
    _plant(lattice)
    client = client_for("planner")
    plain = _features(client.get(URL, {"trend": "false"}))
    fdr = _features(client.get(URL, {"trend": "false", "fdr": "true"}))
    perm = client.get(URL, {"trend": "false", "permutations": "999"}).json()
    assert perm["summary"]["permutations"] == 999
    hot_plain = {c for c, f in plain.items() if f["properties"]["bin"] > 0}
    hot_fdr = {c for c, f in fdr.items() if f["properties"]["bin"] > 0}
    assert hot_fdr <= hot_plain and hot_fdr  # FDR keeps the strongest, never adds
    pseudo = [f["properties"]["p"] for f in perm["features"]]
    assert min(pseudo) == pytest.approx(2 / 1000)  # the smallest a 999-permutation p can be
    codes = {rc: g.code for rc, g in lattice["grids"].items()}
    assert {f["properties"]["cell"]: f["properties"]["bin"] for f in perm["features"]}[
        codes[7, 2]
    ] > 0


def test_weekly_gi_star_equals_esda_week_by_week():
    w = lat2W(6, 6, rook=False)
    adjacency = w.sparse.tocsr()
    weekly = RNG.poisson(3, size=(36, 5)).astype(float)
    weekly[:, 4] = 0  # a week without cases: z = 0, not NaN
    z = gi_star_z(adjacency, weekly)
    for week in range(4):
        direct = esda.G_Local(weekly[:, week], w, transform="B", star=True, permutations=0)
        np.testing.assert_allclose(z[:, week], direct.Zs, atol=1e-9)
    assert (z[:, 4] == 0).all()


def test_contiguity_finds_queen_neighbours_across_t_junctions():
    import shapely

    # One 200 m square beside two 100 m squares: its corner-less edge touches both.
    geoms = np.array(
        [
            shapely.box(0, 0, 200, 200),
            shapely.box(200, 0, 300, 100),
            shapely.box(200, 100, 300, 200),
        ]
    )
    adjacency = contiguity(geoms).toarray()
    assert adjacency.tolist() == [[0, 1, 1], [1, 0, 1], [1, 1, 0]]


def test_mann_kendall_equals_pymannkendall():
    import pymannkendall

    series = RNG.normal(0, 1, size=(40, 30)) + np.linspace(0, 1, 30) * RNG.uniform(-2, 2, (40, 1))
    series[:10, ::3] = 0.0  # ties, as weeks without cases give
    series[10:12] = np.round(series[10:12])  # many ties
    trends, p = mann_kendall(series)
    for row, trend, p_value in zip(series, trends, p, strict=True):
        direct = pymannkendall.original_test(row, alpha=0.05)
        assert trend == direct.trend
        assert p_value == pytest.approx(direct.p, abs=1e-12)
    assert {"increasing", "decreasing", "no trend"} <= set(trends)


def test_trend_labels_follow_the_documented_rule():
    weeks = 24
    rising = np.linspace(-1, 4, weeks)
    falling = rising[::-1].copy()
    steady = np.full(weeks, 2.5) + RNG.normal(0, 0.1, weeks)
    late = np.zeros(weeks)
    late[-4:] = 3.0
    sparse = np.where(np.arange(weeks) % 5 == 0, 2.0, 0.0) + RNG.normal(0, 0.01, weeks)
    cold = np.full(weeks, -3.0)
    z = np.vstack([rising, falling, steady, late, sparse, cold])
    bins = np.array([3, 3, 3, 2, 1, -3])
    trends, _p, labels = trend_labels(z, bins)
    assert labels == ["intensifying", "diminishing", "persistent", "new", "sporadic", ""]
    assert trends[0] == "increasing" and trends[1] == "decreasing" and trends[5] == ""
    # Too short a period: no labels at all.
    assert trend_labels(z[:, :4], bins)[2] == [""] * 6


@pytest.mark.django_db
def test_weeks_and_labels_from_reported_times(lattice, client_for):
    """Cases in the block only in the last three of twelve weeks: a new hotspot."""
    noise = RNG.uniform(1, SIDE * CELL - 1, size=(480, 2))
    times = [START + timedelta(hours=int(h)) for h in RNG.uniform(0, 12 * 7 * 24, 480)]
    cases_add(lattice, noise, reported_at=times)
    block = RNG.uniform((105, 705), (395, 895), size=(300, 2))
    late = [START + timedelta(weeks=9, hours=int(h)) for h in RNG.uniform(0, 3 * 7 * 24, 300)]
    cases_add(lattice, block, reported_at=late)
    body = (
        client_for("planner")
        .get(URL, {"reported_after": "2026-01-05", "reported_before": "2026-03-30"})
        .json()
    )
    assert body["summary"]["weeks"] == 12
    codes = {rc: g.code for rc, g in lattice["grids"].items()}
    props = {f["properties"]["cell"]: f["properties"] for f in body["features"]}
    assert props[codes[7, 2]]["label"] == "new"
    assert body["summary"]["labels"]["new"] >= 1


@pytest.mark.django_db
def test_h3_hexagons(lattice, client_for):
    _plant(lattice)
    body = client_for("planner").get(URL, {"unit": "h3", "resolution": "10"}).json()
    summary = body["summary"]
    assert summary["unit"] == "h3" and summary["resolution"] == 10
    assert summary["cases"] == 600 + 9 * 40
    # 1 km² at ~15,000 m² a hexagon: some 60-80 cells whose centres lie in the district.
    assert 50 < summary["cells"] < 110
    assert all(len(f["properties"]["cell"]) == 15 for f in body["features"])
    hot = [f for f in body["features"] if f["properties"]["bin"] == 3]
    assert hot
    # The hottest hexagon lies over the block (x 100-400, y 600-900 in local metres).
    from tests.factories import local_xy

    best = max(body["features"], key=lambda f: f["properties"]["gi_z"])
    ring = np.array(best["geometry"]["coordinates"][0])
    x, y = local_xy(*ring.mean(axis=0))
    assert 50 < x < 450 and 550 < y < 950


BAD = [
    ({"unit": "hexagons"}, "unit", "unknown unit"),
    ({"unit": "h3", "resolution": "15"}, "resolution", "resolution must be"),
    ({"resolution": "9"}, "resolution", "only for unit=h3"),
    ({"permutations": "-1"}, "permutations", "must be 0"),
    ({"permutations": "many"}, "permutations", "whole number"),
    ({"fdr": "perhaps"}, "fdr", "true or false"),
    ({"category": "E9802"}, "filters", "no case matches"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "words"), BAD)
def test_bad_input(lattice, client_for, params, field, words):
    cases_add(lattice, RNG.uniform(1, 999, size=(30, 2)))
    response = client_for("planner").get(URL, params)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])


@pytest.mark.django_db
def test_command(lattice, tmp_path):
    _plant(lattice)
    out = tmp_path / "hot.geojson"
    stdout = io.StringIO()
    call_command("hotspots", out=out, stdout=stdout)
    collection = json.loads(out.read_text())
    assert len(collection["features"]) == SIDE * SIDE
    assert "hot_99" in stdout.getvalue()
    with pytest.raises(CommandError, match="unknown unit"):
        call_command("hotspots", out=tmp_path / "bad.geojson", unit="squares")
    assert not (tmp_path / "bad.geojson").exists()

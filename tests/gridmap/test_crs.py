"""CRS handling: GCJ-02 and BD-09 to and from WGS-84, and ``srs`` parsing (gridmap/crs.py).

Property tests (hypothesis) over China's bounding box, plus the published reference values of
the forward formulas, so that a typo in a constant cannot hide behind a round trip that is
consistent with itself.

What was measured here (2 M random points each) and is asserted below:

- round trips WGS-84 → GCJ-02 → WGS-84 and WGS-84 → BD-09 → WGS-84 come back within 1e-7 m
  anywhere in the box except a strip about 0.015° wide along its edges. There a GCJ-02
  coordinate can have two WGS-84 preimages: a shifted point from just inside the box and the
  same point unshifted from just outside it; the inverse picks the unshifted one. The strip lies
  outside China's territory (the box runs 1.5° beyond China's westernmost point, 2.2° beyond its
  northernmost and 2.7° beyond its easternmost), so the properties are asserted 0.05° inside it.
- the GCJ-02 offset is at most ~735 m in the whole box, and between ~115 and ~717 m east of 100° E
  (all of eastern and central China); west of that it dips to ~18 m (Qinghai, the Gansu
  corridor), so "hundreds of metres" holds for eastern China only. BD-09 adds up to ~800 m more.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from gridmap import crs

# China's bounding box as crs.out_of_china draws it.
WEST, SOUTH, EAST, NORTH = 72.004, 0.8293, 137.8347, 55.8271
EDGE_STRIP = 0.05  # degrees; see the module docstring

_geod = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> float:
    """Geodesic distance on the WGS-84 ellipsoid, metres (arrays give the largest)."""
    _, _, distance = _geod.inv(
        np.broadcast_to(lon1, np.shape(lon2)), np.broadcast_to(lat1, np.shape(lat2)), lon2, lat2
    )
    return float(np.max(distance))


def lonlat_in(west, south, east, north):
    return st.tuples(
        st.floats(west, east, allow_nan=False, allow_infinity=False),
        st.floats(south, north, allow_nan=False, allow_infinity=False),
    )


in_china_box = lonlat_in(
    WEST + EDGE_STRIP, SOUTH + EDGE_STRIP, EAST - EDGE_STRIP, NORTH - EDGE_STRIP
)
# Eastern and central China (and its neighbours at those longitudes: the formula knows no borders).
east_of_100 = lonlat_in(100.0, 18.0, 135.1, 53.6)

outside_china_box = st.one_of(
    lonlat_in(-180.0, -90.0, WEST - 1e-9, 90.0),
    lonlat_in(EAST + 1e-9, -90.0, 180.0, 90.0),
    lonlat_in(-180.0, NORTH + 1e-9, 180.0, 90.0),
    lonlat_in(-180.0, -90.0, 180.0, SOUTH - 1e-9),
)


# --- reference values ----------------------------------------------------------------------------


# The widely used reference implementation (coordtransform, its README): Tiananmen, 116.404 E,
# 39.915 N. Its inverses are one-step approximations; ours iterate, so only the forward
# formulas must agree to the last digits.
def test_the_forward_formulas_give_the_published_reference_values():
    assert np.allclose(
        crs.wgs84_to_gcj02(116.404, 39.915), (116.41024449916938, 39.91640428150164), atol=1e-12
    )
    assert np.allclose(
        crs.gcj02_to_bd09(116.404, 39.915), (116.41036949371029, 39.92133699351021), atol=1e-12
    )
    assert np.allclose(
        crs.wgs84_to_bd09(116.404, 39.915), (116.41662724378733, 39.922699552216216), atol=1e-12
    )


def test_the_iterated_inverses_agree_with_the_published_approximations_within_centimetres():
    # coordtransform's one-step inverses are accurate to a few centimetres (GCJ-02) or
    # decimetres (BD-09); the iterated ones must be within that of them.
    assert metres(116.39775550083061, 39.91359571849836, *crs.gcj02_to_wgs84(116.404, 39.915)) < 0.5
    assert metres(116.39762729119315, 39.90865673957631, *crs.bd09_to_gcj02(116.404, 39.915)) < 0.5


def test_the_offset_in_zhengzhou_is_about_580_metres():
    # The demo district's city: a phone's AMap coordinate there is ~0.6 km off its GPS position.
    assert 500 < metres(113.7, 34.7, *crs.wgs84_to_gcj02(113.7, 34.7)) < 650


# --- round trips ---------------------------------------------------------------------------------


@given(in_china_box)
def test_wgs84_to_gcj02_and_back_is_within_half_a_metre(point):
    lon, lat = point
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back) < 0.5


@given(in_china_box)
def test_wgs84_to_bd09_and_back_is_within_half_a_metre(point):
    lon, lat = point
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 0.5


@given(in_china_box)
def test_gcj02_to_bd09_and_back_is_within_half_a_metre(point):
    lon, lat = point
    back = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 0.5


@given(in_china_box)
def test_to_wgs84_inverts_the_offsets(point):
    lon, lat = point
    assert metres(lon, lat, *crs.to_wgs84(*crs.wgs84_to_gcj02(lon, lat), "gcj02")) < 0.5
    assert metres(lon, lat, *crs.to_wgs84(*crs.wgs84_to_bd09(lon, lat), "bd09")) < 0.5


# --- size of the offsets -------------------------------------------------------------------------


@given(in_china_box)
def test_the_gcj02_offset_is_under_a_kilometre_anywhere_in_the_box(point):
    lon, lat = point
    assert metres(lon, lat, *crs.wgs84_to_gcj02(lon, lat)) < 1000


@given(east_of_100)
def test_the_gcj02_offset_is_hundreds_of_metres_in_eastern_china(point):
    lon, lat = point
    assert 100 < metres(lon, lat, *crs.wgs84_to_gcj02(lon, lat)) < 1000


@given(in_china_box)
def test_the_bd09_offset_is_under_two_kilometres(point):
    lon, lat = point
    assert metres(lon, lat, *crs.wgs84_to_bd09(lon, lat)) < 2000


# --- outside China: no offset --------------------------------------------------------------------

_ALL = [
    crs.wgs84_to_gcj02,
    crs.gcj02_to_wgs84,
    crs.gcj02_to_bd09,
    crs.bd09_to_gcj02,
    crs.wgs84_to_bd09,
    crs.bd09_to_wgs84,
]


@given(outside_china_box)
def test_outside_the_box_every_function_is_the_identity(point):
    lon, lat = point
    assert crs.out_of_china(lon, lat)
    for function in _ALL:
        out_lon, out_lat = function(lon, lat)
        assert (float(out_lon), float(out_lat)) == (lon, lat), function.__name__
    for srs in ("gcj02", "bd09"):
        assert tuple(map(float, crs.to_wgs84(lon, lat, srs))) == (lon, lat)


# --- arrays and scalars --------------------------------------------------------------------------


@settings(max_examples=50)
@given(
    st.lists(
        st.one_of(in_china_box, outside_china_box),
        min_size=1,
        max_size=40,
    )
)
def test_arrays_give_what_scalars_give(points):
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    for function in _ALL:
        array_lon, array_lat = function(lons, lats)
        assert array_lon.shape == lons.shape
        scalar = np.array([tuple(map(float, function(lon, lat))) for lon, lat in points])
        # The iterated inverses stop when every element has converged, so an element of an
        # array may take an extra (sub-nanodegree) step that it would not take alone.
        np.testing.assert_allclose(array_lon, scalar[:, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(array_lat, scalar[:, 1], rtol=0, atol=1e-9)


def test_to_wgs84_with_an_epsg_code_projects_like_pyproj():
    x = np.array([470_000.0, 480_500.0])
    y = np.array([3_830_000.0, 3_836_250.0])
    lon, lat = crs.to_wgs84(x, y, 4547)
    expected = Transformer.from_crs(4547, 4326, always_xy=True).transform(x, y)
    np.testing.assert_allclose(lon, expected[0])
    np.testing.assert_allclose(lat, expected[1])
    same_lon, same_lat = crs.to_wgs84(lon, lat, 4326)
    assert same_lon.tolist() == lon.tolist() and same_lat.tolist() == lat.tolist()


# --- parse_srs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_srs", "expected"),
    [
        (None, 4326),
        ("", 4326),
        (4326, 4326),
        (4490, 4490),
        ("4547", 4547),
        ("EPSG:4490", 4490),
        ("epsg:4490", 4490),
        ("  EPSG:3857 ", 3857),
        ("wgs84", 4326),
        ("WGS-84", 4326),
        ("WGS 84", 4326),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        ("mars", "gcj02"),
        ("AMap", "gcj02"),
        ("gaode", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("Baidu", "bd09"),
    ],
)
def test_parse_srs_accepts_the_documented_spellings(given_srs, expected):
    assert crs.parse_srs(given_srs) == expected


@pytest.mark.parametrize(
    "garbage",
    ["foo", "epsg:", "EPSG:abc", "4326.0", "-4326", "0", 0, 999_999, "EPSG:999999", "²", "４３２６",
     True, 3.5, "gcj-03", "bd 09"],
)  # fmt: skip
def test_parse_srs_rejects_garbage_naming_what_it_accepts(garbage):
    with pytest.raises(crs.UnknownSRS) as caught:
        crs.parse_srs(garbage)
    message = str(caught.value)
    assert repr(garbage) in message
    assert "EPSG" in message and "gcj02" in message and "bd09" in message


_SPELLINGS = crs.GCJ02_NAMES | crs.BD09_NAMES | {"wgs84", "wgs-84", "wgs 84", ""}


@given(st.text(max_size=12))
def test_parse_srs_answers_any_text_with_a_code_or_unknown_srs(text):
    try:
        result = crs.parse_srs(text)
    except crs.UnknownSRS as exc:
        assert "gcj02" in str(exc)
        return
    stripped = text.strip().lower().removeprefix("epsg:")
    assert result in ("gcj02", "bd09") or (isinstance(result, int) and result > 0)
    assert stripped in _SPELLINGS or (stripped.isascii() and stripped.isdigit())


def test_out_of_china_draws_the_box():
    assert not crs.out_of_china(113.7, 34.7)  # Zhengzhou
    assert crs.out_of_china(139.7, 35.7)  # Tokyo
    assert crs.out_of_china(2.35, 48.86)  # Paris
    assert list(crs.out_of_china([113.7, 139.7], [34.7, 35.7])) == [False, True]

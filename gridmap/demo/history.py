"""A year of closed cases for the demo district (历史案卷), with hotspots planted where a city-
management centre finds them: ``python -m gridmap.demo.history fixtures/history``.

The year runs from 2025-11-01 to 2026-10-31 (Asia/Shanghai). Cases come from sources, each with
a place, a mix of categories, a daily rate and hours of the day:

- the four **markets** (农贸市场): street vending, litter, overflowing bins, every day, busier at
  weekends and in summer. One of them (the first by code) is *relocated* in the spring: its
  cases fade to a trickle after week 20 — a **diminishing** hotspot;
- the six **schools**: hawkers, double-parking and flyers at the gates on school days, nothing in
  the winter and summer holidays;
- the three **construction sites** (在建工地): dust, muddy trucks, muck, night work. The first
  works all year (a persistent hotspot); the second starts in week 22 and grows busier
  (**intensifying**); the third starts in week 44 (**new**);
- **restaurants**: cooking fumes and kitchen waste, weakly clustered;
- the **background**: everything else, anywhere in the district, with a weekly rhythm.

Every case runs the whole loop (reported, filed, dispatched, arrived, handled, verified, closed)
with realistic delays; about 8 % are late (disposal past its limit) and 4 % reworked (返工:
verification failed once, the note says so, it closes a day later).

The output is an archive as an old system exports it — ``cases.csv.gz`` with Chinese column
names, UTF-8, WGS-84 points — and ``mapping.yaml`` for ``import_cases``, which is how the demo
loader reads it (``history_load``): the same importer a district uses for its real history, so
the year gets events and clock rows like any imported archive. Deterministic (seeded; gzip
without a time stamp): re-running gives byte-identical files. Needs no Django or database.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

SEED = 20251101
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 11, 1, tzinfo=TZ)
DAYS = 365
METRIC_SRID = 4547
ARCHIVE = "cases.csv.gz"
MAPPING = "mapping.yaml"
#: Archive ids: a prefix, the report date and a serial number.
ID_PREFIX = "MHLS"
#: School holidays (inclusive day ranges since START): winter 2026-01-24..02-28, summer
#: 2026-07-04..08-31.
SCHOOL_HOLIDAYS = ((84, 119), (245, 303))
#: Weeks (since START) of the planted changes.
MARKET_RELOCATED_WEEK = 20
SITE_TWO_STARTS_WEEK = 22
SITE_THREE_STARTS_WEEK = 44
LATE_SHARE = 0.08
REWORK_SHARE = 0.04

SOURCES = ("inspector", "camera", "hotline", "public")
SOURCE_NAMES = {
    "inspector": "监督员上报",
    "camera": "视频发现",
    "hotline": "12345热线",
    "public": "公众举报",
}
SOURCE_SHARES = (0.55, 0.2, 0.15, 0.1)

MAPPING_TEXT = """\
# Mapping of the demo district's generated history (gridmap/demo/history.py) for import_cases.
file:
  encoding: utf-8
  timezone: Asia/Shanghai
columns:
  id: 案卷编号
  category: 问题小类
  source: 问题来源
  lon: 经度
  lat: 纬度
  address: 问题地址
  description: 问题描述
  reported_at: 上报时间
  filed_at: 立案时间
  dispatched_at: 派遣时间
  arrived_at: 到场时间
  handled_at: 处置时间
  verified_at: 核查时间
  closed_at: 结案时间
  on_time: 是否按期
values:
  source:
    监督员上报: inspector
    视频发现: camera
    12345热线: hotline
    公众举报: public
"""


@dataclass(frozen=True)
class Source:
    """Where and when one kind of case happens.

    ``rate(day)`` is the expected number of cases per day (day 0 = START), ``spread_m`` the
    standard deviation of their distance from ``centre`` (None: anywhere in the district),
    ``hours`` the weights of the 24 hours, ``categories`` minor names with weights.
    """

    name: str
    centre: tuple[float, float] | None
    spread_m: float
    rate: Callable[[np.ndarray], np.ndarray]
    hours: np.ndarray
    categories: dict[str, float]
    place: str = ""
    address: str = ""


def _hours(*peaks: tuple[int, int, float], base: float = 0.05) -> np.ndarray:
    weights = np.full(24, base)
    for first, last, weight in peaks:
        weights[first : last + 1] += weight
    weights[:6] *= 0.2
    return weights / weights.sum()


def _weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday for each day since START."""
    return np.array([(START + timedelta(days=int(d))).weekday() for d in days])


def _season(days: np.ndarray, amplitude: float) -> np.ndarray:
    """1 ± amplitude, highest in mid-July (day ~256)."""
    return 1 + amplitude * np.cos(2 * np.pi * (days - 256) / 365)


def _school_days(days: np.ndarray) -> np.ndarray:
    open_ = _weekday(days) < 5
    for first, last in SCHOOL_HOLIDAYS:
        open_ &= ~((days >= first) & (days <= last))
    return open_.astype(float)


def _from_week(week: int, ramp_weeks: float) -> Callable[[np.ndarray], np.ndarray]:
    """0 before ``week``, then rising to 1 over ``ramp_weeks``."""

    def factor(days: np.ndarray) -> np.ndarray:
        since = (days - week * 7) / (ramp_weeks * 7)
        return np.clip(since, 0, 1) * (days >= week * 7)

    return factor


MARKET = {"占道经营": 4, "无照经营游商": 2, "暴露垃圾": 2, "垃圾满溢": 1.5, "店外经营": 1.5}
SCHOOL = {"无照经营游商": 3, "机动车乱停放": 2, "非法小广告": 1, "散发小广告": 1}
SITE = {"工地扬尘": 3, "车辆带泥上路": 2, "建筑垃圾渣土": 2, "渣土车未密闭": 1.5, "夜间违规施工": 1}
RESTAURANT = {"餐饮油烟": 3, "餐厨垃圾违规处置": 1, "露天烧烤": 1}
BACKGROUND = {
    "暴露垃圾": 3,
    "道路保洁": 2,
    "非机动车乱停放": 2,
    "机动车乱停放": 2,
    "非法小广告": 2,
    "垃圾满溢": 1.5,
    "乱堆物堆料": 1,
    "共享单车堆积": 1,
    "违规户外广告": 0.5,
    "沿街晾晒": 0.5,
    "道路积水": 0.3,
}


def _read(directory: Path, name: str) -> list[dict]:
    return json.loads((directory / name).read_text(encoding="utf-8"))["features"]


def sources_plan(geo: Path, to_metric: Transformer) -> tuple[list[Source], shapely.Geometry]:
    """The sources of cases of the demo district in ``geo`` (fixtures/geo), metric CRS."""
    district = shapely.from_geojson(json.dumps(_read(geo, "district.geojson")[0]["geometry"]))
    district = shapely.transform(
        district, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))
    )
    pois = sorted(_read(geo, "pois.geojson"), key=lambda f: f["properties"]["code"])
    sites = sorted(_read(geo, "construction_sites.geojson"), key=lambda f: f["properties"]["code"])

    def xy(lon: float, lat: float) -> tuple[float, float]:
        x, y = to_metric.transform(lon, lat)
        return float(x), float(y)

    out: list[Source] = []
    markets = [p for p in pois if p["properties"]["kind"] == "market"]
    for k, poi in enumerate(markets):
        props = poi["properties"]
        relocated = k == 0

        def market_rate(days, relocated=relocated):
            weekend = np.where(_weekday(days) >= 5, 1.35, 1.0)
            rate = 2.6 * weekend * _season(days, 0.12)
            if relocated:
                rate = rate * np.where(days < MARKET_RELOCATED_WEEK * 7, 1.4, 0.08)
            return rate

        out.append(
            Source(
                name=f"market {props['code']}",
                centre=xy(*poi["geometry"]["coordinates"]),
                spread_m=45,
                rate=market_rate,
                hours=_hours((6, 10, 1.0), (17, 21, 1.2)),
                categories=MARKET,
                place=props["name"],
                address=props.get("address", ""),
            )
        )
    for poi in (p for p in pois if p["properties"]["kind"] == "school"):
        props = poi["properties"]
        out.append(
            Source(
                name=f"school {props['code']}",
                centre=xy(*poi["geometry"]["coordinates"]),
                spread_m=40,
                rate=lambda days: 1.6 * _school_days(days),
                hours=_hours((7, 8, 1.0), (11, 12, 0.6), (16, 17, 1.0), base=0.0),
                categories=SCHOOL,
                place=props["name"],
                address=props.get("address", ""),
            )
        )
    starts = (
        (lambda days: np.ones(len(days)), 1.8),
        (_from_week(SITE_TWO_STARTS_WEEK, 16), 3.0),
        (_from_week(SITE_THREE_STARTS_WEEK, 2), 8.0),
    )
    for site, (active, scale) in zip(sites, starts, strict=False):
        props = site["properties"]
        shape = shapely.from_geojson(json.dumps(site["geometry"]))
        c = shape.centroid

        def site_rate(days, active=active, scale=scale):
            working = np.where(_weekday(days) == 6, 0.5, 1.0)
            return scale * active(days) * working * _season(days, 0.1)

        out.append(
            Source(
                name=f"site {props['code']}",
                centre=xy(c.x, c.y),
                spread_m=45,
                rate=site_rate,
                hours=_hours((7, 18, 1.0), (22, 23, 0.4)),
                categories=SITE,
                place=props["name"],
            )
        )
    for poi in (p for p in pois if p["properties"]["kind"] == "restaurant"):
        props = poi["properties"]
        out.append(
            Source(
                name=f"restaurant {props['code']}",
                centre=xy(*poi["geometry"]["coordinates"]),
                spread_m=25,
                rate=lambda days: 0.05 * _season(days, 0.3),
                hours=_hours((11, 13, 1.0), (17, 22, 1.5)),
                categories=RESTAURANT,
                place=props["name"],
                address=props.get("address", ""),
            )
        )
    out.append(
        Source(
            name="background",
            centre=None,
            spread_m=0,
            rate=lambda days: 32 * np.where(_weekday(days) >= 5, 0.8, 1.0) * _season(days, 0.15),
            hours=_hours((8, 18, 1.0)),
            categories=BACKGROUND,
        )
    )
    return out, district


def _points(source: Source, n: int, district, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a source inside the district (resampled until they all are)."""
    out = np.empty((0, 2))
    minx, miny, maxx, maxy = district.bounds
    while len(out) < n:
        want = (n - len(out)) * 2 + 10
        if source.centre is None:
            pts = np.column_stack([rng.uniform(minx, maxx, want), rng.uniform(miny, maxy, want)])
        else:
            pts = rng.normal(source.centre, source.spread_m, size=(want, 2))
        pts = pts[shapely.contains_xy(district, pts[:, 0], pts[:, 1])]
        out = np.vstack([out, pts])
    return out[:n]


def _minutes(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, n)


def cases_generate(geo: Path) -> pd.DataFrame:
    """The year of cases as the archive's table (Chinese column names), ordered by report."""
    rng = np.random.default_rng(SEED)
    to_metric = Transformer.from_crs(4326, METRIC_SRID, always_xy=True)
    to_wgs84 = Transformer.from_crs(METRIC_SRID, 4326, always_xy=True)
    sources, district = sources_plan(geo, to_metric)
    days = np.arange(DAYS)
    parts = []
    for source in sources:
        per_day = rng.poisson(source.rate(days))
        n = int(per_day.sum())
        if n == 0:
            continue
        day = np.repeat(days, per_day)
        hour = rng.choice(24, size=n, p=source.hours)
        second = rng.integers(0, 3600, n)
        names = list(source.categories)
        weights = np.array([source.categories[c] for c in names])
        category = rng.choice(names, size=n, p=weights / weights.sum())
        pts = _points(source, n, district, rng)
        parts.append(
            pd.DataFrame(
                {
                    "offset_s": day * 86400 + hour * 3600 + second,
                    "category": category,
                    "x": pts[:, 0],
                    "y": pts[:, 1],
                    "place": source.place,
                    "address": source.address,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True).sort_values(["offset_s", "x"], kind="stable")
    frame = frame.reset_index(drop=True)
    return _archive_table(frame, rng, to_wgs84)


def _archive_table(frame: pd.DataFrame, rng: np.random.Generator, to_wgs84) -> pd.DataFrame:
    """The loop's timestamps, sources, ids and text of each case."""
    n = len(frame)
    reported = pd.Timestamp(START) + pd.to_timedelta(frame["offset_s"], unit="s")
    late = rng.random(n) < LATE_SHARE
    rework = rng.random(n) < REWORK_SHARE
    filed = reported + pd.to_timedelta(
        np.where(rng.random(n) < 0.06, _minutes(rng, n, 6, 20), _minutes(rng, n, 0.5, 4.5)), "min"
    )
    dispatched = filed + pd.to_timedelta(_minutes(rng, n, 0.2, 1.5), "min")
    arrived = dispatched + pd.to_timedelta(
        np.where(rng.random(n) < 0.1, _minutes(rng, n, 11, 40), _minutes(rng, n, 3, 10)), "min"
    )
    handled = arrived + pd.to_timedelta(
        np.where(late, _minutes(rng, n, 1500, 4300), _minutes(rng, n, 20, 300)), "min"
    )
    verified = handled + pd.to_timedelta(
        _minutes(rng, n, 15, 80) + np.where(rework, 1440, 0), "min"
    )
    closed = verified + pd.to_timedelta(_minutes(rng, n, 2, 20), "min")
    lon, lat = to_wgs84.transform(frame["x"].to_numpy(), frame["y"].to_numpy())
    source = rng.choice(SOURCES, size=n, p=SOURCE_SHARES)
    local_day = reported.dt.strftime("%Y%m%d")
    serial = local_day.groupby(local_day).cumcount() + 1
    place = frame["place"].where(frame["place"] != "", "")
    description = np.where(place != "", place + "附近" + frame["category"], frame["category"])
    description = np.where(rework, description + "（核查未通过，返工一次）", description)

    def text(times: pd.Series) -> pd.Series:
        return times.dt.strftime("%Y-%m-%d %H:%M:%S")

    return pd.DataFrame(
        {
            "案卷编号": ID_PREFIX + local_day + serial.map("{:05d}".format),
            "问题小类": frame["category"],
            "问题来源": [SOURCE_NAMES[s] for s in source],
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
            "问题地址": frame["address"],
            "问题描述": description,
            "上报时间": text(reported),
            "立案时间": text(filed),
            "派遣时间": text(dispatched),
            "到场时间": text(arrived),
            "处置时间": text(handled),
            "核查时间": text(verified),
            "结案时间": text(closed),
            "是否按期": np.where(late, "超期", "按期"),
        }
    )


def history_write(geo: Path, out: Path) -> int:
    """Write ``cases.csv.gz`` and ``mapping.yaml`` into ``out``; returns the number of cases."""
    table = cases_generate(geo)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(
        out / ARCHIVE,
        index=False,
        encoding="utf-8",
        compression={"method": "gzip", "mtime": 0, "compresslevel": 9},
    )
    (out / MAPPING).write_text(MAPPING_TEXT, encoding="utf-8")
    return len(table)


def history_load(directory: Path, *, progress=None):
    """Import the history in ``directory`` with ``import_cases``'s importer (cases already
    imported are skipped, so loading twice adds nothing). Returns the importer's report; raises
    ``cases.archive.ArchiveError`` when the files are unusable."""
    from cases.archive import ArchiveError, archive_import, mapping_load

    report = archive_import(
        path=directory / ARCHIVE, mapping=mapping_load(directory / MAPPING), progress=progress
    )
    if not report.ok:
        raise ArchiveError("; ".join(report.lines(limit=5)))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory to write (e.g. fixtures/history)")
    parser.add_argument(
        "--geo", type=Path, default=Path("fixtures/geo"), help="the demo district's files"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    n = history_write(args.geo, args.out)
    print(f"{n:,} cases written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

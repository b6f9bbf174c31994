"""Address search (地理编码 in the sense of CJ/T 215): find places by name, address or code.

A hotline operator types what the caller says — 航海东路, 锦荣社区, 鸿福炒鸡店, 经南五路217号,
航海东路与经开第八大街交叉口, a grid code read off a sign — and gets places to zoom to:

- ``road``: a named road. Roads are stored as many segments with the same name (one per edge of
  the road network), so the segments of one name come back as one result, whose point is the
  point on the road nearest its middle (the centroid of all its segments, which may lie off a
  curved road, pulled onto the road).
- ``intersection``: two roads in one query, "航海东路与经开第八大街", "航海东路 经开第八大街",
  "经开第八大街和航海东路", "经开第八大街/航海东路", "…交叉口", or run together. The point is
  where the unions of the two roads meet; when they meet several times, the meeting point nearest
  the centre of the two roads taken together.
- ``poi`` (name or address), ``building`` (name or code), ``community``, ``subdistrict``,
  ``grid`` (name, or code by prefix: 410171001001 lists that community's grids), ``zone`` (name;
  frontage zones 门前五包 also by holder, the shop; other zones' holders are people, not searched
  on a public endpoint), ``water`` (rivers, lakes: callers report by them).

Matching is case-insensitive. Every whitespace-separated word must occur in the name (or address,
or holder); a code-like query (letters and digits) also matches codes by prefix. One-character
queries match only at the start of a name: as a substring, one character matches too much to help.

Ranking: exact matches first (name or code equal to the query), then prefixes, then substrings,
then rows matched word by word, a match in the name before the same match in an address or
holder; shorter names first; then broader kinds (subdistrict, community, road…) before narrower
ones. Intersections, when the query names two roads, come before all.

Speed: one statement for everything but intersections. Each kind's rows are found through GIN
indexes (migration 0003): trigrams for words of three characters or more, character bigrams for
two-character words (pg_trgm extracts no trigram from them, see the migration), trigram prefixes
for one character. Only the best ``limit`` rows are then given geometry, a point in WGS-84 and
the area they lie in, so a broad query ("经开", matching hundreds of rows) costs a sort of small
rows, not hundreds of unions and transforms.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass

from django.db import connection

from ..models import WGS84, PointOfInterest, ResponsibilityZone, Road, Water

#: Every kind of result, in the order that breaks ties between equally good matches.
KINDS: tuple[str, ...] = (
    "intersection",
    "subdistrict",
    "community",
    "road",
    "poi",
    "building",
    "water",
    "grid",
    "zone",
)
MAX_LIMIT = 50
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class SearchHit:
    """One place found: where to zoom to (WGS-84 degrees) and how to name it.

    ``code`` is None for an intersection (it is no stored feature). ``bbox`` is (min lon, min lat,
    max lon, max lat) for things with an extent (areas, buildings, roads), None for points.
    """

    kind: str
    code: str | None
    name: str
    detail: str
    lon: float
    lat: float
    bbox: tuple[float, float, float, float] | None = None


# --- The query text ----------------------------------------------------------------------------

# Full-width letters and digits (ＫＦＣ, ４１０１７１) become ASCII; full-width punctuation stays,
# because names are written with it (瑞丰超市（经开第十六大街店）).
_FULLWIDTH_ALNUM = {
    c: c - 0xFEE0 for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
}
_CODE_LIKE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
_MAX_WORDS = 5


def normalize_query(q: str) -> str:
    """The query as searched: full-width letters and digits in ASCII, whitespace collapsed."""
    return " ".join(q.translate(_FULLWIDTH_ALNUM).split())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


# --- Intersections -----------------------------------------------------------------------------

# "A与B", "A和B", "A跟B", "A及B", "A同B", "A交B", "A/B", "A&B", "A、B", "A,B", "A×B", "A+B", "A B".
# A separator inside a road name (和平路, 交通路) only makes a split whose halves are no roads.
_SEPARATOR = re.compile(r"\s*(?:与|和|跟|及|同|交|[&＆/／\\、,，×+＋]|\s)\s*")
# Every one of these that the query ends with is cut off in turn, and the query is also tried as
# it is: in "明湖路口" the suffix may be 路口 (a road called 明湖) or 口 (明湖路).
_SUFFIXES = ("十字路口", "交叉路口", "交叉口", "交汇处", "交汇口", "交口", "路口", "口", "处")
# Characters that end a Chinese road name: "航海东路经开第八大街" splits after 路.
_ROAD_ENDINGS = frozenset("路街道巷弄线")
_MAX_NAMES_PER_PART = 3
_MAX_PAIRS = 6


def _might_name_two_roads(q: str) -> bool:
    return len(q) >= 4 and (
        _SEPARATOR.search(q) is not None
        or q.endswith(_SUFFIXES)
        or any(c in _ROAD_ENDINGS for c in q[:-1])
    )


def _readings(q: str) -> list[tuple[str, str]]:
    """Every (left, right) that the query may be cut into, in order, without repeats."""
    bodies = [q] + [q[: -len(s)].rstrip() for s in _SUFFIXES if q.endswith(s)]
    cuts: dict[tuple[str, str], None] = {}
    for body in bodies:
        places = [(m.start(), m.end()) for m in _SEPARATOR.finditer(body)]
        places += [(i + 1, i + 1) for i, c in enumerate(body[:-1]) if c in _ROAD_ENDINGS]
        for start, end in places:
            left, right = body[:start].strip(), body[end:].strip()
            if len(left) >= 2 and len(right) >= 2:
                cuts[(left, right)] = None
    return list(cuts)


class _RoadNames:
    """Which road names a part of a query means, and how well: 0 exact, 1 prefix, 2 substring,
    3 the part's characters in order (经开八大街 for 经开第八大街, 航海路 for 航海东路)."""

    def __init__(self, names: list[str]) -> None:
        self.exact = {n.lower(): n for n in names}
        self.names = sorted(names, key=lambda n: (len(n), n))
        self._fuzzy: dict[str, tuple[int, list[str]]] = {}

    def fuzzy(self, part: str) -> tuple[int, list[str]]:
        if part not in self._fuzzy:
            p = part.lower()
            in_order = re.compile(".*?".join(map(re.escape, p))) if len(p) >= 3 else None
            tests = (
                lambda n: n.startswith(p),
                lambda n: p in n,
                lambda n: in_order is not None and in_order.search(n) is not None,
            )
            self._fuzzy[part] = (4, [])
            for tier, test in enumerate(tests, start=1):
                found = [n for n in self.names if test(n.lower())][:_MAX_NAMES_PER_PART]
                if found:
                    self._fuzzy[part] = (tier, found)
                    break
        return self._fuzzy[part]


def split_intersection(q: str, road_names: list[str]) -> list[tuple[str, str]]:
    """Pairs of road names that the query may name as an intersection, best reading first.

    Cuts the query at every separator and after every road-name ending (路, 街…), with and without
    an intersection suffix (交叉口, 路口…); both halves must mean roads. When some cut gives two
    exact road names, those are the answer (a dictionary look-up per cut); only otherwise are the
    halves read as prefixes, substrings or abbreviations, which scans the names.
    """
    roads = _RoadNames(road_names)
    cuts = _readings(q)
    exact = [
        (roads.exact[left.lower()], roads.exact[right.lower()])
        for left, right in cuts
        if left.lower() in roads.exact and right.lower() in roads.exact
    ]
    if exact:
        candidates = [([a], [b]) for a, b in exact]
    else:
        scored = []
        for left, right in cuts:
            left_tier, left_names = roads.fuzzy(left)
            if left_names:
                right_tier, right_names = roads.fuzzy(right)
                if right_names:
                    scored.append((left_tier + right_tier, left_names, right_names))
        candidates = [(a, b) for _, a, b in sorted(scored, key=lambda r: r[0])]
    pairs: dict[frozenset[str], tuple[str, str]] = {}
    for left_names, right_names in candidates:
        for a in left_names:
            for b in right_names:
                if a != b:
                    pairs.setdefault(frozenset((a, b)), (a, b))
    return list(pairs.values())[:_MAX_PAIRS]


def _intersection_name(a: str, b: str) -> str:
    return f"{a}与{b}交叉口" if _has_cjk(a) and _has_cjk(b) else f"{a} & {b}"


# Both roads are unions of their segments. The centre that picks one of several meeting points
# is the centroid of both roads together, so the pick does not depend on which road came first.
_INTERSECTIONS_SQL = f"""
SELECT p.a, p.b, ST_X(w.pt), ST_Y(w.pt),
       (SELECT c.name FROM gridmap_community c WHERE ST_Covers(c.geom, x.pt)
        ORDER BY c.code LIMIT 1)
FROM unnest(%(a)s::text[], %(b)s::text[]) WITH ORDINALITY AS p(a, b, n)
CROSS JOIN LATERAL (SELECT ST_Union(geom) AS g FROM gridmap_road WHERE name = p.a) ra
CROSS JOIN LATERAL (SELECT ST_Union(geom) AS g FROM gridmap_road WHERE name = p.b) rb
CROSS JOIN LATERAL (SELECT ST_Intersection(ra.g, rb.g) AS g) i
CROSS JOIN LATERAL (
    SELECT ST_ClosestPoint(i.g, ST_Centroid(ST_Collect(ra.g, rb.g))) AS pt
) x
CROSS JOIN LATERAL (SELECT ST_Transform(x.pt, {WGS84}) AS pt) w
WHERE ra.g && rb.g AND NOT ST_IsEmpty(i.g)
ORDER BY p.n
"""


def _intersections(cursor, q: str) -> list[SearchHit]:
    if not _might_name_two_roads(q):
        return []
    cursor.execute("SELECT DISTINCT name FROM gridmap_road WHERE name <> ''")
    pairs = split_intersection(q, [name for (name,) in cursor.fetchall()])
    if not pairs:
        return []
    cursor.execute(_INTERSECTIONS_SQL, {"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    return [
        SearchHit(
            kind="intersection",
            code=None,
            name=_intersection_name(a, b),
            detail=community or "",
            lon=round(lon, 7),
            lat=round(lat, 7),
        )
        for a, b, lon, lat, community in cursor.fetchall()
    ]


# --- Everything else: one statement ------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A column searched by substring; ``guard`` limits it to some rows (frontage holders)."""

    column: str
    guard: str | None = None


@dataclass(frozen=True)
class _Source:
    """A table searched: its text columns (the first is the name), and three columns carried to
    the answer — the id of a parent area (``ref``) and two details (``extra``, ``extra2``)."""

    kind: str
    table: str
    texts: tuple[_Text, ...]
    ref: str = "NULL::bigint"
    extra: str = "''"
    extra2: str = "''"


_SOURCES = {
    s.kind: s
    for s in [
        _Source("subdistrict", "gridmap_subdistrict", (_Text("name"),), ref="district_id"),
        _Source("community", "gridmap_community", (_Text("name"),), ref="subdistrict_id"),
        _Source(
            "poi",
            "gridmap_pointofinterest",
            (_Text("name"), _Text("address")),
            extra="kind",
            extra2="address",
        ),
        _Source("building", "gridmap_building", (_Text("name"),)),
        _Source("water", "gridmap_water", (_Text("name"),), extra="kind"),
        _Source("grid", "gridmap_unitgrid", (_Text("name"),), ref="community_id"),
        _Source(
            "zone",
            "gridmap_responsibilityzone",
            (_Text("name"), _Text("holder", guard="kind = 'frontage'")),
            ref="community_id",
            extra="kind",
            extra2="holder",
        ),
    ]
}
_ROADS = _Source("road", "gridmap_road", (_Text("name"),), extra="road_class")
_PRIORITY = {kind: n for n, kind in enumerate(KINDS)}


class _Query:
    """The SQL pieces and parameters for one normalised query."""

    def __init__(self, q: str) -> None:
        self.q = q
        self.words = list(dict.fromkeys(q.split(" ")))[:_MAX_WORDS]
        self.code_like = _CODE_LIKE.fullmatch(q) is not None
        self.params: dict[str, object] = {
            "q": q,
            "q_prefix": _like_escape(q) + "%",
            "q_contains": "%" + _like_escape(q) + "%",
        }
        for i, word in enumerate(self.words):
            self.params[f"w{i}"] = word
            self.params[f"w{i}_prefix"] = _like_escape(word) + "%"
            self.params[f"w{i}_contains"] = "%" + _like_escape(word) + "%"

    def _word_matches(self, i: int, source: _Source) -> str:
        """Word ``i`` in one of the texts, in the form that the indexes answer (see the migration).

        Trigrams need three characters, so a two-character word is found through the bigram
        indexes (then checked with ILIKE: in the heap scan's filter, where the bigram function
        would cost as much again). A query of one character is a trigram prefix ("  湖", " 湖x");
        a one-character word beside others is a plain filter, the others find the rows.
        """
        n = len(self.words[i])
        alone = len(self.words) == 1
        pattern = f"%(w{i}_prefix)s" if n == 1 and alone else f"%(w{i}_contains)s"
        like = " OR ".join(
            f"({t.guard} AND {t.column} ILIKE {pattern})"
            if t.guard
            else f"{t.column} ILIKE {pattern}"
            for t in source.texts
        )
        if n != 2:
            return f"({like})"
        bigrams = " OR ".join(
            f"gridmap_bigrams({t.column}) @> gridmap_bigrams(%(w{i})s)" for t in source.texts
        )
        return f"({bigrams}) AND ({like})"

    def where(self, source: _Source) -> str:
        """Every word in one of the texts (or, for a code-like query, the code starts with it)."""
        words = " AND ".join(self._word_matches(i, source) for i in range(len(self.words)))
        if self.code_like:
            return f"(({words}) OR code ILIKE %(q_prefix)s)"
        return words

    def rank(self, source: _Source) -> str:
        """0 exact, 2 prefix, 4 substring, 6 word by word: the best over the texts and code.

        A match in the name (or code) counts one better than the same match in a secondary
        text (address, holder): 明湖公园 before a shop at 明湖路246号.
        """
        ranks = []
        for n, text in enumerate(source.texts):
            secondary = min(n, 1)
            case = (
                f"CASE WHEN lower({text.column}) = lower(%(q)s) THEN {secondary} "
                f"WHEN {text.column} ILIKE %(q_prefix)s THEN {2 + secondary} "
                f"WHEN {text.column} ILIKE %(q_contains)s THEN {4 + secondary} ELSE 6 END"
            )
            ranks.append(f"CASE WHEN {text.guard} THEN {case} ELSE 6 END" if text.guard else case)
        if self.code_like:
            ranks.append(
                "CASE WHEN upper(code) = upper(%(q)s) THEN 0 "
                "WHEN code ILIKE %(q_prefix)s THEN 2 ELSE 6 END"
            )
        return ranks[0] if len(ranks) == 1 else "LEAST(" + ", ".join(ranks) + ")"

    def branch(self, source: _Source) -> str:
        return (
            f"SELECT '{source.kind}' AS kind, id, code, name, {self.rank(source)} AS rank, "
            f"char_length(name) AS len, {_PRIORITY[source.kind]} AS prio, {source.ref} AS ref_id, "
            f"{source.extra}::text AS extra, {source.extra2}::text AS extra2 "
            f"FROM {source.table} WHERE {self.where(source)}"
        )

    def road_branch(self) -> str:
        # One row per road name (an unnamed segment stands alone, found by its code).
        return (
            f"SELECT 'road' AS kind, NULL::bigint AS id, min(code) AS code, name, "
            f"min(rank) AS rank, char_length(name) AS len, {_PRIORITY['road']} AS prio, "
            f"NULL::bigint AS ref_id, mode() WITHIN GROUP (ORDER BY road_class)::text AS extra, "
            f"''::text AS extra2 "
            f"FROM (SELECT code, name, road_class, {self.rank(_ROADS)} AS rank "
            f"FROM gridmap_road WHERE {self.where(_ROADS)}) r "
            f"GROUP BY name, CASE WHEN name = '' THEN code END"
        )


# The geometry of each of the best rows: the union of a road's segments, else the row's own.
# Its point: on the road nearest the road's middle; the POI itself; a point inside an area
# (ST_PointOnSurface: a centroid may fall outside an L-shaped grid or a river).
_FINISH_SQL = f"""
SELECT h.kind, h.code, h.name, h.extra, h.extra2,
       ST_X(w.pt), ST_Y(w.pt), ST_XMin(w.box), ST_YMin(w.box), ST_XMax(w.box), ST_YMax(w.box),
       CASE h.kind
         WHEN 'community' THEN (SELECT name FROM gridmap_subdistrict WHERE id = h.ref_id)
         WHEN 'subdistrict' THEN (SELECT name FROM gridmap_district WHERE id = h.ref_id)
         WHEN 'grid' THEN (SELECT name FROM gridmap_community WHERE id = h.ref_id)
         WHEN 'zone' THEN (SELECT name FROM gridmap_community WHERE id = h.ref_id)
         WHEN 'building' THEN (SELECT c.name FROM gridmap_community c
                               WHERE ST_Covers(c.geom, p.pt) ORDER BY c.code LIMIT 1)
       END
FROM hits h
CROSS JOIN LATERAL (SELECT CASE h.kind
    WHEN 'road' THEN (SELECT ST_Union(r.geom) FROM gridmap_road r
                      WHERE CASE WHEN h.name = '' THEN r.code = h.code ELSE r.name = h.name END)
    WHEN 'poi' THEN (SELECT geom FROM gridmap_pointofinterest WHERE id = h.id)
    WHEN 'building' THEN (SELECT geom FROM gridmap_building WHERE id = h.id)
    WHEN 'water' THEN (SELECT geom FROM gridmap_water WHERE id = h.id)
    WHEN 'community' THEN (SELECT geom FROM gridmap_community WHERE id = h.id)
    WHEN 'subdistrict' THEN (SELECT geom FROM gridmap_subdistrict WHERE id = h.id)
    WHEN 'grid' THEN (SELECT geom FROM gridmap_unitgrid WHERE id = h.id)
    WHEN 'zone' THEN (SELECT geom FROM gridmap_responsibilityzone WHERE id = h.id)
  END AS g OFFSET 0) s
CROSS JOIN LATERAL (SELECT CASE h.kind
    WHEN 'road' THEN ST_ClosestPoint(s.g, ST_Centroid(s.g))
    WHEN 'poi' THEN s.g
    ELSE ST_PointOnSurface(s.g)
  END AS pt OFFSET 0) p
CROSS JOIN LATERAL (SELECT ST_Transform(p.pt, {WGS84}) AS pt,
    CASE WHEN h.kind <> 'poi' THEN Box2D(ST_Transform(s.g, {WGS84})) END AS box OFFSET 0) w
ORDER BY h.rank, h.len, h.prio, h.name, h.code
"""


def _label(choices, value: str) -> str:
    return str(dict(choices).get(value, value)) if value else ""


def _detail(kind: str, extra: str, extra2: str, area: str | None) -> str:
    """A short second line: what the thing is and where (the POI kind and its address, the
    community a building or grid lies in, the subdistrict of a community…)."""
    if kind == "road":
        parts = [_label(Road.RoadClass.choices, extra)]
    elif kind == "poi":
        parts = [_label(PointOfInterest.Kind.choices, extra), extra2]
    elif kind == "zone":
        parts = [_label(ResponsibilityZone.Kind.choices, extra), area or extra2]
    elif kind == "water":
        parts = [_label(Water.Kind.choices, extra)]
    else:
        parts = [area or ""]
    return " · ".join(p for p in parts if p)


def address_search(
    *, q: str, kinds: Collection[str] | None = None, limit: int = 10
) -> list[SearchHit]:
    """Places whose name, address, holder or code matches ``q``, best first (see the module).

    ``kinds`` limits the kinds of result (default: all of ``KINDS``); ``limit`` is at most
    ``MAX_LIMIT``. Points and boxes are WGS-84 degrees. An empty query finds nothing.
    """
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; expected some of {list(KINDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must lie between 1 and {MAX_LIMIT}, got {limit}")
    q = normalize_query(q)
    if not q:
        return []
    with connection.cursor() as cursor:
        hits = _intersections(cursor, q) if "intersection" in wanted else []
        query = _Query(q)
        branches = [query.branch(s) for kind, s in _SOURCES.items() if kind in wanted]
        if "road" in wanted:
            branches.append(query.road_branch())
        room = limit - len(hits)
        if not branches or room <= 0:
            return hits[:limit]
        sql = (
            "WITH hits AS MATERIALIZED ("
            + " UNION ALL ".join(f"({b})" for b in branches)
            + " ORDER BY rank, len, prio, name, code LIMIT %(limit)s) "
            + _FINISH_SQL
        )
        cursor.execute(sql, {**query.params, "limit": room})
        rows = cursor.fetchall()
    for kind, code, name, extra, extra2, lon, lat, x0, y0, x1, y1, area in rows:
        hits.append(
            SearchHit(
                kind=kind,
                code=code,
                name=name or code,  # an unnamed grid or building goes by its code
                detail=_detail(kind, extra, extra2, area),
                lon=round(lon, 7),  # 1 cm
                lat=round(lat, 7),
                bbox=None if x0 is None else tuple(round(v, 7) for v in (x0, y0, x1, y1)),
            )
        )
    return hits

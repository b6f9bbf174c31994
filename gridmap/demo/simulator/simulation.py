"""The state of one run of the live demo and the requests its scripts share.

``Simulation`` holds the cast (tokens), the places problems happen, each team's position and
queue of jobs, and a tally of what happened. The case and team scripts (``casework``,
``fleet``) are started by ``start``; every request goes through ``self.client`` to the
platform's public API.
"""

import logging
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import shapely
import shapely.geometry

from .cast import Cast, TeamCast
from .client import Client, retrying
from .engine import Engine
from .motion import Path
from .scenario import CasePlan, Place, Shares

log = logging.getLogger("gridmap.demo.simulator")

#: Places closer than this to the district's edge (degrees, ~60 m) are not used.
INSIDE_MARGIN_DEG = 0.0006

#: How a case's story ends (``Tally.ended`` counts these).
ENDINGS = ("closed", "rejected", "void", "merged", "joined", "failed")


@dataclass
class Job:
    """A case in a team's queue: where to go, and the route the recommendation drew."""

    case_id: int
    plan: CasePlan
    route: Path | None = None
    active: bool = False  # in its team's queue
    rounds: int = 0  # 1 after the first disposal; more after rework
    steps: int = 0  # steps the team took on it (arrive, feedback, handle)


@dataclass
class TeamState:
    cast: TeamCast
    position: tuple[float, float] | None
    queue: deque = field(default_factory=deque)
    last_fix: float = float("-inf")  # time.monotonic() of the last fix sent


@dataclass
class Tally:
    """What the run did, for the log and the summary."""

    reported: Counter = field(default_factory=Counter)  # by source
    steps: Counter = field(default_factory=Counter)  # by transition
    endings: Counter = field(default_factory=Counter)
    fixes: int = 0
    recommended: int = 0  # dispatched from the recommendation
    fallback: int = 0  # dispatched from the team list (no recommendation)

    @property
    def ended(self) -> int:
        return sum(self.endings[e] for e in ENDINGS if e != "joined")

    def summary(self) -> str:
        return (
            f"reported {dict(self.reported)}; steps {dict(self.steps)}; "
            f"endings {dict(self.endings)}; dispatched from the recommendation "
            f"{self.recommended}, from the team list {self.fallback}; fixes posted {self.fixes}"
        )


class Simulation:
    def __init__(
        self,
        *,
        client: Client,
        cast: Cast,
        engine: Engine,
        seed: int = 1,
        rate_per_min: float = 3.0,
        shares: Shares | None = None,
        once: int | None = None,
        max_open: int = 40,
        idle_fix_s: float = 60.0,
    ) -> None:
        self.client, self.cast, self.engine = client, cast, engine
        self.seed, self.rate_per_min, self.once = seed, rate_per_min, once
        self.shares = shares or Shares()
        self.idle_fix_s = idle_fix_s
        #: Reports wait while this many of the demo's cases are open: the teams can work
        #: about two cases a minute, and a demo left running for a day should not drown.
        self.max_open = max_open
        self.open = 0
        self.places: list[Place] = []
        self.teams: dict[str, TeamState] = {}
        self.jobs: dict[int, Job] = {}
        self.tally = Tally()

    # --- set-up over the API ------------------------------------------------------------------

    def load_world(self) -> Generator[float, None, None]:
        """Places (POIs, construction sites) and the teams' positions, read from the API."""
        token = self.cast.tokens["dispatcher"]
        answer = yield from retrying(
            lambda: self.client.get("/api/v1/layers/district", token=token),
            what="reading the district",
        )
        answer.raise_for_status()
        # Problems are placed up to 35 m from a place: keep the places well inside.
        inside = shapely.union_all(
            [shapely.geometry.shape(f["geometry"]) for f in answer.json()["features"]]
        ).buffer(-INSIDE_MARGIN_DEG)
        for layer in ("pois", "construction_sites"):
            answer = yield from retrying(
                lambda layer=layer: self.client.get(f"/api/v1/layers/{layer}", token=token),
                what=f"reading the {layer} layer",
            )
            answer.raise_for_status()
            for feature in answer.json()["features"]:
                place = _place(layer, feature)
                if inside.contains(shapely.Point(place.lon, place.lat)):
                    self.places.append(place)
        answer = yield from retrying(
            lambda: self.client.get("/api/v1/teams", token=token), what="reading the teams"
        )
        answer.raise_for_status()
        for team in answer.json()["teams"]:
            if team["code"] in self.cast.teams and team.get("position"):
                lon, lat = team["position"]["coordinates"]
                self.teams[team["code"]] = TeamState(self.cast.teams[team["code"]], (lon, lat))
        log.info(
            "%d places, %d teams, %d cameras on the camera unit",
            len(self.places),
            len(self.teams),
            len(self.cast.cameras),
        )

    def start(self) -> None:
        """Read the world, then start a script per team and the stream of reports."""
        from . import casework, fleet

        def opening():
            yield from self.load_world()
            for code, team in self.teams.items():
                self.engine.spawn(fleet.team_life(self, team), name=f"team {code}")
            self.engine.spawn(casework.arrivals(self), name="arrivals")

        self.engine.spawn(opening(), name="opening")

    def finished(self) -> bool:
        return self.once is not None and self.tally.ended >= self.once

    # --- requests the scripts share -------------------------------------------------------------

    def case_read(self, case_id: int, token: str) -> Generator[float, None, dict | None]:
        """The case as ``token``'s holder sees it: its properties plus ``lonlat``; None when it
        is not visible (404)."""
        answer = yield from retrying(
            lambda: self.client.get(f"/api/v1/cases/{case_id}", token=token),
            what=f"reading case {case_id}",
        )
        if answer.status_code != 200:
            log.warning("case %s: reading it answered %s", case_id, answer.status_code)
            return None
        body = answer.json()
        props = body["properties"]
        props["lonlat"] = tuple(body["geometry"]["coordinates"][:2])
        return props

    def step(
        self, case_id: int, name: str, token: str, *, data=None, files=None
    ) -> Generator[float, None, bool]:
        """Apply transition ``name``; True when it was taken. Retried with the same
        Idempotency-Key, so an answer lost on the way cannot apply a step twice. Refusals
        (a person acted first: 409; anything else) are logged and answer False."""
        key = uuid.uuid4().hex
        answer = yield from retrying(
            lambda: self.client.post(
                f"/api/v1/cases/{case_id}/{name}",
                token=token,
                data=data,
                files=files,
                headers={"Idempotency-Key": key},
            ),
            what=f"{name} of case {case_id}",
        )
        if answer.status_code in (200, 202):
            self.tally.steps[name] += 1
            return True
        level = logging.INFO if answer.status_code == 409 else logging.WARNING
        log.log(
            level,
            "case %s: %s refused (%s) %s",
            case_id,
            name,
            answer.status_code,
            answer.text[:300],
        )
        return False

    def fix_post(self, team: TeamState, batch: list[dict]) -> Generator[float, None, None]:
        """Post a batch of the team's 4G unit's fixes."""
        answer = yield from retrying(
            lambda: self.client.post(
                "/api/v1/positions", token=team.cast.unit_token, json={"fixes": batch}
            ),
            what=f"positions of {team.cast.code}",
        )
        team.last_fix = time.monotonic()
        if answer.status_code == 200:
            self.tally.fixes += len(batch)
        else:
            log.warning(
                "positions of %s refused: %s %s",
                team.cast.code,
                answer.status_code,
                answer.text[:300],
            )

    def rng(self, *parts) -> random.Random:
        key = ":".join(str(p) for p in ("gridmap-demo", self.seed, *parts))
        return random.Random(key)  # noqa: S311 (a story, not a secret)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _place(layer: str, feature: dict) -> Place:
    """A Place from a GeoJSON feature: a POI's point, a construction site's gate (the first
    vertex of its outline: problems at a site show at its edge, on the street)."""
    props = feature["properties"]
    geometry = feature["geometry"]
    coords = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    kind = props.get("kind") if layer == "pois" else "construction_site"
    return Place(kind or "", props.get("name") or props.get("code", ""), coords[0], coords[1])

"""The teams of the live demo: each drives to its cases one after the other and works them.

A team's vehicle carries a 4G unit that posts its GPS fixes in batches, as the real units do:
every ``BATCH_S`` simulated seconds while driving, and one fix every ``idle_fix_s`` real
seconds while parked, so that its position stays fresh for dispatch. It drives the route the
recommendation drew (else a straight line) at the planned speed; on site the field member's
phone says "arrived" with its GPS, sends a photo as feedback, and after the disposal a photo of
the cleaned-up spot. Like the case scripts, it reads the case before each step and follows
what a person may have done in between.
"""

import logging
import time

from .media import photo, video
from .motion import fixes, route_to, spread, straight
from .simulation import Job, Simulation, TeamState, now_utc

log = logging.getLogger("gridmap.demo.simulator")

#: A 4G unit sends a batch this often (simulated seconds) while the vehicle moves …
BATCH_S = 15.0
#: … with this many fixes in it.
FIXES_PER_BATCH = 5
#: A parked team looks at its queue this often (simulated seconds).
IDLE_S = 5.0


def team_life(sim: Simulation, team: TeamState):
    while True:
        if not team.queue:
            yield from _parked(sim, team)
            yield IDLE_S
            continue
        job = team.queue[0]
        try:
            yield from work(sim, team, job)
        finally:
            team.queue.popleft()
            job.active = False


def _parked(sim: Simulation, team: TeamState):
    """A parked unit's fix now and then (not for a team that is off duty)."""
    if team.cast.status == "off_duty" or team.position is None:
        return
    if time.monotonic() - team.last_fix < sim.idle_fix_s:
        return
    lon, lat = team.position
    batch = fixes(
        unit=team.cast.unit,
        path=straight((lon, lat), (lon, lat)),
        start_m=0,
        end_m=0,
        speed_kmh=0,
        times=[now_utc()],
    )
    yield from sim.fix_post(team, batch)


def _wait_parked(sim: Simulation, team: TeamState, seconds: float):
    """Wait ``seconds`` (simulated) on the spot, the unit still posting now and then."""
    end = sim.engine.now() + seconds
    while sim.engine.now() < end:
        yield from _parked(sim, team)
        yield min(30.0, max(end - sim.engine.now(), 0.0))


def work(sim: Simulation, team: TeamState, job: Job):
    """Drive to the case, arrive, send feedback, handle — each step only if the case is still
    at the stage for it."""
    member = team.cast.member_token
    plan = job.plan
    fed_back = False
    while True:
        case = yield from sim.case_read(job.case_id, member)
        if case is None or (case.get("team") or {}).get("code") != team.cast.code:
            return  # no longer ours (returned, re-dispatched, closed by a person)
        stage = case["stage"]
        if stage == "dispatched":
            if job.rounds == 0:
                yield from _wait_parked(sim, team, plan.depart_s)
            yield from drive(sim, team, job, case["lonlat"])
            lon, lat = case["lonlat"]
            if not (
                yield from sim.step(job.case_id, "arrive", member, data={"lon": lon, "lat": lat})
            ):
                return
            job.steps += 1
            log.info("%s arrived at case %s", team.cast.code, job.case_id)
        elif stage == "on_scene" and not fed_back:
            yield from _wait_parked(sim, team, plan.feedback_s)
            fed_back = yield from sim.step(
                job.case_id,
                "feedback",
                member,
                data={"phase": "before", "note": "已到达现场"},
                files=[("files", _feedback(job))],
            )
            if not fed_back:
                return
            job.steps += 1
        elif stage == "on_scene":
            yield from _wait_parked(sim, team, plan.disposal_s)
            handled = yield from sim.step(
                job.case_id,
                "handle",
                member,
                data={"note": "已处置完毕"},
                files=[("files", _photo(job, "after", cleaned=True))],
            )
            if handled:
                job.steps += 1
                job.rounds += 1
            return
        else:
            return


def drive(sim: Simulation, team: TeamState, job: Job, target: tuple[float, float]):
    """Drive to ``target`` along the recommended route (first trip) or a straight line,
    posting batches of fixes on the way."""
    start = team.position or target
    path = job.route if (job.route is not None and job.rounds == 0) else None
    path = route_to(path, target) if path is not None else straight(start, target)
    speed_ms = job.plan.speed_kmh / 3.6
    travelled = 0.0
    log.info(
        "%s drives %.0f m to case %s at %.0f km/h",
        team.cast.code,
        path.length_m,
        job.case_id,
        job.plan.speed_kmh,
    )
    while travelled < path.length_m - 0.5:
        tick = min(BATCH_S, (path.length_m - travelled) / speed_ms)
        yield tick
        step_m = speed_ms * tick
        times = spread(now_utc(), sim.engine.real_s(tick), FIXES_PER_BATCH)
        batch = fixes(
            unit=team.cast.unit,
            path=path,
            start_m=travelled,
            end_m=travelled + step_m,
            speed_kmh=job.plan.speed_kmh,
            times=times,
        )
        travelled += step_m
        lon, lat, _ = path.at(travelled)
        team.position = (lon, lat)
        yield from sim.fix_post(team, batch)
    team.position = target


def _feedback(job: Job):
    """A video from the scene when one can be made, else a photo."""
    clip = video()
    return ("feedback.mp4", clip, "video/mp4") if clip else _photo(job, "feedback")


def _photo(job: Job, what: str, *, cleaned: bool = False):
    label = f"case {job.case_id} {what}"
    return (
        f"{what}.jpg",
        photo(label=label, seed=f"{job.case_id}-{what}", cleaned=cleaned),
        "image/jpeg",
    )

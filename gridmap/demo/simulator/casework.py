"""The life of a case in the live demo, from the report to its closure.

A case's script is driven by the case's stage as the platform reports it, not by what the
script did last: before each step it reads the case again, so when a person acted first (filed,
dispatched, closed it on the console) the script follows instead of fighting — a refused step
(409) is normal. The team's part (driving, arriving, feedback, disposal) is the team's own
script (``fleet``); the case waits for it.
"""

import logging
import math
import uuid
from datetime import timedelta

from .client import retrying
from .media import photo
from .motion import path_of
from .scenario import REWORK_NOTES, CasePlan, next_arrival_s, plan_case
from .simulation import Job, Simulation, now_utc

log = logging.getLogger("gridmap.demo.simulator")

#: After this many refused steps in a row the simulator leaves the case alone.
MAX_REFUSED = 5

#: Stages where the case's story is over.
FINAL = {"closed": "closed", "rejected": "rejected", "void": "void", "merged": "merged"}


def arrivals(sim: Simulation):
    """Reports arrive as a Poisson stream of ``rate_per_min``; with ``once`` only that many
    cases (a camera's repeat that joined an open case is replaced by another report)."""
    rng = sim.rng("arrivals")
    n = 0
    while True:
        enough = sim.once is not None and n - sim.tally.endings["joined"] >= sim.once
        if enough or sim.open >= sim.max_open:
            yield 30.0
            continue
        plan = plan_case(
            seed=sim.seed, n=n, places=sim.places, cameras=sim.cast.cameras, shares=sim.shares
        )
        sim.engine.spawn(case_life(sim, plan), name=f"case #{n}")
        n += 1
        yield next_arrival_s(rng, sim.rate_per_min)


def case_life(sim: Simulation, plan: CasePlan):
    ending = "failed"
    sim.open += 1
    try:
        case_id = yield from report(sim, plan)
        if case_id is None:
            ending = "failed"
            return
        if case_id == "joined":
            ending = "joined"
            return
        ending = yield from follow(sim, plan, case_id)
    except GeneratorExit:  # the run ends with the case still open
        ending = "open"
        raise
    finally:
        sim.open -= 1
        sim.tally.endings[ending] += 1
        log.info("#%d ends: %s", plan.n, ending)


def follow(sim: Simulation, plan: CasePlan, case_id: int):
    """Take the case through the centre's steps until it reaches a final stage."""
    operator = sim.cast.tokens["operator"]
    waited: set[str] = set()
    refused = 0  # steps refused in a row: a few are normal (a person acted), many are a bug
    while refused < MAX_REFUSED:
        case = yield from sim.case_read(case_id, operator)
        if case is None:
            return "failed"
        stage = case["stage"]
        if stage in FINAL:
            return FINAL[stage]
        delay = _delay_before(plan, case, waited)
        if delay:
            yield delay
            continue  # read it again: a person may have acted meanwhile
        if stage == "reported":
            done = yield from _file_or_reject(sim, plan, case_id)
        elif stage == "registered":
            done = yield from dispatch(sim, plan, case)
        elif stage in ("dispatched", "on_scene"):
            done = yield from _wait_for_team(sim, plan, case)
        elif stage == "handled" and not case.get("verified_at"):
            done = yield from _verify(sim, plan, case)
            waited.discard("handled")  # after rework, the next verification waits again
        elif stage == "handled":
            done = yield from sim.step(case_id, "close", sim.cast.tokens["shift_leader"])
        else:
            done = False
        refused = 0 if done else refused + 1
        if not done:
            yield 60.0  # e.g. nobody to send now: the dispatch clock runs, as it would
    log.warning("case %s: giving up after %d refused steps", case_id, MAX_REFUSED)
    return "failed"


def _delay_before(plan: CasePlan, case: dict, waited: set[str]) -> float:
    """How long the person responsible takes before the step of this stage (once per stage
    visit): the operator reads the report, the dispatcher looks at the map…"""
    stage = case["stage"]
    key = "closing" if stage == "handled" and case.get("verified_at") else stage
    delays = {
        "reported": plan.filing_s,
        "registered": plan.dispatch_s,
        "handled": plan.verify_s,
        "closing": plan.close_s,
    }
    if key not in delays or key in waited:
        return 0.0
    waited.add(key)
    return delays[key]


# --- reports ---------------------------------------------------------------------------------


def report(sim: Simulation, plan: CasePlan):
    """Report the problem through its source's interface; the case id, "joined" (a camera's
    repeat joined an open case) or None (refused)."""
    snapshot = (
        "photo.jpg",
        photo(label=f"{plan.category} #{plan.n}", seed=f"{plan.n}"),
        "image/jpeg",
    )
    if plan.source == "camera":
        data = {
            "camera": plan.camera,
            "at": now_utc().isoformat(),
            "category": plan.category,
            "confidence": "0.87",
        }
        answer = yield from retrying(
            lambda: sim.client.post(
                "/api/v1/camera-events",
                token=sim.cast.tokens["camera_unit"],
                data=data,
                files={"snapshot": snapshot},
            ),
            what=f"camera event #{plan.n}",
        )
        if answer.status_code == 200:
            return "joined"
    elif plan.source == "public":
        return (yield from _public_report(sim, plan, snapshot))
    else:
        data = {
            "source": plan.source,
            "category": plan.category,
            "lon": plan.lon,
            "lat": plan.lat,
            "description": plan.description,
            "address": plan.place,
        }
        if plan.source == "hotline":
            token = sim.cast.tokens["operator"]
            data.update(
                petitioner_name=plan.reporter_name,
                petitioner_phone=plan.reporter_phone,
                petitioner_wants_reply="true",
            )
            files = None
        else:
            names = sorted(sim.cast.inspectors)
            token = sim.cast.inspectors[names[plan.n % len(names)]]
            files = [("files", snapshot)]
        answer = yield from retrying(
            lambda: sim.client.post("/api/v1/cases", token=token, data=data, files=files),
            what=f"{plan.source} report #{plan.n}",
        )
    if answer.status_code != 201:
        log.warning(
            "#%d %s report refused: %s %s",
            plan.n,
            plan.source,
            answer.status_code,
            answer.text[:300],
        )
        return None
    case_id = answer.json()["case" if plan.source == "camera" else "id"]
    sim.tally.reported[plan.source] += 1
    log.info(
        "#%d reported by %s: case %s, %s at %s",
        plan.n,
        plan.source,
        case_id,
        plan.category,
        plan.place,
    )
    return case_id


def _public_report(sim: Simulation, plan: CasePlan, snapshot):
    """A citizen's report (no account): the answer is a tracking number; the operator finds
    the case in the list of new public reports by it."""
    key = uuid.uuid4().hex
    since = (now_utc() - timedelta(minutes=5)).isoformat()
    data = {
        "category": plan.category,
        "lon": plan.lon,
        "lat": plan.lat,
        "description": plan.description,
        "address": plan.place,
        "contact_phone": plan.reporter_phone,
    }
    answer = yield from retrying(
        lambda: sim.client.post(
            "/api/v1/public/reports",
            data=data,
            files=[("files", snapshot)],
            headers={"Idempotency-Key": key},
        ),
        what=f"public report #{plan.n}",
    )
    if answer.status_code not in (200, 201):
        log.warning(
            "#%d public report refused: %s %s", plan.n, answer.status_code, answer.text[:300]
        )
        return None
    tracking = answer.json()["tracking"]
    operator = sim.cast.tokens["operator"]
    params = {"source": "public", "category": plan.category, "reported_after": since}
    listed = yield from retrying(
        lambda: sim.client.get("/api/v1/cases", token=operator, params=params),
        what=f"finding public report {tracking}",
    )
    for feature in listed.json().get("features", []) if listed.status_code == 200 else []:
        case = yield from sim.case_read(feature["id"], operator)
        if case and case.get("tracking") == tracking:
            sim.tally.reported["public"] += 1
            log.info(
                "#%d reported by the public: case %s (%s), %s at %s",
                plan.n,
                case["id"],
                tracking,
                plan.category,
                plan.place,
            )
            return case["id"]
    log.warning("#%d: public report %s not found in the case list", plan.n, tracking)
    return None


# --- the centre's steps ------------------------------------------------------------------------


def _file_or_reject(sim: Simulation, plan: CasePlan, case_id: int):
    operator = sim.cast.tokens["operator"]
    if plan.reject_reason:
        data = {"reason": plan.reject_reason}
        return (yield from sim.step(case_id, "reject", operator, data=data))
    return (yield from sim.step(case_id, "file", operator))


def dispatch(sim: Simulation, plan: CasePlan, case: dict):
    """The dispatcher takes the recommendation's first team the demo runs (its route is the
    one the team drives); without a recommendation, the nearest available team of the list."""
    token = sim.cast.tokens["dispatcher"]
    answer = yield from retrying(
        lambda: sim.client.get(f"/api/v1/cases/{case['id']}/recommendation", token=token),
        what=f"recommendation for case {case['id']}",
    )
    pick, route = None, None
    if answer.status_code == 200:
        offer = answer.json()
        ours = [c for c in offer["candidates"] if c["team_code"] in sim.teams]
        best = next((c for c in ours if c["available"]), ours[0] if ours else None)
        if best is None:
            log.info("case %s: no team to send (%s)", case["id"], offer.get("message", ""))
            return False
        pick = best["team_code"]
        if best.get("route"):
            route = path_of(best["route"]["coordinates"])
        sim.tally.recommended += 1
    else:
        log.info(
            "case %s: no recommendation (%s); picking from the team list",
            case["id"],
            answer.status_code,
        )
        pick = yield from _nearest_available(sim, case)
        if pick is None:
            return False
        sim.tally.fallback += 1
    sim.jobs[case["id"]] = Job(case["id"], plan, route=route, active=False)
    return (yield from sim.step(case["id"], "dispatch", token, data={"team": pick}))


def _nearest_available(sim: Simulation, case: dict):
    answer = yield from retrying(
        lambda: sim.client.get(
            "/api/v1/teams", token=sim.cast.tokens["dispatcher"], params={"status": "available"}
        ),
        what="the available teams",
    )
    if answer.status_code != 200:
        return None
    lon, lat = case["lonlat"]
    teams = [
        t
        for t in answer.json()["teams"]
        if t["code"] in sim.teams and sim.teams[t["code"]].position
    ]
    if not teams:
        return None

    def far(t):
        x, y = sim.teams[t["code"]].position
        return math.hypot((x - lon) * math.cos(math.radians(lat)), y - lat)

    return min(teams, key=far)["code"]


def _wait_for_team(sim: Simulation, plan: CasePlan, case: dict):
    """Put the case in its team's queue (whoever dispatched it) and wait until the team is
    done with it; then the case is read again."""
    team_code = (case.get("team") or {}).get("code")
    team = sim.teams.get(team_code)
    if team is None:
        log.info("case %s is with team %s, which the demo does not run", case["id"], team_code)
        yield 300.0
        return True  # a person's business: wait and see
    job = sim.jobs.get(case["id"]) or Job(case["id"], plan, active=False)
    sim.jobs[case["id"]] = job
    if not job.active:
        job.active = True
        team.queue.append(job)
    steps = job.steps
    while job.active:
        yield 5.0
    return job.steps > steps


def _verify(sim: Simulation, plan: CasePlan, case: dict):
    """The case's verifier (the inspector of its patrol zone, else the shift leader) checks on
    site: a planned rework fails the first time."""
    token = sim.cast.token(case.get("verifier") or "") or sim.cast.tokens["shift_leader"]
    job = sim.jobs.get(case["id"])
    rework = plan.rework and job is not None and job.rounds == 1
    data = {"result": "failed" if rework else "passed"}
    if rework:
        data["note"] = sim.rng("rework", plan.n).choice(REWORK_NOTES)
    return (yield from sim.step(case["id"], "verify", token, data=data))

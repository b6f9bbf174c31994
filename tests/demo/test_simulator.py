"""The live demo (gridmap/demo/simulator): its story, its pieces, and a run against the platform
served as in production (gunicorn + uvicorn workers) on the demo district, through the HTTP API
only — what a newcomer opening the console would see: cases from every source, dispatched from
the recommendation, teams' positions moving to them, the cases closed (after rework).
"""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import import_module

import pytest
import requests
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image
from rest_framework.authtoken.models import Token

from cases.models import Case, CaseEvent, Category
from gridmap.demo.loader import demo_load
from gridmap.demo.simulator import media, motion, scenario
from gridmap.demo.simulator.client import Client, retrying
from gridmap.demo.simulator.engine import Engine
from gridmap.models import STORAGE_SRID, ComponentClass, Position, Team, User
from tests.browser.conftest import AsgiServer
from tests.cases.conftest import free_port
from tests.factories import UserFactory
from tests.gridmap import test_demo

PLACES = [
    scenario.Place("market", "明湖农贸市场", 113.735, 34.725),
    scenario.Place("school", "明湖小学", 113.74, 34.72),
    scenario.Place("construction_site", "某某工地", 113.73, 34.73),
]


# --- The story (no database) -------------------------------------------------------------------


def test_the_first_four_cases_come_one_from_each_source():
    for seed in (1, 2, 3):
        assert {scenario.source_of(seed, n) for n in range(4)} == set(scenario.SOURCES)


def test_a_seed_tells_the_same_story():
    def story(seed):
        return [
            scenario.plan_case(seed=seed, n=n, places=PLACES, cameras=["MH-CAM-0001"])
            for n in range(20)
        ]

    assert story(5) == story(5)
    assert story(5) != story(6)


def test_problems_fit_their_place_and_lie_near_it():
    for n in range(40):
        plan = scenario.plan_case(seed=9, n=n, places=PLACES, cameras=["MH-CAM-0007"])
        if plan.source == "camera":
            assert plan.camera == "MH-CAM-0007"
            assert plan.category in {code for code, _ in scenario.CAMERA_PROBLEMS}
            continue
        place = next(p for p in PLACES if p.name == plan.place)
        assert plan.category in {code for code, _ in scenario.PLACE_PROBLEMS[place.kind]}
        a = Point(place.lon, place.lat, srid=4326).transform(STORAGE_SRID, clone=True)
        b = Point(plan.lon, plan.lat, srid=4326).transform(STORAGE_SRID, clone=True)
        assert 5 <= a.distance(b) <= 36


def test_shares_decide_how_cases_go():
    never = scenario.Shares(reject=0, rework=0, late=0)
    always = scenario.Shares(reject=1, rework=1, late=1)
    plans = [
        scenario.plan_case(seed=1, n=n, places=PLACES, cameras=[], shares=never) for n in range(30)
    ]
    assert not any(p.reject_reason or p.rework or p.late for p in plans)
    plans = [
        scenario.plan_case(seed=1, n=n, places=PLACES, cameras=[], shares=always) for n in range(30)
    ]
    assert all(p.reject_reason and p.rework and p.late for p in plans)
    # Late teams leave late and crawl: over 10 minutes to get anywhere.
    assert all(p.depart_s + 300 / (p.speed_kmh / 3.6) > 600 for p in plans)
    # Without cameras, camera reports become patrol reports.
    assert "camera" not in {p.source for p in plans}


def test_a_path_is_driven_from_end_to_end():
    path = motion.path_of([(113.73, 34.72), (113.74, 34.72), (113.74, 34.73)])
    first, second = path.stations[1], path.stations[2] - path.stations[1]
    assert 900 < first < 930 and 1100 < second < 1120  # 0.01 degree east, then north
    assert path.at(0)[:2] == (113.73, 34.72)
    assert path.at(path.length_m + 50)[:2] == (113.74, 34.73)
    lon, lat, heading = path.at(first / 2)
    assert abs(lon - 113.735) < 1e-6 and lat == 34.72 and round(heading) == 90
    assert round(path.at(first + 10)[2]) == 0  # then north


def test_a_batch_of_fixes_moves_along_the_path_in_time_order():
    path = motion.straight((113.73, 34.72), (113.74, 34.72))
    end = datetime(2026, 5, 1, 9, 0, 15).astimezone()
    times = motion.spread(end, 15, 5)
    batch = motion.fixes(unit="u", path=path, start_m=0, end_m=100, speed_kmh=24, times=times)
    assert [f["time"] for f in batch] == sorted(f["time"] for f in batch)
    assert batch[-1]["time"] == end.isoformat() and len({f["time"] for f in batch}) == 5
    lons = [f["lon"] for f in batch]
    assert lons == sorted(lons) and lons[-1] == pytest.approx(path.at(100)[0], abs=1e-7)


def test_photos_are_real_jpegs():
    before = media.photo(label="E0102 #1", seed="1")
    after = media.photo(label="E0102 #1", seed="1", cleaned=True)
    for data in (before, after):
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.size == (320, 240)
    assert before != after


def test_feedback_is_a_real_video():
    clip = media.video()
    assert clip is not None, "ffmpeg is installed by `make deps`"
    assert clip[4:8] == b"ftyp" and len(clip) < 1_000_000


def test_the_engine_runs_scripts_in_simulated_time():
    engine = Engine(speed=100)
    seen = []

    def script(name, waits):
        for w in waits:
            seen.append((name, round(engine.now())))
            yield w

    def broken():
        yield 1
        raise RuntimeError("a script that fails")

    engine.spawn(script("a", [30, 30]), name="a")
    engine.spawn(script("b", [10]), name="b", delay_s=20)
    engine.spawn(broken(), name="broken")
    engine.run()  # 60 simulated seconds: 0.6 s; the broken script does not stop the others
    assert [name for name, _ in seen] == ["a", "b", "a"]
    assert seen[1][1] >= 20 and seen[2][1] >= 30


def test_a_request_without_an_answer_is_tried_again_later():
    """The platform is down (nothing listens), then answers 503, then 200: the script waits
    longer each time, then goes on with the answer."""
    answers = iter([503, 200])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(next(answers))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    client = Client(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    steps = retrying(lambda: client.get("/healthz"), what="health")
    assert next(steps) == 5.0  # connection refused
    client.base_url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    assert next(steps) == 10.0  # 503
    thread.join()
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    with pytest.raises(StopIteration) as done:
        next(steps)
    thread.join()
    server.server_close()
    assert done.value.value.status_code == 200


# --- The command ---------------------------------------------------------------------------------


def test_off_unless_the_setting_says_on(settings):
    settings.GRIDMAP_DEMO_SIMULATOR = False
    with pytest.raises(CommandError, match="GRIDMAP_DEMO_SIMULATOR"):
        call_command("simulate_demo", once=1)


@pytest.mark.django_db
def test_no_demo_district_no_simulation(settings):
    settings.GRIDMAP_DEMO_SIMULATOR = True
    with pytest.raises(CommandError, match="load_demo"):
        call_command("simulate_demo", once=1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rate", "0"], "must be greater than 0"),
        (["--speed", "fast"], "is not a number"),
        (["--rework", "1.5"], "between 0 and 1"),
    ],
)
def test_bad_options_are_named(settings, args, message):
    settings.GRIDMAP_DEMO_SIMULATOR = True
    with pytest.raises(CommandError, match=message):
        call_command("simulate_demo", *args)


# --- A run against the platform ------------------------------------------------------------------


@pytest.fixture
def platform(transactional_db, settings, monkeypatch):
    """The demo district (committed: the server is another process) and the platform served
    on it. Fixes are timestamped in real time while the simulation runs 100 times faster, so
    the server is told to believe fast vehicles."""
    _reference_data()
    demo_load(directory=test_demo.FIXTURES)
    call_command("build_network", stdout=io.StringIO())
    monkeypatch.setenv("GRIDMAP_MAX_FIX_SPEED_KMH", "100000")
    settings.GRIDMAP_DEMO_SIMULATOR = True
    server = AsgiServer()
    yield server
    server.stop()


def _reference_data() -> None:
    """What the migrations load (component classes, case categories), again when a previous
    transactional test flushed it."""
    if not ComponentClass.objects.exists():
        import_module("gridmap.migrations.0002_component_classes").load(django_apps, None)
    if not Category.objects.exists():
        import_module("cases.migrations.0003_categories").load(django_apps, None)


def _simulate(server, *, speed=100, **options) -> str:
    out = io.StringIO()
    try:
        call_command(
            "simulate_demo", url=server.url, speed=speed, duration=120, stdout=out, **options
        )
    except CommandError as exc:
        raise AssertionError(f"{exc}\n{out.getvalue()}") from exc
    return out.getvalue()


def test_the_loop_runs_by_itself(platform):
    log = _simulate(platform, once=4, seed=11, reject=0, rework=1, late=0)
    cases = list(Case.objects.order_by("pk"))
    assert len(cases) == 4, log
    assert {c.source for c in cases} == {"camera", "inspector", "public", "hotline"}
    assert {c.stage for c in cases} == {"closed"}, log
    assert "dispatched from the recommendation 4," in log, log
    for case in cases:
        events = list(case.events.order_by("at", "pk"))
        kinds = [e.kind for e in events]
        # Every step, and a rework (返工) before it passed.
        assert kinds[:1] == ["report"] and kinds[-1] == "close", kinds
        for step in ("file", "dispatch", "arrive", "feedback", "handle", "verify"):
            assert step in kinds, (case.number, kinds)
        verdicts = [e.data.get("result") for e in events if e.kind == "verify"]
        assert verdicts == ["failed", "passed"], kinds
        assert kinds.count("handle") == 2 and kinds.count("arrive") == 2
        assert case.evidence.filter(phase="after", media="photo").count() == 2
        assert case.evidence.filter(phase="before", media="video").count() == 2  # 视频反馈
        _drove_there(case, events)


def _drove_there(case, events):
    """The team's unit posted fixes between dispatch and arrival, getting closer to the case,
    the last within the arrival radius."""
    dispatch = next(e for e in events if e.kind == "dispatch")
    arrive = next(e for e in events if e.kind == "arrive")
    team = dispatch.data["team"]
    fixes = list(
        Position.objects.filter(
            device__unit_id=f"demo-4g-{team}", at__gte=dispatch.at, at__lte=arrive.at
        ).order_by("at")
    )
    assert fixes, (case.number, team)
    assert all(f.flag == "" for f in fixes)
    assert fixes[-1].geom.distance(case.geom) < 100
    assert fixes[0].geom.distance(case.geom) >= fixes[-1].geom.distance(case.geom)


def test_some_reports_are_not_filed(platform):
    _simulate(platform, once=1, seed=3, reject=1)
    case = Case.objects.get()
    assert case.stage == "rejected"
    reject = CaseEvent.objects.get(case=case, kind="reject")
    assert reject.note in scenario.REJECT_REASONS


def test_a_person_who_dispatches_first_is_followed(platform):
    """A dispatcher on the console sends the case to a team of their choice before the
    simulator's dispatcher does: the simulator sees the case dispatched and leaves it so, and
    that team drives there (in a straight line: no recommended route) and works it to its end."""
    person = UserFactory(username="disp_person", role=User.Role.DISPATCHER)
    token = Token.objects.create(user=person).key
    chosen = {}

    def dispatch_first():
        try:
            _dispatch_first()
        finally:
            connection.close()  # the thread's own

    def _dispatch_first():
        deadline = time.monotonic() + 60  # real seconds
        while time.monotonic() < deadline and not chosen:
            case = Case.objects.filter(stage="registered").first()
            if case is None:
                time.sleep(0.02)
                continue
            team = Team.objects.filter(department=case.department, status="available")
            chosen["team"] = team.order_by("-code").first().code
            answer = requests.post(
                f"{platform.url}/api/v1/cases/{case.pk}/dispatch",
                json={"team": chosen["team"]},
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
            chosen["status"] = answer.status_code

    person_thread = threading.Thread(target=dispatch_first)
    person_thread.start()
    # The simulated dispatcher waits 3 minutes (6 real seconds): the person is first, however
    # loaded the machine.
    _simulate(platform, speed=30, once=1, seed=4, reject=0, rework=0, late=0, dispatch_wait=180)
    person_thread.join()
    assert chosen["status"] == 200
    case = Case.objects.get()
    assert case.stage == "closed" and case.team.code == chosen["team"]
    dispatches = list(case.events.filter(kind="dispatch"))
    assert len(dispatches) == 1 and dispatches[0].actor == person
    _drove_there(case, list(case.events.order_by("at", "pk")))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_stop_ends_it_cleanly(transactional_db, stop):
    """With the platform down the simulator keeps trying (and says so); Ctrl-C (SIGINT) or
    `make stop` (SIGTERM) ends it at once with its summary and status 0."""
    _reference_data()
    demo_load(directory=test_demo.FIXTURES)
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{connection.settings_dict['NAME']}",
        "GRIDMAP_DEMO_SIMULATOR": "1",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_demo", "--url", f"http://127.0.0.1:{free_port()}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "trying again" in line:
            break
    process.send_signal(stop)
    rest, _ = process.communicate(timeout=15)
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "reading the district failed" in output
    assert "simulate_demo: reported {}" in output

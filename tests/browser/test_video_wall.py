"""The video wall page in a real browser: an HLS stream plays, a snapshot shows, the page follows
changes to the wall, and "focus on case" fills it.

The HLS stream is made in the test with ffmpeg (4 s of test pattern in 1 s segments) and served,
with a snapshot, by a small HTTP server of the test's own on another port — as a camera
platform's streaming server would serve it, with a CORS header so that hls.js may fetch it.
"""

import functools
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cameras.models import Camera, VideoWall
from cameras.walls import wall_assign
from cases.services import case_report
from gridmap.models import User
from tests.cameras.test_seeing import camera
from tests.factories import CategoryFactory, UserFactory, lonlat, rect, small_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FFMPEG = shutil.which("ffmpeg")


class _StreamHandler(SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def stream_server(tmp_path):
    """A local HLS stream (index.m3u8 + 1 s segments) and a snapshot, served over HTTP."""
    if FFMPEG is None:
        pytest.fail("ffmpeg is not installed: run `make deps` (apt: ffmpeg)")
    folder = tmp_path / "stream"
    folder.mkdir()
    source = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"]
    subprocess.run(
        [FFMPEG, "-loglevel", "error", *source, "-t", "4", "-c:v", "libx264", "-pix_fmt",
         "yuv420p", "-g", "10", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type",
         "vod", str(folder / "index.m3u8")],
        check=True,
        timeout=60,
    )  # fmt: skip
    subprocess.run(
        [FFMPEG, "-loglevel", "error", *source, "-frames:v", "1", str(folder / "snap.jpg")],
        check=True,
        timeout=60,
    )
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_StreamHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def wall(stream_server, settings):
    """A 2 x 2 wall; HLS camera H1 and snapshot camera S1 see the case at (150, 150); N1 (no
    picture at all), B1 (its HLS stream is down) and far camera X1 do not."""
    settings.GRIDMAP_WALL_POLL_S = 0.5
    small_district()
    camera(
        "H1",
        100,
        100,
        rect(100, 90, 220, 200),
        name="经开大街东口",
        status="online",
        stream_url=f"{stream_server}/index.m3u8",
    )
    camera(
        "S1",
        250,
        150,
        rect(110, 120, 250, 180),
        name="航海路口",
        status="online",
        stream_url="rtsp://10.0.0.9/live",
        snapshot_url=f"{stream_server}/snap.jpg",
    )
    camera("N1", 160, 170, None, name="明湖公园北门", status="offline")
    camera(
        "B1",
        350,
        50,
        None,
        name="断流球机",
        status="fault",
        stream_url=f"{stream_server}/gone/index.m3u8",
        snapshot_url=f"{stream_server}/snap.jpg",
    )
    camera("X1", 390, 290, rect(360, 260, 390, 290), name="远处球机", status="online")
    UserFactory(username="dispatcher", role=User.Role.DISPATCHER, first_name="李派遣")
    category = CategoryFactory(code="E9901", minor_name="暴露垃圾")
    lon, lat = lonlat(150, 150)
    case = case_report(source="hotline", category_code=category.code, lon=lon, lat=lat)
    return {
        "wall": VideoWall.objects.create(code="W1", name="指挥大厅", rows=2, cols=2),
        "case": case,
        "streams": stream_server,
    }


def login_to(page, live_server, username: str, path: str) -> None:
    """Log in straight into ``path``: the role's landing page is not opened, so its live
    streams (server-sent events) never tie up the test's live server."""
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


def tile(page, row: int, col: int):
    return page.get_by_test_id(f"tile-{row}-{col}")


def kind(page, row: int, col: int) -> str:
    return tile(page, row, col).get_attribute("data-kind")


def test_the_wall_plays_hls_shows_snapshots_and_follows_changes(
    page, live_server, wall, screenshot
):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login_to(page, live_server, "dispatcher", "/wall/W1/")
    page.wait_for_function("document.querySelectorAll('[data-testid^=tile-]').length === 4")
    assert "指挥大厅" in page.get_by_test_id("wall-title").inner_text()
    assert kind(page, 0, 0) == "empty"
    # The grid fills the window below the bar: four tiles of about half the width each.
    box = tile(page, 1, 1).bounding_box()
    assert box["width"] > 600 and box["height"] > 300

    # Assigned elsewhere (the API, another operator): the page picks it up by itself.
    w = wall["wall"]
    wall_assign(wall=w, row=0, col=0, camera=Camera.objects.get(code="H1"))
    wall_assign(wall=w, row=0, col=1, camera=Camera.objects.get(code="S1"))
    page.wait_for_function(
        "document.querySelector('[data-testid=tile-0-0]').dataset.kind === 'video'"
    )
    # The HLS stream really plays: frames decoded and time running.
    page.wait_for_function(
        """() => { const v = document.querySelector('[data-testid=tile-0-0] video');
                   return v && v.readyState >= 2 && v.currentTime > 0.5; }""",
        timeout=20_000,
    )
    assert page.evaluate("window.Hls && window.Hls.isSupported()")
    page.wait_for_function(
        """() => { const i = document.querySelector('[data-testid=tile-0-1] img');
                   return i && i.complete && i.naturalWidth === 320; }"""
    )
    assert kind(page, 0, 1) == "snapshot"
    assert "航海路口" in tile(page, 0, 1).inner_text()
    page.evaluate("document.querySelector('[data-testid=tile-0-0] video').marked = true")

    # A camera with no picture at all: a placeholder naming it. The playing video is untouched.
    wall_assign(wall=w, row=1, col=0, camera=Camera.objects.get(code="N1"))
    page.wait_for_function(
        "document.querySelector('[data-testid=tile-1-0]').dataset.kind === 'placeholder'"
    )
    text = tile(page, 1, 0).inner_text()
    assert "明湖公园北门" in text and "N1" in text
    assert page.evaluate("document.querySelector('[data-testid=tile-0-0] video').marked === true")

    # An HLS stream that is down: the tile falls back to the camera's snapshot.
    wall_assign(wall=w, row=1, col=1, camera=Camera.objects.get(code="B1"))
    page.wait_for_function(
        """() => { const t = document.querySelector('[data-testid=tile-1-1]');
                   return t.dataset.camera === 'B1' && t.dataset.kind === 'snapshot'; }""",
        timeout=20_000,
    )
    screenshot("video-wall")

    # Everything the page loaded came from the platform or the stream server: no CDN.
    ours = (live_server.url, wall["streams"], "data:", "blob:")
    outside = [u for u in requests if not u.startswith(ours)]
    assert not outside
    assert not page.js_errors, page.js_errors


def test_focus_on_a_case_fills_the_wall_from_the_page(page, live_server, wall, screenshot):
    login_to(page, live_server, "dispatcher", "/wall/W1/")
    page.wait_for_function("document.querySelectorAll('[data-testid^=tile-]').length === 4")
    page.get_by_test_id("focus-case").fill(str(wall["case"].pk))
    page.get_by_test_id("focus-button").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=tile-0-0]').dataset.camera === 'H1'"
    )
    cameras = [tile(page, r, c).get_attribute("data-camera") for r in (0, 1) for c in (0, 1)]
    # H1 and S1 see the case (nearest first), then the nearest online one (X1), then N1.
    assert cameras == ["H1", "S1", "X1", "N1"]
    assert str(wall["case"].pk) in page.get_by_test_id("focus-result").inner_text()
    page.wait_for_function(
        """() => { const v = document.querySelector('[data-testid=tile-0-0] video');
                   return v && v.readyState >= 2 && v.currentTime > 0.5; }""",
        timeout=20_000,
    )
    screenshot("video-wall-focus")

    page.get_by_test_id("focus-case").fill("999999")
    page.get_by_test_id("focus-button").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=focus-result]').textContent.includes('999999')"
    )
    assert not page.js_errors, page.js_errors

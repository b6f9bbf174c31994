"""The citizens' pages (群众上报): the report form and its API answers, double submission, the
status page (public steps only, before/after photos), rating once, reporter notifications.

The case of the status tests runs the whole loop as staff with names and internal notes, so that
a test can check that none of it reaches the public page.
"""

import io
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from cases.evidence import check_upload
from cases.loop import Step, transition_apply
from cases.models import Case, Delivery, PublicRating, PublicReportKey
from gridmap.models import User
from tests.cases.conftest import wait_for
from tests.factories import CategoryFactory, UserFactory, ZoneFactory, lonlat, rect, small_district

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world():
    area = small_district()
    CategoryFactory(
        code="E9901", major_name="市容环境", minor_name="暴露垃圾", public_name="垃圾没人清"
    )
    CategoryFactory(
        code="E9902", major_name="市容环境", minor_name="占道经营", public_name="路边摆摊"
    )
    CategoryFactory(
        code="E9903", major_name="宣传广告", minor_name="非法小广告", public_name="小广告"
    )
    team = area["team"]
    people = {
        "operator": UserFactory(username="op_li", first_name="李受理", role=User.Role.OPERATOR),
        "dispatcher": UserFactory(
            username="disp_wang", first_name="王派遣", role=User.Role.DISPATCHER
        ),
        "member": UserFactory(
            username="mem_zhao", first_name="赵队员", role=User.Role.FIELD_MEMBER, team=team
        ),
        "inspector": UserFactory(
            username="insp_qian", first_name="钱监督", role=User.Role.INSPECTOR
        ),
        "shift": UserFactory(
            username="shift_sun", first_name="孙值班", role=User.Role.SHIFT_LEADER
        ),
    }
    ZoneFactory(
        code="PZ1", kind="patrol", geom=rect(0, 0, 400, 300), responsible_user=people["inspector"]
    )
    area.update(people)
    return area


def jpeg(name="photo.jpg", size=(64, 48), colour=(200, 60, 60)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, format="JPEG")
    data.name = name
    data.seek(0)
    return data


def report(client, *, key=None, files=None, **fields):
    lon, lat = lonlat(120, 120)
    body = {"category": "E9901", "lon": lon, "lat": lat, **fields}
    headers = {**ENGLISH, **({"HTTP_IDEMPOTENCY_KEY": key} if key else {})}
    if files is not None:
        body["files"] = files
        return client.post(reverse("public-report"), body, **headers)
    return client.post(reverse("public-report"), body, content_type="application/json", **headers)


def run_loop(world, case: Case, *, until: str = "close", since: str = "file") -> Case:
    """The loop as staff would run it (steps ``since`` … ``until``), with internal notes nobody
    outside should read."""
    lon, lat = lonlat(121, 121)
    steps = [
        ("file", world["operator"], Step(note="内部备注：老王的摊位又来了")),
        ("dispatch", world["dispatcher"], Step(params={"team": "TM1"})),
        ("arrive", world["member"], Step(lon=lon, lat=lat)),
        (
            "handle",
            world["member"],
            Step(note="垃圾已清运，地面已冲洗", files=[check_upload(jpeg("after.jpg"))]),
        ),
        ("verify", world["inspector"], Step(params={"result": "passed"}, note="核查：钱监督到场")),
        ("close", world["shift"], Step()),
    ]
    names = [name for name, _, _ in steps]
    for name, actor, step in steps[names.index(since) :]:
        transition_apply(case_id=case.pk, name=name, actor=actor, step=step)
        if name == until:
            break
    case.refresh_from_db()
    return case


# --- the form page ----------------------------------------------------------------------------


def test_the_report_page_works_without_an_account_and_offers_categories_in_plain_words(
    client, world
):
    response = client.get(reverse("public-report-form"))
    assert response.status_code == 200
    html = response.content.decode()
    # Plain words, grouped by the major class; the technical minor names stay inside.
    assert '<optgroup label="市容环境">' in html and '<optgroup label="宣传广告">' in html
    options = re.findall(r"<option[^>]*>([^<]*)</option>", html)
    assert "垃圾没人清" in options and "路边摆摊" in options and "占道经营" not in options
    # Anonymous: the language switch and a login link, no staff pages.
    assert 'name="language"' in html and 'data-testid="login-link"' in html
    assert 'data-page="map"' not in html
    assert "leaflet/leaflet.js" in html and "cases/public/report.js" in html
    assert "https://" not in html.split("<body")[1].split("</main>")[0]


def test_the_public_basemap_serves_base_geography_only(client, world):
    roads = client.get(reverse("public-basemap", args=["district"]))
    assert roads.status_code == 200 and roads.json()["type"] == "FeatureCollection"
    assert len(roads.json()["features"]) == 1
    # Zones name shop holders and phone numbers: not part of the public basemap.
    assert client.get(reverse("public-basemap", args=["zones"])).status_code == 404
    assert client.get(reverse("public-basemap", args=["roads"]) + "?bbox=1,2").status_code == 400


# --- validation: every refused field named, nothing written ------------------------------------


def test_missing_location_and_category_are_named(client, world):
    response = client.post(reverse("public-report"), {}, content_type="application/json", **ENGLISH)
    assert response.status_code == 400
    body = response.json()
    assert "category" in body and body["category"] == ["This field is required."]
    response = report(client, category="E9901", lon=None, lat=None)
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_a_bad_email_and_a_point_outside_the_district_are_explained_on_their_fields(client, world):
    response = report(client, contact_email="not-an-address")
    assert response.status_code == 400
    assert response.json() == {"contact_email": ["Enter a valid email address."]}
    lon, lat = lonlat(-900, 100)
    response = report(client, lon=lon, lat=lat)
    assert response.status_code == 422
    assert "outside the district" in response.json()["location"][0]
    assert Case.objects.count() == 0


def test_a_file_that_is_no_photo_or_too_large_is_refused_with_the_reason(client, world, settings):
    pdf = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b" " * 200)
    pdf.name = "photo.jpg"
    response = report(client, files=[pdf])
    assert response.status_code == 400
    [message] = response.json()["files"]
    assert message.startswith("photo.jpg is not a photo or a video")
    settings.GRIDMAP_MAX_PHOTO_MB = 0.001  # ~1 KB
    big = jpeg("big.jpg", size=(400, 300))
    response = report(client, files=[big])
    assert response.status_code == 400
    assert "a photo may have at most 0.001 MB" in response.json()["files"][0]
    assert Case.objects.count() == 0


def test_refusals_come_in_the_readers_language(client, world):
    response = client.post(
        reverse("public-report"),
        {"category": "E9901", "contact_email": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    # DRF's own catalogue has Chinese: the e-mail message is translated.
    assert response.json()["contact_email"] == ["请输入合法的邮件地址。"]


def test_a_report_with_a_photo_keeps_it_as_the_before_photo(client, world):
    response = report(client, files=[jpeg()], description="路口垃圾堆", contact_phone="13900000000")
    assert response.status_code == 201, response.content
    case = Case.objects.get(tracking=response.json()["tracking"])
    assert case.evidence.get().phase == "report"
    assert case.contact_phone == "13900000000"
    assert response.json()["status_url"] == f"/report/{case.tracking}/"


# --- double submission ------------------------------------------------------------------------


def test_the_same_key_twice_files_one_case_and_answers_the_same_tracking(client, world):
    first = report(client, key="k-1", files=[jpeg()], description="垃圾")
    second = report(client, key="k-1", files=[jpeg()], description="垃圾")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["tracking"] == second.json()["tracking"]
    assert second.json()["repeated"] is True
    assert Case.objects.count() == 1
    assert Case.objects.get().evidence.count() == 1
    # Another submission (another key) is another case.
    assert report(client, key="k-2", description="垃圾").status_code == 201
    assert Case.objects.count() == 2


def test_a_key_reused_for_a_different_report_is_refused(client, world):
    assert report(client, key="k-1", description="垃圾").status_code == 201
    response = report(client, key="k-1", description="另一件事")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["idempotency_key"][0]
    assert Case.objects.count() == 1


def test_an_old_key_no_longer_holds_and_old_keys_are_swept(client, world):
    first = report(client, key="k-1", description="垃圾").json()["tracking"]
    report(client, key="k-old", description="别的")
    PublicReportKey.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    second = report(client, key="k-1", description="垃圾")
    assert second.status_code == 201 and second.json()["tracking"] != first
    assert PublicReportKey.objects.get().case.tracking == second.json()["tracking"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_with_one_key_file_one_case(world):
    answers: list = []
    barrier = threading.Barrier(4)

    def submit():
        try:
            barrier.wait(timeout=10)
            answers.append(report(Client(), key="same-tap", description="双击"))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["tracking"] for a in answers}) == 1
    assert Case.objects.count() == 1


# --- the status page --------------------------------------------------------------------------


def test_an_unknown_tracking_number_is_a_404_page_that_says_so(client, world):
    response = client.get(reverse("public-report-page", args=["GMNOSUCHCASE"]))
    assert response.status_code == 404
    assert "GMNOSUCHCASE" in response.content.decode()
    assert 'data-testid="not-found"' in response.content.decode()


def test_the_status_page_shows_public_steps_and_nothing_internal(client, world):
    tracking = report(client, files=[jpeg("before.jpg")], description="垃圾").json()["tracking"]
    case = Case.objects.get(tracking=tracking)
    response = client.get(reverse("public-report-page", args=[tracking.lower()]))
    assert response.status_code == 302 and response.url == f"/report/{tracking}/"
    page = client.get(f"/report/{tracking}/").content.decode()
    assert 'data-stage="reported"' in page and "垃圾没人清" in page

    run_loop(world, case)
    page = client.get(f"/report/{tracking}/").content.decode()
    assert 'data-stage="closed"' in page
    timeline = page.split('data-testid="timeline"')[1].split("</ol>")[0]
    for kind in ("report", "file", "dispatch", "arrive", "handle", "verify", "close"):
        assert f'data-kind="{kind}"' in timeline
    assert "垃圾已清运，地面已冲洗" in page  # what was done
    for secret in ("内部备注", "老王", "核查：钱监督", "李受理", "op_li", "王派遣", "disp_wang",
                   "赵队员", "mem_zhao", "insp_qian", "孙值班", "shift_sun"):  # fmt: skip
        assert secret not in page, secret
    api = client.get(reverse("public-report-status", args=[tracking])).json()
    assert api["stage_public"] and [s["kind"] for s in api["steps"]][:2] == ["report", "file"]
    assert "内部备注" not in str(api) and "op_li" not in str(api)


def test_only_the_cases_own_before_and_after_photos_are_served(client, world):
    tracking = report(client, files=[jpeg("before.jpg")]).json()["tracking"]
    case = Case.objects.get(tracking=tracking)
    run_loop(world, case, until="arrive")
    # A feedback photo (phase other) and a staff upload stay inside.
    transition_apply(
        case_id=case.pk,
        name="feedback",
        actor=world["member"],
        step=Step(files=[check_upload(jpeg("scene.jpg"))]),
    )
    run_loop_rest = [("handle", Step(note="done", files=[check_upload(jpeg("after.jpg"))]))]
    for name, step in run_loop_rest:
        transition_apply(case_id=case.pk, name=name, actor=world["member"], step=step)
    other = Case.objects.get(tracking=report(client, files=[jpeg("x.jpg")]).json()["tracking"])

    by_phase = {e.phase: e for e in case.evidence.all()}
    assert set(by_phase) == {"report", "other", "after"}
    page = client.get(f"/report/{tracking}/").content.decode()
    before_url = reverse("public-report-photo", args=[tracking, by_phase["report"].pk])
    after_url = reverse("public-report-photo", args=[tracking, by_phase["after"].pk])
    assert before_url in page and after_url in page
    for url in (before_url, after_url):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert not image.getexif()  # the re-encoded copy: no EXIF
    refused = [
        reverse("public-report-photo", args=[tracking, by_phase["other"].pk]),
        # another case's photo through this tracking number, and this case's through another
        reverse("public-report-photo", args=[tracking, other.evidence.get().pk]),
        reverse("public-report-photo", args=[other.tracking, by_phase["after"].pk]),
        reverse("public-report-photo", args=["GMNOSUCHCASE", by_phase["after"].pk]),
    ]
    for url in refused:
        assert client.get(url).status_code == 404, url
    # The staff evidence URL still needs a login.
    assert client.get(reverse("evidence-file", args=[by_phase["after"].pk])).status_code in (
        401,
        403,
    )


# --- rating -----------------------------------------------------------------------------------


def test_a_closed_case_is_rated_once(client, world):
    tracking = report(client).json()["tracking"]
    case = Case.objects.get(tracking=tracking)
    url = f"/report/{tracking}/"
    run_loop(world, case, until="verify")
    response = client.post(url, {"score": "4"})
    assert response.status_code == 409 and 'data-testid="error-score"' in response.content.decode()
    assert 'data-testid="rating-form"' not in client.get(url).content.decode()

    run_loop(world, case, since="close")
    assert 'data-testid="rating-form"' in client.get(url).content.decode()
    response = client.post(url, {"score": "9"})
    assert response.status_code == 400 and "1 到 5" in response.content.decode()
    response = client.post(url, {"score": "4", "comment": "很快，谢谢"})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert 'data-testid="rating-done"' in page and "很快，谢谢" in page
    again = client.post(url, {"score": "1", "comment": "改主意了"})
    assert again.status_code == 409
    rating = PublicRating.objects.get(case=case)
    assert (rating.score, rating.comment) == (4, "很快，谢谢")


def test_the_rating_form_is_csrf_protected(world):
    browser = Client(enforce_csrf_checks=True)
    tracking = report(browser).json()["tracking"]
    case = Case.objects.get(tracking=tracking)
    run_loop(world, case)
    assert browser.post(f"/report/{tracking}/", {"score": "5"}).status_code == 403
    page = browser.get(f"/report/{tracking}/")
    token = page.cookies["csrftoken"].value
    response = browser.post(f"/report/{tracking}/", {"score": "5"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert PublicRating.objects.get(case=case).score == 5


def test_public_pages_are_rate_limited(client, world, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "lookup": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = [client.get(f"/report/GMNOSUCHCASE{n}/").status_code for n in range(3)]
    assert codes == [404, 404, 429]


# --- telling the reporter ---------------------------------------------------------------------


def test_reporters_hear_of_filing_verification_and_closure_only(client, world, settings):
    settings.EMAIL_HOST = "127.0.0.1"
    settings.GRIDMAP_SMS_URL = "http://127.0.0.1:9/sms"
    tracking = report(client, contact_email="me@example.org", contact_phone="139").json()[
        "tracking"
    ]
    silent = report(client, description="不留联系方式").json()["tracking"]
    run_loop(world, Case.objects.get(tracking=tracking))
    run_loop(world, Case.objects.get(tracking=silent))
    sent = Delivery.objects.select_related("notification").order_by("id")
    kinds = [(d.notification.kind, d.channel, d.address) for d in sent]
    assert kinds == [
        ("reporter_file", "email", "me@example.org"),
        ("reporter_file", "sms", "139"),
        ("reporter_verify", "email", "me@example.org"),
        ("reporter_verify", "sms", "139"),
        ("reporter_close", "email", "me@example.org"),
        ("reporter_close", "sms", "139"),
    ]
    assert all(d.notification.user_id is None for d in sent)
    assert tracking in sent[0].notification.title
    assert f"/report/{tracking}/" in sent[0].notification.body


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_reporter_gets_an_email_through_the_worker(
    client, world, celery_factory, smtp_sink, settings
):
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    celery_factory(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_sink.port))
    tracking = report(client, contact_email="me@example.org").json()["tracking"]
    run_loop(world, Case.objects.get(tracking=tracking), until="file")
    wait_for(lambda: smtp_sink.messages, timeout=30, what="the reporter's e-mail")
    message = smtp_sink.messages[0]
    assert message.rcpt_tos == ["me@example.org"]
    assert tracking in message.content.decode(errors="replace")
    wait_for(
        lambda: Delivery.objects.filter(status="sent").count() == 1,
        timeout=10,
        what="the delivery marked sent",
    )

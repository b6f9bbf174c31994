"""What happens in the live demo: which problems, where, from whom, and how each case goes.

Everything here is drawn from seeded generators and does no I/O, so a run with the same seed
tells the same story (the test relies on it). Times are in simulated seconds; the engine turns
them into real ones (``--speed``).

The problems are those a Minghu-style centre sees every day, placed where they happen: street
vending (占道经营) and overflowing bins around markets, parked cars and hawkers at school gates,
dust and muddy lorries at construction sites (在建工地), fumes and open-air barbecues at
restaurants. Cameras (天网) report what video analytics detect at junctions.
"""

import math
import random
from dataclasses import dataclass

#: Reporting sources and their share of the traffic (cameras and patrols find most problems).
SOURCES = ("camera", "inspector", "public", "hotline")
SOURCE_WEIGHTS = (0.35, 0.3, 0.15, 0.2)

#: Problems by kind of place: (category code, what the reporter says).
PLACE_PROBLEMS: dict[str, list[tuple[str, str]]] = {
    "market": [
        ("E0401", "菜市场门口有人占道摆摊卖菜"),
        ("E0402", "市场周边流动摊贩沿街叫卖"),
        ("E0403", "市场旁商铺在门外摆货经营"),
        ("E0107", "市场门口垃圾桶满了没人倒"),
        ("E0102", "市场后面堆着暴露垃圾"),
    ],
    "school": [
        ("E0405", "学校门口汽车乱停, 堵住了路"),
        ("E0402", "放学时校门口有流动摊贩"),
        ("E0406", "校门口电动车乱停"),
        ("E0201", "学校围墙上贴满小广告"),
    ],
    "construction_site": [
        ("E0302", "工地尘土飞扬, 没有洒水降尘"),
        ("E0305", "工地出入口车辆带泥上路"),
        ("E0301", "工地围挡倒了一段"),
        ("E0106", "渣土车沿路撒落泥土"),
        ("E0304", "工地材料堆到了人行道上"),
    ],
    "restaurant": [
        ("E0108", "饭店油烟直排, 楼上居民投诉"),
        ("E0110", "晚上路边露天烧烤"),
        ("E0603", "饭店往雨水井里倒泔水"),
    ],
    "shop": [
        ("E0403", "商铺在门外摆货经营"),
        ("E0203", "门口立着占道的广告牌"),
    ],
    "hospital": [
        ("E0405", "医院门口机动车乱停"),
        ("E0406", "医院门口电动车乱停, 挡住通道"),
    ],
    "bus_stop": [
        ("E0201", "公交站牌上贴满小广告"),
        ("E0104", "公交站周边路面不干净"),
    ],
}

#: What a camera's video analytics detect at a junction.
CAMERA_PROBLEMS = [
    ("E0401", "视频智能识别: 占道经营"),
    ("E0102", "视频智能识别: 暴露垃圾"),
    ("E0405", "视频智能识别: 机动车违停"),
    ("E0404", "视频智能识别: 乱堆物堆料"),
    ("E0406", "视频智能识别: 非机动车乱停放"),
]

#: Why the operator does not file a report (不予立案).
REJECT_REASONS = [
    "现场核实无此问题",
    "重复上报, 已有案卷在处置",
    "不属于城管受理范围, 已告知上报人",
]

#: Why the inspector sends the disposal back (返工).
REWORK_NOTES = [
    "现场仍有垃圾未清理干净",
    "摊贩又回来了, 需要再次劝离",
    "处置后照片与现场不符",
]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"]


@dataclass(frozen=True)
class Place:
    """A spot where problems happen (a POI or a construction site), WGS-84."""

    kind: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Shares:
    """How often things go differently (rejected at filing, reworked, late), and how long the
    dispatcher leaves a filed case to people on the console."""

    reject: float = 0.1
    rework: float = 0.15
    late: float = 0.15
    #: Simulated seconds the dispatcher waits after filing; ``None``: drawn from 8–40 s.
    dispatch_wait_s: float | None = None


@dataclass(frozen=True)
class CasePlan:
    """The whole story of one case, decided when it is reported (simulated seconds)."""

    n: int
    source: str
    category: str
    description: str
    place: str
    lon: float
    lat: float
    camera: str
    reporter_name: str
    reporter_phone: str
    reject_reason: str  # "" when the operator files it
    rework: bool
    late: bool
    filing_s: float
    dispatch_s: float
    depart_s: float
    speed_kmh: float
    feedback_s: float
    disposal_s: float
    verify_s: float
    close_s: float


def case_rng(seed: int, n: int) -> random.Random:
    """The generator of case ``n``: independent of the order in which the HTTP answers come."""
    return random.Random(f"gridmap-demo:{seed}:{n}")  # noqa: S311 (a story, not a secret)


def source_of(seed: int, n: int) -> str:
    """The first four cases come one from each source (in a seeded order), so that a newcomer
    sees all of them at once; later ones by their weights."""
    if n < len(SOURCES):
        order = list(SOURCES)
        random.Random(f"gridmap-demo:{seed}:sources").shuffle(order)  # noqa: S311 (a story, not a secret)
        return order[n]
    return case_rng(seed, n).choices(SOURCES, weights=SOURCE_WEIGHTS)[0]


def jitter(lon: float, lat: float, rng: random.Random, *, max_m: float) -> tuple[float, float]:
    """A point up to ``max_m`` metres from (lon, lat), in a random direction (WGS-84)."""
    distance = rng.uniform(0.3, 1.0) * max_m
    angle = rng.uniform(0, 2 * math.pi)
    dy = distance * math.cos(angle) / 111_320.0
    dx = distance * math.sin(angle) / (111_320.0 * math.cos(math.radians(lat)))
    return round(lon + dx, 7), round(lat + dy, 7)


def plan_case(
    *,
    seed: int,
    n: int,
    places: list[Place],
    cameras: list[str],
    shares: Shares | None = None,
) -> CasePlan:
    """Draw case ``n``: its source, problem, place, and how each step of its loop goes."""
    shares = shares or Shares()
    rng = case_rng(seed, n)
    source = source_of(seed, n)
    camera = ""
    if source == "camera" and cameras:
        camera = rng.choice(cameras)
        category, description = rng.choice(CAMERA_PROBLEMS)
        place_name, lon, lat = camera, 0.0, 0.0  # the platform puts it at the camera
    else:
        if source == "camera":  # no camera bound to the unit: a patrol finds it instead
            source = "inspector"
        usable = [p for p in places if p.kind in PLACE_PROBLEMS]
        place = rng.choice(usable)
        category, description = rng.choice(PLACE_PROBLEMS[place.kind])
        place_name = place.name
        lon, lat = jitter(place.lon, place.lat, rng, max_m=35.0)
    late = rng.random() < shares.late
    return CasePlan(
        n=n,
        source=source,
        category=category,
        description=f"{description} ({place_name})",
        place=place_name,
        lon=lon,
        lat=lat,
        camera=camera,
        reporter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        reporter_phone=f"139{rng.randrange(10**8):08d}",
        reject_reason=rng.choice(REJECT_REASONS) if rng.random() < shares.reject else "",
        rework=rng.random() < shares.rework,
        late=late,
        # The 5-minute filing and 1-minute dispatch clocks are met; a late team leaves after
        # a while and crawls, so its 10-minute arrival and 3-minute feedback clocks run out.
        filing_s=rng.uniform(20, 150),
        dispatch_s=_dispatch_wait(rng, shares),
        depart_s=rng.uniform(540, 660) if late else rng.uniform(10, 60),
        speed_kmh=rng.uniform(6, 9) if late else rng.uniform(22, 35),
        feedback_s=rng.uniform(200, 300) if late else rng.uniform(30, 120),
        disposal_s=rng.uniform(120, 480),
        verify_s=rng.uniform(60, 300),
        close_s=rng.uniform(20, 120),
    )


def _dispatch_wait(rng: random.Random, shares: Shares) -> float:
    drawn = rng.uniform(8, 40)  # drawn in any case, so the rest of the story stays the same
    return drawn if shares.dispatch_wait_s is None else shares.dispatch_wait_s


def next_arrival_s(rng: random.Random, rate_per_min: float) -> float:
    """Seconds to the next report: a Poisson stream of ``rate_per_min`` reports a minute."""
    return rng.expovariate(rate_per_min / 60.0)

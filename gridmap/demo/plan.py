"""What the demo district looks like: its place, outline, river, streets, zoning and names.

Everything is in local metres (x east, y north of the district's south-west corner). The layout
follows the Economic-Technological Development Zone's real pattern: a rectangular grid of
north–south 大街 (经开第N大街) and east–west 路 (经南N路) under 航海东路, crossed by a meandering
river (潮河) that only the main streets bridge.

Seen from above (blocks are 450 m × ~300 m; letters are the zoning of ``ZONING``)::

    y 2600 ══ 航海东路 ══════════════════════════════════════════════════════
           C    R    C*   G    C    R    T    C        * part construction site
    y 2300 ── 经南一路 (one-way eastbound) ──────────────────────────────────
           R    T    S    R    T    R    R    V
    y 2000 ── 明湖路 ─────────────────────────────────────────────────────
           R    M    R    P    R    R    S    V        P = 明湖公园 with its lake
    y 1700 ── 经南三路 ──────────── (park) ─────────────────────────────────
           P    R    R    P    R    KR   R    V
           ~~~~~~~~~~~~ 潮河 (bridged at x = 0, 1800, 2700, 3600) ~~~~~~~~~~~~
           R    V    R    P    H    R    I    I
    y 1000 ── 经南五路 ───────────────────────────────────────────────────
           R    S    R    R    T    KC   I    I
    y  700 ── 经南六路 ───────────────────────────────────────────────────
           V    R    M    S    R    R    I    I
    y  350 ── 经南七路 (one-way westbound) ─────────  (industrial superblocks)
           C    R    R    C    M    C    I    I
    y 0–120 ══ 经南八路 (the southern border, bent at x = 1800) ═══════════════
          x=0  450  900 1350 1800 2250 2700 3150 3600
"""

import math
from dataclasses import dataclass

#: EPSG:4547 coordinates (metres) of the local origin, the district's south-west corner.
#: The district's centre (1800, 1300) then lies at about 113.730 E, 34.720 N.
ORIGIN: tuple[float, float] = (473_470.0, 3_842_265.0)
SOURCE_SRID = 4547

WIDTH_M = 3600.0
HEIGHT_M = 2600.0
#: The outline (counter-clockwise); the southern border road bends at x = 1800.
OUTLINE: list[tuple[float, float]] = [
    (0.0, 0.0),
    (1800.0, 0.0),
    (3600.0, 120.0),
    (3600.0, HEIGHT_M),
    (0.0, HEIGHT_M),
]

DISTRICT = ("410171", "郑州经济技术开发区")
SUBDISTRICT = ("410171001", "明湖街道")

#: Seeds: one per concern, so that changing one layer does not reshuffle the others.
SEED = 2026

# --- The river -------------------------------------------------------------------------------

RIVER_NAME = "潮河"
RIVER_HALF_WIDTH_M = 20.0
#: Where streets that do not bridge the river stop: this far from its centre line.
BANK_STOP_M = 30.0
#: Riverside roads run this far from the river's centre line.
RIVERSIDE_OFFSET_M = 45.0


def river_centre_y(x: float) -> float:
    """The river's centre line: two superposed meanders around y = 1320."""
    return (
        1320.0
        + 110.0 * math.sin(2 * math.pi * (x + 200.0) / 1500.0)
        + 35.0 * math.sin(2 * math.pi * (x + 50.0) / 640.0)
    )


# --- Road cross-sections ---------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A road class's cross-section: half the carriageway, the sidewalk, the green strip."""

    half_width_m: float
    sidewalk_m: float
    green_m: float

    @property
    def setback_m(self) -> float:
        """From the centre line to the building line."""
        return self.half_width_m + self.sidewalk_m + self.green_m


PROFILES = {
    "primary": Profile(20.0, 6.0, 4.0),
    "secondary": Profile(12.0, 5.0, 3.0),
    "branch": Profile(6.0, 3.0, 2.0),
}

# --- Streets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Street:
    """A named street as planned: a straight run (or a polyline), before noding.

    ``river``: "bridge" crosses the river; "stop" stops at the riverside road or the bank on
    each side; None: does not reach the river.
    """

    name: str
    road_class: str
    points: tuple[tuple[float, float], ...]
    river: str | None = None
    oneway: bool = False
    speed_kmh: float | None = None


def _ns(x: float, name: str, road_class: str, y0: float = -50.0, y1: float = HEIGHT_M, **kw):
    # Drawn north → south; clipped to the outline later (the southern border is not level).
    return Street(name, road_class, ((x, y1), (x, y0)), **kw)


def _ew(y: float, name: str, road_class: str, x0: float = 0.0, x1: float = WIDTH_M, **kw):
    return Street(name, road_class, ((x0, y), (x1, y)), **kw)


STREETS: list[Street] = [
    # North–south 大街, numbered eastwards as in the real zone.
    _ns(0.0, "经开第八大街", "primary", river="bridge"),
    _ns(450.0, "经开第九大街", "branch", river="stop"),
    _ns(900.0, "经开第十大街", "secondary", river="stop"),
    _ns(1350.0, "经开第十一大街", "branch", river="stop"),
    _ns(1800.0, "经开第十二大街", "primary", river="bridge", speed_kmh=50.0),
    _ns(2250.0, "经开第十三大街", "branch", river="stop"),
    _ns(2700.0, "经开第十四大街", "secondary", river="bridge"),
    # Stops at 经南五路: south of it the industrial superblocks.
    _ns(3150.0, "经开第十五大街", "branch", y0=1000.0, river="stop"),
    _ns(3600.0, "经开第十六大街", "primary", river="bridge"),
    # East–west 路.
    _ew(HEIGHT_M, "航海东路", "primary", speed_kmh=50.0),
    _ew(2300.0, "经南一路", "branch", oneway=True),
    _ew(2000.0, "明湖路", "secondary"),
    _ew(1700.0, "经南三路", "branch", x1=1350.0),
    _ew(1700.0, "经南三路", "branch", x0=1800.0),
    _ew(1000.0, "经南五路", "secondary"),
    _ew(700.0, "经南六路", "secondary"),
    # Drawn east → west: one-way westbound, the pair of 经南一路.
    Street("经南七路", "branch", ((2700.0, 350.0), (0.0, 350.0)), oneway=True),
    Street("经南八路", "secondary", tuple(OUTLINE[:3])),
]

#: Riverside roads: (name, side +1 north / -1 south, x from, x to).
RIVERSIDE_ROADS = [("滨河路", 1, 0.0, 1800.0), ("滨河南路", -1, 1800.0, WIDTH_M)]

# --- Zoning ----------------------------------------------------------------------------------

COLUMNS_X = [450.0, 900.0, 1350.0, 1800.0, 2250.0, 2700.0, 3150.0]
ROWS_NORTH_Y = [2300.0, 2000.0, 1700.0]  # rows 0–3, north of the river
ROWS_SOUTH_Y = [1000.0, 700.0, 350.0]  # rows 4–7, south of it

#: Zoning by (row, column): R residential compound, T high-rise towers, V village (城中村),
#: M residential with a market, C commercial, I industrial, S school, H hospital,
#: G government, P park, KR / KC construction site (future residential / commercial).
ZONING = [
    ["C", "R", "C", "G", "C", "R", "T", "C"],
    ["R", "T", "S", "R", "T", "R", "R", "V"],
    ["R", "M", "R", "P", "R", "R", "S", "V"],
    ["P", "R", "R", "P", "R", "KR", "R", "V"],
    ["R", "V", "R", "P", "H", "R", "I", "I"],
    ["R", "S", "R", "R", "T", "KC", "I", "I"],
    ["V", "R", "M", "S", "R", "R", "I", "I"],
    ["C", "R", "R", "C", "M", "C", "I", "I"],
]

LAND_USE = {
    "R": "residential",
    "T": "residential",
    "V": "residential",
    "M": "residential",
    "KR": "residential",
    "C": "commercial",
    "KC": "commercial",
    "I": "industrial",
    "S": "public",
    "H": "public",
    "G": "public",
    "P": "green",
}

#: The lake of 明湖公园 (centre, radii) and a pond in the park south of the river.
LAKE = ("明湖", (1575.0, 1830.0), (125.0, 75.0))
POND = ("荷花塘", (1580.0, 1130.0), (45.0, 30.0))

# --- Communities -----------------------------------------------------------------------------

#: (3-digit code, name, ASCII slug, column range x0–x1, north of the river?)
COMMUNITIES = [
    ("001", "锦荣社区", "jinrong", 0.0, 900.0, True),
    ("002", "明湖社区", "minghu", 900.0, 1800.0, True),
    ("003", "朗悦社区", "langyue", 1800.0, 2700.0, True),
    ("004", "瑞锦社区", "ruijin", 2700.0, 3600.0, True),
    ("005", "滨河社区", "binhe", 0.0, 900.0, False),
    ("006", "康宁社区", "kangning", 900.0, 1800.0, False),
    ("007", "祥和社区", "xianghe", 1800.0, 2700.0, False),
    ("008", "兴华社区", "xinghua", 2700.0, 3600.0, False),
]

# --- Names -----------------------------------------------------------------------------------

COMPOUND_PREFIXES = [
    "锦荣", "朗悦", "明湖", "瑞锦", "滨河", "康宁", "祥和", "兴华", "正商", "绿城", "美景",
    "鸿运", "建业", "升龙", "金沙", "蓝湾", "枫华", "海棠", "凤凰", "紫荆", "翠竹", "御景",
    "嘉园", "天誉", "润泽", "泰和", "九龙", "盛世", "春晓", "东方",
]  # fmt: skip
COMPOUND_SUFFIXES = ["花园", "家园", "小区", "苑", "公馆", "华府", "名邸", "雅居", "新城", "佳苑"]
VILLAGES = ["小潘庄", "杨庄", "前程村", "后河村", "王庄"]

SHOP_PREFIXES = [
    "鑫源", "老张", "兴隆", "福满", "金石", "好运", "惠民", "华联", "佳佳", "永盛", "顺发",
    "和平", "红星", "百姓", "天天", "好邻居", "阿强", "刘记", "王记", "李记", "陈记", "豫香",
    "中原", "郑味", "老街", "金穗", "宏达", "瑞丰", "万家", "小城", "聚福", "鸿福", "诚信",
    "利民", "家乐", "盛达", "恒源", "久久", "乐购", "喜来", "大福", "同心", "老乡", "合记",
    "芳芳", "小李", "东来", "隆泰", "康乐", "新概念",
]  # fmt: skip
#: Restaurant and other shop kinds (name suffix).
RESTAURANT_KINDS = [
    "烩面馆", "拉面馆", "饺子馆", "火锅店", "烧烤店", "胡辣汤", "包子铺", "米线店", "快餐店",
    "家常菜馆", "卤肉店", "炒鸡店", "面馆", "黄焖鸡米饭", "麻辣烫",
]  # fmt: skip
SHOP_KINDS = [
    "超市", "便利店", "水果店", "五金店", "大药房", "服装店", "手机店", "理发店", "洗衣店",
    "烟酒店", "母婴店", "眼镜店", "花店", "文具店", "面包房", "茶叶店", "房产中介", "快递驿站",
    "电动车维修", "美容院", "粮油店", "干洗店", "打印店", "宠物店", "彩票站", "建材店",
]  # fmt: skip

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN_NAMES = [
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "红梅", "国庆",
    "建国", "丽娟", "文博", "子涵", "浩然", "雪梅", "振华", "俊杰", "玉兰", "春生", "凤英",
    "卫东", "晓燕", "永刚", "宏伟", "淑珍", "慧", "鑫", "帅", "博", "琳", "颖", "宇",
]  # fmt: skip

CONTRACTORS = [
    "河南明建建设集团有限公司",
    "郑州经开建工有限公司",
    "中原宏达建筑工程有限公司",
]

DUTIES_FRONTAGE = "卫生、秩序、绿化、设施、市容"

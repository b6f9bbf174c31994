"""The video wall (视频墙): which camera each tile shows, saved layouts (预置方案), and "focus on
a case" (案件联动), which puts the cameras that see a case on the wall.

Tiles are numbered by row and column from 0, row-major (the top left tile first). A tile with no
camera has no ``WallTile`` row. Every change is one transaction, so a wall page that polls sees
the old layout or the new one, never half of it.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from gridmap.models import User

from .models import Camera, VideoWall, WallPreset, WallTile
from .seeing import Sight, camera_json, cameras_nearest, cameras_seeing, cameras_visible_to

#: Roles that run the centre's video walls.
WALL_ROLES = {
    User.Role.COMMANDER,
    User.Role.DISPATCHER,
    User.Role.OPERATOR,
    User.Role.SHIFT_LEADER,
    User.Role.ADMIN,
}


class WallError(Exception):
    """A wall change that cannot be done; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def may_run_walls(user) -> bool:
    return bool(user and user.is_authenticated and user.role in WALL_ROLES)


def _check_tile(wall: VideoWall, row: int, col: int) -> None:
    if not 0 <= row < wall.rows:
        raise WallError(
            "row",
            _("Row %(row)s is not on wall %(wall)s: rows are 0 to %(last)s.")
            % {"row": row, "wall": wall.code, "last": wall.rows - 1},
        )
    if not 0 <= col < wall.cols:
        raise WallError(
            "col",
            _("Column %(col)s is not on wall %(wall)s: columns are 0 to %(last)s.")
            % {"col": col, "wall": wall.code, "last": wall.cols - 1},
        )


def wall_assign(*, wall: VideoWall, row: int, col: int, camera: Camera) -> WallTile:
    """Show ``camera`` on tile (``row``, ``col``), replacing what it showed."""
    _check_tile(wall, row, col)
    tile, _created = WallTile.objects.update_or_create(
        wall=wall, row=row, col=col, defaults={"camera": camera}
    )
    return tile


def wall_clear(*, wall: VideoWall, row: int | None = None, col: int | None = None) -> int:
    """Empty one tile (``row`` and ``col`` given) or the whole wall (neither); the number of
    tiles emptied."""
    if (row is None) != (col is None):
        raise WallError("row" if row is None else "col", _("Give both row and col, or neither."))
    tiles = WallTile.objects.filter(wall=wall)
    if row is not None:
        _check_tile(wall, row, col)
        tiles = tiles.filter(row=row, col=col)
    deleted, _per_model = tiles.delete()
    return deleted


@transaction.atomic
def wall_fill(*, wall: VideoWall, cameras: list[Camera]) -> None:
    """Replace the whole layout: ``cameras`` in row-major order, the tiles left over empty."""
    WallTile.objects.filter(wall=wall).delete()
    slots = [(r, c) for r in range(wall.rows) for c in range(wall.cols)]
    WallTile.objects.bulk_create(
        WallTile(wall=wall, row=r, col=c, camera=camera)
        for (r, c), camera in zip(slots, cameras, strict=False)
    )


def wall_preset_save(*, wall: VideoWall, name: str) -> WallPreset:
    """Save the wall's current layout under ``name`` (replacing a preset of that name)."""
    name = name.strip()
    if not name:
        raise WallError("name", _("A preset needs a name."))
    tiles = [
        {"row": t.row, "col": t.col, "camera": t.camera.code}
        for t in wall.tiles.select_related("camera").order_by("row", "col")
    ]
    preset, _created = WallPreset.objects.update_or_create(
        wall=wall, name=name, defaults={"tiles": tiles}
    )
    return preset


@dataclass(frozen=True)
class PresetApplied:
    """What applying a preset did: tiles placed, and entries skipped with the reason."""

    placed: int
    skipped: list[dict]


@transaction.atomic
def wall_preset_apply(*, wall: VideoWall, name: str) -> PresetApplied:
    """Lay the wall out as preset ``name`` says. Entries naming a camera that no longer exists,
    or a tile the wall no longer has (it was made smaller), are skipped and reported."""
    preset = WallPreset.objects.filter(wall=wall, name=name).first()
    if preset is None:
        raise WallError(
            "name", _("Wall %(wall)s has no preset %(name)r.") % {"wall": wall.code, "name": name}
        )
    entries = [e for e in preset.tiles if isinstance(e, dict)]
    cameras = Camera.objects.in_bulk([str(e.get("camera")) for e in entries], field_name="code")
    WallTile.objects.filter(wall=wall).delete()
    placed, skipped = [], []
    for entry in entries:
        row, col, code = entry.get("row"), entry.get("col"), str(entry.get("camera"))
        if not (isinstance(row, int) and isinstance(col, int)):
            skipped.append({**entry, "reason": _("row and col must be numbers")})
        elif not (0 <= row < wall.rows and 0 <= col < wall.cols):
            skipped.append({**entry, "reason": _("no such tile on this wall")})
        elif code not in cameras:
            skipped.append({**entry, "reason": _("no camera with this code")})
        else:
            placed.append(WallTile(wall=wall, row=row, col=col, camera=cameras[code]))
    # A preset edited by hand may name one tile twice: the last entry wins.
    unique = {(t.row, t.col): t for t in placed}
    WallTile.objects.bulk_create(unique.values())
    return PresetApplied(placed=len(unique), skipped=skipped)


def wall_focus(*, wall: VideoWall, point, user) -> list[tuple[Sight, bool]]:
    """Fill the wall for a place (a case's location, any SRID): first the cameras that see it,
    nearest first; then, for the tiles left, the nearest other cameras, online ones before the
    others. Returns each camera put up with whether it sees the place."""
    size = wall.rows * wall.cols
    seeing = cameras_seeing(point=point, user=user, limit=size)
    chosen = [(s, True) for s in seeing]
    taken = {s.camera.pk for s in seeing}
    for online in (True, False):
        if len(chosen) >= size:
            break
        near = cameras_nearest(
            point=point, user=user, limit=size - len(chosen), exclude=taken, online=online
        )
        chosen += [(s, False) for s in near]
        taken |= {s.camera.pk for s in near}
    wall_fill(wall=wall, cameras=[s.camera for s, _sees in chosen])
    return chosen


def wall_json(wall: VideoWall) -> dict:
    """A wall with every tile (empty ones with ``camera`` null) and its presets' names."""
    shown = {
        (t.row, t.col): t.camera for t in wall.tiles.select_related("camera").order_by("row", "col")
    }
    return {
        "code": wall.code,
        "name": wall.name,
        "rows": wall.rows,
        "cols": wall.cols,
        "tiles": [
            {
                "row": r,
                "col": c,
                "camera": camera_json(shown[r, c]) if (r, c) in shown else None,
            }
            for r in range(wall.rows)
            for c in range(wall.cols)
        ],
        "presets": [p.name for p in wall.presets.order_by("name")],
    }


def first_wall_code() -> str | None:
    """The code of the first wall (by code), for the navigation; None without walls."""
    return VideoWall.objects.order_by("code").values_list("code", flat=True).first()


def camera_for_wall(*, code: str, user) -> Camera | None:
    """The camera ``code`` if ``user`` may look at it."""
    return cameras_visible_to(user).filter(code=code).first()

"""Evidence files: what a photo or video really is, size limits, thumbnails.

The type is sniffed from the content (magic numbers), never taken from the file name or the
browser's Content-Type, so a PDF or a program renamed ``photo.jpg`` is refused. Photos get a
small JPEG thumbnail, re-encoded without EXIF (no GPS position travels with it).
"""

import hashlib
import io
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

PHOTO_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
}
VIDEO_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/3gpp": ".3gp",
    "video/x-m4v": ".m4v",
}
THUMBNAIL_PX = 320


class EvidenceRejected(ValueError):
    """A file that is not an acceptable photo or video; the message names the file and why."""


@dataclass
class CheckedFile:
    """An upload that passed the checks, read into memory once."""

    name: str
    media: str  # "photo" or "video"
    content_type: str
    extension: str
    content: bytes
    sha256: str


def check_upload(upload) -> CheckedFile:
    """Sniff and size-check one uploaded file (Django ``UploadedFile`` or a similar object)."""
    name = getattr(upload, "name", "upload") or "upload"
    size = getattr(upload, "size", None)
    video_limit = settings.GRIDMAP_MAX_VIDEO_MB * 1024 * 1024
    if size is not None and size > video_limit:
        limit = settings.GRIDMAP_MAX_VIDEO_MB
        raise EvidenceRejected(
            f"{name}: {size / 1048576:.1f} MB is more than the {limit:g} MB a video may have"
        )
    upload.seek(0)
    content = upload.read()
    if not content:
        raise EvidenceRejected(f"{name}: the file is empty")
    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind else None
    if mime in PHOTO_TYPES:
        media, extension, limit_mb = "photo", PHOTO_TYPES[mime], settings.GRIDMAP_MAX_PHOTO_MB
    elif mime in VIDEO_TYPES:
        media, extension, limit_mb = "video", VIDEO_TYPES[mime], settings.GRIDMAP_MAX_VIDEO_MB
    else:
        looks = f" (its content is {mime})" if mime else ""
        raise EvidenceRejected(
            f"{name}: not a photo (JPEG, PNG, WebP, HEIC) or video (MP4, MOV, WebM, 3GP){looks}"
        )
    if len(content) > limit_mb * 1024 * 1024:
        raise EvidenceRejected(
            f"{name}: {len(content) / 1048576:.1f} MB is more than the {limit_mb:g} MB "
            f"a {media} may have"
        )
    if media == "photo" and mime not in ("image/heic", "image/heif"):
        _verify_image(name, content)
    return CheckedFile(
        name=name[:200],
        media=media,
        content_type=mime,
        extension=extension,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _verify_image(name: str, content: bytes) -> None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise EvidenceRejected(f"{name}: the photo cannot be read ({exc})") from exc


def thumbnail(checked: CheckedFile) -> ContentFile | None:
    """A JPEG of at most THUMBNAIL_PX on its longer side, upright, without EXIF; None for
    videos and photo formats Pillow cannot open."""
    if checked.media != "photo":
        return None
    try:
        with Image.open(io.BytesIO(checked.content)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=80)
    except (UnidentifiedImageError, OSError):
        return None
    return ContentFile(out.getvalue())

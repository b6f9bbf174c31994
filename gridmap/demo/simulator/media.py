"""Photos for the demo's evidence: small real JPEGs drawn with Pillow.

The platform recognises evidence by its content (a renamed file is refused), so the simulator
sends genuine images: a scene of a street with a coloured blot for the problem before disposal,
the same street clean after it, and a label saying what it shows. Feedback from the scene
(视频反馈) is a two-second MP4 made by ffmpeg when it is installed (``make run`` installs it),
else a photo.
"""

import io
import random
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 240


def photo(*, label: str, seed: str, cleaned: bool = False) -> bytes:
    """A 320 x 240 JPEG: a street (grey road, pavement, a wall) with the problem as a blot
    unless ``cleaned``; ``label`` (ASCII) written in the corner."""
    rng = random.Random(seed)  # noqa: S311 (a story, not a secret)
    image = Image.new("RGB", (WIDTH, HEIGHT), (170, 190, 205))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 60, WIDTH, 150], fill=(rng.randint(150, 200), 150, 130))  # a wall
    draw.rectangle([0, 150, WIDTH, 175], fill=(200, 200, 195))  # the pavement
    draw.rectangle([0, 175, WIDTH, HEIGHT], fill=(90, 90, 95))  # the road
    if not cleaned:
        x, y = rng.randint(40, 240), rng.randint(130, 170)
        colour = (rng.randint(60, 200), rng.randint(40, 120), rng.randint(0, 80))
        for _ in range(6):
            dx, dy = rng.randint(-25, 25), rng.randint(-12, 12)
            draw.ellipse([x + dx - 18, y + dy - 10, x + dx + 18, y + dy + 10], fill=colour)
    draw.rectangle([0, 0, WIDTH, 18], fill=(0, 0, 0))
    draw.text((4, 4), label[:50], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


@lru_cache(maxsize=1)
def video() -> bytes | None:
    """A two-second 320 x 240 MP4 (ffmpeg's test pattern), made once per run; None without
    ffmpeg or when it fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "feedback.mp4"
        command = [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=10",
            "-t",
            "2",
            "-c:v",
            "mpeg4",
            "-y",
            str(out),
        ]
        try:
            subprocess.run(command, check=True, timeout=30, capture_output=True)  # noqa: S603
        except (OSError, subprocess.SubprocessError):
            return None
        return out.read_bytes()

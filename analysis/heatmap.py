"""Heatmaps (热力图): kernel density of cases on a raster in the storage CRS.

The density is computed in metres, in the deployment's metric storage CRS, with numpy: the cases
are binned into cells (one ``bincount``), and the binned counts are convolved with the kernel
(``scipy.signal.fftconvolve``). The cost hardly depends on the number of cases once they are
read (a million cases take about as long as a thousand); it grows with the raster's size.

Kernels: ``quartic`` (biweight, the usual choice of crime and city-management analysts: zero
beyond the bandwidth) and ``gaussian`` (the bandwidth is its standard deviation, cut at three).
The discretised kernel is normalised to sum to one, and the raster is the area's extent padded
by the kernel's reach, so the surface integrates to the number of cases: density × cell area
summed over the raster equals the count (a test checks it). Density is in cases per km².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from scipy.signal import fftconvolve

from gridmap.models import STORAGE_SRID

from .selection import AnalysisInputError

KERNELS = ("quartic", "gaussian")
DEFAULT_CELL_M = float(getattr(settings, "GRIDMAP_HEATMAP_CELL_M", 25.0))
DEFAULT_BANDWIDTH_M = float(getattr(settings, "GRIDMAP_HEATMAP_BANDWIDTH_M", 150.0))
#: A raster larger than this is refused (memory, and nobody needs 25 cm cells over a district).
MAX_CELLS = int(getattr(settings, "GRIDMAP_HEATMAP_MAX_CELLS", 16_000_000))
MIN_CELL_M = 1.0
#: How far a Gaussian kernel reaches, in bandwidths.
GAUSSIAN_REACH = 3.0


@dataclass(frozen=True)
class HeatmapParams:
    """A kernel-density request: cell size and bandwidth in metres, the kernel's name."""

    cell_m: float = DEFAULT_CELL_M
    bandwidth_m: float = DEFAULT_BANDWIDTH_M
    kernel: str = "quartic"

    @property
    def reach_m(self) -> float:
        """How far one case's density spreads."""
        return self.bandwidth_m * (GAUSSIAN_REACH if self.kernel == "gaussian" else 1.0)


@dataclass(frozen=True)
class Raster:
    """A density surface: ``values[row, col]``, row 0 at the north edge, in cases per km².

    ``x0``, ``y1``: the top-left corner in the storage CRS (``srid``); square cells of
    ``cell_m`` metres.
    """

    values: np.ndarray
    x0: float
    y1: float
    cell_m: float
    srid: int
    count: int
    params: HeatmapParams

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.values.shape
        return (self.x0, self.y1 - rows * self.cell_m, self.x0 + cols * self.cell_m, self.y1)

    def integral(self) -> float:
        """Density × cell area summed: the number of cases the surface holds."""
        return float(self.values.sum(dtype=np.float64) * (self.cell_m / 1000) ** 2)


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnalysisInputError(
            name, _("%(value)r is not a number of metres") % {"value": value}
        ) from None
    if not math.isfinite(number):
        raise AnalysisInputError(name, _("must be a finite number of metres"))
    return number


def heatmap_params_parse(
    *, cell_m=None, bandwidth_m=None, kernel=None, extent: tuple[float, float, float, float]
) -> HeatmapParams:
    """Check the heatmap's own parameters against the area it covers (storage CRS metres).

    A bandwidth of zero or less, or larger than the area itself, and a cell larger than the
    bandwidth or so small that the raster would be enormous, are refused with the reason.
    """
    kernel = kernel or "quartic"
    if kernel not in KERNELS:
        raise AnalysisInputError(
            "kernel",
            _("unknown kernel %(k)r; known: %(known)s")
            % {"k": kernel, "known": ", ".join(KERNELS)},
        )
    cell = DEFAULT_CELL_M if cell_m in (None, "") else _number(cell_m, "cell_m")
    bandwidth = (
        DEFAULT_BANDWIDTH_M if bandwidth_m in (None, "") else _number(bandwidth_m, "bandwidth_m")
    )
    if bandwidth <= 0:
        raise AnalysisInputError("bandwidth_m", _("must be more than 0 metres"))
    size = max(extent[2] - extent[0], extent[3] - extent[1])
    if bandwidth > size:
        raise AnalysisInputError(
            "bandwidth_m",
            _(
                "%(b).0f m is larger than the area analysed (%(s).0f m across): nothing would "
                "stand out"
            )
            % {"b": bandwidth, "s": size},
        )
    if cell < MIN_CELL_M:
        raise AnalysisInputError("cell_m", _("must be at least %(m).0f m") % {"m": MIN_CELL_M})
    if cell > bandwidth:
        raise AnalysisInputError(
            "cell_m",
            _("a cell of %(c).0f m is larger than the bandwidth (%(b).0f m): use smaller cells")
            % {"c": cell, "b": bandwidth},
        )
    params = HeatmapParams(cell_m=cell, bandwidth_m=bandwidth, kernel=kernel)
    cols, rows = _raster_size(extent, params)
    if cols * rows > MAX_CELLS:
        raise AnalysisInputError(
            "cell_m",
            _("%(c)g m cells make a raster of %(n)s cells (at most %(max)s): use larger cells")
            % {"c": cell, "n": f"{cols * rows:,}", "max": f"{MAX_CELLS:,}"},
        )
    return params


def _raster_origin(extent, params: HeatmapParams) -> tuple[float, float, int, int]:
    """Top-left corner (snapped to whole cells, so that rasters of the same area line up) and
    the number of columns and rows of the padded extent."""
    cell, pad = params.cell_m, params.reach_m + params.cell_m
    x0 = math.floor((extent[0] - pad) / cell) * cell
    y0 = math.floor((extent[1] - pad) / cell) * cell
    x1 = math.ceil((extent[2] + pad) / cell) * cell
    y1 = math.ceil((extent[3] + pad) / cell) * cell
    return x0, y1, round((x1 - x0) / cell), round((y1 - y0) / cell)


def _raster_size(extent, params: HeatmapParams) -> tuple[int, int]:
    _, _, cols, rows = _raster_origin(extent, params)
    return cols, rows


def kernel_weights(params: HeatmapParams) -> np.ndarray:
    """The kernel on the raster's cells around a case, summing to one (square, odd size)."""
    radius = max(1, math.ceil(params.reach_m / params.cell_m))
    offsets = np.arange(-radius, radius + 1) * params.cell_m
    d2 = offsets[None, :] ** 2 + offsets[:, None] ** 2
    h2 = params.bandwidth_m**2
    if params.kernel == "quartic":
        weights = np.where(d2 < h2, (1 - d2 / h2) ** 2, 0.0)
    else:
        weights = np.where(d2 <= (GAUSSIAN_REACH**2) * h2, np.exp(-d2 / (2 * h2)), 0.0)
    if weights.sum() == 0:  # a bandwidth below half a cell: the case stays in its cell
        weights[radius, radius] = 1.0
    return weights / weights.sum()


def binned_counts(
    x: np.ndarray, y: np.ndarray, *, x0: float, y1: float, cell_m: float, shape: tuple[int, int]
) -> tuple[np.ndarray, int]:
    """Cases per cell (row 0 north) and how many cases fell outside the raster."""
    rows, cols = shape
    col = np.floor((x - x0) / cell_m).astype(np.int64)
    row = np.floor((y1 - y) / cell_m).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    counts = np.bincount(row[inside] * cols + col[inside], minlength=rows * cols)
    return counts.reshape(rows, cols).astype(np.float64), int((~inside).sum())


def kde_surface(
    x: np.ndarray,
    y: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    params: HeatmapParams,
    srid: int = STORAGE_SRID,
) -> Raster:
    """Kernel density of the points ``x``, ``y`` (storage CRS metres) over ``extent``.

    Returns a ``Raster`` in cases per km² whose integral is the number of points inside the
    padded extent (points outside it, which a district's own cases never are, are left out).
    """
    x0, y1, cols, rows = _raster_origin(extent, params)
    counts, outside = binned_counts(x, y, x0=x0, y1=y1, cell_m=params.cell_m, shape=(rows, cols))
    kernel = kernel_weights(params)
    density = fftconvolve(counts, kernel, mode="same")
    # FFT round-off leaves tiny negative values (-1e-17) where there is nothing.
    np.clip(density, 0, None, out=density)
    density /= (params.cell_m / 1000) ** 2
    return Raster(
        values=density.astype(np.float32),
        x0=x0,
        y1=y1,
        cell_m=params.cell_m,
        srid=srid,
        count=len(x) - outside,
        params=params,
    )

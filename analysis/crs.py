"""Coordinate transformers, built once per process (PROJ takes ~0.1 s to build one)."""

from functools import lru_cache

from pyproj import Transformer


@lru_cache(maxsize=8)
def transformer(source: int, target: int) -> Transformer:
    """EPSG ``source`` → EPSG ``target``, x/y (longitude first) order."""
    return Transformer.from_crs(source, target, always_xy=True)

"""Writes and pure computations of the spatial backbone (HackSoft style: services write)."""

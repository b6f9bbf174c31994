"""The demo district: a synthetic but realistic Minghu sub-district (明湖街道).

``generate`` draws it deterministically (fixed seeds, no dependence on time or on dict/set
order) and writes the GeoJSON layers and ``organisation.json`` of ``fixtures/geo/``;
``loader.demo_load`` reads those files into the database (``manage.py load_demo``).

The generator works in *local metres*: x east and y north of the district's south-west corner,
which lies at ``plan.ORIGIN`` in EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E), so that
the district sits at the real place of 明湖街道 in Zhengzhou's Economic-Technological Development
Zone (about 113.73 E, 34.72 N). Only the writer converts to WGS-84.

Modules: ``plan`` (what the district looks like: roads, zoning, names), ``streets`` (river,
road network, blocks), ``buildings`` (footprints, street shops and their frontage strips),
``people`` (departments, teams, users), ``generate`` (everything else, and the files).
"""

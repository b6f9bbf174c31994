"""Indexes for address search (gridmap.selectors.search): trigrams and, for two-character
queries, bigrams.

pg_trgm matches Chinese on this project's clusters (locale C.UTF-8: CJK characters are word
characters, so 航海东路 has the trigrams "  航", " 航海", 航海东, 海东路, "东路 "), and a GIN
trigram index answers ``name ILIKE '%商务大厦%'`` by index. But a pattern needs three characters
in a row to yield a trigram: for ``ILIKE '%炒鸡%'`` pg_trgm extracts nothing and the index scan
returns every row for the recheck. Two characters is the most common length of a Chinese word
(明湖, 超市, 炒鸡, 锦荣), so two-character queries get an index of their own: a GIN index on the
array of a name's character bigrams (lower-cased), searched with ``@>`` and rechecked with
ILIKE. EXPLAIN ANALYZE on the demo district (5,127 buildings, 1,910 zones), warm cache:

    buildings  name ILIKE '%炒鸡%'                  seq scan 2.2 ms; forced onto the trigram
                                                    index 2.2 ms, all 5,127 rows rechecked
    buildings  bigrams(name) @> '{炒鸡}' + ILIKE    bigram index 0.07 ms, 38 rows
    zones      name ILIKE '%超市%'                  seq scan 1.5 ms; trigram index 1.3 ms,
                                                    all 1,910 rows rechecked
    zones      bigrams(name) @> '{超市}' + ILIKE    bigram index 0.06 ms, 55 rows
    buildings  name ILIKE '%商务大厦%'              trigram index 0.07 ms, 24 rows
    zones      name ILIKE '%鸿福炒鸡%'              trigram index 0.02 ms, 1 row

So the search uses trigrams from three characters on and bigrams for two. The bigram function is
plpgsql (a third of the cost of the set-returning SQL version) and declared expensive, so that
the planner prefers the index to evaluating it row by row in a filter.

The indexes are plain SQL, not model ``Meta.indexes``: the models stay as they are, and Django's
migration state (hence ``makemigrations``) does not see them. ``IF NOT EXISTS`` everywhere, so
that the migration can be re-applied over a database that already has them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

BIGRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION gridmap_bigrams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
DECLARE
    l text := lower(t);
    grams text[] := '{}';
BEGIN
    FOR i IN 1 .. char_length(l) - 1 LOOP
        grams := grams || substr(l, i, 2);
    END LOOP;
    RETURN grams;
END
$$;
COMMENT ON FUNCTION gridmap_bigrams(text) IS
    'The lower-cased two-character substrings of t: the keys of the address-search bigram indexes';
"""

#: (table, column searched by substring or prefix, bigram index too?)
COLUMNS = [
    ("gridmap_road", "name", True),
    ("gridmap_road", "code", False),
    ("gridmap_pointofinterest", "name", True),
    ("gridmap_pointofinterest", "address", True),
    ("gridmap_pointofinterest", "code", False),
    ("gridmap_building", "name", True),
    ("gridmap_building", "code", False),
    ("gridmap_community", "name", True),
    ("gridmap_community", "code", False),
    ("gridmap_subdistrict", "name", True),
    ("gridmap_subdistrict", "code", False),
    ("gridmap_unitgrid", "name", True),
    ("gridmap_unitgrid", "code", False),
    ("gridmap_responsibilityzone", "name", True),
    ("gridmap_responsibilityzone", "holder", True),
    ("gridmap_responsibilityzone", "code", False),
    ("gridmap_water", "name", True),
    ("gridmap_water", "code", False),
]


def _create() -> list[str]:
    statements = []
    for table, column, bigrams in COLUMNS:
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {table}_{column}_trgm ON {table} "
            f"USING gin ({column} gin_trgm_ops)"
        )
        if bigrams:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table}_{column}_bigram ON {table} "
                f"USING gin (gridmap_bigrams({column}))"
            )
    return statements


def _drop() -> list[str]:
    statements = []
    for table, column, bigrams in COLUMNS:
        statements.append(f"DROP INDEX IF EXISTS {table}_{column}_trgm")
        if bigrams:
            statements.append(f"DROP INDEX IF EXISTS {table}_{column}_bigram")
    return statements


class Migration(migrations.Migration):
    dependencies = [("gridmap", "0002_component_classes")]
    operations = [
        TrigramExtension(),
        migrations.RunSQL(BIGRAMS_FUNCTION, "DROP FUNCTION IF EXISTS gridmap_bigrams(text)"),
        migrations.RunSQL(_create(), _drop()),
    ]

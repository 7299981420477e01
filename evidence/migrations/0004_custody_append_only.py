"""The database refuses to change or remove custody events.

UPDATE is always refused. DELETE (and TRUNCATE on PostgreSQL) is refused while
the one row of ``evidence_custody_guard`` exists. The guard exists for one
reason: ``manage.py flush``, which Django's transactional tests run after each
test, must be able to empty every table. On SQLite a flush is a ``DELETE FROM``
per table, in an order that changes from run to run (Django builds the table
list from a set), and this guard table is not a model, so a flush never empties
it. ``evidence/management/commands/flush.py`` therefore removes the guard row
inside the flush's own transaction and puts it back before committing.

Trade-off: this stops mistakes and anyone who can only reach the database
through the application. Someone with write access to the database can drop
these triggers or the guard row; what makes their edits evident is the hash
chain, which ``manage.py verify_evidence`` recomputes.

On SQLite, a later migration that rebuilds ``evidence_custodyevent`` (most
field changes do) drops its triggers with the old table: run ``TRIGGERS`` from
this module again after it. The tests fail if the triggers are missing.
"""

from django.db import migrations

GUARD_TABLE = "evidence_custody_guard"

_GUARD = [
    "CREATE TABLE evidence_custody_guard (id integer NOT NULL PRIMARY KEY CHECK (id = 1))",
    "INSERT INTO evidence_custody_guard (id) VALUES (1)",
]

TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER evidence_custody_no_update
        BEFORE UPDATE ON evidence_custodyevent
        BEGIN SELECT RAISE(ABORT, 'The custody log is append-only.'); END""",
        """CREATE TRIGGER evidence_custody_no_delete
        BEFORE DELETE ON evidence_custodyevent
        WHEN EXISTS (SELECT 1 FROM evidence_custody_guard)
        BEGIN SELECT RAISE(ABORT, 'The custody log is append-only.'); END""",
    ],
    "postgresql": [
        # restrict_violation (SQLSTATE 23001) reaches Django as an IntegrityError,
        # as SQLite's RAISE(ABORT) does.
        """CREATE OR REPLACE FUNCTION evidence_custody_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' OR EXISTS (SELECT 1 FROM evidence_custody_guard) THEN
                RAISE EXCEPTION 'The custody log is append-only.'
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN OLD;
        END;
        $$""",
        """CREATE TRIGGER evidence_custody_no_update
        BEFORE UPDATE ON evidence_custodyevent
        FOR EACH ROW EXECUTE FUNCTION evidence_custody_append_only()""",
        """CREATE TRIGGER evidence_custody_no_delete
        BEFORE DELETE ON evidence_custodyevent
        FOR EACH ROW EXECUTE FUNCTION evidence_custody_append_only()""",
        # Row triggers do not fire for TRUNCATE.
        """CREATE TRIGGER evidence_custody_no_truncate
        BEFORE TRUNCATE ON evidence_custodyevent
        FOR EACH STATEMENT EXECUTE FUNCTION evidence_custody_append_only()""",
    ],
}

DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS evidence_custody_no_update",
        "DROP TRIGGER IF EXISTS evidence_custody_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS evidence_custody_no_update ON evidence_custodyevent",
        "DROP TRIGGER IF EXISTS evidence_custody_no_delete ON evidence_custodyevent",
        "DROP TRIGGER IF EXISTS evidence_custody_no_truncate ON evidence_custodyevent",
    ],
}

_DROP_REST = {
    "sqlite": ["DROP TABLE IF EXISTS evidence_custody_guard"],
    "postgresql": [
        "DROP FUNCTION IF EXISTS evidence_custody_append_only()",
        "DROP TABLE IF EXISTS evidence_custody_guard",
    ],
}


def _vendor(schema_editor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in TRIGGERS:
        raise NotImplementedError(
            f"The custody log's append-only triggers exist for SQLite and PostgreSQL, not {vendor}."
        )
    return vendor


def install(apps, schema_editor) -> None:
    vendor = _vendor(schema_editor)
    for sql in _GUARD + TRIGGERS[vendor]:
        schema_editor.execute(sql)


def remove(apps, schema_editor) -> None:
    vendor = _vendor(schema_editor)
    for sql in DROP_TRIGGERS[vendor] + _DROP_REST[vendor]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_perceptual_hash_bands"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]

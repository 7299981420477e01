"""Django's ``flush``, able to empty the custody log.

The custody log's triggers refuse to delete events while the guard row exists
(evidence/migrations/0004). A flush destroys every table by definition, so this
command removes the guard row inside the flush's own transaction and puts it
back before committing: no other connection ever sees the log unguarded, and a
flush that fails leaves the guard in place. Django's transactional tests end
with this command.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections, transaction

GUARD_TABLE = "evidence_custody_guard"  # created by evidence/migrations/0004
LIFT_GUARD = "DELETE FROM evidence_custody_guard"
RESTORE_GUARD = "INSERT INTO evidence_custody_guard (id) VALUES (1)"

PROMPT = (
    'You have requested a flush of the database "{name}".\n'
    "This will IRREVERSIBLY DESTROY all data, including the chain of custody of\n"
    "every evidence item, and return each table to an empty state.\n"
    "Are you sure you want to do this?\n\n"
    "    Type 'yes' to continue, or 'no' to cancel: "
)


class Command(flush.Command):
    help = flush.Command.help + " Empties the custody log as well."

    def handle(self, **options) -> None:
        database = options["database"]
        connection = connections[database]
        # Asked before the transaction starts, so that no write lock is held
        # while someone reads the question.
        question = PROMPT.format(name=connection.settings_dict["NAME"])
        if options["interactive"] and input(question) != "yes":
            self.stdout.write("Flush cancelled.")
            return
        with transaction.atomic(using=database):
            guarded = GUARD_TABLE in connection.introspection.table_names()
            if guarded:
                with connection.cursor() as cursor:
                    cursor.execute(LIFT_GUARD)
            super().handle(**{**options, "interactive": False})
            if guarded:
                with connection.cursor() as cursor:
                    cursor.execute(RESTORE_GUARD)

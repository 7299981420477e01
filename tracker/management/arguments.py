"""What several management commands share: the ``--user`` option with its one lookup
and wording, the ``--incident`` evidence goes to, and help text printed with its line
breaks kept. Not a command: the
commands of both apps import it."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)

from tracker import locks
from tracker.access import visible_incidents

NO_USER = "No user named {username!r}."
INACTIVE_USER = "User {username!r} is inactive."


def add_user_argument(parser: CommandParser, *, help: str, required: bool = True) -> None:
    """``--user USERNAME``: who runs the command, recorded where the command records it."""
    parser.add_argument("--user", required=required, metavar="USERNAME", help=help)


def user_from(options: dict[str, Any]) -> AbstractBaseUser | None:
    """The active user ``--user`` names; None if the option is optional and not given.
    An unknown or inactive user is a CommandError, before anything is read or written."""
    username = options["user"]
    if username is None:
        return None
    User = get_user_model()
    user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
    if user is None:
        raise CommandError(NO_USER.format(username=username))
    if not user.is_active:
        raise CommandError(INACTIVE_USER.format(username=user.get_username()))
    return user


def open_incident_from(options: dict[str, Any], user):
    """The incident ``--incident`` names, which ``user`` may see (a restricted one does
    not exist for another) and which takes evidence (not locked); None if not given.
    A CommandError otherwise, before anything is read or written."""
    if options["incident"] is None:
        return None
    code = options["incident"].strip().upper()
    incident = visible_incidents(user).filter(code=code).first()
    if incident is None:
        raise CommandError(f"No incident with code {options['incident']!r}.")
    try:
        locks.check_incident_open(incident.pk, "evidence")
    except locks.Locked as exc:
        raise CommandError(" ".join(exc.messages)) from None
    return incident


class _RawHelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    pass


class RawHelpCommand(BaseCommand):
    """A command whose ``help`` is printed as written (its table of outputs keeps its
    line breaks)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        kwargs.setdefault("formatter_class", _RawHelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

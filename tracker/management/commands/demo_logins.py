"""Show the demo users' logins: ``python manage.py demo_logins``."""

from __future__ import annotations

from django.core.management.base import BaseCommand

import demo


class Command(BaseCommand):
    help = "Print the demo users' usernames and passwords written by load_demo."

    def handle(self, *args, **options) -> None:
        text = demo.read_logins()
        if text is None:
            self.stdout.write(
                "No demo logins exist. `python manage.py load_demo` creates the demo users."
            )
            return
        self.stdout.write(f"Demo logins ({demo.logins_path()}):")
        self.stdout.write(text.rstrip("\n"))  # its first line names the admin URL

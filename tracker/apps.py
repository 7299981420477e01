from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Case"

    def ready(self) -> None:
        from tracker import locks, sessions  # noqa: F401 - sessions: the login time stamp

        locks.connect()

from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Case"

    def ready(self) -> None:
        from tracker import locks, vocabulary
        from tracker.accounts import sessions  # noqa: F401 - the login time stamp

        locks.connect()
        vocabulary.connect()

from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Case"

    def ready(self) -> None:
        from tracker import sessions  # noqa: F401 - connects the login time stamp

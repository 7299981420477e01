from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        from evidence import jobs, visibility  # noqa: F401 - jobs: the background work's handlers
        from evidence.corroboration import decisions

        visibility.connect()
        decisions.connect()

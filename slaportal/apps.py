from django.apps import AppConfig


class SlaPortalConfig(AppConfig):
    """The project's own kit and what it keeps per person (preferences, notices); it connects the
    sign-in lockout's clean-up on success."""

    name = "slaportal"
    label = "slaportal"
    verbose_name = "SLA Portal"

    def ready(self) -> None:
        from slaportal import lockout  # noqa: F401 (connects its receiver)

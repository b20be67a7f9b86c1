from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        # Registers the webhook sender with the outbox.
        from leads import webhooks  # noqa: F401

from django.apps import AppConfig


class AccountabilityConfig(AppConfig):
    name = "accountability"
    verbose_name = "Accountability (audit trail)"

    def ready(self) -> None:
        from accountability import checks  # noqa: F401  (registers the deploy checks)

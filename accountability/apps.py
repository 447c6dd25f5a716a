from __future__ import annotations

from django.apps import AppConfig

from accountability.collector import tune_garbage_collector


class AccountabilityConfig(AppConfig):
    name = "accountability"
    verbose_name = "Accountability (audit trail)"

    def ready(self) -> None:
        from accountability import checks  # noqa: F401  (registers the deploy checks)

        tune_garbage_collector()

"""`manage.py check --deploy` approves the documented production settings and refuses the
embedded defaults, which work only while everything runs in one process."""

from __future__ import annotations

from accountability.checks import production_services_check
from tests.production.support import manage, production_env


def test_check_deploy_is_clean_with_the_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_refuses_sqlite_and_a_missing_redis(tmp_path):
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="")
    result = manage("check", "--deploy", "--tag", "services", "--fail-level", "WARNING", env=env)
    assert result.returncode == 1
    assert "accountability.W001" in result.stderr
    assert "accountability.W002" in result.stderr


def test_check_deploy_refuses_eager_tasks_next_to_redis(settings):
    settings.REDIS_URL = "redis://redis.internal:6379/0"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert "accountability.W003" in {message.id for message in production_services_check(None)}

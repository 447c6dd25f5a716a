"""Settings read from the environment fail closed with a sentence that names the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from accountability.settings import env_bool, env_json, env_secret


def test_file_storage_options_must_be_a_json_object(monkeypatch):
    monkeypatch.setenv("FILE_STORAGE_OPTIONS", '{"bucket_name": "docs"}')
    assert env_json("FILE_STORAGE_OPTIONS", {}) == {"bucket_name": "docs"}
    monkeypatch.setenv("FILE_STORAGE_OPTIONS", "[1]")
    with pytest.raises(ImproperlyConfigured, match="FILE_STORAGE_OPTIONS must be a JSON object"):
        env_json("FILE_STORAGE_OPTIONS", {})


def test_a_missing_secret_fails_closed_and_a_file_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        env_secret("SECRET_KEY", None)
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_secret("SECRET_KEY", None) == "from-file"


def test_booleans_are_spelled_out(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False)

from __future__ import annotations

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Stored files go to a fresh directory; pages render small, for speed."""
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENT_RENDER_DPI = 36
    return tmp_path

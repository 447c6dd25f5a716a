"""Who a request is from, read in one plain query: every request by a person asks.

Django reads the session and then the user, each with an ORM query whose building cost more
than running it. Here the session row names its user (accountability.models.Session), so one
statement reads both; the user is handed to the authentication backend, which Django asks next
in the same request. These are Django's own extension points (SESSION_ENGINE, a custom session
model, AUTHENTICATION_BACKENDS), changed in how they read only.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from accountability import db
from accountability.models import Session

# The user read with this request's session, as (user id, user or None), until the backend
# takes it. Set on every session read, so a request never sees another request's user.
_READ_WITH_SESSION: ContextVar[tuple[Any, Any] | None] = ContextVar("user_read", default=None)


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> type[Session]:
        return Session

    def create_model_instance(self, data: dict[str, Any]) -> Session:
        session = super().create_model_instance(data)
        session.user_id = _user_id(data.get(SESSION_KEY))
        return session

    def _get_session_from_db(self) -> Session | None:
        rows = db.values(_session_and_user_sql(), [self.session_key, timezone.now()])
        if not rows:
            _READ_WITH_SESSION.set(None)
            self._session_key = None
            return None
        width = len(Session._meta.concrete_fields)
        [session] = db.instances_of(Session, [rows[0][:width]])
        user_row = rows[0][width:]
        User = get_user_model()
        user = db.instances_of(User, [user_row])[0] if user_row[0] is not None else None
        _READ_WITH_SESSION.set((session.user_id, user))
        return session


@cache  # the same text for every request: built once, not on each one
def _session_and_user_sql() -> str:
    User = get_user_model()
    return f"""SELECT s.*, u.* FROM
        (SELECT {db.columns(Session)} FROM {Session._meta.db_table}
          WHERE session_key = %s AND expire_date > %s) s
        LEFT JOIN (SELECT {db.columns(User)} FROM {User._meta.db_table}) u
          ON u.id = s.user_id"""  # noqa: S608 (table names only)


def _user_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        read = _READ_WITH_SESSION.get()
        _READ_WITH_SESSION.set(None)  # taken once: a later lookup reads afresh
        if read is not None and read[0] is not None and read[0] == _user_id(user_id):
            user = read[1]
        else:  # a session saved before it named its user, or no session read in this request
            user = db.first(get_user_model(), "id = %s", [user_id])
        return user if user is not None and self.user_can_authenticate(user) else None

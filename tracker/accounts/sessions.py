"""Sessions that end after a period of inactivity, without a write per request.

Django restarts a session's clock only when the session is saved; saving it on
every request (SESSION_SAVE_EVERY_REQUEST) would make every page view a database
write. Instead the session records when it was last refreshed, and is saved
again at most every REFRESH_SECONDS: a session ends SESSION_COOKIE_AGE after the
last request, give or take REFRESH_SECONDS.
"""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

REFRESHED = "_tracker_refreshed_at"
REFRESH_SECONDS = 300


@receiver(user_logged_in, dispatch_uid="tracker.accounts.sessions.stamp_login")
def stamp_login(sender, request, user, **kwargs) -> None:
    """The login itself saves the session; note the time then, at no extra cost."""
    if request is not None and hasattr(request, "session"):
        request.session[REFRESHED] = int(time.time())


class IdleTimeoutMiddleware:
    """Restart the idle clock of an active session, at most every REFRESH_SECONDS."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            stamped = session.get(REFRESHED)
            now = int(time.time())
            if stamped is not None and now - stamped >= REFRESH_SECONDS:
                session[REFRESHED] = now  # marks the session modified: saved, clock restarted
        return self.get_response(request)

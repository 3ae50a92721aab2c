"""What `cvat pull` wraps around cvat-sdk's HTTP client: a timeout on every request, a bounded number of tries, and
credentials kept out of every message and log record.

cvat-sdk passes `timeout=None` to urllib3 for every API call (cvat_sdk/api_client/rest.py), which means "wait
forever": a server that accepts the connection and never answers would hang a pull. urllib3's own retries are turned
off (they would multiply the wait and cannot say which URL failed); this module retries instead and then names the
URL. Redaction covers the credential's own values, the session cookies and CSRF token the sdk holds after a password
login, and anything shaped like an Authorization/Cookie header or a token field, because servers and proxies echo
headers back (in reason phrases, bodies, the sdk's `ApiException` text and its debug log of response bodies).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator

DEFAULT_TIMEOUT_S = 60.0  # per request, connect and each read; an export is polled, so no single answer is slow
DEFAULT_RETRIES = 2  # tries after the first, for requests that time out or lose their connection
RETRY_PAUSE_S = 1.0  # before retrying a refused or reset connection (a timeout has waited already)

_HEADER = re.compile(r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-csrftoken)(['\"]?\s*[:=]\s*)"
                     r"(['\"]?)[^'\"\r\n]*")  # fmt: skip
_SCHEME = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_COOKIE = re.compile(r"(?i)\b(sessionid|csrftoken|csrfmiddlewaretoken)=[^;\s,'\"]+")
_FIELD = re.compile(r"(?i)(['\"](?:key|token|access_token|password)['\"]\s*:\s*['\"])[^'\"]*")


class Redactor:
    """Replaces every known secret and every credential-shaped text with `***`."""

    def __init__(self, *secrets: str | None):
        self.secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        # 1-2 character values (a short user name) would blank out ordinary words; they are not secrets anyway
        self.secrets.update(s for s in secrets if s and len(s) >= 3)

    def add_client(self, client) -> None:
        """The session cookies, CSRF token and access token the sdk holds after login."""
        api = client.api_client
        self.add(*(c.value for c in api.cookies.values()), api.configuration.access_token)
        self.add(*(v for v in api.configuration.api_key.values() if isinstance(v, str)))

    def __call__(self, text: str) -> str:
        text = str(text)
        for secret in sorted(self.secrets, key=len, reverse=True):  # longest first: no partial leftovers
            text = text.replace(secret, "***")
        text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}***", text)
        text = _SCHEME.sub(lambda m: f"{m.group(1)} ***", text)
        text = _COOKIE.sub(lambda m: f"{m.group(1)}=***", text)
        return _FIELD.sub(lambda m: f"{m.group(1)}***", text)


@contextlib.contextmanager
def redacted_logs(redact: Redactor) -> Iterator[None]:
    """While active, every log record (the sdk's, urllib3's, ours) is redacted when it is created, before any
    handler formats it; a logger-level filter would miss records of child loggers."""
    old = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return record
        record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        logging.setLogRecordFactory(old)


class NoAnswer(Exception):
    """A request got no answer after every try. Its text names the method and URL (never headers)."""

    user_error = True


def bound_requests(client, timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES) -> None:
    """Give every request of `client` a timeout and `retries` more tries; then raise NoAnswer naming the URL."""
    # deferred: urllib3 is heavy
    import urllib3

    rest = client.api_client.rest_client
    pool_request, sdk_request = rest.pool_manager.request, rest.request
    # urllib3 would retry reads itself (3 times by default) with no word of it: one try per call, redirects kept
    once = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_redirect=True)

    def pool_once(method, url, *args, **kwargs):
        kwargs.setdefault("retries", once)
        return pool_request(method, url, *args, **kwargs)

    def request(method, url, *args, _request_timeout=None, **kwargs):
        timeout = _request_timeout if _request_timeout is not None else (timeout_s, timeout_s)
        for attempt in range(retries + 1):
            try:
                return sdk_request(method, url, *args, _request_timeout=timeout, **kwargs)
            except (urllib3.exceptions.MaxRetryError, urllib3.exceptions.TimeoutError,
                    urllib3.exceptions.ProtocolError) as exc:  # fmt: skip
                reason = getattr(exc, "reason", None) or exc
                timed_out = isinstance(reason, urllib3.exceptions.TimeoutError)
                if attempt == retries:
                    what = f"no answer within {timeout_s:g} s" if timed_out else f"{type(reason).__name__}"
                    raise NoAnswer(
                        f"{method} {url.split('?')[0]} did not answer ({what}, {retries + 1} tries); check that the "
                        "CVAT server is up and not overloaded, then pull again (--timeout-s waits longer)"
                    ) from None
                if not timed_out:
                    time.sleep(RETRY_PAUSE_S)

    rest.pool_manager.request = pool_once
    rest.request = request

"""One authenticated HTTP session with a Tasksync server: the bearer token, the client
id on writes, bounded retries, and error answers turned into typed exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tasksync_client._version import __version__
from tasksync_client.auth import Credentials
from tasksync_client.backoff import Backoff
from tasksync_client.errors import (
    ApiError,
    TransportError,
    error_from_response,
    is_retryable,
    retry_after,
)

USER_AGENT = f"tasksync-client-python/{__version__}"

# httpx errors raised before a single byte of the request went out: always safe to retry.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# A retry-after hint longer than this is not waited out inside one call.
MAX_RETRY_AFTER = 30.0

Params = Mapping[str, str | int]


class ApiSession:
    """The HTTP plumbing under `TasksyncClient` (and the SSE and poll transports)."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        client_id: str,
        timeout: float,
        retries: int,
        backoff: Backoff,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = url
        self.credentials = credentials
        self.client_id = client_id
        self.retries = retries
        self.backoff = backoff
        self.http = httpx.AsyncClient(
            base_url=url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        http_timeout: httpx.Timeout | None = None,
        replayable: bool,
        applied_if: Collection[int] = (),
    ) -> httpx.Response:
        """Send one request; an error answer raises its `ApiError` subclass.

        A request is sent again (at most `retries` times) after a failure that surely
        kept it from the server, and, when it is `replayable` (safe to apply twice),
        after any network failure, 5xx or 429. A 401 gets one retry with a renewed
        token when a provider was given. `applied_if` are statuses that mean success
        when they answer a replay of a request that may already have been applied
        (a repeated DELETE answers 404).
        """
        attempt = 0
        renewed = False
        maybe_applied = False
        while True:
            token = await self.credentials.token()
            request = self.http.build_request(
                method,
                path,
                json=json,
                params=params,
                headers=self._headers(token, method, headers),
                timeout=http_timeout if http_timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            try:
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                error = TransportError(f"{method} {path}: {exc!r}", sent=not isinstance(exc, _UNSENT))
                if attempt < self.retries and (replayable or not error.sent):
                    maybe_applied = maybe_applied or error.sent
                    await asyncio.sleep(self.backoff.delay(attempt))
                    attempt += 1
                    continue
                raise error from exc
            if response.is_success or (maybe_applied and response.status_code in applied_if):
                return response
            if response.status_code == 401 and self.credentials.renewable and not renewed:
                renewed = True
                await self.credentials.renew(token)
                continue
            api_error = error_from_response(response)
            if replayable and attempt < self.retries and is_retryable(api_error):
                maybe_applied = maybe_applied or response.status_code >= 500
                await asyncio.sleep(self._delay(api_error, attempt))
                attempt += 1
                continue
            raise api_error

    @asynccontextmanager
    async def stream(
        self, path: str, *, headers: Mapping[str, str], http_timeout: httpx.Timeout
    ) -> AsyncIterator[httpx.Response]:
        """A GET whose body is read as it arrives (server-sent events); no retries here."""
        token = await self.credentials.token()
        request = self.http.build_request(
            "GET", path, headers=self._headers(token, "GET", headers), timeout=http_timeout
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise TransportError(f"GET {path}: {exc!r}", sent=not isinstance(exc, _UNSENT)) from exc
        try:
            if not response.is_success:
                await response.aread()
                raise error_from_response(response)
            yield response
        finally:
            await response.aclose()

    def _headers(self, token: str, method: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", **(extra or {})}
        if method not in ("GET", "HEAD"):
            headers.setdefault("X-Client-Id", self.client_id)
        return headers

    def _delay(self, error: ApiError, attempt: int) -> float:
        hint = retry_after(error.headers)
        return min(hint, MAX_RETRY_AFTER) if hint is not None else self.backoff.delay(attempt)

"""A token issued by a real Better Auth server (jwt plugin, EdDSA keys) works against
our API when it is pointed at that server's JWKS, issuer and audience; a tampered copy
of the same token does not.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.interop.better_auth import BetterAuthIssuer, better_auth_server


@pytest.fixture(scope="module")
async def issuer() -> AsyncIterator[BetterAuthIssuer]:
    async with better_auth_server() as issued:
        yield issued


@pytest.fixture(scope="module")
async def client(app_factory: AppFactory, issuer: BetterAuthIssuer) -> httpx.AsyncClient:
    """An app verifying with Better Auth's JWKS only, as a production deployment would."""
    return await app_factory(
        tasksync_env="production",
        better_auth_secret="",
        jwks_url=issuer.jwks_url,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def with_claims(token: str, **changes: Any) -> str:
    """`token` with some payload claims changed and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = {**json.loads(_b64decode(payload)), **changes}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_better_auth_token_is_accepted(client: httpx.AsyncClient, issuer: BetterAuthIssuer) -> None:
    header = json.loads(_b64decode(issuer.token.split(".")[0]))
    assert header["alg"] == "EdDSA"

    listed = await client.get("/api/tasks", headers=bearer(issuer.token))
    assert listed.status_code == 200, listed.text

    created = await client.post("/api/tasks", json={"title": "Buy milk"}, headers=bearer(issuer.token))
    assert created.status_code == 201, created.text
    fetched = await client.get(f"/api/tasks/{created.json()['id']}", headers=bearer(issuer.token))
    assert fetched.status_code == 200
    assert fetched.json()["title"] == "Buy milk"


@pytest.mark.parametrize(
    "claim",
    ["email", "sub", "exp", "aud"],
)
async def test_tampered_better_auth_token_is_refused(
    client: httpx.AsyncClient, issuer: BetterAuthIssuer, claim: str
) -> None:
    changed: dict[str, Any] = {
        "email": "mallory@example.com",
        "sub": "someone-else",
        "exp": 4102444800,
        "aud": issuer.audience,  # same value, different encoding of the payload
    }
    tampered = with_claims(issuer.token, **{claim: changed[claim]})
    assert tampered != issuer.token
    response = await client.get("/api/tasks", headers=bearer(tampered))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_better_auth_token_for_another_audience_is_refused(
    app_factory: AppFactory, issuer: BetterAuthIssuer
) -> None:
    elsewhere = await app_factory(
        tasksync_env="production",
        better_auth_secret="",
        jwks_url=issuer.jwks_url,
        jwt_issuer=issuer.issuer,
        jwt_audience="https://another-api.example",
    )
    assert (await elsewhere.get("/api/tasks", headers=bearer(issuer.token))).status_code == 401

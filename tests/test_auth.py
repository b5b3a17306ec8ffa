"""Token verification end to end: every case goes through `GET /api/tasks` of a real app.

HS256 cases use the default test app (shared secret). JWKS cases run a real JWKS HTTP
server (`tests/jwks_server.py`) with Ed25519, RSA and P-256 keys and point apps at it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import AppFactory
from tests.jwks_server import JwksServer, SigningKey, serve_jwks
from tests.support import TEST_SECRET, free_port, mint

ISSUER = "https://auth.example"
AUDIENCE = "tasksync-api"
# The default `jwt_leeway_seconds` of the settings.
LEEWAY = 30


def fresh_id() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def claims(ttl: float = 3600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": fresh_id(), "iat": now, "exp": now + int(ttl), **extra}


def hs256(body: dict[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(body, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict[str, Any], body: dict[str, Any], secret: bytes | None) -> str:
    """A JWS built by hand, for what PyJWT itself refuses to produce (alg none, HS256
    keyed with a public key)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


async def get_tasks(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})


async def signed_in_as(client: httpx.AsyncClient, token: str, db: AsyncEngine) -> str:
    """Who a request with `token` acts as: the owner of the task it creates, read back
    from the database (a `200` alone would pass whoever the caller became)."""
    created = await client.post(
        "/api/tasks", json={"title": "whose is this?"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text
    async with db.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT user_id FROM tasks WHERE id = :id"), {"id": created.json()["id"]}
        )
        owner: str = result.scalar_one()
    return owner


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 401
    assert problem["type"] and problem["title"] and problem["detail"]


# --- HS256 (the default test app: BETTER_AUTH_SECRET) -------------------------------


async def test_valid_hs256_token_is_accepted(client: httpx.AsyncClient, db: AsyncEngine) -> None:
    sub = fresh_id()
    response = await get_tasks(client, mint(sub))
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert await signed_in_as(client, mint(sub), db) == sub


async def test_token_expired_beyond_the_leeway_is_refused(client: httpx.AsyncClient) -> None:
    response = await get_tasks(client, mint(fresh_id(), ttl=-(LEEWAY + 60)))
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


async def test_token_expired_within_the_leeway_is_accepted(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    sub = fresh_id()
    assert await signed_in_as(client, mint(sub, ttl=-(LEEWAY // 3)), db) == sub


async def test_a_token_accepted_before_is_refused_once_it_expires(app_factory: AppFactory) -> None:
    # Verified tokens are remembered (server.auth.token_cache); the memory must not outlive `exp`.
    client = await app_factory(jwt_leeway_seconds=0)
    body = claims(ttl=2)
    token = hs256(body)
    for _ in range(3):
        assert (await get_tasks(client, token)).status_code == 200
    await asyncio.sleep(max(0.0, body["exp"] - time.time()) + 0.2)
    response = await get_tasks(client, token)
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"exp": int(time.time()) + 3600}, id="missing-sub"),
        pytest.param({"sub": "ada"}, id="missing-exp"),
        pytest.param({"sub": 12345, "exp": int(time.time()) + 3600}, id="sub-not-a-string"),
        pytest.param({"sub": "", "exp": int(time.time()) + 3600}, id="empty-sub"),
        pytest.param({"sub": "u" * 256, "exp": int(time.time()) + 3600}, id="sub-over-255-chars"),
        pytest.param({"sub": "ada", "exp": "tomorrow"}, id="exp-not-a-number"),
    ],
)
async def test_token_with_bad_required_claims_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_unauthorized(await get_tasks(client, hs256(body)))


async def test_sub_of_exactly_255_chars_is_accepted(client: httpx.AsyncClient, db: AsyncEngine) -> None:
    sub = uuid.uuid4().hex + "u" * (255 - 32)
    assert await signed_in_as(client, mint(sub), db) == sub


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "   ", "x.y", "....", "eyJ.eyJ.sig"])
async def test_malformed_token_is_refused(client: httpx.AsyncClient, token: str) -> None:
    assert_unauthorized(await get_tasks(client, token))


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YWRhOnNlY3JldA==", "Bearer", "bearer  ", "Token abc"],
)
async def test_missing_or_non_bearer_authorization_is_refused(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_unauthorized(await client.get("/api/tasks", headers=headers))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_alg_none_token_is_refused(client: httpx.AsyncClient, alg: str) -> None:
    token = hand_made_token({"alg": alg, "typ": "JWT"}, claims(), secret=None)
    assert_unauthorized(await get_tasks(client, token))


async def test_token_signed_with_another_secret_is_refused(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await get_tasks(client, hs256(claims(), secret="another-secret-" + "x" * 32)))


async def test_hs256_token_with_a_tampered_payload_is_refused(client: httpx.AsyncClient) -> None:
    header, _, signature = mint("alice").split(".")
    forged = _b64(json.dumps(claims(sub="mallory")).encode())
    assert_unauthorized(await get_tasks(client, f"{header}.{forged}.{signature}"))


# --- JWKS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    """One key per algorithm of the contract, by algorithm name (RSA generation is slow)."""
    return {
        "EdDSA": SigningKey.ed25519("ed-1"),
        "RS256": SigningKey.rsa("rsa-1"),
        "ES256": SigningKey.p256("p256-1"),
    }


@pytest.fixture(scope="module")
async def shared_jwks(keys: dict[str, SigningKey]) -> AsyncIterator[JwksServer]:
    """A JWKS server for tests that do not count its requests or change its keys."""
    async with serve_jwks(keys.values()) as server:
        yield server


@pytest.fixture
async def own_jwks(keys: dict[str, SigningKey]) -> AsyncIterator[JwksServer]:
    """A JWKS server of this test's own, with the Ed25519 key only."""
    async with serve_jwks([keys["EdDSA"]]) as server:
        yield server


async def jwks_app(app_factory: AppFactory, jwks_url: str, **overrides: object) -> httpx.AsyncClient:
    """An app that verifies with the JWKS only (no shared secret), as in production."""
    settings: dict[str, object] = {"better_auth_secret": "", "tasksync_env": "production"}
    return await app_factory(**{**settings, "jwks_url": jwks_url, **overrides})


@pytest.fixture(scope="module")
async def jwks_client(app_factory: AppFactory, shared_jwks: JwksServer) -> httpx.AsyncClient:
    return await jwks_app(app_factory, shared_jwks.url)


@pytest.mark.parametrize("alg", ["EdDSA", "RS256", "ES256"])
async def test_jwks_token_of_each_algorithm_is_accepted(
    jwks_client: httpx.AsyncClient, keys: dict[str, SigningKey], alg: str, db: AsyncEngine
) -> None:
    body = claims()
    assert await signed_in_as(jwks_client, keys[alg].sign(body), db) == body["sub"]


async def test_jwks_token_with_an_unknown_kid_is_refused(
    jwks_client: httpx.AsyncClient, keys: dict[str, SigningKey]
) -> None:
    stranger = SigningKey.ed25519("stranger")
    assert_unauthorized(await get_tasks(jwks_client, stranger.sign(claims())))


async def test_jwks_token_signed_by_another_key_under_a_known_kid_is_refused(
    jwks_client: httpx.AsyncClient, keys: dict[str, SigningKey]
) -> None:
    impostor = SigningKey.ed25519("impostor")
    assert_unauthorized(await get_tasks(jwks_client, impostor.sign(claims(), kid=keys["EdDSA"].kid)))
    # The RSA key under the Ed25519 key's id: the header's alg must not pick the verifier.
    rsa_as_ed = keys["RS256"].sign(claims(), kid=keys["EdDSA"].kid)
    assert_unauthorized(await get_tasks(jwks_client, rsa_as_ed))


async def test_jwks_token_expired_beyond_the_leeway_is_refused(
    jwks_client: httpx.AsyncClient, keys: dict[str, SigningKey]
) -> None:
    assert_unauthorized(await get_tasks(jwks_client, keys["ES256"].sign(claims(ttl=-(LEEWAY + 60)))))


async def test_jwks_algorithm_not_configured_is_refused(
    app_factory: AppFactory, shared_jwks: JwksServer, keys: dict[str, SigningKey], db: AsyncEngine
) -> None:
    client = await jwks_app(app_factory, shared_jwks.url, jwt_algorithms=["EdDSA"])
    body = claims()
    assert await signed_in_as(client, keys["EdDSA"].sign(body), db) == body["sub"]
    assert_unauthorized(await get_tasks(client, keys["RS256"].sign(claims())))


async def test_new_key_is_accepted_after_rotation(
    app_factory: AppFactory, own_jwks: JwksServer, keys: dict[str, SigningKey], db: AsyncEngine
) -> None:
    # No refetch rate limit here: the rotation must be picked up at once, not after
    # `jwks_min_refetch_seconds` (which the flood test below covers).
    client = await jwks_app(app_factory, own_jwks.url, jwks_min_refetch_seconds=0)
    old, new = claims(), claims()
    assert await signed_in_as(client, keys["EdDSA"].sign(old), db) == old["sub"]
    assert own_jwks.requests == 1

    rotated = SigningKey.ed25519("ed-2")
    own_jwks.add(rotated)
    assert await signed_in_as(client, rotated.sign(new), db) == new["sub"]
    assert own_jwks.requests == 2
    # Both keys are now cached: neither needs another fetch.
    assert await signed_in_as(client, keys["EdDSA"].sign(old), db) == old["sub"]
    assert await signed_in_as(client, rotated.sign(new), db) == new["sub"]
    assert own_jwks.requests == 2


async def test_a_flood_of_unknown_kids_does_not_flood_the_key_server(
    app_factory: AppFactory, own_jwks: JwksServer
) -> None:
    client = await jwks_app(app_factory, own_jwks.url)
    forger = SigningKey.ed25519("forger")
    tokens = [forger.sign(claims(), kid=uuid.uuid4().hex) for _ in range(50)]
    responses = await asyncio.gather(*(get_tasks(client, token) for token in tokens))
    for response in responses:
        assert_unauthorized(response)
    assert 1 <= own_jwks.requests <= 2


async def test_flood_leaves_genuine_tokens_working(
    app_factory: AppFactory, own_jwks: JwksServer, keys: dict[str, SigningKey], db: AsyncEngine
) -> None:
    client = await jwks_app(app_factory, own_jwks.url)
    forger = SigningKey.ed25519("forger")
    for _ in range(20):
        assert_unauthorized(await get_tasks(client, forger.sign(claims(), kid=uuid.uuid4().hex)))
    body = claims()
    assert await signed_in_as(client, keys["EdDSA"].sign(body), db) == body["sub"]
    assert own_jwks.requests <= 2


@pytest.mark.parametrize("with_secret", [False, True], ids=["jwks-only", "jwks-and-secret"])
async def test_hs256_token_keyed_with_the_public_key_is_refused(
    app_factory: AppFactory,
    shared_jwks: JwksServer,
    keys: dict[str, SigningKey],
    with_secret: bool,
    db: AsyncEngine,
) -> None:
    overrides = {"better_auth_secret": TEST_SECRET} if with_secret else {}
    client = await jwks_app(app_factory, shared_jwks.url, **overrides)
    for key in (keys["RS256"], keys["EdDSA"]):
        pem = key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for kid in (key.kid, None):
            header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
            forged = hand_made_token(header, claims(), secret=pem)
            assert_unauthorized(await get_tasks(client, forged))
    if with_secret:
        # The shared secret itself still works next to the JWKS.
        sub = fresh_id()
        assert await signed_in_as(client, mint(sub), db) == sub


@pytest.fixture(scope="module")
async def strict_client(app_factory: AppFactory, shared_jwks: JwksServer) -> httpx.AsyncClient:
    """JWKS and shared secret both configured, with an issuer and an audience."""
    return await jwks_app(
        app_factory,
        shared_jwks.url,
        better_auth_secret=TEST_SECRET,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        pytest.param({"iss": ISSUER, "aud": AUDIENCE}, True, id="right-iss-and-aud"),
        pytest.param({"iss": ISSUER, "aud": ["other", AUDIENCE]}, True, id="aud-list-with-ours"),
        pytest.param({"iss": "https://evil.example", "aud": AUDIENCE}, False, id="wrong-iss"),
        pytest.param({"aud": AUDIENCE}, False, id="missing-iss"),
        pytest.param({"iss": ISSUER, "aud": "another-api"}, False, id="wrong-aud"),
        pytest.param({"iss": ISSUER}, False, id="missing-aud"),
    ],
)
@pytest.mark.parametrize("signer", ["HS256", "EdDSA", "RS256"])
async def test_issuer_and_audience_are_enforced(
    strict_client: httpx.AsyncClient,
    keys: dict[str, SigningKey],
    signer: str,
    extra: dict[str, Any],
    accepted: bool,
    db: AsyncEngine,
) -> None:
    body = claims(**extra)
    token = hs256(body) if signer == "HS256" else keys[signer].sign(body)
    if accepted:
        assert await signed_in_as(strict_client, token, db) == body["sub"]
    else:
        assert_unauthorized(await get_tasks(strict_client, token))


async def test_unreachable_key_server_is_a_401_not_a_5xx(
    app_factory: AppFactory, keys: dict[str, SigningKey], db: AsyncEngine
) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}/jwks"
    client = await jwks_app(app_factory, nobody_listens, better_auth_secret=TEST_SECRET)
    assert_unauthorized(await get_tasks(client, keys["EdDSA"].sign(claims())))
    assert_unauthorized(await get_tasks(client, keys["EdDSA"].sign(claims(), kid="other")))
    # The shared secret does not depend on the key server.
    sub = fresh_id()
    assert await signed_in_as(client, mint(sub), db) == sub


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="404"),
        pytest.param(b"<html>login</html>", id="not-json"),
        pytest.param(b"[]", id="json-array"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b'{"keys": "none"}', id="keys-not-a-list"),
        pytest.param(b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "!!"}]}', id="broken-key"),
        pytest.param(b'{"keys": []}', id="empty-set"),
    ],
)
async def test_key_server_answering_nonsense_is_a_401_not_a_5xx(
    app_factory: AppFactory, own_jwks: JwksServer, keys: dict[str, SigningKey], body: bytes | None
) -> None:
    if body is None:
        client = await jwks_app(app_factory, own_jwks.url.replace("/jwks", "/no-such-path"))
    else:
        own_jwks.body = body
        client = await jwks_app(app_factory, own_jwks.url)
    assert_unauthorized(await get_tasks(client, keys["EdDSA"].sign(claims())))
    assert own_jwks.requests == 1
    # While the key server keeps failing, a flood is not passed on to it either.
    forger = SigningKey.ed25519("forger")
    tokens = [forger.sign(claims(), kid=uuid.uuid4().hex) for _ in range(50)]
    for response in await asyncio.gather(*(get_tasks(client, token) for token in tokens)):
        assert_unauthorized(response)
    assert own_jwks.requests == 1


# --- first sight ----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def user_row(db: AsyncEngine, user_id: str) -> dict[str, Any] | None:
    async with db.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT id, email, name FROM users WHERE id = :id"), {"id": user_id}
        )
        row = result.mappings().one_or_none()
    return dict(row) if row is not None else None


async def test_user_row_is_created_on_first_sight_with_profile_claims(
    client: httpx.AsyncClient, db: AsyncEngine
) -> None:
    user_id = fresh_id()
    assert await user_row(db, user_id) is None
    token = mint(user_id, email=f"{user_id}@example.com", name="Ada Lovelace")
    assert await signed_in_as(client, token, db) == user_id
    assert await user_row(db, user_id) == {
        "id": user_id,
        "email": f"{user_id}@example.com",
        "name": "Ada Lovelace",
    }


async def test_user_row_follows_changed_profile_claims(client: httpx.AsyncClient, db: AsyncEngine) -> None:
    user_id = fresh_id()
    await get_tasks(client, mint(user_id, email="old@example.com", name="Old"))
    await get_tasks(client, mint(user_id, email="new@example.com", name="New"))
    assert await user_row(db, user_id) == {"id": user_id, "email": "new@example.com", "name": "New"}
    # A token without the claims keeps what is known.
    await get_tasks(client, mint(user_id))
    assert await user_row(db, user_id) == {"id": user_id, "email": "new@example.com", "name": "New"}


async def test_user_row_without_profile_claims(
    jwks_client: httpx.AsyncClient, keys: dict[str, SigningKey], db: AsyncEngine
) -> None:
    body = claims()
    assert await signed_in_as(jwks_client, keys["ES256"].sign(body), db) == body["sub"]
    assert await user_row(db, body["sub"]) == {"id": body["sub"], "email": None, "name": None}


async def test_user_id_in_the_body_is_ignored(client: httpx.AsyncClient) -> None:
    owner, intruder = fresh_id(), fresh_id()
    created = await client.post(
        "/api/tasks",
        json={"title": "mine", "user_id": intruder},
        headers={"Authorization": f"Bearer {mint(owner)}"},
    )
    assert created.status_code == 201
    assert (await get_tasks(client, mint(intruder))).json()["items"] == []
    assert [t["title"] for t in (await get_tasks(client, mint(owner))).json()["items"]] == ["mine"]

"""A real JWKS endpoint for tests: signing keys of each algorithm the contract names,
and a tiny HTTP server (``asyncio.start_server``) that serves their public halves.

The server counts the requests it answers, so tests can see how often the app under
test fetched the key set, and keys can be added while it runs (key rotation).

    async with serve_jwks([SigningKey.ed25519("k1")]) as jwks:
        client = await app_factory(better_auth_secret="", jwks_url=jwks.url)
        token = jwks.keys[0].sign({"sub": "ada", "exp": ...})
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

__all__ = ["JwksServer", "SigningKey", "serve_jwks"]

_PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A private key with its `kid` and algorithm; `jwk` is the public half as a JWK."""

    kid: str
    alg: str
    private_key: _PrivateKey

    @classmethod
    def ed25519(cls, kid: str) -> SigningKey:
        return cls(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def p256(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    @property
    def jwk(self) -> dict[str, Any]:
        algorithm: Any = {"EdDSA": OKPAlgorithm, "RS256": RSAAlgorithm, "ES256": ECAlgorithm}[self.alg]
        public: dict[str, Any] = algorithm.to_jwk(self.public_key, as_dict=True)
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """A token signed with this key; `kid` overrides the header's key id."""
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers={"kid": kid or self.kid})


class JwksServer:
    """Serves ``GET /jwks`` with the public keys of ``keys``; counts what it answers."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self.keys = list(keys)
        self.requests = 0
        # When set, served instead of the key set (a key server answering nonsense).
        self.body: bytes | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/jwks"

    def add(self, key: SigningKey) -> None:
        """Publish another key (what an issuer does when it rotates)."""
        self.keys.append(key)

    async def start(self) -> None:
        # Port 0: the OS picks a free port, and the socket is listening when this returns.
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            while (await reader.readline()).strip():
                pass  # headers: not needed
            self.requests += 1
            _method, path, *_ = request_line.decode("latin-1").split(" ")
            if path == "/jwks":
                status = "200 OK"
                body = self.body or json.dumps({"keys": [key.jwk for key in self.keys]}).encode()
            else:
                status, body = "404 Not Found", b"{}"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def serve_jwks(keys: Iterable[SigningKey]) -> AsyncIterator[JwksServer]:
    """A running `JwksServer` on a free local port for the duration of the block."""
    server = JwksServer(keys)
    await server.start()
    try:
        yield server
    finally:
        await server.close()

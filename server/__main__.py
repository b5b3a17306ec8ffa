"""`python -m server` — serve, migrate, or mint a development token.

python -m server serve            # migrate, then serve on $HOST:$PORT (default 127.0.0.1:8000)
python -m server migrate          # apply migrations and exit (the Procfile's release step)
python -m server token alice      # print a token for user "alice" (development mode,
                                  # or wherever BETTER_AUTH_SECRET is set)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from types import FrameType

from pydantic import ValidationError

from server.errors import ConfigurationError
from server.settings import Settings


def _serve(settings: Settings) -> None:
    import uvicorn

    from server.runtime.observability import configure_logging

    level = settings.log_level
    configure_logging(json_lines=not settings.dev_mode, level=level)

    from server.runtime.lifecycle import drain

    # The garbage-collector tuning lives in the app's lifespan (server.runtime.tuning), so
    # `uvicorn server.app:app` gets it too.
    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            drain()  # end SSE streams and long-polls now, not at the graceful timeout
            super().handle_exit(sig, frame)

    from server.api.web import is_loopback
    from server.limits.http_guard import guarded_protocol
    from server.limits.ws_guard import guarded_ws_protocol

    host = os.environ.get("HOST", "127.0.0.1")
    if settings.dev_mode and not is_loopback(host):
        # Development tokens let anyone act as any user: never serve them to a network.
        raise SystemExit(
            f"refusing to serve development mode on {host}: set BETTER_AUTH_SECRET or JWKS_URL "
            "(and TASKSYNC_ENV=production) to listen beyond this machine"
        )
    config = uvicorn.Config(
        "server.app:app",
        host=host,
        port=int(os.environ.get("PORT", "8000")),
        # uvloop + httptools: the asyncio loop with h11 keeps Nagle on keep-alive responses.
        # httptools with a bound on unfinished header blocks, in bytes and in time.
        loop="auto",
        http=guarded_protocol(settings.max_header_block_bytes, settings.header_timeout_seconds),
        # websockets-sansio with a bound on what a socket sends before it is parsed.
        ws=guarded_ws_protocol(2 * settings.ws_max_message_bytes, settings.ws_receive_bytes_per_second),
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=False,  # ~2.5x the memory per idle socket; events are small
        proxy_headers=True,
        # Only these proxies' X-Forwarded-Proto/-For are believed (scheme, client address).
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Long-lived SSE and long-poll responses are cut after this on shutdown;
        # sockets get 1012 at once. Clients resume with since / Last-Event-ID.
        timeout_graceful_shutdown=5,
        log_level=level.lower(),
        log_config=None,  # configure_logging() above: JSON lines in production
        access_log=False,  # the app logs one line per request itself, with its request id
    )
    DrainingServer(config).run()


async def _migrate(settings: Settings) -> None:
    from server.db.migrate import migrate

    await migrate(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the server")
    sub.add_parser("migrate", help="apply database migrations")
    token = sub.add_parser("token", help="mint a development token")
    token.add_argument("user", help="the user id (the token's sub)")
    token.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args(argv)

    # A configuration that cannot run is the operator's to fix: say what is wrong (and
    # exit 2), not a traceback that buries the message.
    try:
        settings = Settings()
        if args.command == "serve":
            settings.check_startable()
    except (ConfigurationError, ValidationError) as exc:
        print(f"{parser.prog}: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("database is at the newest schema")
    else:
        from server.auth.tokens import mint_dev_token

        if not (settings.dev_mode or settings.better_auth_secret):
            print(
                "tokens can only be minted in development mode or with BETTER_AUTH_SECRET",
                file=sys.stderr,
            )
            return 2
        print(mint_dev_token(settings, args.user, int(args.hours * 3600)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Offline API docs: Swagger UI at /docs and ReDoc at /redoc.

Every asset is served by this app from ``static/`` (see static/README.md for
versions and provenance); the pages' Content-Security-Policy only allows
'self', so a browser will refuse to fetch anything from elsewhere.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

# Swagger UI: vendored file, not PyPI -- `swagger-ui-bundle` (last release 2023)
# ships Swagger UI 4.15.5, which refuses to render OpenAPI 3.1 documents.
# ReDoc: vendored file -- no maintained PyPI package ships it.
STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/docs/assets"

_BASE_CSP = (
    "default-src 'self'; script-src 'self'; "
    # Both UIs set inline style attributes / inject <style> tags at runtime.
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)
SWAGGER_CSP = _BASE_CSP
# ReDoc runs its search index in a Worker created from a blob: URL.
REDOC_CSP = _BASE_CSP + "; worker-src 'self' blob:"

_SWAGGER_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{assets}/init/swagger-init.js"></script>
</body>
</html>
"""

# No font <link>s: ReDoc falls back to locally installed fonts.
_REDOC_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<div id="redoc-container" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/redoc/redoc.standalone.js"></script>
<script src="{assets}/init/redoc-init.js"></script>
</body>
</html>
"""


def docs_routes(openapi_url: str = "/openapi.json", title: str = "Tasksync API") -> list[BaseRoute]:
    """Routes for GET /docs, GET /redoc and the static assets they load."""

    def render(template: str, request: Request) -> str:
        # root_path keeps the URLs right when the app is mounted under a prefix.
        root = str(request.scope.get("root_path", ""))
        spec_url = root + openapi_url if openapi_url.startswith("/") else openapi_url
        return template.format(
            title=escape(title),
            openapi_url=escape(spec_url),
            assets=escape(root + ASSETS_PATH),
        )

    async def swagger_ui(request: Request) -> HTMLResponse:
        html = render(_SWAGGER_HTML, request)
        return HTMLResponse(html, headers={"Content-Security-Policy": SWAGGER_CSP})

    async def redoc(request: Request) -> HTMLResponse:
        html = render(_REDOC_HTML, request)
        return HTMLResponse(html, headers={"Content-Security-Policy": REDOC_CSP})

    return [
        Route("/docs", swagger_ui, methods=["GET"], name="swagger_ui"),
        Route("/redoc", redoc, methods=["GET"], name="redoc"),
        Mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="docs_assets"),
    ]

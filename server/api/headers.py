"""Header fields added to every HTTP response on its way out (by `server.api.edge`):
the fixed ones, and those a handler leaves in the scope state."""

from __future__ import annotations

# For every response, HTML or not: no MIME sniffing, no referrer leaking ids in URLs,
# never framed (clickjacking). The demo page adds its own Content-Security-Policy.
HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# On every response, as Starlette's CORSMiddleware sends it to requests with an
# `Origin`: a cache must not hand a response made for one origin (or none) to another.
VARY_ORIGIN = {"Vary": "Origin"}

# Where handlers leave the rate-limit header fields of the budgets they spent (scope
# state: name → value), for the response, whatever it is.
RATE_LIMIT_STATE = "rate_limit_headers"

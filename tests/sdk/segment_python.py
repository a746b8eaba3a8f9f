#!/usr/bin/env python3
"""Sends all six event types to Weir with Segment's Python library.

Usage: python3 segment_python.py HOST WRITE_KEY RUN_ID

HOST is Weir's base URL (``http://127.0.0.1:2022``); the library appends ``/v1/batch``. RUN_ID
makes the messageIds (``<RUN_ID>-<type>``) and ids unique, and is repeated in every event's
properties or traits so ``tests/it/sdk.rs`` can find the events in the log.

The client is configured only with the write key and the host (plus ``on_error`` and fewer
retries, which change nothing on the wire); it batches in a background thread and sends one
``POST /v1/batch`` with HTTP Basic auth, ``writeKey`` in the body and no gzip.

Exit status: 0 when every event was delivered, 1 on any delivery error reported by the SDK,
2 on a usage error, 3 when the library is not installed. With ``WEIR_SDK_REPORT=1`` the
requests also ask for Weir's ``Weir-Report`` (a diagnostic; it adds one header) and every
response is printed to stderr.
"""

import datetime
import os
import sys

try:
    import segment.analytics as analytics
    import segment.analytics.request as segment_request
except ImportError as error:
    print(f"missing: segment-analytics-python ({error})", file=sys.stderr)
    sys.exit(3)

if len(sys.argv) != 4:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
host, write_key, run = sys.argv[1:]

errors = []


def on_error(error, batch):
    errors.append(error)
    print(f"delivery error: {error!r} for {len(batch)} event(s)", file=sys.stderr)


def log_response(response, *args, **kwargs):
    body = response.text
    print(f"{response.request.method} {response.url} -> {response.status_code} {body!r}", file=sys.stderr)


# The library's module-level requests session: a response hook only observes.
segment_request._session.hooks["response"].append(log_response)
if os.environ.get("WEIR_SDK_REPORT") == "1":
    segment_request._session.headers["Weir-Report"] = "true"

client = analytics.Client(write_key, host=host, on_error=on_error, max_retries=2)

user = f"user-{run}"
anonymous = f"anon-{run}"
context = {
    "app": {"name": "weir-sdk-test", "version": "1.2.3"},
    "locale": "it-IT",
    "timezone": "Europe/Rome",
    "ip": "203.0.113.7",
}

client.identify(
    user,
    {"run": run, "email": "ada@example.com", "name": "Ada", "plan": "pro"},
    context={"locale": "en-GB"},
    anonymous_id=anonymous,
    message_id=f"{run}-identify",
)
client.track(
    user,
    "Order Completed",
    {"run": run, "revenue": 12.5, "currency": "EUR", "items": [{"sku": "A-1", "qty": 2}]},
    context={**context, "traits": {"plan": "pro"}},
    timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    message_id=f"{run}-track",
)
client.page(
    user,
    category="Docs",
    name="Pricing",
    properties={"run": run, "url": "https://example.com/pricing", "path": "/pricing"},
    context={"page": {"url": "https://example.com/pricing", "path": "/pricing", "title": "Pricing"}},
    message_id=f"{run}-page",
)
client.screen(
    user,
    category="Mobile",
    name="Home",
    properties={"run": run, "tab": "feed"},
    context={"os": {"name": "ios", "version": "17.4"}, "screen": {"width": 390, "height": 844, "density": 3}},
    message_id=f"{run}-screen",
)
client.group(
    user,
    f"org-{run}",
    {"run": run, "name": "Acme", "employees": 42},
    message_id=f"{run}-group",
)
client.alias(anonymous, user, message_id=f"{run}-alias")

client.flush()
client.shutdown()

if errors:
    print(f"{len(errors)} delivery error(s)", file=sys.stderr)
    sys.exit(1)
print("delivered 6 events")

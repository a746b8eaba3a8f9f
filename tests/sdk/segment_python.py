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

import os
import sys

from six_events import send_six

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

send_six(client, run)

client.flush()
client.shutdown()

if errors:
    print(f"{len(errors)} delivery error(s)", file=sys.stderr)
    sys.exit(1)
print("delivered 6 events")

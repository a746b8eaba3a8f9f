#!/usr/bin/env python3
"""Sends all six event types to Weir with RudderStack's Python SDK.

Usage: python3 rudder_python.py HOST WRITE_KEY RUN_ID

HOST is Weir's base URL (``http://127.0.0.1:2022``), set as the SDK's ``dataPlaneUrl``; the SDK
appends ``/v1/batch``. RUN_ID makes the messageIds (``<RUN_ID>-<type>``) and ids unique, and is
repeated in every event's properties or traits so ``tests/it/sdk.rs`` can find the events in
the log.

The SDK is configured through its module-level settings as RudderStack documents it: only the
write key and the data plane URL (plus ``on_error`` and fewer retries, which change nothing on
the wire). It batches in a background thread and sends one gzipped ``POST /v1/batch`` with
HTTP Basic auth; identify traits travel only in ``context.traits``.

Exit status: 0 when every event was delivered, 1 on any delivery error reported by the SDK,
2 on a usage error, 3 when the SDK is not installed. With ``WEIR_SDK_REPORT=1`` the requests
also ask for Weir's ``Weir-Report`` (a diagnostic; it adds one header) and every response is
printed to stderr.
"""

import os
import sys

from six_events import send_six

try:
    import rudderstack.analytics as rudder_analytics
    import rudderstack.analytics.request as rudder_request
except ImportError as error:
    print(f"missing: rudder-sdk-python ({error})", file=sys.stderr)
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


# The SDK's module-level requests session: a response hook only observes.
rudder_request._session.hooks["response"].append(log_response)
if os.environ.get("WEIR_SDK_REPORT") == "1":
    rudder_request._session.headers["Weir-Report"] = "true"

rudder_analytics.write_key = write_key
rudder_analytics.dataPlaneUrl = host
rudder_analytics.on_error = on_error
rudder_analytics.max_retries = 2

send_six(rudder_analytics, run)

rudder_analytics.flush()
rudder_analytics.shutdown()

if errors:
    print(f"{len(errors)} delivery error(s)", file=sys.stderr)
    sys.exit(1)
print("delivered 6 events")

"""The six events every Python SDK test sends, with the same arguments, so the Rust test can
expect one normalised form. `client` is anything with the analytics-python call signatures
(segment-analytics-python's Client, rudder-sdk-python's module)."""

import datetime


def send_six(client, run):
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

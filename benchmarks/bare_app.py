"""The ceiling: a bare Flask app answering the mock's two routes with fixed bodies.

No validation, no store, no rules; the bodies are a realistic session, serialised once. It is
served exactly like the mock (gunicorn, same workers) so the difference is the mock's own work.
"""

from __future__ import annotations

import json

from flask import Flask, Response

SESSION = {
    "id": 4711,
    "integrationId": "cart-7f3a-0001",
    "created": "2026-03-01T10:15:00.000000Z",
    "applicationId": 1,
    "profileId": "customer-7f3a",
    "couponCodes": ["WINTER-10"],
    "state": "open",
    "cartItems": [
        {
            "name": "Trail Running Shoe",
            "sku": "SKU-4821-RUN",
            "quantity": 1,
            "price": 89.99,
            "category": "Footwear",
            "position": 0,
        },
        {
            "name": "Merino Socks",
            "sku": "SKU-1022-SOC",
            "quantity": 3,
            "price": 12.5,
            "category": "Apparel",
            "position": 1,
        },
    ],
    "additionalCosts": {"shipping": {"price": 4.95}},
    "attributes": {"channel": "web"},
    "firstSession": True,
    "total": 132.44,
    "cartItemTotal": 127.49,
    "additionalCostTotal": 4.95,
    "updated": "2026-03-01T10:21:30.000000Z",
}
GET_BODY = json.dumps({"customerSession": SESSION, "effects": []})
PUT_BODY = json.dumps(
    {"customerSession": SESSION, "effects": [], "createdCoupons": [], "createdReferrals": []}
)

app = Flask(__name__)


@app.get("/v2/customer_sessions/<path:customerSessionId>")
def get_customer_session(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """A fixed session."""
    return Response(GET_BODY, mimetype="application/json")


@app.put("/v2/customer_sessions/<path:customerSessionId>")
def update_customer_session_v2(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """A fixed integration state."""
    return Response(PUT_BODY, mimetype="application/json")

"""For each check: the rule it expects the server to keep, and what a backend developer can do.

Words for the report's readers, not for the harness: short, concrete, and about the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Advice:
    """What a check expects, and what to do when a server breaks it."""

    expected: str
    todo: str


ADVICE: Final[dict[str, Advice]] = {
    "not_a_server_error": Advice(
        "No answer is a 5xx, whatever the request.",
        "Find the request in your server's logs (replay it with the curl command) and fix the "
        "exception behind it. Invalid input must be answered with a 400 ErrorResponse.",
    ),
    "status_code_conformance": Advice(
        "Every status is one openapi.yaml documents for the operation "
        "(PUT: 200, 400, 401, 409; GET: 200, 400, 401, 404).",
        "Map the situation to a documented status: a created session is 200 (not 201), "
        "invalid input 400, a missing or unknown API key 401, an unknown session 404.",
    ),
    "content_type_conformance": Advice(
        "Every answer is application/json, as documented.",
        "Set `Content-Type: application/json` on every answer, error pages included (no HTML "
        "or plain-text error pages from a framework or proxy).",
    ),
    "response_headers_conformance": Advice(
        "The documented response headers are present and valid.",
        "Send the headers openapi.yaml documents for this answer.",
    ),
    "response_schema_conformance": Advice(
        "The body matches the documented schema: every required field, of the documented type.",
        "Compare the answer with the schema named in the message (e.g. CustomerSessionV2): add "
        "the missing field or send it with the documented type (a number, not a string).",
    ),
    "negative_data_rejection": Advice(
        "A request that breaks the schema is refused with a 4xx (the workflows require 400).",
        "Validate request bodies, path and query parameters against openapi.yaml before acting "
        "on them, and answer 400 with an ErrorResponse naming the offending field.",
    ),
    "positive_data_acceptance": Advice(
        "A request the schema allows is accepted (a 400 only when a business rule forbids it).",
        "Do not refuse values the contract allows (long ids, Unicode, negative or fractional "
        "prices, empty carts). If a business rule refuses it, name the rule in the ErrorResponse.",
    ),
    "missing_required_header": Advice(
        "A request without a required header is refused with 4xx.",
        "Check required headers and answer 400 (or 401 for the API key) when one is missing.",
    ),
    "unsupported_method": Advice(
        "A method the contract does not document for a path is refused with 405.",
        "Answer 405 Method Not Allowed (with an Allow header) for methods other than GET and PUT.",
    ),
    "allow_header_conformance": Advice(
        "A 405 answer lists the allowed methods in its Allow header.",
        "Send `Allow: GET, PUT` with every 405.",
    ),
    "use_after_free": Advice(
        "A deleted resource is gone.",
        "Make reads after a delete answer 404.",
    ),
    "ensure_resource_availability": Advice(
        "A session a PUT created can be read back with GET right away.",
        "Store the session before answering the PUT, under the id in the path, and serve it "
        "from GET /v2/customer_sessions/{id}.",
    ),
    "ignored_auth": Advice(
        "A request without a valid API key is refused with 401.",
        "Check the `Authorization: ApiKey-v1 <key>` header on every request before anything "
        "else, and answer 401 for a missing, malformed or unknown key.",
    ),
    "object_level_authorization": Advice(
        "One Application cannot read another's sessions.",
        "Scope every lookup by the Application of the API key.",
    ),
    "max_response_time": Advice(
        "Answers arrive within the configured time.",
        "Profile the slow request (replay it with curl).",
    ),
    "totals_add_up": Advice(
        "cartItemTotal is the sum of price x quantity over cartItems, additionalCostTotal the "
        "sum of additionalCosts[*].price, total their sum; exactly when every amount is whole "
        "cents (0.1 + 0.2 is 0.3). integrationId is the id in the path; an anonymous session "
        "(profileId '') is a firstSession; updated is never before created.",
        "Compute totals in decimal arithmetic (BigDecimal, decimal.Decimal, integer cents), not "
        "binary floats, and sum every item and cost. Echo the path id as integrationId.",
    ),
    "error_response_well_formed": Advice(
        "Every documented 4xx is a JSON ErrorResponse: `message`, and `errors` of `title` + "
        "`source` (a JSON `pointer` into the body, or the `parameter`).",
        "Render every error through one ErrorResponse builder, including the ones your "
        "framework produces (401 from auth middleware, 404 for unknown routes).",
    ),
    "business_rejection_justified": Advice(
        "A 400 for schema-valid input names a business rule that really applies: an illegal "
        "transition, a change to the cart of a closed or cancelled session, an amount beyond "
        "1e13, or a rule of your own whose `source.pointer` points at a value sent.",
        "Accept the update, or name the rule that refuses it in the ErrorResponse "
        "(`title` and `source.pointer`).",
    ),
    "SessionRules": Advice(
        "Across calls: states move only open -> closed, open -> cancelled, closed -> "
        "cancelled; created never changes; a PUT changes what it names and keeps the rest; GET "
        "answers what the last PUT answered; dry=true persists nothing.",
        "Load the stored session, apply only the fields the body names, check the transition, "
        "then save (not when dry=true). Never reset fields a PUT does not name.",
    ),
    # The workflows' own checks.
    "authentication": Advice(
        "A missing, unknown or malformed API key gets 401 and changes nothing.",
        "Authenticate before anything else; answer 401 with an ErrorResponse.",
    ),
    "persisted": Advice(
        "GET answers exactly the session the last accepted PUT answered.",
        "Save the session you answer with, and read it back unchanged.",
    ),
    "first_session": Advice(
        "The first session of a profile has firstSession true, later ones false; an anonymous "
        "session is always a first session.",
        "Decide firstSession when a session is created: true when no earlier session of the "
        "profile exists, or when profileId is ''.",
    ),
    "update_applied": Advice(
        "An accepted PUT answers every field it named, as sent.",
        "Apply each field of the body to the stored session before answering.",
    ),
    "update_builds_on_previous": Advice(
        "A PUT keeps every field it does not name.",
        "Merge the body into the stored session; do not replace the session with the body.",
    ),
    "created_kept": Advice(
        "created never changes after the first PUT.",
        "Set created once, when the session is created.",
    ),
    "updated_not_behind": Advice(
        "updated never goes back.",
        "Set updated from one clock, on every accepted change.",
    ),
    "state_transitions": Advice(
        "A session starts open and moves as asked along the allowed transitions.",
        "Start every session as open; apply a requested legal state.",
    ),
    "business_rules": Advice(
        "Illegal transitions (closed -> open, cancelled -> open or closed) and changes to the "
        "cart of a closed session are refused with 400.",
        "Check the state machine and the final cart before saving; answer 400 with the title "
        "'Invalid state transition' or 'Cart is final'.",
    ),
    "rejected_update_persists_nothing": Advice(
        "A refused PUT changes nothing.",
        "Validate the whole update before saving any part of it.",
    ),
    "dry_run_evaluates": Advice(
        "dry=true answers as the update would (and refuses what it would refuse).",
        "Run the same code path for dry runs, and skip only the save.",
    ),
    "dry_run_persists_nothing": Advice(
        "dry=true creates and changes nothing.",
        "Skip the save (and any side effect) when dry=true.",
    ),
    "integration_id_matches_path": Advice(
        "integrationId is the id in the path, whatever characters it holds.",
        "Percent-decode the path segment once and echo it unchanged.",
    ),
    "workflow_status": Advice(
        "The status the step of the workflow needs (e.g. 200 for a valid first PUT).",
        "Replay the curl command and compare the answer with the expectation in the message.",
    ),
    "workflow_session": Advice(
        "A PUT with responseContent [customerSession] and every GET carry customerSession.",
        "Include customerSession in the answer when responseContent asks for it.",
    ),
    "baseline_expired": Advice(
        "Every baseline entry is still within its expiry date.",
        "Fix the failure and delete the entry, or extend `expires` with a reason in review.",
    ),
    "min_coverage": Advice(
        "The run sees at least the required share of documented (operation, status) pairs.",
        "Make the server reachable for every documented situation, or lower --min-coverage "
        "deliberately. Unseen pairs are listed under Coverage.",
    ),
    "require_status": Advice(
        "The run sees every required (operation, status) answer at least once.",
        "Check why the server never gave this answer (e.g. 409 needs parallel PUTs).",
    ),
}

# The same rules, applied by the workflows to each answer they get.
ADVICE["session_rules"] = ADVICE["totals_add_up"]

DEFAULT: Final = Advice(
    "The rule the check is named after.",
    "Replay the request with the curl command and compare the answer with the message.",
)


def advice_for(check: str) -> Advice:
    """The advice of a check (a general one for checks without their own)."""
    return ADVICE.get(check, DEFAULT)

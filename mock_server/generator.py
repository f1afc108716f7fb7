"""Realistic, rule-abiding, deterministic sessions: one generator for the mock and fixtures.

Faker is slow per call, so it fills a catalogue and a few pools once per generator; sessions are
then drawn from those with a seeded `random.Random`. Nothing reads the clock: timestamps derive
from the seed, so the same arguments give the same sessions on any machine and any day.

Sessions are drawn straight into their `CustomerSessionV2` documents, in the key order of
`wire.session_to_json`: bulk fixtures are written as they are drawn (a million of them must
stay fast), and the mock reads them back through `wire.session_from_json`, the same path a
fixture file takes. Money is counted in integer cents, so totals are exact.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from faker import Faker

from mock_server.domain import CustomerSession, SessionState, session_number
from mock_server.settings import DEFAULT_APPLICATION_ID
from mock_server.wire import JsonObject, session_from_json

T = TypeVar("T")

# Every generated timeline ends before this moment; it is part of the contract of determinism.
EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
# A long run spreads its sessions over at most this span, a short one about half an hour apart.
_MAX_SPAN_SECONDS: Final = 365 * 86400
_MEAN_GAP_SECONDS: Final = 1800.0
# `updated` follows `created` by up to this much.
_MAX_UPDATE_DELAY_SECONDS: Final = 5400

_CATEGORIES: Final[Mapping[str, tuple[str, ...]]] = {
    "Footwear": ("Trail Running Shoe", "Sneaker", "Hiking Boot", "Sandal", "Slip-On Loafer"),
    "Apparel": ("Merino Socks", "Hoodie", "Rain Jacket", "Organic T-Shirt", "Chinos", "Beanie"),
    "Electronics": ("Wireless Earbuds", "USB-C Charger", "Smartwatch", "Bluetooth Speaker"),
    "Home": ("Ceramic Mug", "Scented Candle", "Throw Pillow", "Cutting Board", "Linen Napkins"),
    "Outdoor": ("Insulated Bottle", "Camping Lantern", "Daypack", "Trekking Poles", "Hammock"),
    "Beauty": ("Face Serum", "Lip Balm", "Shampoo Bar", "Hand Cream"),
    "Grocery": ("Espresso Beans", "Green Tea", "Dark Chocolate", "Olive Oil", "Granola"),
}
_WHOLE_PRICES: Final = (1, 2, 4, 9, 12, 19, 24, 29, 39, 49, 79, 99, 149, 249)
_PRICE_ENDING_CENTS: Final = (99, 49, 95, 0)
# Cents of each additional cost a session may carry; shipping comes with every cart.
_ADDITIONAL_COST_CENTS: Final[Mapping[str, tuple[int, ...]]] = {
    "shipping": (0, 395, 495, 599, 750, 1290),
    "expressDelivery": (999, 1499),
    "giftWrap": (250, 399),
    "serviceFee": (99, 149),
}
_EXTRA_COSTS: Final = tuple(name for name in _ADDITIONAL_COST_CENTS if name != "shipping")
_COUPON_PREFIXES: Final = ("WELCOME", "SPRING", "SUMMER", "WINTER", "VIP", "FREESHIP", "BF")
_CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes get typed
_CHANNELS: Final = ("web", "ios", "android", "store")
_STATES: Final = (SessionState.OPEN, SessionState.CLOSED, SessionState.CANCELLED)
# Cumulative weights: open 5, closed 4, cancelled 1.
_STATE_THRESHOLDS: Final = (0.5, 0.9)
# Quantities 1, 2, 3, 4, 6 with weights 60, 20, 10, 6, 4.
_QUANTITIES: Final = (1, 2, 3, 4, 6)
_QUANTITY_THRESHOLDS: Final = (0.6, 0.8, 0.9, 0.96)
# Odd, so multiplying by it permutes 32-bit numbers: distinct profiles get distinct ids.
_PROFILE_MULTIPLIER: Final = 0x9E3779B1
_UUID_VERSION_4: Final = (0x4000 << 64) | (0x8000 << 48)
_UUID_VERSION_MASK: Final = ~((0xF000 << 64) | (0xC000 << 48))


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry: a SKU always has the same name, category, price and measures."""

    sku: str
    name: str
    category: str
    price_cents: int
    weight: int
    height: int
    width: int
    length: int
    # The JSON number of the price, computed once: sessions repeat it many times.
    price_number: int | float = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "price_number", _money(self.price_cents))

    @property
    def price(self) -> Decimal:
        """The unit price, exact."""
        return Decimal(self.price_cents).scaleb(-2)


@dataclass(frozen=True)
class GeneratorOptions:
    """What callers vary; the defaults give a useful spread of every case."""

    application_id: int = DEFAULT_APPLICATION_ID
    # None: a mix of every state.
    state: SessionState | None = None
    anonymous_ratio: float = 0.3
    min_items: int = 0
    max_items: int = 6
    locale: str = "en_US"
    catalogue_size: int = 120

    def __post_init__(self) -> None:
        if not 0.0 <= self.anonymous_ratio <= 1.0:
            raise ValueError("anonymous_ratio must be between 0 and 1")
        if not 0 <= self.min_items <= self.max_items:
            raise ValueError("items must be a range MIN-MAX with 0 <= MIN <= MAX")
        if self.catalogue_size < 1:
            raise ValueError("catalogue_size must be at least 1")


class SessionGenerator:
    """Deterministic sessions from a seed; build once, draw many."""

    def __init__(self, seed: int, options: GeneratorOptions | None = None) -> None:
        self.seed = seed
        self.options = options or GeneratorOptions()
        fake = Faker(self.options.locale)
        fake.seed_instance(seed)
        self.catalogue = _build_catalogue(fake, random.Random(f"catalogue:{seed}"), self.options)
        self._cities = tuple(fake.city() for _ in range(40))
        self._countries = tuple(fake.country_code() for _ in range(12))
        self._names = tuple(fake.name() for _ in range(40))
        self._colors = tuple(fake.color_name() for _ in range(24))

    def sessions(self, count: int) -> Iterator[CustomerSession]:
        """`count` sessions in creation order, with profiles shared between some of them."""
        return (session_from_json(document) for document in self.documents(count))

    def session_for(self, integration_id: str) -> CustomerSession:
        """The session this seed gives any id: the same id and seed, the same session."""
        return session_from_json(self.document_for(integration_id))

    def documents(self, count: int) -> Iterator[JsonObject]:
        """The `CustomerSessionV2` documents of `count` sessions, in creation order.

        The first six cover every state, named and anonymous, whatever the options say
        about the mix (unless a single state is asked for). Named sessions draw from
        count / 3 profiles, so customers return; `firstSession` is true on a profile's first.
        """
        rng = random.Random(f"sessions:{self.seed}")
        profile_count = count // 3 + 1
        profile_key = rng.getrandbits(32)
        # One byte per profile, not a set of ids: a million sessions stay in flat memory.
        seen = bytearray(profile_count)
        mean_gap = min(_MEAN_GAP_SECONDS, _MAX_SPAN_SECONDS / max(count, 1))
        # Gaps are at most twice the mean, so the last `updated` still falls before EPOCH.
        span = 2 * mean_gap * count + _MAX_UPDATE_DELAY_SECONDS
        created_us = _micros(EPOCH) - int(span * 1e6) - count
        for index in range(count):
            created_us += int(mean_gap * 2e6 * rng.random()) + 1
            anonymous, state = self._case(rng, index)
            if anonymous:
                profile_id, first_session = "", True
            else:
                profile = int(rng.random() * profile_count)
                mixed = ((profile * _PROFILE_MULTIPLIER) & 0xFFFFFFFF) ^ profile_key
                profile_id = f"cust-{mixed:08x}"
                first_session = not seen[profile]
                seen[profile] = 1
            integration_id = _uuid4(rng.getrandbits(128))
            yield self._document(rng, integration_id, profile_id, first_session, state, created_us)

    def document_for(self, integration_id: str) -> JsonObject:
        """The `CustomerSessionV2` document of `session_for(integration_id)`."""
        rng = random.Random(f"session:{self.seed}:{integration_id}")
        anonymous, state = self._case(rng, index=None)
        profile_id = "" if anonymous else f"cust-{rng.getrandbits(32):08x}"
        created_us = _micros(EPOCH) - rng.randint(3600, 90 * 86400) * 1_000_000
        first_session = anonymous or rng.random() < 0.5
        return self._document(rng, integration_id, profile_id, first_session, state, created_us)

    def _case(self, rng: random.Random, index: int | None) -> tuple[bool, SessionState]:
        options = self.options
        if index is not None and index < 6 and options.anonymous_ratio not in (0.0, 1.0):
            state = options.state or _STATES[index % 3]
            return index >= 3, state
        anonymous = rng.random() < options.anonymous_ratio
        if options.state is not None:
            return anonymous, options.state
        return anonymous, _STATES[_pick(rng.random(), _STATE_THRESHOLDS)]

    def _document(
        self,
        rng: random.Random,
        integration_id: str,
        profile_id: str,
        first_session: bool,
        state: SessionState,
        created_us: int,
    ) -> JsonObject:
        application_id = self.options.application_id
        items, cart_cents = self._cart(rng)
        costs: dict[str, int] | None = None
        if items or rng.random() < 0.2:
            costs = self._additional_costs(rng)
        updated_us = created_us
        if state is not SessionState.OPEN or rng.random() < 0.5:
            updated_us += int(rng.random() * _MAX_UPDATE_DELAY_SECONDS * 1e6) + 1

        document: JsonObject = {
            "id": session_number(application_id, integration_id),
            "integrationId": integration_id,
            "created": _format_micros(created_us),
            "applicationId": application_id,
            "profileId": profile_id,
        }
        roll = rng.random()
        if roll >= 0.6:
            document["couponCodes"] = [
                _code(rng, _draw(rng, _COUPON_PREFIXES) + "-", 6)
                for _ in range(1 if roll < 0.9 else 2)
            ]
        if rng.random() < 0.15:
            document["referralCode"] = _code(rng, "REF-", 8)
        document["state"] = state.value
        document["cartItems"] = items
        cost_cents = 0
        if costs is not None:
            document["additionalCosts"] = {
                name: {"price": _money(cents)} for name, cents in costs.items()
            }
            cost_cents = sum(costs.values())
        if rng.random() < 0.4:
            document["identifiers"] = [f"device-{rng.getrandbits(40):010x}"]
        document["attributes"] = self._attributes(rng)
        document["firstSession"] = first_session
        document["total"] = _money(cart_cents + cost_cents)
        document["cartItemTotal"] = _money(cart_cents)
        document["additionalCostTotal"] = _money(cost_cents)
        document["updated"] = _format_micros(updated_us)
        return document

    def _cart(self, rng: random.Random) -> tuple[list[JsonObject], int]:
        options = self.options
        random_ = rng.random
        count = options.min_items + int(random_() * (options.max_items - options.min_items + 1))
        catalogue = self.catalogue
        size = len(catalogue)
        if count <= size // 4:
            # Distinct products; rejection beats rng.sample for a few draws from many.
            chosen: dict[int, None] = {}
            while len(chosen) < count:
                chosen[int(random_() * size)] = None
            products = [catalogue[index] for index in chosen]
        elif count <= size:
            products = rng.sample(catalogue, count)
        else:
            products = rng.choices(catalogue, k=count)
        colors = self._colors
        items: list[JsonObject] = []
        cents = 0
        for position, product in enumerate(products):
            quantity = _QUANTITIES[_pick(random_(), _QUANTITY_THRESHOLDS)]
            cents += product.price_cents * quantity
            item: JsonObject = {
                "name": product.name,
                "sku": product.sku,
                "quantity": quantity,
                "price": product.price_number,
                "category": product.category,
                "weight": product.weight,
                "height": product.height,
                "width": product.width,
                "length": product.length,
                "position": position,
            }
            if random_() < 0.3:
                item["attributes"] = {"color": colors[int(random_() * len(colors))]}
            items.append(item)
        return items, cents

    def _additional_costs(self, rng: random.Random) -> dict[str, int]:
        costs = {"shipping": _draw(rng, _ADDITIONAL_COST_CENTS["shipping"])}
        for name in _EXTRA_COSTS:
            if rng.random() < 0.2:
                costs[name] = _draw(rng, _ADDITIONAL_COST_CENTS[name])
        return costs

    def _attributes(self, rng: random.Random) -> dict[str, Any]:
        attributes: dict[str, Any] = {"channel": _draw(rng, _CHANNELS)}
        if rng.random() < 0.6:
            attributes["shippingName"] = _draw(rng, self._names)
            attributes["shippingCity"] = _draw(rng, self._cities)
            attributes["shippingCountry"] = _draw(rng, self._countries)
        return attributes


def _draw(rng: random.Random, values: tuple[T, ...]) -> T:
    # rng.choice, without its slower exact-integer sampling (a bias below 2**-40 is fine).
    return values[int(rng.random() * len(values))]


def _pick(roll: float, thresholds: tuple[float, ...]) -> int:
    # Index of the first threshold above `roll`: a weighted choice without `rng.choices`.
    for index, threshold in enumerate(thresholds):
        if roll < threshold:
            return index
    return len(thresholds)


def _money(cents: int) -> int | float:
    # A whole amount is an integer; else cents / 100 is the double nearest the exact amount,
    # and its shortest repr has at most two decimals.
    whole, rest = divmod(cents, 100)
    return whole if rest == 0 else cents / 100


def _micros(moment: datetime) -> int:
    return (moment - _UNIX_EPOCH) // timedelta(microseconds=1)


_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_UNIX_EPOCH: Final = datetime(1970, 1, 1)


def _format_micros(micros: int) -> str:
    # The format of wire.format_time, without its (slower) strftime.
    moment = _NAIVE_UNIX_EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds") + "Z"


def _uuid4(bits: int) -> str:
    # str(uuid.UUID(int=bits, version=4)), three times faster.
    text = f"{(bits & _UUID_VERSION_MASK) | _UUID_VERSION_4:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _code(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choices(_CODE_ALPHABET, k=length))


def _build_catalogue(
    fake: Faker, rng: random.Random, options: GeneratorOptions
) -> tuple[Product, ...]:
    products: list[Product] = []
    skus: set[str] = set()
    categories = sorted(_CATEGORIES)
    while len(products) < options.catalogue_size:
        category = rng.choice(categories)
        noun = rng.choice(_CATEGORIES[category])
        sku = f"SKU-{rng.randint(1000, 9999)}-{category[:3].upper()}"
        if sku in skus:
            continue
        skus.add(sku)
        products.append(
            Product(
                sku=sku,
                name=f"{fake.color_name()} {noun}",
                category=category,
                price_cents=rng.choice(_WHOLE_PRICES) * 100 + rng.choice(_PRICE_ENDING_CENTS),
                weight=rng.randint(20, 4000),
                height=rng.randint(10, 600),
                width=rng.randint(10, 600),
                length=rng.randint(10, 900),
            )
        )
    return tuple(products)

"""Realistic, rule-abiding, deterministic sessions: one generator for the mock and fixtures.

Faker is slow per call, so it fills a catalogue and a few pools once per generator; sessions are
then drawn from those with a seeded `random.Random`. Nothing reads the clock: timestamps derive
from the seed, so the same arguments give the same sessions on any machine and any day.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from faker import Faker

from mock_server.domain import (
    CartItem,
    CustomerSession,
    SessionState,
    compute_totals,
    session_number,
)
from mock_server.settings import DEFAULT_APPLICATION_ID

# Every generated timeline ends before this moment; it is part of the contract of determinism.
EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)

_CATEGORIES: Final[Mapping[str, tuple[str, ...]]] = {
    "Footwear": ("Trail Running Shoe", "Sneaker", "Hiking Boot", "Sandal", "Slip-On Loafer"),
    "Apparel": ("Merino Socks", "Hoodie", "Rain Jacket", "Organic T-Shirt", "Chinos", "Beanie"),
    "Electronics": ("Wireless Earbuds", "USB-C Charger", "Smartwatch", "Bluetooth Speaker"),
    "Home": ("Ceramic Mug", "Scented Candle", "Throw Pillow", "Cutting Board", "Linen Napkins"),
    "Outdoor": ("Insulated Bottle", "Camping Lantern", "Daypack", "Trekking Poles", "Hammock"),
    "Beauty": ("Face Serum", "Lip Balm", "Shampoo Bar", "Hand Cream"),
    "Grocery": ("Espresso Beans", "Green Tea", "Dark Chocolate", "Olive Oil", "Granola"),
}
_PRICE_ENDINGS: Final = (Decimal("0.99"), Decimal("0.49"), Decimal("0.95"), Decimal("0.00"))
_ADDITIONAL_COSTS: Final[Mapping[str, tuple[Decimal, ...]]] = {
    "shipping": tuple(Decimal(p) for p in ("0", "3.95", "4.95", "5.99", "7.5", "12.9")),
    "expressDelivery": tuple(Decimal(p) for p in ("9.99", "14.99")),
    "giftWrap": tuple(Decimal(p) for p in ("2.5", "3.99")),
    "serviceFee": tuple(Decimal(p) for p in ("0.99", "1.49")),
}
_COUPON_PREFIXES: Final = ("WELCOME", "SPRING", "SUMMER", "WINTER", "VIP", "FREESHIP", "BF")
_CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes get typed
_CHANNELS: Final = ("web", "ios", "android", "store")
_STATES: Final = (SessionState.OPEN, SessionState.CLOSED, SessionState.CANCELLED)
_STATE_WEIGHTS: Final = (5, 4, 1)


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry: a SKU always has the same name, category, price and measures."""

    sku: str
    name: str
    category: str
    price: Decimal
    weight: Decimal
    height: Decimal
    width: Decimal
    length: Decimal


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
        self._colors = tuple(fake.color_name() for _ in range(24))

    def sessions(self, count: int) -> Iterator[CustomerSession]:
        """`count` sessions in creation order, with profiles shared between some of them.

        The first six cover every state, named and anonymous, whatever the options say
        about the mix (unless a single state is asked for).
        """
        rng = random.Random(f"sessions:{self.seed}")
        profiles = [f"cust-{rng.getrandbits(32):08x}" for _ in range(max(1, count // 3 + 1))]
        seen_profiles: set[str] = set()
        created = EPOCH - timedelta(days=30)
        for index in range(count):
            created += timedelta(seconds=rng.randint(30, 3600))
            anonymous, state = self._case(rng, index)
            profile_id = "" if anonymous else rng.choice(profiles)
            first_session = profile_id == "" or profile_id not in seen_profiles
            seen_profiles.add(profile_id)
            integration_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            yield self._session(rng, integration_id, profile_id, first_session, state, created)

    def session_for(self, integration_id: str) -> CustomerSession:
        """The session this seed gives any id: the same id and seed, the same session."""
        rng = random.Random(f"session:{self.seed}:{integration_id}")
        anonymous, state = self._case(rng, index=None)
        profile_id = "" if anonymous else f"cust-{rng.getrandbits(32):08x}"
        created = EPOCH - timedelta(seconds=rng.randint(3600, 90 * 86400))
        first_session = anonymous or rng.random() < 0.5
        return self._session(rng, integration_id, profile_id, first_session, state, created)

    def _case(self, rng: random.Random, index: int | None) -> tuple[bool, SessionState]:
        options = self.options
        if index is not None and index < 6 and options.anonymous_ratio not in (0.0, 1.0):
            state = options.state or tuple(SessionState)[index % 3]
            return index >= 3, state
        anonymous = rng.random() < options.anonymous_ratio
        if options.state is not None:
            return anonymous, options.state
        return anonymous, rng.choices(_STATES, _STATE_WEIGHTS)[0]

    def _session(
        self,
        rng: random.Random,
        integration_id: str,
        profile_id: str,
        first_session: bool,
        state: SessionState,
        created: datetime,
    ) -> CustomerSession:
        options = self.options
        items = self._cart(rng)
        costs = self._additional_costs(rng) if items or rng.random() < 0.2 else None
        totals = compute_totals(items, costs)
        updated = created
        if state is not SessionState.OPEN or rng.random() < 0.5:
            updated = created + timedelta(
                seconds=rng.randint(1, 5400), microseconds=rng.randint(0, 999999)
            )
        attributes: dict[str, Any] = {"channel": rng.choice(_CHANNELS)}
        if rng.random() < 0.6:
            attributes["shippingCity"] = rng.choice(self._cities)
            attributes["shippingCountry"] = rng.choice(self._countries)
        return CustomerSession(
            id=session_number(options.application_id, integration_id),
            integration_id=integration_id,
            application_id=options.application_id,
            profile_id=profile_id,
            created=created,
            updated=updated,
            state=state,
            cart_items=items,
            additional_costs=costs,
            coupon_codes=self._coupon_codes(rng),
            referral_code=_code(rng, "REF-", 8) if rng.random() < 0.15 else None,
            identifiers=(f"device-{rng.getrandbits(40):010x}",) if rng.random() < 0.4 else None,
            attributes=attributes,
            first_session=first_session,
            cart_item_total=totals.cart_item_total,
            additional_cost_total=totals.additional_cost_total,
            total=totals.total,
        )

    def _cart(self, rng: random.Random) -> tuple[CartItem, ...]:
        count = rng.randint(self.options.min_items, self.options.max_items)
        products = (
            rng.sample(self.catalogue, count)
            if count <= len(self.catalogue)
            else rng.choices(self.catalogue, k=count)
        )
        items = []
        for position, product in enumerate(products):
            attributes = {"color": rng.choice(self._colors)} if rng.random() < 0.3 else None
            items.append(
                CartItem(
                    name=product.name,
                    sku=product.sku,
                    quantity=rng.choices((1, 2, 3, 4, 6), (60, 20, 10, 6, 4))[0],
                    price=product.price,
                    category=product.category,
                    weight=product.weight,
                    height=product.height,
                    width=product.width,
                    length=product.length,
                    position=Decimal(position),
                    attributes=attributes,
                )
            )
        return tuple(items)

    def _additional_costs(self, rng: random.Random) -> dict[str, Decimal]:
        names = [
            "shipping",
            *(n for n in _ADDITIONAL_COSTS if n != "shipping" and rng.random() < 0.2),
        ]
        return {name: rng.choice(_ADDITIONAL_COSTS[name]) for name in names}

    def _coupon_codes(self, rng: random.Random) -> tuple[str, ...] | None:
        roll = rng.random()
        if roll < 0.6:
            return None
        count = 1 if roll < 0.9 else 2
        return tuple(_code(rng, rng.choice(_COUPON_PREFIXES) + "-", 6) for _ in range(count))


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
        whole = rng.choice((1, 2, 4, 9, 12, 19, 24, 29, 39, 49, 79, 99, 149, 249))
        products.append(
            Product(
                sku=sku,
                name=f"{fake.color_name()} {noun}",
                category=category,
                price=Decimal(whole) + rng.choice(_PRICE_ENDINGS),
                weight=Decimal(rng.randint(20, 4000)),
                height=Decimal(rng.randint(10, 600)),
                width=Decimal(rng.randint(10, 600)),
                length=Decimal(rng.randint(10, 900)),
            )
        )
    return tuple(products)

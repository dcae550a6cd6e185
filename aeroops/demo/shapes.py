"""What the demo's documents look like: three shapes (a user, an order, a product), each a schema
in AeroDB's format and a function that writes a document's JSON around its free-text field.

Values follow the spreads real data has, not uniform noise: names, e-mail addresses and cities
from lists, amounts spread over orders of magnitude (log-uniform), counts with a long tail,
timestamps near the operation's simulated time, random ids, hashes and salts, nested objects and
arrays, and a free-text field (`aeroops.demo.text`) whose length varies from nothing to tens of
KiB. A document's identity (a user's name and e-mail, a product's SKU and price, an order's
items) is a function of its number, so updates change what updates change (a login count, a
status, a stock level) and keep the rest; orders name users and products that exist.

Integer arithmetic only (a price is its cents divided by 100, printed as Python prints the
float: the bytes of IEEE division are the same everywhere), and keys sorted, as AeroDB's
fixtures and `json.dumps(sort_keys=True)` write them.
"""

from __future__ import annotations

import time
import zlib
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass

from aeroops.demo.words import (
    CATEGORIES,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    MAIL_DOMAINS,
    ORDER_STATUSES,
    PRODUCT_ADJECTIVES,
    PRODUCT_NOUNS,
    STREET_KINDS,
    STREET_NAMES,
    USER_TAGS,
)

USER, ORDER, PRODUCT = "user", "order", "product"
SHAPES = (USER, ORDER, PRODUCT)
_BY_NAME = {"users": USER, "customers": USER, "orders": ORDER, "products": PRODUCT}
_MASK = (1 << 64) - 1
_DAY_MS = 86_400_000


def shape_of(collection: str) -> str:
    """The shape of a collection's documents: by its name where the name says it, else a fixed
    pick from the name (the same collection always gets the same shape)."""
    return _BY_NAME.get(collection) or SHAPES[zlib.crc32(collection.encode()) % len(SHAPES)]


def text_field(shape: str) -> str:
    """The free-text field of a shape: where the demo's storage padding goes."""
    return {USER: "bio", ORDER: "note", PRODUCT: "description"}[shape]


# --- schemas, in AeroDB's schema-file format (src/schema/types.rs: FieldDef, FieldType) ----------


def _f(kind: str, required: bool = False) -> dict[str, object]:
    return {"required": required, "type": kind}


def _address() -> dict[str, object]:
    fields = {k: _f("string", True) for k in ("city", "country", "postcode", "street")}
    return {"fields": fields, "required": True, "type": "object"}


def schema_fields(collection: str) -> dict[str, dict[str, object]]:
    """The ``fields`` of the collection's schema file: every field its documents have."""
    common = {
        "_id": _f("string", True),
        "active": _f("bool"),
        "name": _f("string", True),
        "rev": _f("int"),
        "value": _f("int", True),
    }
    shape = shape_of(collection)
    if shape == USER:
        extra: dict[str, dict[str, object]] = {
            "address": _address(),
            "bio": _f("string"),
            "created_at": _f("string", True),
            "email": _f("string", True),
            "login_count": _f("int"),
            "password_hash": _f("string", True),
            "phone": _f("string"),
            "tags": {"element_type": {"type": "string"}, "required": False, "type": "array"},
        }
    elif shape == ORDER:
        item = {"fields": {"price": _f("float", True), "qty": _f("int", True), "sku": _f("string", True)}}
        extra = {
            "currency": _f("string", True),
            "customer": _f("string", True),
            "items": {"element_type": {**item, "type": "object"}, "required": True, "type": "array"},
            "note": _f("string"),
            "payment_id": _f("string", True),
            "placed_at": _f("string", True),
            "shipping": _address(),
            "status": _f("string", True),
            "total": _f("float", True),
        }
    else:
        dimensions = {k: _f("int", True) for k in ("depth_mm", "height_mm", "weight_g", "width_mm")}
        extra = {
            "categories": {"element_type": {"type": "string"}, "required": True, "type": "array"},
            "description": _f("string"),
            "dimensions": {"fields": dimensions, "required": False, "type": "object"},
            "image": _f("string"),
            "price": _f("float", True),
            "rating": _f("float"),
            "sku": _f("string", True),
            "stock": _f("int", True),
            "updated_at": _f("string", True),
        }
    return {**common, **extra}


# --- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a document's fields may refer to besides its own number."""

    seed_key: int  # 64 bits from the spec's seed: identities differ between seeds
    users: str  # the collection orders name their customers from
    products: str  # the one their items come from


def mix(x: int) -> int:
    """SplitMix64's finaliser: 64 well-spread bits from any integer (identities without an RNG)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def identity(seed_key: int, collection: str, number: int) -> int:
    """The 64 bits a document's fixed fields come from."""
    return mix(seed_key ^ (zlib.crc32(collection.encode()) << 32) ^ number)


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ``2026-01-01T03:12:45.120Z``."""
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms % 1000:03d}Z"
    )


def log_uniform(bits: int, low: int, high: int) -> int:
    """An integer spread evenly over the orders of magnitude from 2**low to 2**high, from ``bits``
    (at least ``high`` + 5 random bits): the spread of prices, balances and sizes."""
    exponent = low + (bits & 0x1F) % (high - low)
    return (1 << exponent) + ((bits >> 5) & ((1 << exponent) - 1))


def price_text(cents: int) -> str:
    """A price as a JSON float, printed as Python (and serde_json) print the nearest double."""
    return repr(cents / 100)


def _street(bits: int) -> str:
    return f"{1 + bits % 2000} {STREET_NAMES[(bits >> 11) % len(STREET_NAMES)]} {STREET_KINDS[(bits >> 17) % 9]}"


def _address_json(bits: int) -> tuple[str, str]:
    """An address object's JSON (keys sorted) and its city's currency."""
    city, country, currency = CITIES[bits % len(CITIES)]
    postcode = f"{(bits >> 8) % 100000:05d}"
    return (
        f'{{"city":"{city}","country":"{country}","postcode":"{postcode}","street":"{_street(bits >> 25)}"}}',
        currency,
    )


def _text_length(bits: int, often_empty: int, low: int, high: int, large: int) -> int:
    """A free text's natural length: empty ``often_empty`` times in 16, else log-uniform from
    2**low to 2**high bytes, and 1 time in 64 up to 2**large (the occasional long text)."""
    if bits & 0xF < often_empty:
        return 0
    bits >>= 4
    top = large if bits & 0x3F == 0 else high
    return log_uniform(bits >> 6, low, top)


Draw = Callable[[int], int]  # random.Random.getrandbits
# A document's JSON before its text field and after it, and the text's natural length.
Parts = tuple[str, str, int]


@dataclass(frozen=True)
class Op:
    """The operation a document is written by."""

    number: int  # the document's number in its collection (its id's digits)
    document_id: str
    insert: bool  # else an update
    rev: int  # inserts and updates so far, this one included
    now_ms: int  # the operation's simulated time
    born_ms: int  # the simulated time of the document's insert
    users_then: int  # users and products numbered by that insert: what an order may name
    products_then: int


def user(draw: Draw, ident: int, op: Op, context: Context) -> Parts:
    a, b, c = ident, mix(ident + 1), mix(ident + 2)
    first, last = FIRST_NAMES[a % len(FIRST_NAMES)], LAST_NAMES[(a >> 9) % len(LAST_NAMES)]
    suffix = "" if (a >> 18) & 3 == 0 else str((a >> 20) % 1000)
    email = f"{first.lower()}.{last.lower()}{suffix}@{MAIL_DOMAINS[(a >> 30) % len(MAIL_DOMAINS)]}"
    address, _ = _address_json(b)
    phone = f"+{(c % 98) + 1} {(c >> 8) % 1000:03d} {(c >> 18) % 10_000_000:07d}"
    salt = b64encode(c.to_bytes(8, "little") + a.to_bytes(8, "little")).rstrip(b"=").decode()
    hashed = b"".join(mix(ident + k).to_bytes(8, "little") for k in range(3, 7))
    digest = b64encode(hashed).rstrip(b"=").decode()
    r = draw(64)
    active = "false" if r & 0x7 == 0 else "true"  # one in eight accounts is closed
    tags = ",".join(f'"{USER_TAGS[(r >> (3 + 4 * k)) % len(USER_TAGS)]}"' for k in range((r >> 19) % 4))
    logins = 0 if op.insert else log_uniform(r >> 21, 0, 12)
    spend = log_uniform(r >> 40, 6, 19) if logins else 0  # cents: from 64 cents to 5,000 dollars
    head = f'{{"_id":"{op.document_id}","active":{active},"address":{address},"bio":"'
    tail = (
        f'","created_at":"{iso_ms(op.born_ms)}","email":"{email}","login_count":{logins},"name":"{first} {last}",'
        f'"password_hash":"$argon2id$v=19$m=65536,t=3,p=4${salt}${digest}","phone":"{phone}","rev":{op.rev},'
        f'"tags":[{tags}],"value":{spend}}}'
    )
    return head, tail, _text_length(draw(32), 5, 5, 11, 15)


def product_parts(ident: int) -> tuple[str, str, int]:
    """A product's name, SKU and price in cents: what orders copy into their items."""
    name = (
        f"{PRODUCT_ADJECTIVES[ident % len(PRODUCT_ADJECTIVES)]} {PRODUCT_NOUNS[(ident >> 8) % len(PRODUCT_NOUNS)]}"
        f" {'XSMLP'[(ident >> 16) % 5]}{(ident >> 20) % 900 + 100}"
    )
    return name, f"SKU-{(ident >> 32) & 0xFFFFFFFF:08X}", log_uniform(ident >> 40, 8, 17) - 1


def product(draw: Draw, ident: int, op: Op, context: Context) -> Parts:
    name, sku, cents = product_parts(ident)
    b, c = mix(ident + 1), mix(ident + 2)
    categories = ",".join(f'"{CATEGORIES[(b >> (4 * k)) % len(CATEGORIES)]}"' for k in range(1 + (b >> 20) % 3))
    dims = (
        f'{{"depth_mm":{log_uniform(b >> 24, 3, 10)},"height_mm":{log_uniform(b >> 40, 3, 10)},'
        f'"weight_g":{log_uniform(c, 4, 15)},"width_mm":{log_uniform(c >> 24, 3, 10)}}}'
    )
    image = f"img/{mix(ident + 3):016x}{mix(ident + 4):016x}{mix(ident + 5) >> 32:08x}.jpg"  # a SHA-1 name
    r = draw(64)
    active = "false" if r & 0xF == 0 else "true"
    stock = log_uniform(r >> 4, 0, 12) - 1 if r & 0x30 else 0
    rating = repr((10 + (r >> 20) % 41) / 10)
    sold = 0 if op.insert else log_uniform(r >> 28, 0, 16) - 1
    head = f'{{"_id":"{op.document_id}","active":{active},"categories":[{categories}],"description":"'
    tail = (
        f'","dimensions":{dims},"image":"{image}","name":"{name}","price":{price_text(cents)},"rating":{rating},'
        f'"rev":{op.rev},"sku":"{sku}","stock":{stock},"updated_at":"{iso_ms(op.now_ms)}","value":{sold}}}'
    )
    return head, tail, _text_length(draw(32), 1, 6, 12, 16)


def order(draw: Draw, ident: int, op: Op, context: Context) -> Parts:
    b = mix(ident + 1)
    customer_number = 1 + b % max(1, op.users_then)
    customer_ident = identity(context.seed_key, context.users, customer_number)
    customer = f"{context.users}-{customer_number:06d}"
    customer_name = (
        f"{FIRST_NAMES[customer_ident % len(FIRST_NAMES)]} {LAST_NAMES[(customer_ident >> 9) % len(LAST_NAMES)]}"
    )
    shipping, currency = _address_json(mix(customer_ident + 1))
    items = []
    total = 0
    v = (b >> 20) & 0xF  # one item half the time, two a quarter, ... up to five
    for k in range(1 + (v & 1) + (v & 3 == 3) + (v & 7 == 7) + (v == 15)):
        product_number = 1 + mix(b + k) % max(1, op.products_then)
        _, sku, cents = product_parts(identity(context.seed_key, context.products, product_number))
        qty = 1 if (b >> (30 + 4 * k)) & 3 else 2 + (b >> (32 + 4 * k)) % 9
        total += cents * qty
        items.append(f'{{"price":{price_text(cents)},"qty":{qty},"sku":"{sku}"}}')
    payment = f"{mix(ident + 2):016x}{mix(ident + 3):016x}"  # a UUID, version 4
    payment_id = f"{payment[:8]}-{payment[8:12]}-4{payment[13:16]}-a{payment[17:20]}-{payment[20:]}"
    r = draw(16)
    status = "pending" if op.insert else ORDER_STATUSES[r % len(ORDER_STATUSES)]
    active = "false" if status in ("cancelled", "returned") else "true"
    head = (
        f'{{"_id":"{op.document_id}","active":{active},"currency":"{currency}","customer":"{customer}",'
        f'"items":[{",".join(items)}],"name":"{customer_name}","note":"'
    )
    tail = (
        f'","payment_id":"{payment_id}","placed_at":"{iso_ms(op.born_ms)}","rev":{op.rev},"shipping":{shipping},'
        f'"status":"{status}","total":{price_text(total)},"value":{total}}}'
    )
    return head, tail, _text_length(draw(32), 10, 4, 10, 13)


MAKERS: dict[str, Callable[[Draw, int, Op, Context], Parts]] = {USER: user, ORDER: order, PRODUCT: product}

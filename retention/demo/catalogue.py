"""Products, countries and the product catalogue (codes, prices, popularity)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

N_PRODUCTS = 3600
ZIPF_S, ZIPF_OFFSET = 1.0, 50.0  # top product ~0.45% of lines, like 85123A

COUNTRIES = [
    ("United Kingdom", 0.875), ("Germany", 0.024), ("France", 0.022),
    ("EIRE", 0.010), ("Spain", 0.008), ("Netherlands", 0.006),
    ("Belgium", 0.006), ("Switzerland", 0.005), ("Portugal", 0.005),
    ("Australia", 0.003), ("Norway", 0.003), ("Italy", 0.003),
    ("Channel Islands", 0.002), ("Finland", 0.002), ("Cyprus", 0.002),
    ("Sweden", 0.002), ("Austria", 0.002), ("Denmark", 0.002),
    ("Japan", 0.002), ("Poland", 0.0015), ("USA", 0.001), ("Israel", 0.001),
    ("Unspecified", 0.001), ("Canada", 0.0008), ("Greece", 0.0008),
    ("Singapore", 0.0005), ("Iceland", 0.0005), ("Malta", 0.0005),
    ("United Arab Emirates", 0.0005), ("European Community", 0.0003),
    ("RSA", 0.0003), ("Lebanon", 0.0003), ("Lithuania", 0.0003),
    ("Brazil", 0.0003), ("Czech Republic", 0.0003), ("Bahrain", 0.0003),
    ("Saudi Arabia", 0.0003),
]
UK, EIRE = 0, 3

ADJECTIVES = [
    ("WHITE", 1.0), ("RED", 1.0), ("PINK", 1.0), ("BLUE", 1.0), ("GREEN", 1.0),
    ("IVORY", 1.0), ("BLACK", 1.0), ("SILVER", 1.15), ("GOLD", 1.2),
    ("PASTEL", 1.0), ("VINTAGE", 1.1), ("HANGING", 1.0), ("JUMBO", 1.35),
    ("SMALL", 0.7), ("LARGE", 1.3), ("ANTIQUE", 1.25), ("ENAMEL", 1.1),
    ("WOODEN", 1.05), ("GLASS", 1.1), ("PAPER", 0.6),
]
MOTIFS = [
    "HEART", "RETROSPOT", "POLKADOT", "SPACEBOY", "DOLLY GIRL", "WOODLAND",
    "PAISLEY", "REGENCY", "ROSE", "BIRD", "STAR", "SKULL", "VINTAGE LEAF",
    "APPLES", "FLORAL", "GINGHAM", "LOVEBIRD", "OWL", "CHERRY", "DAISY",
    "PARISIENNE", "BAROQUE", "SWALLOWS", "ALPHABET", "CIRCUS PARADE", "JUNGLE",
    "CHRISTMAS TREE", "SNOWFLAKE", "TEA TIME", "KITCHEN",
]
ITEMS = [  # (name, base unit price, pack size)
    ("T-LIGHT HOLDER", 2.55, 6), ("LUNCH BAG", 1.65, 10), ("JUMBO BAG", 1.95, 10),
    ("CAKE CASES", 0.55, 24), ("PAPER NAPKINS", 0.85, 12), ("MUG", 1.25, 6),
    ("TEACUP AND SAUCER", 2.95, 2), ("CAKESTAND 3 TIER", 12.75, 1),
    ("DOORMAT", 7.95, 2), ("ALARM CLOCK", 3.75, 4), ("HOT WATER BOTTLE", 4.25, 4),
    ("CHILDRENS APRON", 1.95, 8), ("NOTEBOOK", 0.85, 12), ("PENCILS", 0.21, 48),
    ("BUNTING", 2.95, 6), ("GIFT WRAP", 0.42, 25), ("SHOPPING BAG", 1.25, 10),
    ("WATER BOTTLE", 2.10, 6), ("PHOTO FRAME", 2.55, 12), ("CUSHION COVER", 3.75, 4),
    ("STORAGE TIN", 4.95, 3), ("LANTERN", 5.95, 2), ("CANDLE", 1.25, 12),
    ("GREETING CARD", 0.42, 12), ("WALL CLOCK", 8.50, 2), ("CHALKBOARD", 4.95, 4),
    ("PURSE", 1.65, 12), ("HAND WARMER", 2.10, 12), ("PLAYING CARDS", 1.25, 12),
    ("DOOR STOP", 4.25, 4), ("JAM JAR", 0.85, 12), ("BOWL", 1.25, 8),
    ("PLATE", 1.65, 12), ("CHOPPING BOARD", 3.95, 4), ("TRINKET BOX", 1.25, 12),
    ("KEY RING", 0.65, 24), ("HAIR CLIPS", 0.85, 12), ("RECIPE BOX", 2.95, 6),
    ("GARDEN SIGN", 3.75, 6), ("WREATH", 5.95, 2), ("BAUBLE", 0.85, 24),
    ("STICKER SHEET", 0.85, 12), ("PICNIC BASKET", 9.95, 2), ("TISSUES", 0.39, 36),
]
# Non-product codes, appended to the catalogue (index N_PRODUCTS + i).
SPECIALS = [
    ("POST", "POSTAGE"), ("DOT", "DOTCOM POSTAGE"), ("M", "Manual"),
    ("C2", "CARRIAGE"), ("BANK CHARGES", "Bank Charges"),
    ("AMAZONFEE", "AMAZON FEE"), ("B", "Adjust bad debt"),
]
SP_POST, SP_DOT, SP_M, SP_C2, SP_BANK, SP_AMAZON, SP_ADJUST = range(
    N_PRODUCTS, N_PRODUCTS + len(SPECIALS))


def round_price(p: np.ndarray) -> np.ndarray:
    """Retail-looking prices: 2 decimals below 1, multiples of 0.05 above."""
    return np.where(p < 1.0, np.round(p, 2), np.round(p * 20.0) / 20.0)


def country_names() -> pa.Array:
    """The country names as an Arrow string array (index = country code)."""
    return pa.array([c for c, _ in COUNTRIES], pa.string())


def _zipf_cdf() -> np.ndarray:
    """Cumulative Zipf-like popularity of the product ranks 1..N_PRODUCTS."""
    ranks = np.arange(1, N_PRODUCTS + 1, dtype=np.float64)
    w = 1.0 / (ranks + ZIPF_OFFSET) ** ZIPF_S
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return cdf


def build_catalogue(rng: np.random.Generator) -> dict:
    """The product catalogue, drawn from its own ``rng``.

    Returns a dict: ``codes`` / ``desc`` (Arrow string arrays, products then
    SPECIALS), ``price`` (list prices; 0 for SPECIALS), ``pack`` (pack sizes),
    ``cdf`` (popularity by rank) and ``by_rank`` (product index of each rank).
    """
    combos = len(ADJECTIVES) * len(MOTIFS) * len(ITEMS)
    pick = rng.choice(combos, size=N_PRODUCTS, replace=False)
    a, rest = np.divmod(pick, len(MOTIFS) * len(ITEMS))
    m, it = np.divmod(rest, len(ITEMS))
    desc = [f"{ADJECTIVES[i][0]} {MOTIFS[j]} {ITEMS[k][0]}" for i, j, k in zip(a, m, it)]
    base = np.array([x[1] for x in ITEMS])[it] * np.array([x[1] for x in ADJECTIVES])[a]
    price = np.maximum(round_price(base * rng.lognormal(0.0, 0.25, N_PRODUCTS)), 0.1)
    pack = np.array([x[2] for x in ITEMS], dtype=np.int64)[it]
    numbers = rng.choice(np.arange(10002, 90999), size=N_PRODUCTS, replace=False)
    suffix = rng.choice(["", "A", "B", "C", "D", "E", "F", "L"], size=N_PRODUCTS,
                        p=[0.85, 0.04, 0.04, 0.02, 0.015, 0.015, 0.01, 0.01])
    codes = [f"{n}{s}" for n, s in zip(numbers, suffix)]
    # Popularity: Zipf-like over a random ordering of the catalogue.
    cdf = _zipf_cdf()
    by_rank = rng.permutation(N_PRODUCTS).astype(np.int32)
    codes += [c for c, _ in SPECIALS]
    desc += [d for _, d in SPECIALS]
    return {
        "codes": pa.array(codes, pa.string()),
        "desc": pa.array(desc, pa.string()),
        "price": np.concatenate([price, np.zeros(len(SPECIALS))]),
        "pack": pack,
        "cdf": cdf,
        "by_rank": by_rank,
    }


def zipf_products(cat: dict, u: np.ndarray) -> np.ndarray:
    """Product indices for uniforms ``u`` in [0, 1), by catalogue popularity."""
    return cat["by_rank"][np.minimum(np.searchsorted(cat["cdf"], u, side="right"), N_PRODUCTS - 1)]

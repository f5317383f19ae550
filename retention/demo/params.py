"""Output schema and the tuning constants of the demo generator.

Changing any value here changes the generated data (the output is a pure
function of these constants, the arguments of ``generate`` and the seed).
"""
from __future__ import annotations

import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("s")),
        ("UnitPrice", pa.float64()),
        ("CustomerID", pa.int64()),
        ("Country", pa.string()),
    ]
)

FIRST_INVOICE_NO = 536365
FIRST_CUSTOMER_ID = 12346
ROWS_PER_CUSTOMER = 124  # UCI Online Retail: 541,909 rows / 4,372 customers
DAY = 86_400  # seconds

# --- row budget -------------------------------------------------------------------
CUSTOMER_LINES_PER_INVOICE = 16.0  # calibration target for customer invoices
GUEST_INVOICES_PER_CUSTOMER_INVOICE = 0.125
GUEST_ROW_SHARE = 0.20
CANCEL_ROW_SHARE = 0.02
ADJUST_ROWS_PER_INVOICE = 200_000
DUPLICATE_PROB = 0.005

# --- cancellations ------------------------------------------------------------------
CANCEL_EXTRA_LINES_MEAN = 0.8  # lines per cancellation invoice = 1 + Poisson(0.8)
CANCEL_RANDOM_PRODUCT = 0.10  # share of cancellation lines not matching a purchase

# --- sales lines: prices and non-product codes ----------------------------------------
ZERO_PRICE_PROB = 0.0005
MANUAL_PROB = 0.0008
BANK_CHARGES_PROB = 0.0001
AMAZONFEE_PROB = 0.0004  # guest invoices only
POST_PROB = 0.6  # first line of a foreign customer's invoice
DOT_PROB = 0.35  # last line of a UK guest invoice
C2_PROB = 0.4  # last line of an EIRE invoice
BULK_QTY, BULK_DISCOUNT = 100, 0.85

# --- the customer process -------------------------------------------------------------
PURCHASE_RATE_SHAPE = 1.5  # gamma shape of the per-customer purchase rate
DROPOUT_A, DROPOUT_B = 2.0, 20.0  # beta prior of the per-purchase dropout prob.
ACQ_UNIFORM_SHARE = 0.3  # acquisition time: 30% uniform over the period ...
ACQ_BETA = (0.7, 2.5)  # ... 70% Beta(0.7, 2.5) (front-loaded), fraction of period
MAX_SCALE = 50.0  # purchase-rate scale cap (per day; 0.02 ~ UCI-like defaults)

# --- invoice kinds and streaming ---------------------------------------------------------
KIND_SALE, KIND_CANCEL, KIND_ADJUST = 0, 1, 2
SUB_BATCH = 131_072  # sales lines computed at once (bounds temporary memory)

"""Deterministic synthetic retail transactions in the UCI Online Retail schema.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
CustomerID, Country.

How the data is made
--------------------
* Customers (default rows/124, the UCI ratio, so ~100 identified rows each)
  arrive over the period, more of them early.  Each has a gamma-distributed
  purchase rate, a beta-distributed per-purchase dropout probability (after
  every purchase the customer becomes permanently inactive with that
  probability: a BG/NBD-like process, so churn depends on frequency, recency
  and tenure), one country, a spend level (basket size, quantities) and a
  price preference.
* The period is simulated month by month with per-customer state in numpy
  arrays (seeded ``numpy.random.Generator``); rates carry a Q4 seasonality.
  A counting pass first calibrates the rate scale so that customer invoices
  average ~16 lines.  Each month's invoices -- customers' purchases, guest
  invoices (no CustomerID), cancellations ("C" + number: negative copies of
  lines the customer bought earlier, possibly in an earlier month) and rare
  bad-debt adjustments ("A" + number) -- are sorted chronologically and
  numbered from 536365.  Line counts are allocated so that the total hits
  ``rows``; only the random ~0.5% of duplicated lines makes it differ (by a
  few rows).
* Lines are produced for bounded slices of a month's invoices and streamed to
  Parquet (``ParquetWriter``, row groups of ~chunk_rows) or CSV, so memory
  does not grow with the row count (beyond per-customer state).  Per-line
  attributes (product, quantity, price, duplicate flag, ...) come from a
  counter-based hash of (seed, line number): the data do not depend on
  ``chunk_rows`` and a cancellation can reproduce the line it cancels.

Same arguments -> byte-identical file.  The order of the random draws is part
of the output: a refactoring must keep every draw and its order.

Layout
------
A leaf package (numpy, pyarrow and the standard library only):

* ``params``        -- SCHEMA and the tuning constants (shares, probabilities).
* ``catalogue``     -- countries, products, non-product codes; the catalogue,
  price rounding and Zipf popularity draws.
* ``randomness``    -- seeded generators and the counter-based line hashes.
* ``dates``         -- the period, seasonality, business days and hours.
* ``budget``        -- the row budget and integer allocation of lines.
* ``customers``     -- customers, the purchase process and its calibration.
* ``sales``         -- product, quantity and price of sales lines.
* ``cancellations`` -- cancellation invoices and their lines.
* ``invoices``      -- a month's invoice plan and its lines as Arrow tables.
* ``campaigns``     -- optional past campaigns: random holdout, a known effect
  that peaks at medium recency, responses added to the purchases.
* ``writer``        -- the streaming Parquet/CSV writer.
* ``generator``     -- ``generate``: set-up, month loop, summary.
* ``cli``           -- ``main``, the command line.

Usage::

    python scripts/generate_transactions.py --rows 300000 --seed 42 \\
        --output warehouse/demo/transactions.parquet

or ``python -m retention.demo ...``, or from Python::

    from retention.demo import generate
    summary = generate("warehouse/demo/transactions.parquet", 300_000, seed=42)

With ``--campaigns 2`` (``campaigns=CampaignSpec(...)``) the generator also
simulates two past campaigns and writes their assignments beside the data;
without it the file is exactly what it always was.
"""
from __future__ import annotations

from .cli import main
from .customers import default_customers
from .generator import generate
from .params import FIRST_CUSTOMER_ID, FIRST_INVOICE_NO, ROWS_PER_CUSTOMER, SCHEMA

__all__ = ["generate", "default_customers", "main", "SCHEMA",
           "FIRST_INVOICE_NO", "FIRST_CUSTOMER_ID", "ROWS_PER_CUSTOMER"]

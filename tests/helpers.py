"""What several test files need: the paths, a build run as a user runs it, read-only queries, and a
small shop's transactions worked by hand. Tests import this module; no test imports another."""
from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail.csv.gz"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_ii.csv.gz"

CANONICAL_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                    "UnitPrice", "CustomerID", "Country"]
# A small shop worked by hand. Customer 100 orders three times, returns once;
# customer 200 orders once; the rest is mess that staging must reject with a reason.
HAND_ROWS = [
    ["1001", "A1", "MUG", "2", "2024-01-05 10:00:00", "3.50", "100", "France"],
    ["1001", "B2", "PLATE", "1", "2024-01-05 10:00:00", "10.00", "100", "France"],
    ["1002", "A1", "MUG", "4", "2024-02-10 11:00:00", "3.50", "100.0", "France"],
    ["C1003", "A1", "MUG", "-1", "2024-02-12 09:00:00", "3.50", "100", "France"],
    ["1004", "POST", "POSTAGE", "1", "2024-03-01 12:00:00", "5.00", "100", "France"],
    ["1004", "B2", "PLATE", "2", "2024-03-01 12:00:00", "10.00", "100", "France"],
    ["1005", "A1", "MUG", "1", "2024-03-03 08:00:00", "3.50", "200", "Spain"],
    ["1005", "A1", "MUG", "1", "2024-03-03 08:00:00", "3.50", "200", "Spain"],    # duplicate
    ["1006", "A1", "MUG", "1", "2024-03-04 08:00:00", "3.50", "", "Spain"],       # no customer
    ["A1007", "B", "Adjust bad debt", "1", "2024-03-05 08:00:00", "-50", "", ""],  # adjustment
    ["1008", "A1", "MUG", "two", "2024-03-05 08:00:00", "3.50", "300", "Spain"],  # bad quantity
    ["1009", "A1", "MUG", "1", "yesterday", "3.50", "300", "Spain"],              # bad date
    ["1010", "A1", "MUG", "1", "2024-03-06 08:00:00", "£3", "300", "Spain"],      # bad price
    ["1011", "A1", "MUG", "1.5", "2024-03-06 08:00:00", "3.50", "300", "Spain"],  # fractional qty
    ["", "A1", "MUG", "1", "2024-03-06 08:00:00", "3.50", "300", "Spain"],        # no invoice
]
HAND_REASONS = {8: "duplicate", 9: "missing_customer", 10: "adjustment", 11: "invalid_quantity",
                12: "invalid_invoice_date", 13: "invalid_unit_price", 14: "invalid_quantity",
                15: "missing_invoice_no"}


def write_csv(path, header, rows, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_build(transactions: Path | str, warehouse_dir: Path, *args: str,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run `retention build` as a user would (no docs, no report unless asked); the finished process."""
    command = [sys.executable, "-m", "retention", "build", "--transactions", str(transactions),
               "--warehouse-dir", str(warehouse_dir), "--no-docs", "--no-report", *args]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"build failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def build_warehouse(transactions: Path | str, warehouse_dir: Path, *args: str) -> Path:
    run_build(transactions, warehouse_dir, *args)
    return warehouse_dir / "retention.duckdb"


def query(db: Path, sql: str, params: list | None = None):
    """Run one query on a read-only connection and return a DataFrame."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


# ---- spreadsheets and shop exports -------------------------------------------------------

NUMBER = __import__("re").compile(r"^-?[0-9]+([.][0-9]+)?$")


def write_workbook(path, sheets: dict, date_format: str = "yyyy-mm-dd hh:mm:ss"):
    """An .xlsx with one sheet per {name: (header, rows)}, cells typed as a spreadsheet holds
    them: ISO dates as dates, plain numbers as numbers, the rest as text, empty as no cell."""
    import datetime as dt

    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    stamp = book.add_format({"num_format": date_format})
    for name, (header, rows) in sheets.items():
        sheet = book.add_worksheet(name)
        if header:
            sheet.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                if value == "":
                    continue
                try:
                    sheet.write_datetime(i, j, dt.datetime.fromisoformat(value), stamp)
                    continue
                except ValueError:
                    pass
                if NUMBER.match(value):
                    sheet.write_number(i, j, float(value))
                else:
                    sheet.write_string(i, j, value)
    book.close()
    return path


# Shopify's orders export (Orders > Export), every column in its order. One row per line item;
# the order-level columns (Financial Status, totals, Billing ...) are filled on an order's first
# row only, Name, Email and Created at on every row.
SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
    "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City",
    "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at",
    "Payment Method", "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee",
    "Location", "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name",
    "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value",
    "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
]


def shopify_row(name, email, created, quantity, item, price, sku, first=None):
    """One line item; `first` holds the order-level columns of the order's first row."""
    row = dict.fromkeys(SHOPIFY_HEADER, "")
    row.update({"Name": name, "Email": email, "Created at": created, "Lineitem quantity": quantity,
                "Lineitem name": item, "Lineitem price": price, "Lineitem sku": sku,
                "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                "Lineitem fulfillment status": "fulfilled", "Vendor": "Mugs & Co", "Lineitem discount": "0.00"})
    row.update(first or {})
    return [row[column] for column in SHOPIFY_HEADER]


def _shopify_order(status, country, total, refunded="0.00"):
    return {"Financial Status": status, "Paid at": "", "Fulfillment Status": "fulfilled", "Currency": "GBP",
            "Subtotal": total, "Shipping": "0.00", "Taxes": "0.00", "Total": total, "Billing Country": country,
            "Shipping Country": country, "Refunded Amount": refunded, "Payment Method": "Shopify Payments",
            "Source": "web", "Id": str(abs(hash((status, total))) % 10**12)}


# Jane: #1001 (2 x 20.00 + 1 x 8.00) and #1002 (15.00, refunded); Bob: #1003 (30.00) and #1004
# (2 x 12.50). A refunded order counts as the order and its cancellation (net 0).
SHOPIFY_ROWS = [
    shopify_row("#1001", "jane@example.com", "2024-01-05 10:00:00 +0000", "2", "Blue mug", "20.00", "MUG-B",
                _shopify_order("paid", "GB", "48.00")),
    shopify_row("#1001", "jane@example.com", "2024-01-05 10:00:00 +0000", "1", "Coaster", "8.00", "COAST-1"),
    shopify_row("#1002", "jane@example.com", "2024-02-10 11:30:00 +0000", "1", "Teapot", "15.00", "POT-1",
                _shopify_order("refunded", "GB", "15.00", refunded="15.00")),
    shopify_row("#1003", "bob@example.com", "2024-02-20 09:00:00 -0500", "1", "Big mug", "30.00", "MUG-L",
                _shopify_order("paid", "US", "30.00")),
    shopify_row("#1004", "bob@example.com", "2024-03-01 17:45:00 -0500", "2", "Blue mug", "12.50", "MUG-B",
                _shopify_order("paid", "US", "25.00")),
]

# WooCommerce Customer/Order/Coupon Export, format "Default - One Row per Item": every column of
# that format, in its order (the order columns are repeated on each item row).
WOOCOMMERCE_HEADER = [
    "order_id", "order_number", "date", "status", "shipping_total", "shipping_tax_total", "fee_total",
    "fee_tax_total", "tax_total", "discount_total", "order_total", "refunded_total", "order_currency",
    "payment_method", "shipping_method", "customer_id", "billing_first_name", "billing_last_name",
    "billing_company", "billing_email", "billing_phone", "billing_address_1", "billing_address_2",
    "billing_postcode", "billing_city", "billing_state", "billing_country", "shipping_first_name",
    "shipping_last_name", "shipping_address_1", "shipping_address_2", "shipping_postcode", "shipping_city",
    "shipping_state", "shipping_country", "shipping_company", "customer_note", "item_id", "item_product_id",
    "item_name", "item_sku", "item_price", "item_quantity", "item_subtotal", "item_subtotal_tax", "item_total",
    "item_total_tax", "item_refunded", "item_refunded_qty", "item_meta", "shipping_items", "fee_items",
    "tax_items", "coupon_items", "order_notes", "download_permissions_granted",
]


def woocommerce_row(order, status, date, email, country, sku, item, price, quantity):
    row = dict.fromkeys(WOOCOMMERCE_HEADER, "")
    total = f"{float(price) * int(quantity):.2f}"
    row.update({"order_id": str(5000 + order), "order_number": str(order), "date": date, "status": status,
                "order_currency": "EUR", "customer_id": "0", "billing_email": email, "billing_country": country,
                "item_id": str(90000 + order), "item_name": item, "item_sku": sku, "item_price": price,
                "item_quantity": quantity, "item_subtotal": total, "item_total": total,
                "download_permissions_granted": "1"})
    return [row[column] for column in WOOCOMMERCE_HEADER]


WOOCOMMERCE_ROWS = [
    woocommerce_row(101, "completed", "2024-01-07 12:00:00", "ana@example.com", "ES", "SOAP-1", "Olive soap", "4.50", "3"),
    woocommerce_row(101, "completed", "2024-01-07 12:00:00", "ana@example.com", "ES", "TOWEL", "Towel", "12.00", "1"),
    woocommerce_row(102, "refunded", "2024-02-02 08:15:00", "ana@example.com", "ES", "SOAP-1", "Olive soap", "4.50", "2"),
    woocommerce_row(103, "completed", "2024-02-14 19:20:00", "luc@example.com", "FR", "CANDLE", "Candle", "9.90", "1"),
]

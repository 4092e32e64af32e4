"""Generate realistic orders in bulk for the demo and the benchmarks.

Every amount comes from `orders.pricing`: each distinct (offer, currency, add-ons, discount
code) combination is quoted once and the quote reused, so a million orders cost a few hundred
pricing calls. Rows are written with `bulk.BulkWriter` (COPY on PostgreSQL). The same seed,
catalog and `now` give the same orders: each order is drawn in steps (`load.OrderGenerator._order`)
from one random source, so the steps and their draws keep their order.

- `load`: the batches, the loading settings, order numbers; the steps of one order
- `sales`: the checkouts' catalogs and pricing; who buys what, and where the order should end
- `payments`: payment attempts; `actions`: snapshots and runs; `fulfilment`: what follows payment
- `refunds`: refunds staff ask for and their booking; `draft`: one order while it is drawn
- `tables`: the generated tables and their columns
"""

from orderdesk.demo.generator.load import GenerationResult, OrderGenerator

__all__ = ["GenerationResult", "OrderGenerator"]

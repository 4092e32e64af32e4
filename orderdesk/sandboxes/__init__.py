"""Local stand-ins of the outside world for the demo, development and the tests.

Stripe, Paytrail and Epassi (`stripe.py`, `paytrail.py`, `epassi.py`), Kajabi's offer webhooks
and a merchant's webhook receiver (`receivers.py`), served by Orderdesk itself under
/sandbox/. The app is installed only where settings.SANDBOXES_INSTALLED (never in production),
and every view answers 404 unless settings.SANDBOXES_ENABLED, which tests switch per test.
State lives in the database so it survives restarts and works across processes; outbound
webhooks and callbacks are SandboxDelivery rows, sent after the response (deliveries.py).
"""

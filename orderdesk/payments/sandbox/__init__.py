"""Local stand-ins of Stripe, Paytrail and Epassi for the demo and the tests.

Served by the app itself under /sandbox/<provider>/ when settings.SANDBOXES_ENABLED; state lives
in the database so it survives restarts and works across processes. Outbound webhooks and
callbacks are rows in SandboxDelivery, sent after the response (see deliveries.py).
"""

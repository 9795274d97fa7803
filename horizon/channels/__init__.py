"""Channels besides email: chat messages through Apprise, signed webhooks, and the outbox.

`message` writes the short chat message of a digest (headline figures and top changes, each with
a link), `webhook` signs and posts JSON, `transports` carries a message to Apprise, a webhook or
the outbox folder, and `publish` sends each channel of a profile exactly once per week through
the same ledger as email (`horizon.deliver.deliver_once`).
"""

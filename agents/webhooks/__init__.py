"""Outgoing webhooks to agents: Standard Webhooks signatures, an outbox, safe delivery.

signing: secrets and signatures. targets: which URLs and addresses may be reached.
delivery: one pinned HTTP attempt. payloads: what is sent. outbox: rows written with the
change. sending: attempts, retries, the beat safety net. services/selectors/api: the owner's
side.
"""

"""Matterline's engine, grouped by the three flows and the layers under them.

- `sync/`: CMS -> store (records, ingest, the syncer, CMS webhook deliveries, subscriptions).
- `messaging/`: Twilio <-> threads (reception in the webhook, intake in the worker, filing, keywords,
  urgent texts, outgoing texts, the sender, delivery status, segments, media, the Twilio error table).
- `writeback/`: store -> CMS (conversation windows, transcripts, summaries, the exactly-once writer).
- `services/` (what a person can do) and `queries/` (what a person can see) sit above the flows; the
  API, the CLI and the pages call only them. Below: `guardrails/`, `jobs/` (outbox, kinds, registry,
  worker), `staff/`, `compliance/` (audit, retention, export), `cms/` (HTTP to the CMS), `store/`.
- `cli/` and `demo.py` are the entry points; `sandbox/` holds the local Clio and Twilio stand-ins.
"""

from connector import redaction

# Every log record of a process that uses Matterline is made safe before any handler sees it: client
# texts and phone numbers must never reach a log line, whichever library writes it.
redaction.install()

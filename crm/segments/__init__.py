"""Segments: rule trees as data (rules, tree), what they read about a customer (documents), three ways to
answer them that agree (evaluate in memory, elastic, sql), saved segments with their members, history
and refresh (definitions, membership, realtime, jobs), outbound webhooks (outbound) and CSV exports.

In the flow of an interaction (DESIGN.md) this is the stage after profile aggregates and personalization:
the pipeline calls `realtime.evaluate_customer` inside the processing transaction.
"""

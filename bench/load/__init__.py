"""Load on loopback: the bounded locust run (webhook senders while agents search and open customers) and
the webhook → searchable probe, both against gunicorn and a real worker on a bench database."""

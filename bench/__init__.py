"""`make bench`: sign-in throughput and latency against a real gunicorn + PostgreSQL server,
and QR image rates. It reports timings and never asserts them; it exits non-zero only when a
correctness check fails (stored rows != 201 answers, or the signature ledger does not verify).
"""

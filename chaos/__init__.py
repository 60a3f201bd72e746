"""`make chaos`: faults inflicted on a running `attune up` under load, and what survived them.

Each scenario starts `attune up` on private ports and a private data dir, registers the
chaos pack, puts executions in flight (plain shell runs, FIFO-limited runs, inquiries),
kills or stops one part, waits for recovery and for every acknowledged execution to end,
then counts: lost, stuck, run twice, FIFO order broken, concurrency limit exceeded.

    python -m chaos [--executions N] [--scenario NAME ...] [--keep]
"""

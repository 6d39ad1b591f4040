"""Sweeps: many models × configurations × seeds × suites split into content-addressed shards
that only predict, run on a process pool or Ray, their artifacts pulled back and verified;
every statistic is computed afterwards by `puma merge` on a CPU.

    model.py    the sweep file (specs/sweeps/*.yaml)
    plan.py     shards and their identities
    record.py   shard.json: digests of a shard's files and its provenance; verification
    worker.py   what a shard runs on a worker (predictions only: no puma.stats)
    execute.py  executors (local process pool, Ray), failure taxonomy, retries, resume
    lint.py     refuses a worker body that computes statistics
"""

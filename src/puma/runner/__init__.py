"""The runner: from a spec to a run folder — plan the calls, make them, write the files.

`session.run_async` begins a run; `session.resume_async` continues one from its ledger
(`start_run` and `resume_run` are their synchronous twins; `puma.run` is the public one). The
ledger (`ledger.py`), plan, execution and finalisation each have their own module.
"""

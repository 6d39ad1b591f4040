"""The runner: from a spec to a run folder — plan the calls, make them, write the files.

`session.start_run` begins a run; `session.resume_run` continues one from its ledger. The
ledger (`ledger.py`), plan, execution and finalisation each have their own module.
"""

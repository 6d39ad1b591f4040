"""The contributor harness's speed side: the phase registry (`--phases`), the speed phases and
their bundled data, the canonical settings and deviations from them, and where the endpoint is.

    phases.py        the registry of quality and speed phases; select_phases
    canonical.py     canonical.yaml: knobs, speed method, size profiles; deviations
    endpoint.py      in-process, local or remote
    data.py          data/speed-phases.json: frozen prompts, questions, context probe
    run.py           calls into the ledger, warm-up, repetition until precise
    throughput.py    `speed`
    parallel.py      `parallel-same-model`, `parallel-mixed-model`
    context_edge.py  `context-edge-append`, `context-edge-suite-only`

The figures go to speed.json (puma.runfolder.speed); docs/commands/phases.md is the method.
"""

"""Stateful simulators of SignBridge's two providers, for the local stack, the tests, the demo and the benchmark.

`simulators.zapsign` (ZapSign) and `simulators.oneshot` (the Uanataca One-Shot Optimizer) are packages of one module
per concern; `base` holds what both share (server, routing, counters, fault injection, webhook delivery), `pdf` and
`images` make the test PDFs and PNGs. Each runs alone with `python -m simulators.zapsign` / `python -m
simulators.oneshot`. docs/simulators.md describes their routes and control APIs.
"""

"""Tiny handlers the local-stack tests run in place of SignBridge's (registered through `function_overrides`).

They record what they receive in `tests.local.fake_handlers.recorder`, a module shared by every execution environment
(the runtime loads a private copy of a *handler* module per concurrent environment, not of the modules it imports).
"""

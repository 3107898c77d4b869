"""SignBridge's domain: the entities, their lifecycle, and the data and errors that cross the ports.

It imports nothing else of SignBridge and no AWS or HTTP library (docs/architecture.md; tests/unit/test_layers.py).
"""

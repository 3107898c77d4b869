"""The signature-verification edge: PDF signatures checked with pyHanko and pyhanko-certvalidator, reported in the
domain's terms (`signbridge.domain.verification`). Implements the workflow's `SignatureVerifier` port structurally;
imports nothing of SignBridge but the domain."""

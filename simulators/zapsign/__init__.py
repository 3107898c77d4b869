"""A stateful ZapSign simulator that follows `docs/providers/zapsign.md` (sections cited as §n).

Run it alone:  `python -m simulators.zapsign --port 8700 --token dev-token`  (prints the API base URL;
Ctrl-C stops). In tests: `ZapSignSimulator(port=0, api_token="t").start()` and `sim.api_base_url`.

What it implements (under `/api/v1/`, with or without the trailing slash):

- `POST docs/` create from `base64_pdf`, `url_pdf` (fetched only from loopback hosts) or `markdown_text` → 200 with
  the full document serializer (§3.1, §3.2 superset); `GET docs/` (paginated list, §3.3); `GET|DELETE docs/{t}/`
  (main or extra-doc token; soft delete, §3.5); `POST docs/{t}/upload-extra-doc/` (max 14, §3.8);
  `POST docs/{t}/reprocess-doc/` (§3.9); `POST refuse/` (§3.6); `GET signers/{t}/` (§3.10);
  `POST user/company/webhook/`, `POST user/company/webhook/header/`, `DELETE user/company/webhook/delete/` (§4.2).
- Auth: `Authorization: Bearer <token>` or legacy `?api_token=`; missing/wrong → 401 `{"detail"}`; a token listed
  in `other_env_tokens` → 403 (§2.2, §2.5). Rate limit: `rate_limit_per_minute` per token (or per IP when the token
  is not valid) in fixed windows → 429 with no headers (§2.4).
- File links (`original_file`, `signed_file`, signer photos) point at this simulator, presigned S3-SigV2 style
  (`/files/<id>.pdf?AWSAccessKeyId=…&Expires=<unix>&Signature=<hmac>`); every response signs fresh links; an
  expired link or a bad signature answers 403 with an S3-like XML error (§3.2 "Temporary file URLs").
- Webhooks (§4): full document serializer + `event_type` + the event's extra key, delivered by the base
  `WebhookDispatcher` with the registration's custom headers, retried while the receiver answers anything but 200.

Choices where the contract is silent (each is a GUESS; change the constructor flags to test the other reading):

- `signed_file` stays null until the document is `signed` (§5 item 10); `partial_signed_file=True` instead stamps a
  new PDF after every signature. The signed PDF is the original plus a page naming the signers (`stamp_pdf`), then
  one PAdES signature by ZapSign's own test certificate (`simulators.signatures`, docs/simulators.md).
- Document status after a refusal is `refused_status` (default `"recusado"`, as in the `doc_refused` example and
  the cancel text, §3.6/§4.4; `"refused"` is the list filter's spelling).
- A company cancel (`POST refuse/`) fires `doc_refused`; with `refuse_fires_doc_signed=True` it also regenerates the
  PDF with a "Documento recusado" page and fires `doc_signed` with `signer_who_signed: null` (§3.6).
- Error bodies: DRF-style `{"detail": …}` for 401/403/404/429, per-field `{"field": ["…"]}` for 400 validation,
  `{"error": "<code>"}` for the named codes of `POST refuse/` (§2.6: the key is not documented).
- `POST refuse/` without a User-Agent → 403 `{"detail": …}` (the docs only say it is mandatory).
- Webhook `type` "" delivers doc_created/signed/deleted/refused only (§4.2); other types match the event name;
  events sent with the `events` control route (unknown types) go to "" registrations too, to test tolerance.
- `reprocess-doc` with `send_webhook` resends the current-state event: `doc_signed` (last signer) once anybody
  signed, `doc_refused` / `doc_deleted` for those states, else `doc_created` (§4.1 "presumably").
- Re-deleting a deleted document answers 200 again and fires nothing.
- The signer's `sign_url` is this simulator's `/verificar/<token>` page (open it in a browser to view and sign).

Control API (test and demo only), all JSON, under `/_sim/zapsign/` — see docs/simulators.md for the table.

One module per concern: `model`, `parsing`, `state`, `files`, `serializers`, `webhooks`, `signers`, `api`,
`control`, `page`, assembled in `simulator`.
"""

"""A stateful simulator of the Uanataca One-Shot Optimizer (New Optimizer, `/oneshot/api/v1`).

It follows `docs/providers/oneshot.md`: documented behaviour where the contract has it, the legacy Optimizer's texts and
codes where only those are known, and labelled guesses (`# GUESS (docs/providers/oneshot.md §x)`) where nothing is
known. The client must not depend on a guessed shape; the simulator has to answer *something*.

Provider routes (all also under the doubled prefix `/oneshot/api/v1/api/v1/...` seen in the rendered curl samples,
and with or without a trailing slash, docs/providers/oneshot.md §2). The endpoint name is what `/_sim/calls` counts and
what a fault plan names:

| endpoint            | route                                                   |
|---------------------|---------------------------------------------------------|
| `tokens_list`       | `GET    tokens`                                         |
| `token_create`      | `POST   token`                                          |
| `token_get`         | `GET    token/<token_uid>`                              |
| `create`            | `POST   create` (multipart)                             |
| `document_upload`   | `POST   document/<pk>` (multipart `file`, `file2`, ...) |
| `documents_delete`  | `DELETE document/<pk>`                                  |
| `document_retrieve` | `GET    document/<pk>/<uid>?document_type=original|signed` |
| `document_delete`   | `DELETE document/<pk>/<uid>`                            |
| `documents_list`    | `GET    documents/<pk>`                                 |
| `contract`          | `GET    contract/<pk>`                                  |
| `otp`               | `POST   otp/<pk>`                                       |
| `sign`              | `POST   sign/<pk>` (JSON)                               |
| `image_upload`      | `POST   image` (multipart `image`, PNG)                 |
| `image_get`         | `GET    image/<image_uid>`                              |
| `image_delete`      | `DELETE image/<image_uid>`                              |

Control routes (besides the base ones in `simulators/base.py`):

| route                                      | what it does                                                     |
|--------------------------------------------|------------------------------------------------------------------|
| `GET  /_sim/oneshot/otp?phone=+34...`      | the last OTP "sent" by SMS to that phone (`?pk=N` also works)     |
| `GET  /_sim/oneshot/requests/<pk>/otp`     | the last OTP sent for that request                                |
| `GET  /_sim/oneshot/requests`              | every request: pk, status, phone, documents, async mode, callback |
| `GET  /_sim/oneshot/requests/<pk>`         | one request                                                       |
| `GET  /_sim/oneshot/sms`                   | every SMS sent: phone, pk, code, sent_at                          |
| `GET  /_sim/oneshot/clock`                 | the simulator's clock (epoch seconds) and its offset              |
| `POST /_sim/oneshot/clock`                 | `{"advance_seconds": 61}` moves the clock on (OTP minute, expiry) |

Run it alone: `python -m simulators.oneshot --port 8701`; the API is then at
`http://127.0.0.1:8701/oneshot/api/v1/`.

One module per concern: `model`, `responses`, `state`, `tokens`, `callbacks`, `create`, `documents`, `signing`,
`images`, `control`, assembled in `simulator`.
"""

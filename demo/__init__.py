"""The demo and the API client kit: one signature request driven end to end through the running local stack,
acting as the signers.

    result = run_demo(stack.api_url, zapsign_simulator, oneshot_simulator)   # workflow="zapsign_oneshot"
    result.ok, result.status, result.files

It uses only what a client and a signer have: the HTTP API (`POST /v1/requests`, `GET /v1/requests/{id}`,
`POST …/signers/{n}/otp`) and, in place of the signers' browser and phone, the simulators' control APIs (`/_sim/…`,
over HTTP, so a simulator in another process works too). Stage by stage:

1. create the request (documents inline: PDFs from `simulators.pdf.make_pdf`; signers with fake data);
2. ZapSign workflows: wait for `zapsign_pending`; each signer opens the link, uploads the ID photos and the selfie,
   and signs (`/_sim/zapsign/signers/{token}/…`);
3. One-Shot workflows, one signer after the other: wait for `awaiting_otp`; read the SMS code from
   `/_sim/oneshot/otp`; submit it through the API;
4. wait for `completed`, then check the files: every file the API reports is fetched (its presigned link, or S3
   directly) and its sha256 compared with the one the API reports and with S3's `x-amz-meta-sha256`.

`DemoResult.ok` is true only when the request completed and every check passed; otherwise `stuck_at` and `reason`
say where and why, with the last timeline entries and the request's `failure_reason`. Every wait is bounded.

Modules, one concern each: `data` (fake signers, PDFs, request bodies), `client` (`ApiClient`, `ZapSignControl`,
`OneShotControl`), `answers` (reading the API's answer), `waiting` (`wait_for_status`), `files` (`collect_files`,
`check_files`), `report` (`DemoResult`) and `runner` (`run_demo`). They are public: the end-to-end tests and the
benchmark drive the stack with them.
"""

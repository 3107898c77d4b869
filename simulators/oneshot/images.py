"""Signature appearance images: upload (PNG), read and delete."""

from __future__ import annotations

import uuid

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.responses import bad_request, not_found, sniff_mime, unsupported
from simulators.oneshot.signing import Signing


class Images(Signing):
    def _image_upload(self, request: Request) -> Response:
        image = request.files.get("image")
        if image is None:
            return bad_request("Missing required parameter: 'image'")  # LEGACY (docs/providers/oneshot.md §5.8)
        data = image.read()
        mime = sniff_mime(data)
        if mime != "image/png":
            return unsupported(f"Image file type not supported: {mime}")
        uid = str(uuid.uuid4())
        with self.lock:
            self.images[uid] = data
        # Documented shape (docs/providers/oneshot.md §5.8, N3).
        return json_response(
            {"status": "success", "message": f"Image uploaded with uid '{uid}'", "details": {"image_uid": uid}}
        )

    def _image_get(self, request: Request, image_uid: str) -> Response:
        with self.lock:
            data = self.images.get(image_uid)
        if data is None:
            return not_found(f"Image with uid {image_uid} not found")
        return Response(data, status=200, mimetype="image/png")

    def _image_delete(self, request: Request, image_uid: str) -> Response:
        with self.lock:
            if self.images.pop(image_uid, None) is None:
                return not_found(f"Image with uid {image_uid} not found")
        # GUESS (docs/providers/oneshot.md §5.8): the new body was not captured.
        return json_response({"status": "success", "message": f"Image {image_uid} deleted"})

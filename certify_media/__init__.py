"""Decoding untrusted media into [0, 1] arrays at a model's input geometry.

Never imports torch: the API uses the sniffing part, the worker and the
command line `decode_upload`, which decodes in the sandbox. The names below
load their modules on first use, so the API, which only sniffs, imports
neither numpy nor Pillow (its image installs neither).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certify_media.decode import DecodedUpload, DecodeRequest, MediaLimits, decode_upload
    from certify_media.errors import MediaError
    from certify_media.images import DecodedImage, ImageLimits, decode_image
    from certify_media.sandbox import Sandbox, SandboxLimits
    from certify_media.sniff import sniff_media_type
    from certify_media.video import DecodedVideo, VideoLimits, decode_video

_HOMES = {
    "DecodeRequest": "decode", "DecodedUpload": "decode", "MediaLimits": "decode",
    "decode_upload": "decode", "MediaError": "errors", "DecodedImage": "images",
    "ImageLimits": "images", "decode_image": "images", "Sandbox": "sandbox",
    "SandboxLimits": "sandbox", "sniff_media_type": "sniff", "DecodedVideo": "video",
    "VideoLimits": "video", "decode_video": "video",
}

__all__ = [
    "DecodeRequest",
    "DecodedImage",
    "DecodedUpload",
    "DecodedVideo",
    "ImageLimits",
    "MediaError",
    "MediaLimits",
    "Sandbox",
    "SandboxLimits",
    "VideoLimits",
    "decode_image",
    "decode_upload",
    "decode_video",
    "sniff_media_type",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'certify_media' has no attribute {name!r}")
    value = getattr(import_module(f"certify_media.{_HOMES[name]}"), name)
    globals()[name] = value
    return value

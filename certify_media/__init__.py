"""Decoding untrusted media into [0, 1] arrays at a model's input geometry.

Never imports torch: the API uses the sniffing part, the worker and the
command line `decode_upload`, which decodes in the sandbox.
"""

from certify_media.decode import DecodedUpload, DecodeRequest, MediaLimits, decode_upload
from certify_media.errors import MediaError
from certify_media.images import DecodedImage, ImageLimits, decode_image
from certify_media.sandbox import Sandbox, SandboxLimits
from certify_media.sniff import sniff_media_type
from certify_media.video import DecodedVideo, VideoLimits, decode_video

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

"""Decoding untrusted media into [0, 1] arrays at a model's input geometry.

Never imports torch: the API uses the sniffing part, the worker and the
command line the decoders.
"""

from certify_media.errors import MediaError
from certify_media.guard import GuardLimits
from certify_media.images import DecodedImage, ImageLimits, decode_image
from certify_media.sniff import sniff_media_type
from certify_media.video import DecodedVideo, VideoLimits, decode_video

__all__ = [
    "DecodedImage",
    "DecodedVideo",
    "GuardLimits",
    "ImageLimits",
    "MediaError",
    "VideoLimits",
    "decode_image",
    "decode_video",
    "sniff_media_type",
]

"""Media type from the first bytes of a file, never from the client's header."""

IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)
VIDEO_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"ftyp", 4, "video/mp4"),
    (b"\x1a\x45\xdf\xa3", 0, "video/x-matroska"),  # also WebM; told apart on decode
)
SNIFF_BYTES = 16


def sniff_media_type(head: bytes) -> str | None:
    """The media type the leading bytes declare, or None when unrecognised."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    for signature, offset, media_type in (*IMAGE_SIGNATURES, *VIDEO_SIGNATURES):
        if head[offset:offset + len(signature)] == signature:
            return media_type
    return None


def media_kind(media_type: str | None) -> str | None:
    """'image', 'video' or None."""
    if media_type is None:
        return None
    return media_type.split("/", 1)[0] if media_type.startswith(("image/", "video/")) else None

"""The API's torch-free geometry check refuses exactly what the library's geometry refuses."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify_contract import CertifyOptions, InvalidOptionError, check_geometry
from certify_core.options import patch_geometry
from certify_core.video import video_geometry

maybe_side = st.none() | st.integers(1, 48)


def refuses(build: object) -> bool:
    try:
        build()  # type: ignore[operator]
    except InvalidOptionError:
        return True
    return False


@settings(max_examples=300, deadline=None)
@given(side=st.integers(1, 40), resize=maybe_side, patch_size=maybe_side,
       patches=st.none() | st.integers(1, 4))
def test_images_agree_with_the_library(
    side: int, resize: int | None, patch_size: int | None, patches: int | None
) -> None:
    options = CertifyOptions(method="smooth-reduce", resize=resize, patch_size=patch_size,
                             patches=patches)
    library = refuses(lambda: patch_geometry(options, (side, side), (side, side)))
    assert refuses(lambda: check_geometry(options, "image", (1, side, side))) == library


@settings(max_examples=300, deadline=None)
@given(clip=st.integers(1, 16), frames=maybe_side, patch_size=maybe_side,
       patches=st.none() | st.integers(1, 4))
def test_videos_agree_with_the_library(
    clip: int, frames: int | None, patch_size: int | None, patches: int | None
) -> None:
    options = CertifyOptions(method="smooth-reduce", frames=frames, patch_size=patch_size,
                             patches=patches)
    shape = (1, clip, 8, 8)
    library = refuses(lambda: video_geometry(shape, options))
    assert refuses(lambda: check_geometry(options, "video", shape)) == library


def test_a_patch_larger_than_the_input_is_refused_with_the_sizes() -> None:
    with pytest.raises(InvalidOptionError, match=r"Patch size \(40, 40\) is larger .* \(32, 32\)"):
        check_geometry(CertifyOptions(method="smooth-reduce", patch_size=40), "image", (1, 28, 28))
    check_geometry(CertifyOptions(method="cohen"), "image", (1, 28, 28))

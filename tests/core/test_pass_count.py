"""The contract's pass count (`certify_contract.throughput`) against the certifier's geometry.

The estimate counts patches without torch; these cases build the library's own
geometry for the same options and compare the k it samples with.
"""

import pytest

from certify_contract import CertifyOptions
from certify_contract.throughput import pass_range, passes_per_sample
from certify_core.options import patch_geometry
from certify_core.video import video_geometry

IMAGE = (1, 28, 28)
CLIP = (1, 8, 16, 16)
SR = {"method": "smooth-reduce"}


@pytest.mark.parametrize("values", [
    {}, SR, {**SR, "stride": 1}, {**SR, "stride": 3}, {**SR, "resize": 40, "patch_size": 20},
    {**SR, "resize": 28}, {**SR, "patches": 7}, {**SR, "resize": 33, "patch_size": 28, "stride": 2},
])
def test_image_patches_match_the_certifiers_geometry(values: dict[str, object]) -> None:
    options = CertifyOptions(**values)  # type: ignore[arg-type]
    geometry = patch_geometry(options, IMAGE[1:], IMAGE[1:])
    assert passes_per_sample(options, "image", IMAGE) == (1 if geometry is None else geometry.k)


@pytest.mark.parametrize("values", [
    {}, SR, {**SR, "stride": 1}, {**SR, "frames": 21}, {**SR, "patch_size": 5, "frames": 12},
    {**SR, "patches": 4},
])
def test_video_clips_match_the_certifiers_geometry(values: dict[str, object]) -> None:
    options = CertifyOptions(**values)  # type: ignore[arg-type]
    geometry = video_geometry(CLIP, options)
    assert passes_per_sample(options, "video", CLIP) == (1 if geometry is None else geometry.k)


def test_fixed_sampling_spends_exactly_n0_plus_n_samples() -> None:
    options = CertifyOptions(method="smooth-reduce", n0=50, n=2_000)  # default 3 x 3 grid
    assert pass_range(options, "image", IMAGE) == (2_050 * 9, 2_050 * 9)


def test_adaptive_sampling_ranges_from_its_first_look_to_n() -> None:
    options = CertifyOptions(n0=100, n=20_000, sampling="adaptive", looks="700,5000")
    assert pass_range(options, "image", IMAGE) == (800, 20_100)
    decision = CertifyOptions(n0=100, n=10_000, radius=0.1)  # the default looks start at 500
    assert pass_range(decision, "image", IMAGE) == (600, 10_100)

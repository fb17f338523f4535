"""The CPU peak estimate reads cores, clock, vendor and vector flags from /proc/cpuinfo."""

import pytest

from certify_testkit.machine import cpu_peak

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
cpu MHz\t\t: 2596.128
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512bw avx512_bf16 avx512_vnni
siblings\t: 2
cpu cores\t: 2

processor\t: 1
vendor_id\t: AuthenticAMD
"""
SAPPHIRE_RAPIDS = ZEN4.replace("AuthenticAMD", "GenuineIntel").replace("family\t: 25", "family\t: 6").replace(
    "avx512_vnni", "avx512_vnni amx_bf16 amx_tile")
HASWELL = ZEN4.replace("AuthenticAMD", "GenuineIntel").replace("family\t: 25", "family\t: 6").replace(
    " avx512f avx512bw avx512_bf16 avx512_vnni", "")


def test_zen4_splits_avx512_into_two_256_bit_halves() -> None:
    peak = cpu_peak(ZEN4, cores=2)
    assert (peak.vector_bits, peak.data_path_bits) == (512, 256)
    # 2 cores x 2.596 GHz x 2 FMA pipes x 8 fp32 lanes x 2 FLOP
    assert peak.fp32_flops == pytest.approx(2 * 2.596128e9 * 2 * 8 * 2)
    assert peak.bf16_flops == pytest.approx(2 * peak.fp32_flops)
    assert "avx512_bf16" in peak.describe()


def test_intel_avx512_runs_full_width_and_amx_dominates_bf16() -> None:
    peak = cpu_peak(SAPPHIRE_RAPIDS, cores=1, max_khz=3_000_000)
    assert peak.data_path_bits == 512
    assert peak.fp32_flops == pytest.approx(3e9 * 2 * 16 * 2)
    assert peak.bf16_flops == pytest.approx(3e9 * 2048)


def test_avx2_without_bf16_has_the_same_bf16_and_fp32_peak() -> None:
    peak = cpu_peak(HASWELL, cores=4)
    assert peak.vector_bits == peak.data_path_bits == 256
    assert peak.bf16_flops == peak.fp32_flops == pytest.approx(4 * 2.596128e9 * 2 * 8 * 2)


def test_this_machine_gives_a_positive_peak() -> None:
    peak = cpu_peak()
    assert peak.cores >= 1 and peak.ghz > 0 and peak.fp32_flops > 0

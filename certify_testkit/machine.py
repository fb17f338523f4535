"""The CPU's peak floating-point rate, estimated from what the machine says about itself.

peak = cores x clock x FMA pipes x (data path bits / 32) x 2 FLOP per fused multiply-add,
for fp32. Read from the machine: the physical cores this process may run on, the clock
(`cpuinfo_max_freq`, else `cpu MHz`), the vendor, the family and the vector flags.
Assumed (not readable): two FMA pipes per core, as on every recent x86 server core;
AMD family 25 (Zen 3 / Zen 4) executes AVX-512 as two 256-bit halves, so its data
path is 256 bits. bf16: AVX-512 BF16's dot-product instruction does two products per
fp32 lane (twice the fp32 rate); AMX (Intel) does 1,024 bf16 multiply-adds per cycle
per core.
"""

import os
from dataclasses import dataclass
from pathlib import Path

FMA_PIPES = 2
AMX_BF16_FLOP_PER_CYCLE = 2048


@dataclass(frozen=True)
class CpuPeak:
    cores: int
    ghz: float
    vector_bits: int
    data_path_bits: int
    flags: frozenset[str]

    @property
    def fp32_flops(self) -> float:
        return self.cores * self.ghz * 1e9 * FMA_PIPES * (self.data_path_bits / 32) * 2

    @property
    def bf16_flops(self) -> float:
        if "amx_bf16" in self.flags:
            return self.cores * self.ghz * 1e9 * AMX_BF16_FLOP_PER_CYCLE
        return self.fp32_flops * (2 if "avx512_bf16" in self.flags else 1)

    def peak(self, precision: str) -> float:
        return self.fp32_flops if precision == "fp32" else self.bf16_flops

    def describe(self) -> str:
        extra = [flag for flag in ("avx512_bf16", "amx_bf16", "avx512_vnni") if flag in self.flags]
        return (f"{self.cores} cores at {self.ghz:.2f} GHz, {self.vector_bits}-bit vectors on a "
                f"{self.data_path_bits}-bit data path, {FMA_PIPES} FMA pipes (assumed)"
                f"{', ' + ', '.join(extra) if extra else ''}: peak fp32 "
                f"{self.fp32_flops / 1e9:.0f} GFLOP/s, bf16 {self.bf16_flops / 1e9:.0f} GFLOP/s")


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_peak(cpuinfo: str | None = None, cores: int | None = None,
             max_khz: float | None = None) -> CpuPeak:
    """This machine's estimate (or one from the given /proc/cpuinfo text, for tests)."""
    info = parse_cpuinfo(cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text())
    flags = frozenset(info.get("flags", "").split())
    if max_khz is None and cpuinfo is None:
        max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        max_khz = float(max_freq.read_text()) if max_freq.is_file() else None
    ghz = max_khz / 1e6 if max_khz else float(info.get("cpu MHz", "0")) / 1e3
    vector_bits = 512 if "avx512f" in flags else 256 if {"avx2", "fma"} <= flags else 128
    split_avx512 = info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
    data_path = min(vector_bits, 256) if split_avx512 else vector_bits
    if cores is None:
        # Logical CPUs this process may use, counted as physical cores (SMT siblings share pipes).
        per_core = int(info.get("siblings", "1")) // max(1, int(info.get("cpu cores", "1")))
        cores = max(1, len(os.sched_getaffinity(0)) // max(1, per_core))
    return CpuPeak(cores, ghz, vector_bits, data_path, flags)

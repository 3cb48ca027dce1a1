"""--precision: the Keras mixed-precision policy the model is built under.

Under `mixed_bfloat16` / `mixed_float16` the layers compute in 16 bits while their variables stay float32;
every model head ends in a float32 layer (trainer/models/video_level.py FLOAT32), so the log-odds the loss
reads, the probabilities the signatures return and every metric stay float32, and the serving model takes
and returns the same dtypes under every policy. `auto` picks bfloat16 where the hardware computes it natively
(CPU flags avx512_bf16 or amx_bf16; a GPU of compute capability 8.0 or newer), else float32: emulated 16-bit
math is slower than float32, and float16 needs loss scaling that bfloat16 does not.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Optional, Sequence

AUTO = "auto"
FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
MIXED_FLOAT16 = "mixed_float16"
PRECISIONS = (FLOAT32, MIXED_BFLOAT16, MIXED_FLOAT16, AUTO)
# CPU feature flags (/proc/cpuinfo) of native bfloat16 matrix math: AVX-512 BF16 dot products, Intel AMX tiles.
BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
# GPUs compute bfloat16 natively from Ampere (compute capability 8.0) on.
BFLOAT16_GPU_CAPABILITY = (8, 0)


def cpu_flags(cpuinfo_text: str) -> frozenset:
    """The feature flags of the first processor in a /proc/cpuinfo text."""
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def check_precision(requested: str) -> None:
    if requested not in PRECISIONS:
        raise ValueError(f"--precision must be one of {PRECISIONS}, got {requested!r}")


def choose_precision(requested: str, cpu_feature_flags: Iterable[str] = (),
                     gpu_capabilities: Sequence[tuple] = ()) -> str:
    """The policy name `requested` means on this hardware: itself, or for `auto` mixed_bfloat16 when every
    visible GPU (or, without GPUs, the CPU) computes bfloat16 natively, else float32."""
    check_precision(requested)
    if requested != AUTO:
        return requested
    if gpu_capabilities:
        native = all(tuple(capability) >= BFLOAT16_GPU_CAPABILITY for capability in gpu_capabilities)
    else:
        native = bool(BFLOAT16_CPU_FLAGS & set(cpu_feature_flags))
    return MIXED_BFLOAT16 if native else FLOAT32


def this_machines_precision(requested: str) -> str:
    """choose_precision with this machine's CPU flags and visible GPUs."""
    if requested != AUTO:
        return choose_precision(requested)
    import tensorflow as tf
    try:
        with open("/proc/cpuinfo") as f:
            flags = cpu_flags(f.read())
    except OSError:  # not Linux: no CPU flags to read, so no native bfloat16 is assumed
        flags = frozenset()
    capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
                    for gpu in tf.config.list_physical_devices("GPU")]
    return choose_precision(requested, flags, capabilities)


@contextlib.contextmanager
def policy_scope(policy_name: Optional[str]):
    """Layers created inside take this Keras dtype policy (None: leave the current one); the previous global
    policy is back afterwards, so nothing else built in the process changes."""
    import tf_keras as keras
    if not policy_name:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy_name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)

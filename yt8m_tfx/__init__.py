"""yt8m-tfx: YouTube-8M video classification as a TFX pipeline."""
import os
import warnings

# TFT 1.16 and TFMA 0.47 only work with Keras 2; models are written with tf_keras.
# Set before anything imports tensorflow so every process (runner, tests, Beam workers) agrees.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# google-api-core warns on every import about Python 3.11's end of life (2027); it drowns real logs.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core")

# Before tensorflow or Beam start their threads: see heap.py.
from yt8m_tfx import heap as _heap  # noqa: E402

_heap.limit_arenas()

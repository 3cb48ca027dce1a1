"""YouTube-8M evaluation: the TFMA metric plugin (tfma_metrics) over yt8m_tfx.metrics_math, and the
standalone evaluation CLI (evaluate)."""

"""Keep AutoGraph out of Keras's own code when TensorFlow traces a tf_keras model.

TensorFlow 2.16 moved Keras 2 into the separate `tf_keras` package, but AutoGraph's list of libraries it
leaves unconverted (CONVERSION_RULES in tensorflow.python.autograph.core.config) still names `keras`, not
`tf_keras`. So every trace of a tf_keras model (model.fit's train step, keep-best evaluation, the exported
signatures) parses and rewrites hundreds of Keras functions: measured 7 s of FrameLevelLogisticModel's
first training step, against 6 s for the 199 steps after it. tf_keras is the code TF <= 2.15 shipped as
`keras` and never converted; the project's own model code is still converted as before.
"""
_PACKAGE = "tf_keras"


def leave_tf_keras_unconverted() -> bool:
    """Add a DoNotConvert rule for tf_keras (once). False if this TensorFlow has no such private config,
    in which case tracing is only slower."""
    try:
        from tensorflow.python.autograph.core import config, config_lib
    except ImportError:
        return False
    rules = getattr(config, "CONVERSION_RULES", None)
    if rules is None:
        return False
    if not any(isinstance(r, config_lib.DoNotConvert) and r.matches(_PACKAGE) for r in rules):
        config.CONVERSION_RULES = (config_lib.DoNotConvert(_PACKAGE),) + tuple(rules)
    return True

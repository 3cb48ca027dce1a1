"""AutoGraph leaves tf_keras alone once the model registry is imported, and still converts our code."""
import yt8m_tfx  # noqa: F401

import tensorflow as tf
import tf_keras as keras
from tensorflow.python.autograph.impl import conversion

import trainer.models  # noqa: F401  (applies the rule)
from trainer import keras_tracing


def test_tf_keras_is_not_converted_but_project_code_is():
    assert conversion.is_allowlisted(keras.layers.Dense(2).call)
    assert conversion.is_allowlisted(keras.Model.train_step)
    assert not conversion.is_allowlisted(keras_tracing.leave_tf_keras_unconverted)


def test_rule_is_added_once():
    from tensorflow.python.autograph.core import config
    keras_tracing.leave_tf_keras_unconverted()
    assert keras_tracing.leave_tf_keras_unconverted()
    assert sum(rule.matches("tf_keras") for rule in config.CONVERSION_RULES) == 1


def test_a_traced_keras_layer_still_trains():
    layer = keras.layers.Dense(1, kernel_initializer="ones")

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.kernel)

    assert step(tf.ones([3, 2])).numpy().tolist() == [[3.0], [3.0]]

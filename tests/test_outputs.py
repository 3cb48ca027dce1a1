from pipeline import outputs


def _slice_key(**values):
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2
    key = metrics_for_slice_pb2.SliceKey()
    for column, value in values.items():
        single = key.single_slice_keys.add(column=column)
        if isinstance(value, bytes):
            single.bytes_value = value
        elif isinstance(value, float):
            single.float_value = value
        else:
            single.int64_value = value
    return key


def test_slice_labels_read_the_field_that_is_set():
    assert outputs.slice_label(_slice_key()) == "Overall"
    assert outputs.slice_label(_slice_key(rgb_norm_bucket=0)) == "rgb_norm_bucket=0"  # not 0.0
    assert outputs.slice_label(_slice_key(num_labels_bucket=5)) == "num_labels_bucket=5"
    assert outputs.slice_label(_slice_key(vertical=b"Games")) == "vertical=Games"
    assert outputs.slice_label(_slice_key(score=0.5, vertical=b"")) == "score=0.5, vertical="

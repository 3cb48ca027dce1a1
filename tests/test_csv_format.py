import os

import numpy as np
import pytest

from inference.components import merge_shards
from inference.csv_format import HEADER, format_row
from tests.conftest import parse_row


def test_row_is_sorted_by_score_and_uses_percent_g():
    row = format_row(b"Ab3x", [7, 2, 3861], [0.25, 0.9999999, 1e-7])
    assert row == "Ab3x,2 0.9999999 7 0.25 3861 1e-07"  # %g, but never a rounded-up "1"


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 classes but 1 scores"):
        format_row("v", [1, 2], [0.5])


def test_merge_shards_writes_one_header(tmp_path):
    shards = []
    for i, rows in enumerate([["a,1 0.5"], [], ["b,2 0.25", "c,3 0.125"]]):
        path = tmp_path / f"predictions-{i:05d}-of-00003.csv"
        path.write_text("\n".join([HEADER] + rows) + "\n")
        shards.append(str(path))
    merged = tmp_path / "predictions.csv"
    assert merge_shards(shards, str(merged), max_rows=10) == 3
    assert merged.read_text().splitlines() == [HEADER, "a,1 0.5", "b,2 0.25", "c,3 0.125"]
    other = tmp_path / "skipped.csv"
    assert merge_shards(shards, str(other), max_rows=2) == 3
    assert not other.exists()


def test_predict_cli_reports_missing_inputs_clearly(tmp_path):
    from inference import predict
    from yt8m_tfx.command_line import UserError
    with pytest.raises(UserError, match=f"^--input_data_pattern={tmp_path}/none\\*.tfrecord: no file matches it$"):
        predict.predict_to_csv(str(tmp_path), str(tmp_path / "none*.tfrecord"), str(tmp_path / "o.csv"))
    (tmp_path / "x.tfrecord").write_bytes(b"")
    with pytest.raises(UserError, match=f"^--model_dir={tmp_path}: no SavedModel"):
        predict.predict_to_csv(str(tmp_path), str(tmp_path / "x*.tfrecord"), str(tmp_path / "o.csv"))
    with pytest.raises(UserError, match=f"^--train_dir={tmp_path}: no model trained or pushed under it"):
        predict.newest_model_in_train_dir(str(tmp_path))


def test_train_dir_finds_the_newest_model_trained_or_pushed_under_it(tmp_path):
    """A pipeline root holds Trainer outputs and Pusher versions (and Transform's graph, which is no model)."""
    from inference import predict
    paths = ["Transform/transform_graph/5/transform_fn", "Trainer/model/6/Format-Serving",
             "serving_model/1700000000", "Trainer/model/9/Format-Serving"]
    for age, path in enumerate(paths):
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "saved_model.pb").write_bytes(b"")
        os.utime(tmp_path / path / "saved_model.pb", (1_000_000 + age, 1_000_000 + age))
    assert predict.newest_model_in_train_dir(str(tmp_path)) == str(tmp_path / "Trainer/model/9/Format-Serving")
    os.utime(tmp_path / paths[2] / "saved_model.pb", (2_000_000, 2_000_000))
    assert predict.newest_model_in_train_dir(str(tmp_path)) == str(tmp_path / paths[2])
    assert predict.newest_model_in_train_dir(str(tmp_path / "serving_model")) == str(tmp_path / paths[2])
    assert predict.newest_model_in_train_dir(str(tmp_path / paths[1])) == str(tmp_path / paths[1])


def test_scores_just_below_one_keep_their_order_instead_of_printing_as_1():
    from inference.csv_format import format_score
    assert format_score(0.123456789) == "0.123457"  # the starter code's %g everywhere else
    assert format_score(0.99999976) == "0.99999976" and format_score(0.9999994) == "0.999999"
    assert format_score(1.0) == "1"
    row = format_row("v", [3, 4], np.array([0.99999976, 0.99999994], np.float32))
    _, classes, scores = parse_row(row)
    assert classes == [4, 3] and scores[0] > scores[1] > 0.9999997


def test_vocabulary_names_every_class_and_named_rows_follow_the_kaggle_row():
    import csv
    import io
    from inference.csv_format import NAMED_HEADER, named_rows
    from yt8m_tfx import class_names, features
    vocabulary = class_names.load_vocabulary()
    assert len(vocabulary) == features.NUM_CLASSES
    assert vocabulary[0] == class_names.ClassInfo("Game", "Games", 788288)
    assert all(info.vertical for info in vocabulary)
    unnamed = next(i for i, info in enumerate(vocabulary) if not info.name)
    lines = named_rows(b"vid", [1, 0, unnamed], [0.25, 0.5, 0.125], vocabulary)
    rows = list(csv.DictReader(io.StringIO("\n".join([NAMED_HEADER] + lines))))
    assert [(r["VideoId"], r["Rank"], r["ClassId"], r["Score"]) for r in rows] == [
        ("vid", "1", "0", "0.5"), ("vid", "2", "1", "0.25"), ("vid", "3", str(unnamed), "0.125")]
    assert rows[1]["ClassName"] == "Video game" and rows[2]["ClassName"] == f"class {unnamed}"


def test_vocabulary_with_missing_ids_is_rejected(tmp_path):
    from yt8m_tfx import class_names
    path = tmp_path / "vocabulary.csv"
    path.write_text("Index,Name,Vertical1\n0,a,A\n2,b,B\n")
    with pytest.raises(ValueError, match="expected class ids 0..2"):
        class_names.load_vocabulary(str(path), num_classes=3)


def test_each_release_has_its_vocabulary_or_none():
    from yt8m_tfx import class_names
    assert class_names.vocabulary_of("yt8m-2018") == class_names.load_vocabulary()
    assert class_names.vocabulary_of("yt8m-2017") is None  # not shipped: outputs keep bare ids


@pytest.mark.parametrize("value", [
    np.array([0.5, 0.25, 1e-7], np.float32), np.array([[3, 7, 3861]], np.int64), np.array([2, 5], np.int32),
    np.array([b"Xy12", "vidé".encode()], object), np.array([1.5, 2.5], np.float64)])
def test_prediction_log_tensors_read_like_tf_make_ndarray(value):
    import tensorflow as tf
    from inference.components import tensor_values
    proto = tf.make_tensor_proto(value)
    np.testing.assert_array_equal(tensor_values(proto), tf.make_ndarray(proto).reshape(-1))
    # The compact form: one value standing for a whole tensor of it; and the repeated-field form.
    compact = tf.make_tensor_proto(value.reshape(-1)[0], shape=[4])
    np.testing.assert_array_equal(tensor_values(compact), tf.make_ndarray(compact).reshape(-1))
    if value.dtype in (np.float32, np.int64):
        repeated = tf.make_tensor_proto(value)
        field = repeated.float_val if value.dtype == np.float32 else repeated.int64_val
        repeated.ClearField("tensor_content")
        field.extend(value.reshape(-1).tolist())
        np.testing.assert_array_equal(tensor_values(repeated), value.reshape(-1))

import numpy as np
import pytest
import tensorflow as tf

from yt8m_tfx import features


def test_dequantize_matches_release_formula():
    q = np.arange(256, dtype=np.float32)
    np.testing.assert_allclose(features.dequantize(q), q * 4.0 / 255.0 + 4.0 / 512.0 - 2.0, rtol=0, atol=1e-6)


def test_quantize_inverts_dequantize_for_every_code():
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(features.quantize(features.dequantize(codes.astype(np.float64))), codes)


def test_quantize_clips_out_of_range_values():
    np.testing.assert_array_equal(features.quantize(np.array([-10.0, 10.0])), [0, 255])


def test_select_features_defaults_and_subsets():
    assert features.select_features("", frame_level=False) == {"mean_rgb": 1024, "mean_audio": 128}
    assert features.select_features("rgb", frame_level=True) == {"rgb": 1024}
    assert features.select_features(["mean_audio"], frame_level=False) == {"mean_audio": 128}


def test_select_features_rejects_unknown_names_clearly():
    from yt8m_tfx.command_line import UserError
    with pytest.raises(UserError, match=r"^--feature_names=mean_rgb,rgb: yt8m-2018 has no video-level feature rgb; "
                                        r"its video-level features are mean_rgb, mean_audio$"):
        features.select_features("mean_rgb,rgb", frame_level=False)
    with pytest.raises(UserError, match="yt8m-2018 has no frame-level feature inc3; its frame-level features are "
                                        "rgb, audio"):
        features.select_features("inc3", frame_level=True)
    assert features.select_features("inc3", True, "yt8m-2016") == {"inc3": 1024}
    assert features.select_features("", False, "yt8m-2016") == {"mean_inc3": 1024}


def test_video_level_feature_spec_parses_a_release_style_example():
    from yt8m_tfx.data.synthetic import video_level_example
    example = video_level_example("abcd", [3, 7], np.full(1024, 0.5), np.full(128, -0.25))
    parsed = tf.io.parse_single_example(example.SerializeToString(), features.video_level_feature_spec(tf))
    assert parsed["id"].numpy() == b"abcd"
    assert tf.sparse.to_dense(parsed["labels"]).numpy().tolist() == [3, 7]
    assert parsed["mean_rgb"].shape == (1024,) and parsed["mean_audio"].shape == (128,)
    assert float(parsed["mean_audio"][0]) == -0.25


def test_releases_differ_in_id_key_class_count_and_embeddings():
    import pytest
    assert {(r.id_key, r.num_classes, tuple(r.feature_sizes(False).items()))
            for r in features.RELEASES.values()} == {
        ("id", 3862, (("mean_rgb", 1024), ("mean_audio", 128))),
        ("video_id", 4716, (("mean_rgb", 1024), ("mean_audio", 128))),
        ("video_id", 4800, (("mean_inc3", 1024),))}
    assert features.RELEASES["yt8m-2016"].feature_sizes(True) == {"inc3": 1024}
    assert features.RELEASES["yt8m-2016"].visual_feature(False) == "mean_inc3"
    assert features.release_for_num_classes(4716).name == "yt8m-2017"
    assert features.release_for_num_classes(4800).name == "yt8m-2016"
    assert features.release(features.DEFAULT_DATASET).num_classes == features.NUM_CLASSES
    assert features.record_bytes(False, dataset="yt8m-2016") == 4096
    assert features.record_bytes(True, 300) == 300 * 1152
    with pytest.raises(ValueError, match="^--dataset=yt8m-2019: no such YouTube-8M release; expected one of "
                                         "yt8m-2018, yt8m-2017, yt8m-2016$"):
        features.release("yt8m-2019")
    with pytest.raises(ValueError, match="no YouTube-8M release has 10 classes"):
        features.release_for_num_classes(10)
    spec = features.video_level_feature_spec(tf, "yt8m-2017")
    assert "video_id" in spec and "id" not in spec

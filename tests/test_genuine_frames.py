"""Genuine YouTube-8M frames (../shared/yt8m_sample/frame_level_2018_animals; skipped without it) read by the
project's code and checked against numpy on the raw bytes: dequantization, frame counts, padding and truncation,
--sample_frames. And the synthetic generator against the genuine frames, so the two cannot share a mistake."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import SHARED_FRAME_LEVEL
from tests.test_transform import _frame_level_transform
from yt8m_tfx import features
from yt8m_tfx.data import synthetic

SAMPLE_CLASSES = {170, 709, 1057, 1308, 1454}  # what the sample's publisher kept (its README)


def starter_dequantize(codes):
    """The starter code's Dequantize(feat, max_quantized_value=2, min_quantized_value=-2), written out."""
    return codes.astype(np.float64) * (4.0 / 255.0) + 4.0 / 512.0 - 2.0


def read_videos(records):
    """Each serialized SequenceExample decoded with the protobuf classes alone (not the project's parser)."""
    videos = []
    for record in records:
        example = tf.train.SequenceExample.FromString(record)
        context, lists = example.context.feature, example.feature_lists.feature_list
        video = {"record": record, "id": context["id"].bytes_list.value[0].decode(),
                 "labels": list(context["labels"].int64_list.value)}
        for name in features.FRAME_FEATURE_SIZES:
            video[name] = np.stack([np.frombuffer(f.bytes_list.value[0], np.uint8) for f in lists[name].feature])
        videos.append(video)
    return videos


def _records(paths):
    return [r for path in paths for r in tf.data.TFRecordDataset([path]).as_numpy_iterator()]


@pytest.fixture(scope="module")
def genuine_files():
    files = sorted(glob.glob(os.path.join(SHARED_FRAME_LEVEL, "*.tfrecord")))
    if not files:
        pytest.skip(f"genuine frame-level sample not available ({SHARED_FRAME_LEVEL} missing)")
    return files


@pytest.fixture(scope="module")
def genuine_videos(genuine_files):
    return read_videos(_records(genuine_files))


def _varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at


def _fields(data):
    """(field number, bytes) of each length-delimited field of a protobuf message, in wire order."""
    at, out = 0, []
    while at < len(data):
        tag, at = _varint(data, at)
        assert tag & 7 == 2, "only length-delimited fields are expected here"
        length, at = _varint(data, at)
        out.append((tag >> 3, data[at:at + length]))
        at += length
    return out


def wire_key_order(record):
    """[context keys], [feature list keys] of a serialized SequenceExample in the order its bytes have them
    (a map entry is a message whose field 1 is the key)."""
    order = {1: [], 2: []}
    for number, message in _fields(record):
        for _, entry in _fields(message):
            order[number].append(_fields(entry)[0][1].decode())
    return tuple(order[1]), tuple(order[2])


def frame_statistics(videos):
    """What the generator must get right about frames: counts, spread of the dequantized values within and
    across videos, the share of codes at the ends of the range (saturated values)."""
    stats = {"min_frames": min(len(v["rgb"]) for v in videos), "max_frames": max(len(v["rgb"]) for v in videos),
             "mean_frames": float(np.mean([len(v["rgb"]) for v in videos]))}
    for name in features.FRAME_FEATURE_SIZES:
        values = [starter_dequantize(v[name]) for v in videos]
        codes = np.concatenate([v[name] for v in videos])
        stats[name] = {
            "within_video_std": float(np.mean([x.std(axis=0).mean() for x in values])),
            "across_video_std": float(np.stack([x.mean(axis=0) for x in values]).std(axis=0).mean()),
            "overall_std": float(np.concatenate(values).std()),
            "mean": float(np.concatenate(values).mean()),
            "saturated_share": float(np.isin(codes, (0, 255)).mean())}
    return stats


def test_the_sample_is_what_its_readme_says(genuine_videos):
    """The facts the other tests lean on: 116 videos, 4-character ids, the 5 classes, 119-300 frames with as
    many audio as rgb frames, codes that reach both ends of the 8-bit range."""
    assert len(genuine_videos) == 116
    ids = [v["id"] for v in genuine_videos]
    assert len(set(ids)) == 116 and {len(i) for i in ids} == {4}
    assert set().union(*map(set, (v["labels"] for v in genuine_videos))) == SAMPLE_CLASSES
    for video in genuine_videos:
        assert 119 <= len(video["rgb"]) == len(video["audio"]) <= features.MAX_FRAMES
        assert video["rgb"].shape[1] == 1024 and video["audio"].shape[1] == 128
    codes = np.concatenate([v["rgb"] for v in genuine_videos])
    assert codes.min() == 0 and codes.max() == 255


def test_transform_dequantizes_genuine_bytes_like_the_starter_code_and_pads_or_cuts_to_max_frames(
        genuine_files, tmp_path):
    chosen = genuine_files[:8]
    for path in chosen:
        os.symlink(path, tmp_path / os.path.basename(path))
    max_frames = 200  # genuine videos here have 126-300 frames: both padding and truncation happen
    rows = _frame_level_transform(str(tmp_path / "*.tfrecord"), {"frame_features": True, "max_frames": max_frames})
    reference = {v["id"].encode(): v for v in read_videos(_records(chosen))}
    assert sorted(r[features.TRANSFORMED_VIDEO_ID_KEY] for r in rows) == sorted(reference)
    truncated = padded = 0
    for row in rows:
        video = reference[row[features.TRANSFORMED_VIDEO_ID_KEY]]
        frames = len(video["rgb"])
        kept = min(frames, max_frames)
        assert row[features.NUM_FRAMES_KEY] == kept
        for name, size in features.FRAME_FEATURE_SIZES.items():
            got = np.asarray(row[features.transformed_name(name)]).reshape(max_frames, size)
            np.testing.assert_allclose(got[:kept], starter_dequantize(video[name][:kept]), atol=1e-6)
            assert not got[kept:].any()  # zero padding after the valid frames
            assert -2 + 4 / 512 - 1e-6 <= got[:kept].min() and got[:kept].max() <= 2 + 4 / 512 + 1e-6
        np.testing.assert_array_equal(np.sort(row["labels"]), np.sort(video["labels"]))
        truncated += frames > max_frames
        padded += frames < max_frames
    assert truncated and padded


def _serving_sample(videos, num_samples, max_frames, random, seed=None):
    from trainer.frame_sampling import sample_raw_frames
    from trainer.signatures import parse_raw_records
    raw = parse_raw_records(tf.constant([v["record"] for v in videos]), frame_features=True)
    sampled = sample_raw_frames(raw, num_samples, max_frames, random=random, seed=seed)
    return {name: [[np.frombuffer(frame[0], np.uint8) for frame in video] for video in sampled[name].to_list()]
            for name in features.FRAME_FEATURE_SIZES}


def test_sample_frames_keeps_whole_genuine_frames_at_the_same_positions_of_rgb_and_audio(genuine_videos):
    from trainer.frame_sampling import frame_positions
    videos = genuine_videos[:12]
    num_samples, max_frames = 30, 150  # the starter code keeps the first max_frames frames, then samples
    counts = [min(len(v["rgb"]), max_frames) for v in videos]
    assert min(len(v["rgb"]) for v in videos) < max_frames < max(len(v["rgb"]) for v in videos)
    # Serving: the centres of 30 equal slices of the kept frames, byte for byte.
    positions = frame_positions(tf.constant(counts), num_samples, random=False).to_list()
    sampled = _serving_sample(videos, num_samples, max_frames, random=False)
    for index, video in enumerate(videos):
        for name in features.FRAME_FEATURE_SIZES:
            np.testing.assert_array_equal(np.stack(sampled[name][index]), video[name][positions[index]])
    # Training: one random frame of each slice, the same frame for rgb and audio.
    sampled = _serving_sample(videos, num_samples, max_frames, random=True, seed=7)
    for index, video in enumerate(videos):
        count = counts[index]
        picked = []
        for slot, (rgb, audio) in enumerate(zip(sampled["rgb"][index], sampled["audio"][index])):
            start, end = slot * count // num_samples, (slot + 1) * count // num_samples
            matches = [p for p in range(start, end) if (video["rgb"][p] == rgb).all()
                       and (video["audio"][p] == audio).all()]
            assert matches, (video["id"], slot)
            picked.append(matches[0])
        assert len(picked) == num_samples and picked != positions[index][:num_samples]


def test_generator_frames_look_like_genuine_frames(genuine_videos):
    """Frame counts, the spread of dequantized values, id shape and key order of the generator's default
    output against the genuine sample."""
    generator = synthetic.SyntheticYT8M()
    records = [synthetic.serialize_video(generator, video, frame_level=True)
               for video in generator.videos(40, "train")]
    made, genuine = frame_statistics(read_videos(records)), frame_statistics(genuine_videos)
    assert genuine["min_frames"] - 10 <= made["min_frames"] and made["max_frames"] <= features.MAX_FRAMES
    assert made["mean_frames"] == pytest.approx(genuine["mean_frames"], rel=0.15)
    for name in features.FRAME_FEATURE_SIZES:
        for key, tolerance in (("within_video_std", 0.15), ("across_video_std", 0.35), ("overall_std", 0.15)):
            assert made[name][key] == pytest.approx(genuine[name][key], rel=tolerance), (name, key, made, genuine)
        assert abs(made[name]["mean"] - genuine[name]["mean"]) < 0.05
        assert 0.4 < made[name]["saturated_share"] / genuine[name]["saturated_share"] < 1.6, (made, genuine)
    made_ids = [tf.train.SequenceExample.FromString(r).context.feature["id"].bytes_list.value[0].decode()
                for r in records]
    assert {len(i) for i in made_ids} == {len(v["id"]) for v in genuine_videos} == {4}
    assert len(set(made_ids)) == len(made_ids) and all(i.isalnum() for i in made_ids)
    # Genuine records come in several key orders (their writer's map order varies): the generator's do too.
    assert {wire_key_order(r) for r in records} == {wire_key_order(v["record"]) for v in genuine_videos} == {
        (context, lists) for context in (("id", "labels"), ("labels", "id"))
        for lists in (("rgb", "audio"), ("audio", "rgb"))}


def test_generator_video_level_key_orders_are_the_genuine_ones():
    from tests.conftest import real_shards
    genuine = {tuple(_fields(entry)[0][1].decode() for _, entry in _fields(_fields(record)[0][1]))
               for record in _records(real_shards([0, 1]))}
    generator = synthetic.SyntheticYT8M()
    made = {tuple(_fields(entry)[0][1].decode() for _, entry in _fields(_fields(
        synthetic.serialize_video(generator, video, frame_level=False))[0][1]))
        for video in generator.videos(40, "validate")}
    assert made == genuine == {("mean_rgb", "mean_audio", "id", "labels"), ("id", "labels", "mean_rgb", "mean_audio"),
                               ("labels", "mean_rgb", "mean_audio", "id")}

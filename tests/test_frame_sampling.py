"""--sample_frames (trainer/frame_sampling.py): which frames are kept, and that they are the right bytes."""
import pytest
import tensorflow as tf

from trainer.config import TrainerConfig
from trainer.frame_sampling import frame_positions, sample_raw_frames
from yt8m_tfx import features


def test_serving_positions_are_the_centres_of_equal_slices():
    positions = frame_positions(tf.constant([0, 3, 5, 10, 100]), 5, random=False).to_list()
    assert positions == [[], [0, 1, 2], [0, 1, 2, 3, 4], [1, 3, 5, 7, 9], [10, 30, 50, 70, 90]]


def test_training_positions_are_one_random_frame_per_slice():
    counts = [7, 50, 300]
    seen = set()
    for seed in range(20):
        for count, picked in zip(counts, frame_positions(tf.constant(counts), 5, random=True, seed=seed).to_list()):
            assert len(picked) == 5
            for i, position in enumerate(picked):  # slice i is [i * count // 5, (i + 1) * count // 5)
                assert i * count // 5 <= position < (i + 1) * count // 5, (count, picked)
            assert picked == sorted(set(picked))  # in order, no frame twice
            seen.add((count, tuple(picked)))
    assert len(seen) > 30  # different samples from run to run


def _raw(frame_counts, sizes=features.FRAME_FEATURE_SIZES):
    """Parsed-SequenceExample-like ragged [B, (frames), (1)] byte strings; frame f of video v is filled with
    byte (v * 50 + f) % 256, so a decoded frame tells which one it was."""
    raw = {}
    for name, size in sizes.items():
        rows = [[[bytes([(v * 50 + f) % 256]) * size] for f in range(count)] for v, count in enumerate(frame_counts)]
        raw[name] = tf.ragged.constant(rows, dtype=tf.string, ragged_rank=2)
    raw["id"] = tf.constant([b"a", b"b", b"c"][:len(frame_counts)])
    return raw


def test_sampling_takes_the_same_frames_from_every_feature_and_leaves_the_rest():
    raw = _raw([3, 40, 12])
    sampled = sample_raw_frames(raw, num_samples=4, max_frames=30, random=False)
    assert sampled["id"] is raw["id"]
    # max_frames 30 cuts the 40-frame video first: its centres are 3, 11, 18, 26 of 30.
    expected = [[0, 1, 2], [50 + f for f in (3, 11, 18, 26)], [100 + f for f in (1, 4, 7, 10)]]
    for name, size in features.FRAME_FEATURE_SIZES.items():
        frames = sampled[name]
        assert frames.row_lengths().numpy().tolist() == [3, 4, 4]
        for video, want in zip(frames.to_list(), expected):
            assert [frame[0][0] for frame in video] == want
            assert all(len(frame[0]) == size for frame in video)


def test_sample_frames_settings_are_checked():
    assert TrainerConfig(frame_features=True, model="FrameLevelLogisticModel", sample_frames=30,
                         batch_size=8).model_frames == 30
    assert TrainerConfig(frame_features=True, model="FrameLevelLogisticModel", batch_size=8).model_frames == 300
    with pytest.raises(ValueError, match="needs --frame_features"):
        TrainerConfig(sample_frames=30)
    with pytest.raises(ValueError, match="--sample_frames must be in"):
        TrainerConfig(frame_features=True, model="FrameLevelLogisticModel", batch_size=8, max_frames=20,
                      sample_frames=30)
    # The batch guard counts the frames the model sees: 30 sampled frames allow a 10x larger batch.
    with pytest.raises(ValueError, match="GiB of floats"):
        TrainerConfig(frame_features=True, model="FrameLevelLogisticModel", batch_size=4096)
    TrainerConfig(frame_features=True, model="FrameLevelLogisticModel", batch_size=4096, sample_frames=30)

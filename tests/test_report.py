"""pipeline/report.py without a pipeline: class ranking, TensorBoard scalars, the HTML page."""
import base64

import numpy as np
import pytest
import tensorflow as tf

from pipeline import report
from yt8m_tfx import class_names


def _ap(class_id, ap, positives):
    return report.ClassAp(class_id, f"c{class_id}", "", ap, positives)


def test_best_and_worst_never_share_a_class_and_skip_rare_ones():
    rows = [_ap(i, i / 50, 5 + i % 3) for i in range(50)] + [_ap(99, 1.0, 1)]  # class 99: one positive only
    best, worst = report.best_and_worst(rows, count=20)
    assert [r.class_id for r in best] == list(range(49, 29, -1))
    assert [r.class_id for r in worst] == list(range(20))
    few = [_ap(i, i / 5, 9) for i in range(5)]
    best, worst = report.best_and_worst(few, count=20)
    assert [r.class_id for r in best] == [4, 3, 2] and [r.class_id for r in worst] == [0, 1]
    best, worst = report.best_and_worst([_ap(7, 0.5, 1)], count=20)  # nothing qualifies: all classes ranked
    assert [r.class_id for r in best] == [7] and worst == []


def test_class_aps_name_classes_from_the_vocabulary_or_by_id():
    positives = np.zeros(3862, np.int64)
    positives[[0, 5]] = [4, 2]
    ap = np.zeros(3862)
    ap[[0, 5]] = [0.5, 0.25]
    vocabulary = class_names.vocabulary_of("yt8m-2018")
    named = report.class_aps(ap, positives, vocabulary)
    assert [(r.class_id, r.name, r.vertical, r.ap, r.positives) for r in named] == [
        (0, "Game", "Games", 0.5, 4), (5, vocabulary[5].name, vocabulary[5].vertical, 0.25, 2)]
    assert [r.name for r in report.class_aps(ap, positives, None)] == ["class 0", "class 5"]


def test_read_scalars_keeps_numbers_by_step(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "train_loss"))
    with writer.as_default():
        for step, loss in [(10, 3.0), (20, 2.0), (30, 1.5)]:
            tf.summary.scalar("train_loss", loss, step=step)
        tf.summary.text("model", "a JSON model config", step=0)  # not a scalar: ignored
    writer.flush()
    curves = report.read_scalars(str(tmp_path))
    assert curves == {"train_loss": [(10, 3.0), (20, 2.0), (30, 1.5)]}


def test_page_embeds_every_chart_and_the_slice_numbers():
    data = report.ReportData(
        pipeline_root="/root", dataset="yt8m-2018",
        curves={"train_loss": [(1, 3.0), (2, 2.0)], "validation/gap": [(1, 0.2), (2, 0.3)]},
        slices=[{"slice": "Overall", "column": "", "example_count": 60, "gap": 0.51234, "hit_at_one": 0.8,
                 "perr": 0.6, "map": 0.4},
                {"slice": "num_labels_bucket=1", "column": "num_labels_bucket", "example_count": 1, "gap": 0.25,
                 "hit_at_one": 1.0, "perr": 0.5, "map": 0.5}],
        blessed=True, videos_scored=60, class_aps=[_ap(i, i / 10, 6) for i in range(10)],
        examples=[report.ExampleVideo("vid<1>", ["Game"], [("Game", 0.9, True), ("Car", 0.1, False)])],
        training_state={"initial_step": 0, "final_step": 2, "total_steps": 2, "best_step": 2,
                        "best_validation_gap": 0.3})
    page = report.render_html(data)
    images = [part.split("'", 1)[0] for part in page.split("src='")[1:]]
    assert len(images) == 5  # loss, validation, slices, best and worst classes
    for src in images:
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert "<td>Overall</td><td>60</td><td>0.5123</td>" in page
    assert "<td>num_labels_bucket=1</td><td>1</td><td>0.2500</td>" in page  # a count stays an integer
    assert "vid&lt;1&gt;" in page and "vid<1>" not in page  # ids are escaped
    assert "best validation GAP 0.3000 at step 2" in page and "blessed" in page


def test_report_cli_on_an_empty_root_is_a_clear_error(tmp_path, capsys):
    from yt8m_tfx import command_line
    assert command_line.run_tool(report.main, ["--pipeline_root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"error: --pipeline_root={tmp_path}: no evaluated model there yet (run the "
                                       "pipeline there first)\n")


@pytest.mark.parametrize("steps, every, expected", [(10, 5, [(5, 3.0), (10, 8.0)]), (7, 5, [(5, 3.0), (7, 6.5)])])
def test_loss_curve_writes_the_mean_of_each_window(tmp_path, steps, every, expected):
    """Keras hands callbacks the running mean since the fit started; LossCurve turns it into window means."""
    import tf_keras as keras
    from trainer.step_callbacks import LossCurve
    callback = LossCurve(str(tmp_path), every)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback.set_model(model)
    batch_losses = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10][:steps]
    for batch, _ in enumerate(batch_losses):
        model.optimizer.iterations.assign(batch + 1)
        callback.on_train_batch_end(batch, {"loss": float(np.mean(batch_losses[:batch + 1]))})
    callback.on_train_end()
    written = report.read_scalars(str(tmp_path))["train_loss"]
    assert [step for step, _ in written] == [step for step, _ in expected]
    assert [loss for _, loss in written] == pytest.approx([loss for _, loss in expected])

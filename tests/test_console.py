"""The run console's pure parts: progress text, component lines from TFX's log records."""
import logging

from pipeline import console
from trainer.progress import progress_message


def test_progress_message_reads_like_a_progress_bar():
    assert progress_message(120, 352, 3.4142, 2950.4, 45.2, 0.65432) == (
        "Training progress: step 120/352  loss 3.414  2,950 videos/s  0:45 left  validation GAP 0.6543")
    assert progress_message(1, 10, 1.0, 10, 3725, None).endswith("62:05 left")


class _Lines:
    tty = False

    def __init__(self):
        self.lines = []

    def line(self, text):
        self.lines.append(text)


def _record(message, *args):
    return logging.LogRecord("absl", logging.INFO, __file__, 1, message, args, None)


def test_component_lines_from_tfx_log_records():
    lines = _Lines()
    handler = console._ComponentLines(lines)
    for message, args in [("Component %s is running.", ("ImportExampleGen",)), ("A cached execution %d is used.", (3,)),
                          ("Component %s is finished.", ("ImportExampleGen",)),
                          ("Component %s is running.", ("Trainer",)),
                          ("%s", (progress_message(5, 10, 2.0, 100, 5),)),
                          ("%s", (progress_message(6, 10, 2.0, 100, 4),)),  # within 30 s: not repeated
                          ("%s", (progress_message(10, 10, 1.5, 100, 0),)),  # the last step always shows
                          ("Component %s is finished.", ("Trainer",)),
                          ("Skipping component %s.", ("BulkInferrer",)),
                          ("Publishing output artifacts %s", ({},))]:
        handler.emit(_record(message, *args))
    assert lines.lines[0].startswith("  ImportExampleGen") and lines.lines[0].endswith("s  (cached)")
    assert lines.lines[1] == "  Trainer                    step 5/10  loss 2.000  100 videos/s  0:05 left"
    assert lines.lines[2].startswith("  Trainer                    step 10/10")
    assert lines.lines[3].startswith("  Trainer") and lines.lines[3].endswith(" s")
    assert lines.lines[4] == "  BulkInferrer               skipped"
    assert len(lines.lines) == 5


def test_training_progress_logs_every_step_after_the_first_when_asked(caplog):
    import numpy as np
    import tf_keras as keras
    from trainer.progress import PREFIX, TrainingProgress
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    x, y = np.zeros((40, 3), np.float32), np.zeros((40, 2), np.float32)
    with caplog.at_level(logging.INFO, logger="absl"):  # absl's own level is WARNING unless a runner sets it
        model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                  callbacks=[TrainingProgress(total_steps=15, initial_step=10, batch_size=8, every_seconds=0)])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(PREFIX)]
    # 5 steps from step 10: the first (graph tracing) gives no rate; steps 12..15 are reported.
    assert [line.split()[3] for line in lines] == ["12/15", "13/15", "14/15", "15/15"]
    assert lines[-1].split("  ")[-1] == "0:00 left"

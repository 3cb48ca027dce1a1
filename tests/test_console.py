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

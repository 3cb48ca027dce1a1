"""Benchmark (not a test): frame-level pipeline memory and training throughput at realistic video sizes.

Synthetic SequenceExamples with 200-300 frames a video (≈280 KB each, like the real frame-level release):
1,000 train + 250 eval videos ("1x") and 4x that, each with --ingest=copy (ImportExampleGen) and
--ingest=import (the shards linked, the frame-level default). In each pipeline root the first run
(FrameLevelLogisticModel, all frames) measures every stage; at 1x with linked shards the other runs reuse
the cached data stages and re-run Trainer, Evaluator, BulkInferrer and the CSV export with another model or
--sample_frames. Per stage:
seconds (MLMD), the peak summed RSS of the runner and all its Beam worker processes, and the peak RSS of
the largest single process (the runner, which hosts the executors): high-water marks, so peaks between two
samples count (common.peak_rss_since_last_call). Trainer videos/s
= steps x batch / model.fit seconds (training_state.json), with --validation_percent 0 so that no keep-best
evaluation runs inside model.fit; and the steady rate after the first step (which traces the graph and fills
the shuffle buffer). GAP on the synthetic eval split.

  .venv/bin/python -m bench.frame_level [--sizes 1 4] [--sample_frames 30]
  .venv/bin/python -m bench.frame_level --sizes 1 --models FrameLevelLogisticModel \
      --beam_direct_running_mode multi_processing --output frame_level_processes.json   # workers as processes
  .venv/bin/python -m bench.frame_level --models FrameLevelLogisticModel --ingests import \
      --output frame_level_repeat2.json   # another 1x / 4x pair: the growth table shows every repeat
"""
import argparse
import os
import sys

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common

VIDEOS_1X = (1000, 250)  # train, eval
FRAMES = (200, 300)      # min, max frames a video
MODELS = {  # model: (train steps, batch size): the cheap model longer, the heavy ones enough to time
    "FrameLevelLogisticModel": (200, 64),
    "DbofModel": (60, 64),
    "NeXtVLADModel": (60, 64),
}


def generate(out_dir: str, multiple: int) -> tuple:
    from yt8m_tfx.data import synthetic
    train, eval_ = VIDEOS_1X[0] * multiple, VIDEOS_1X[1] * multiple
    if not os.path.exists(os.path.join(out_dir, "done")):
        common.fresh_dir(out_dir)
        synthetic.main(["--out", out_dir, "--videos", str(train), "--eval_videos", str(eval_),
                        "--shards", str(4 * multiple), "--frame_level", "--min_frames", str(FRAMES[0]),
                        "--max_frames", str(FRAMES[1])])
        open(os.path.join(out_dir, "done"), "w").close()
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    return train, eval_, round(size / 2**20)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 4])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--sample_frames", type=int, default=30)
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    p.add_argument("--ingests", nargs="+", default=["copy", "import"], choices=["copy", "import"])
    p.add_argument("--output", default="frame_level.json")
    p.add_argument("--beam_direct_running_mode", default=None,
                   help="e.g. multi_processing, to compare with the frame-level default (threads); "
                        "write it to another --output")
    args = p.parse_args(argv)
    runs = []
    for multiple in args.sizes:
        data = os.path.join(args.bench_root, f"frame_data_{multiple}x")
        train, eval_, mib = generate(data, multiple)
        for ingest in args.ingests:
            root = common.fresh_dir(os.path.join(args.bench_root, f"frame_level_{multiple}x_{ingest}"))
            # Every model with all frames and sampled at the first size with linked shards; otherwise the
            # memory check (the first model, all frames).
            plan = [(model, sample) for model in args.models for sample in (0, args.sample_frames)]
            if multiple != args.sizes[0] or ingest == "copy":
                plan = plan[:1]
            for index, (model, sample) in enumerate(plan):
                steps, batch = MODELS[model]
                print(f"frame_level {multiple}x ({train}+{eval_} videos, {mib} MiB), --ingest={ingest}: {model} "
                      f"sample_frames={sample}", flush=True)
                run = common.run_pipeline(root, [
                    "--train_data_pattern", os.path.join(data, "train*.tfrecord"),
                    "--eval_data_pattern", os.path.join(data, "validate*.tfrecord"), "--ingest", ingest,
                    "--frame_features", "--model", model, "--train_steps", str(steps), "--batch_size", str(batch),
                    "--sample_frames", str(sample), "--validation_percent", "0",
                    "--gap_threshold", "0"] + (["--beam_direct_running_mode", args.beam_direct_running_mode]
                                               if args.beam_direct_running_mode else []),
                    train, eval_, steps, batch)
                fit = run["training"].get("fit_seconds")
                runs.append({
                    "data_multiple": multiple, "train_videos": train, "eval_videos": eval_, "data_mib": mib,
                    "ingest": ingest, "model": model, "sample_frames": sample, "train_steps": steps,
                    "batch_size": batch, "data_stages_cached": index > 0, "wall_seconds": run["wall_seconds"],
                    "stage_seconds": run["stage_seconds"],
                    "stage_peak_tree_rss_mib": run["stage_peak_tree_rss_mib"],
                    "stage_peak_process_rss_mib": run["stage_peak_process_rss_mib"],
                    "peak_tree_rss_mib": run["peak_tree_rss_mib"], "peak_rss_mib": run["peak_rss_mib"],
                    "trainer_fit_seconds": fit,
                    "trainer_videos_per_s": round(steps * batch / fit, 1) if fit else None,
                    "trainer_steady_videos_per_s": run["training"].get("videos_per_second_after_first_step"),
                    "gap": round(run["metrics"].get("gap", float("nan")), 4)})
                print(f"  {runs[-1]}", flush=True)
    from pipeline.beam_presets import default_direct_running_mode
    common.write_result(args.output, {
        "benchmark": "frame_level", "date": common.now(), "machine": common.machine(),
        "frames_per_video": list(FRAMES), "rss_sampling": common.RSS_SAMPLING,
        "beam": (f"DirectRunner, 2 workers, {args.beam_direct_running_mode}" if args.beam_direct_running_mode else
                 f"DirectRunner, 2 workers, {default_direct_running_mode(frame_level=True)} (the frame-level default)"),
        "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())

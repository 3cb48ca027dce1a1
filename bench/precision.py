"""Benchmark (not a test): --precision float32 vs mixed_bfloat16 (or what `auto` picks here), same run.

Three measurements, each for both precisions (the roofline in every run, the others as --measure says):
  roofline   a 1024x1152 . 1152x3862 tf.matmul (the size of a video-level logistic layer) in float32 and in
             bfloat16: the GFLOP/s this CPU reaches with both cores, the ceiling for the Trainer.
  step       a recipe's compiled model (trainer.run_fn.build_compiled_model, its own flags) trained in memory on
             random batches: seconds a step and GFLOP/s, counted from the MatMul ops of its traced training
             step, against the roofline of its precision; and where the step's time goes (TensorFlow's
             profiler: each op's CPU time, grouped by the layer class it belongs to).
  pipeline   `local_runner.py @recipes/NAME.flags --precision P` on the shared split (GAP on held-out real
             videos) and at the issue size (23,091 train / 29,322 scored videos; time per stage, and the
             Trainer's GFLOP/s over its model.fit seconds).

  .venv/bin/python -m bench.precision --measure step                        # ~3 min
  .venv/bin/python -m bench.precision --recipes video_level_best --measure pipeline   # ~35 min on 2 cores

Writes bench/results/precision.json (rows merged by recipe, measurement and precision).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import yt8m_tfx  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before tensorflow loads)

from bench import common

RESULT_FILE = "precision.json"
RECIPES = ("video_level_best", "video_level_fast")
MEASUREMENTS = ("step", "pipeline")  # the roofline is measured in every run: the ceiling of its rows
ROOFLINE_SHAPE = (1024, 1152, 3862)  # batch x input features x classes
MATMUL_OPS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "_MklMatMul", "_FusedMatMul")


def precisions_to_compare():
    """float32 and what --precision=auto picks on this machine (mixed_bfloat16 where it computes it natively)."""
    from trainer import precision
    chosen = precision.this_machines_precision(precision.AUTO)
    return [precision.FLOAT32] + ([chosen] if chosen != precision.FLOAT32 else [precision.MIXED_BFLOAT16])


def matmul_gflops(dtype: str, seconds: float = 5.0) -> float:
    """GFLOP/s of ROOFLINE_SHAPE's matmul in `dtype`, repeated inside one tf.function for about `seconds`."""
    import tensorflow as tf
    m, k, n = ROOFLINE_SHAPE
    a = tf.cast(tf.random.normal([m, k]), dtype)
    b = tf.cast(tf.random.normal([k, n]), dtype)

    @tf.function
    def repeat(count):
        total = tf.zeros([], tf.float32)
        for _ in tf.range(count):
            total += tf.cast(tf.reduce_sum(tf.matmul(a, b)[:1, :1]), tf.float32)
        return total

    repeat(tf.constant(3))  # trace and warm up
    count = 10
    while True:
        started = time.perf_counter()
        repeat(tf.constant(count)).numpy()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds or count >= 100_000:
            return 2 * m * k * n * count / elapsed / 1e9
        count = max(count * 2, int(count * seconds / max(elapsed, 1e-3)))


def roofline() -> dict:
    return {dtype: round(matmul_gflops(dtype), 1) for dtype in ("float32", "bfloat16")}


def step_matmul_flops(concrete_function) -> int:
    """FLOPs of the MatMul ops of a traced function (2 m k n each), descending into the functions it calls."""
    graph, seen, total = concrete_function.graph, set(), 0
    pending = [graph]
    while pending:
        g = pending.pop()
        for op in g.get_operations():
            if op.type in MATMUL_OPS:
                total += matmul_op_flops(op)
            for attr in ("f", "then_branch", "else_branch", "body", "cond"):
                try:
                    name = op.get_attr(attr).name
                except (ValueError, AttributeError):
                    continue
                if name not in seen and name in g._functions:
                    seen.add(name)
                    pending.append(g._functions[name].graph)
    return total


def matmul_op_flops(op) -> int:
    a, b = (t.shape.as_list() for t in op.inputs[:2])
    transpose_a = op.get_attr("transpose_a") if "transpose_a" in op.node_def.attr else op.get_attr("adj_x")
    transpose_b = op.get_attr("transpose_b") if "transpose_b" in op.node_def.attr else op.get_attr("adj_y")
    m, k = (a[-1], a[-2]) if transpose_a else (a[-2], a[-1])
    n = b[-2] if transpose_b else b[-1]
    batch = 1
    for size in a[:-2]:
        batch *= size
    return 2 * batch * m * k * n


def training_step_flops(model, batch_size: int) -> int:
    """MatMul FLOPs of one training step (forward and gradients) of a compiled video-level model."""
    import tensorflow as tf
    specs = {name: tf.TensorSpec([batch_size, *model.input_shape[name][1:]], tf.float32) for name in model.input_names}
    labels = tf.TensorSpec([batch_size, model.output_shape[-1]], tf.float32)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    return step_matmul_flops(step.get_concrete_function(specs, labels))


def step_speed(recipe: str, policy: str, steps: int = 30) -> dict:
    """Seconds a training step and GFLOP/s of a recipe's model trained in memory on random batches."""
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras
    import dataclasses
    from bench.cross_validation import training_setup
    from bench.video_models import recipe_path
    from trainer.run_fn import build_compiled_model, model_input_sizes
    config, _ = training_setup(["@" + recipe_path(recipe)])
    config = dataclasses.replace(config, precision=policy)
    keras.backend.clear_session()
    model = build_compiled_model(config, 10 * steps)
    rng = np.random.default_rng(0)
    batch = config.batch_size
    x = {name: rng.standard_normal((batch, size)).astype(np.float32) / np.sqrt(size)
         for name, size in model_input_sizes(config).items()}
    y = (rng.random((batch, config.num_classes)) < 3 / config.num_classes).astype(np.float32)
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(2)
    model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = (time.perf_counter() - started) / steps
    flops = training_step_flops(model, batch)
    return {"batch_size": batch, "seconds_per_step": round(seconds, 4), "step_gflop": round(flops / 1e9, 2),
            "gflops": round(flops / seconds / 1e9, 1), "videos_per_second": round(batch / seconds, 1),
            "cpu_time_shares": profiled_shares(model, dataset)}


PROFILED_STEPS = 4


def profiled_shares(model, dataset) -> dict:
    """{category: share of the op CPU time} over PROFILED_STEPS training steps (op_category's groups)."""
    import glob
    import tempfile
    import tensorflow as tf
    with tempfile.TemporaryDirectory() as log_dir:
        tf.profiler.experimental.start(log_dir)
        model.fit(dataset, steps_per_epoch=PROFILED_STEPS, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        seconds = op_cpu_seconds(glob.glob(os.path.join(log_dir, "**", "*.xplane.pb"), recursive=True)[0])
    classes, totals = layer_classes(model), {}
    for op_name, op_seconds in seconds.items():
        category = op_category(op_name, classes, model.optimizer.name)
        totals[category] = totals.get(category, 0.0) + op_seconds
    total = sum(totals.values())
    shares = {k: round(v / total, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    return {"op_cpu_seconds_per_step": round(total / PROFILED_STEPS, 3), **shares}


def op_cpu_seconds(xplane_path: str) -> dict:
    """{"scope/of/op:OpType": seconds} summed over the profile's TensorFlow compute threads."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    seconds = {}
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if is_op_event(name):
                    seconds[name] = seconds.get(name, 0.0) + event.duration_ps * 1e-12
    return seconds


def is_op_event(name: str) -> bool:
    """An op's event is "scope/name:OpType"; the executor's own spans ("ExecutorState::Process", around
    every op it runs) and thread-pool spans are not ops."""
    scope, colon, op_type = name.rpartition(":")
    return bool(colon and scope and op_type) and not scope.endswith(":")


def layer_classes(model, prefix: str = "") -> dict:
    """{"outer/inner layer name": class name} through nested models (ensemble members reuse layer names)."""
    classes = {}
    for layer in model.layers:
        path = f"{prefix}/{layer.name}" if prefix else layer.name
        classes[path] = type(layer).__name__
        if hasattr(layer, "layers"):
            classes.update(layer_classes(layer, path))
    return classes


def op_category(op_name: str, classes: dict, optimizer_name: str) -> str:
    """"matmul" for every MatMul kernel, "optimizer" for the update, else the class of the innermost layer in
    the op's scope (forward and gradient alike), or "loss and other"."""
    scope, _, op_type = op_name.rpartition(":")
    if "MatMul" in op_type:
        return "matmul"
    parts = scope.split("/")
    if parts[0] == "gradient_tape":
        parts = parts[1:]
    if parts and parts[0] == optimizer_name:
        return "optimizer"
    # The model's own name leads the scope; the longest known layer path under it names the layer.
    for end in range(len(parts), 1, -1):
        for start in range(1, end):
            path = "/".join(parts[start:end])
            if path in classes:
                return classes[path]
    return "loss and other"


def staged_inputs(bench_root: str) -> dict:
    """{"split": the shared split's globs, "issue": the issue size's}, linked once for every pipeline row."""
    from bench import video_models
    def linked(name, *shards):
        return common.stage_split(common.SAMPLE_DIR, common.fresh_dir(os.path.join(bench_root, name)), *shards)
    return {"split": linked("precision_split"),
            "issue": linked("precision_issue", video_models.ISSUE_SIZE_TRAIN, video_models.ISSUE_SIZE_EVAL)}


def pipeline_rows(recipe: str, policy: str, inputs: dict, bench_root: str, step_gflop: float) -> dict:
    """The recipe's pipeline under `policy`: GAP on the shared split, stage seconds at the issue size."""
    from bench import video_models
    flags = ["@" + video_models.recipe_path(recipe), "--precision", policy]
    name = f"{recipe}_{policy}"
    quality = video_models.pipeline_run(name, flags, inputs["split"], bench_root)
    timing = video_models.pipeline_run(name, flags, inputs["issue"], bench_root)
    row = {"command": quality["command"], "gap": quality["metrics"].get("gap"),
           "hit_at_one": quality["metrics"].get("hit_at_one"), "split_wall_seconds": quality["wall_seconds"],
           "issue_size_wall_seconds": timing["wall_seconds"], "issue_size_stage_seconds": timing["stage_seconds"],
           "issue_size_peak_tree_rss_mib": timing["peak_tree_rss_mib"],
           "trained_precision": timing["training"].get("precision")}
    training = timing["training"]
    steps = training.get("final_step", 0) - training.get("initial_step", 0)
    if steps and training.get("fit_seconds"):  # the pipeline trains at the recipe's batch size, as `step` does
        row["issue_size_trainer_gflops"] = round(step_gflop * steps / training["fit_seconds"], 1)
        row.update(issue_size_fit_seconds=training["fit_seconds"], issue_size_train_steps=steps)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    p.add_argument("--measure", nargs="+", choices=MEASUREMENTS, default=list(MEASUREMENTS))
    p.add_argument("--bench_root", default=common.DEFAULT_BENCH_ROOT)
    args = p.parse_args(argv)
    result = common.read_result(RESULT_FILE, "precision")
    result.setdefault("setup", {}).update(roofline_shape=list(ROOFLINE_SHAPE), machine=common.machine())
    policies = precisions_to_compare()
    pipelines = "pipeline" in args.measure and common.sample_available()
    inputs = staged_inputs(args.bench_root) if pipelines else None
    result["roofline"] = roofline()
    result["roofline_date"] = common.now()
    print("roofline GFLOP/s:", result["roofline"], flush=True)
    common.write_result(RESULT_FILE, result)
    for recipe in args.recipes:
        for policy in policies:
            rows = result["runs"].setdefault(recipe, {}).setdefault(policy, {})
            step = step_speed(recipe, policy)
            if "step" in args.measure:
                rows["step"] = {**step, "roofline": result["roofline"], "date": common.now()}
                print(recipe, policy, rows["step"], flush=True)
            if pipelines:
                rows["pipeline"] = {**pipeline_rows(recipe, policy, inputs, args.bench_root, step["step_gflop"]),
                                    "roofline": result["roofline"], "date": common.now(),
                                    "machine": common.machine()}
                print(recipe, policy, rows["pipeline"], flush=True)
            common.write_result(RESULT_FILE, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

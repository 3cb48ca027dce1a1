"""Beam's EXTERNAL worker pool for Flink TaskManagers on one machine: Python SDK workers without Docker.

    python -m cluster.worker_pool --port=50000      (started by `python -m cluster.flink up`)

For every StartWorker call of a TaskManager it asks the runner's provision service for the job's pipeline
options and starts `python -m apache_beam.runners.worker.sdk_worker_main` with this interpreter (so the
worker imports exactly this project's packages), the way Beam's container boot program would. Two things
differ from Beam's stock pool (apache_beam.runners.worker.worker_pool_main), both found running the
pipeline on two TaskManagers:
  * StopWorker leaves workers alone. Every TaskManager numbers its workers 1-1, 2-1, ..., so a worker id
    does not say whose worker it is: the stock pool killed one TaskManager's live worker when the other
    stopped its own, and that job waited for it forever. A worker ends by itself when its TaskManager
    closes the control connection (and with the pool, which stops its process group).
  * Workers get the job's pipeline options, a logging endpoint (their logs reach the TaskManager's log)
    and a log file of their own, instead of an unread pipe that blocks a chatty worker.
Staged artifacts are not installed: the workers already run the project's own environment.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import json_format, text_format

from apache_beam.portability.api import (beam_fn_api_pb2, beam_fn_api_pb2_grpc, beam_provision_api_pb2,
                                         beam_provision_api_pb2_grpc)

_LOG = logging.getLogger("cluster.worker_pool")
PROVISION_TIMEOUT_S = 60


def provision_info(endpoint_url: str, worker_id: str) -> beam_provision_api_pb2.ProvisionInfo:
    """The job's pipeline options and endpoints; the runner tells workers apart by the worker_id header."""
    with grpc.insecure_channel(endpoint_url) as channel:
        stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
        return stub.GetProvisionInfo(beam_provision_api_pb2.GetProvisionInfoRequest(),
                                     metadata=[("worker_id", worker_id)], timeout=PROVISION_TIMEOUT_S).info


def worker_environment(request: beam_fn_api_pb2.StartWorkerRequest, info: beam_provision_api_pb2.ProvisionInfo,
                       semi_persistent_dir: str) -> dict:
    """The environment variables sdk_worker_main reads (the contract Beam's container boot fulfils)."""
    env = dict(os.environ)
    control = info.control_endpoint if info.control_endpoint.url else request.control_endpoint
    logging_endpoint = info.logging_endpoint if info.logging_endpoint.url else request.logging_endpoint
    env.update({
        "WORKER_ID": request.worker_id,
        "CONTROL_API_SERVICE_DESCRIPTOR": text_format.MessageToString(control),
        "LOGGING_API_SERVICE_DESCRIPTOR": text_format.MessageToString(logging_endpoint),
        "PIPELINE_OPTIONS": json_format.MessageToJson(info.pipeline_options),
        "SEMI_PERSISTENT_DIRECTORY": semi_persistent_dir,
        "RUNNER_CAPABILITIES": " ".join(info.runner_capabilities),
    })
    if info.status_endpoint.url:
        env["STATUS_API_SERVICE_DESCRIPTOR"] = text_format.MessageToString(info.status_endpoint)
    return env


class WorkerPool(beam_fn_api_pb2_grpc.BeamFnExternalWorkerPoolServicer):
    def __init__(self, log_dir: str):
        self._log_dir = log_dir
        self._workers: list = []  # (worker id, Popen)
        self._lock = threading.Lock()
        self._started = 0
        os.makedirs(log_dir, exist_ok=True)

    def StartWorker(self, request, context):
        try:
            info = provision_info(request.provision_endpoint.url, request.worker_id)
            with self._lock:
                self._started += 1
                serial = self._started
            name = f"worker-{serial:04d}-{request.worker_id}"
            semi_persistent = os.path.join(self._log_dir, name)
            os.makedirs(semi_persistent, exist_ok=True)
            if info.dependencies:
                _LOG.info("%s: %d staged artifacts not installed (the pool's environment has the packages)",
                          name, len(info.dependencies))
            with open(os.path.join(self._log_dir, f"{name}.log"), "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"],
                    env=worker_environment(request, info, semi_persistent), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, close_fds=True)
            with self._lock:
                self._workers.append((request.worker_id, proc))
            _LOG.info("started %s (pid %d) for control %s", name, proc.pid, request.control_endpoint.url)
            return beam_fn_api_pb2.StartWorkerResponse()
        except Exception as e:  # the TaskManager shows this text in the job's failure
            _LOG.exception("StartWorker %s failed", request.worker_id)
            return beam_fn_api_pb2.StartWorkerResponse(error=f"{type(e).__name__}: {e}")

    def StopWorker(self, request, context):
        _LOG.info("StopWorker %s: left to exit with its control connection", request.worker_id)
        return beam_fn_api_pb2.StopWorkerResponse()

    def reap(self) -> None:
        """Collect exited workers so they do not linger as zombies."""
        with self._lock:
            running = []
            for worker_id, proc in self._workers:
                if proc.poll() is None:
                    running.append((worker_id, proc))
                else:
                    _LOG.info("worker %s (pid %d) exited with %s", worker_id, proc.pid, proc.returncode)
            self._workers = running

    def stop_all(self) -> None:
        with self._lock:
            for _, proc in self._workers:
                proc.terminate()


def serve(host: str, port: int, log_dir: str) -> None:
    pool = WorkerPool(log_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         options=[("grpc.http2.max_pings_without_data", 0), ("grpc.http2.max_ping_strikes", 0)])
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(pool, server)
    if not server.add_insecure_port(f"{host}:{port}"):
        raise SystemExit(f"error: the worker pool cannot listen on {host}:{port}")
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below on `flink down`
    _LOG.info("worker pool listening on %s:%d (python %s)", host, port, sys.executable)
    try:
        while True:
            time.sleep(5)
            pool.reap()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        pool.stop_all()
        server.stop(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log_dir", required=True, help="one log file per SDK worker")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serve(args.host, args.port, args.log_dir)


if __name__ == "__main__":
    main()

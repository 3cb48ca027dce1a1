"""Local clusters for the engines the pipeline's Beam stages scale out to (today: Apache Flink).

Standard library only, except the SDK worker pool, which runs Beam's Python harness: `make flink-up` and
`make flink-down` use it before and after any pipeline, and the pipeline imports only its settings.
"""

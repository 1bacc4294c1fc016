"""The workflow manager's Runner: start, stop and status of workflow runs.

* :mod:`.documents`: a run's manifests as plain data (parsed, stamped with the version and
  start time, ordered for applying).
* :mod:`.decide`: pure decisions: the version to run, whether a start applies anything, what the
  status says per step (counters, backlog per input from :mod:`etlkit.controller.measure`).
* :mod:`.backend`: the narrow :class:`RunBackend` (apply, delete, applied) and its data.
* Backends: :mod:`.local_backend` (a folder per workflow, run by ``devstack.argo.supervisor``;
  topics through :mod:`.kafka_topics`) and :mod:`.kubernetes_backend` (Argo Events and Strimzi
  custom objects through the Kubernetes API).
* :mod:`.counters`: the steps' record counters, from the replicas or from Prometheus.
* :mod:`.config`: :class:`RunConfig`, from the environment, validated before any client opens;
  :mod:`.wiring` picks the edges from it; :mod:`.service`: :class:`Runs`, the sequence.

Pure modules (documents, decide, backend, config) never import a client.
"""
from .backend import ApplyFailed, AppliedRun, RunBackend, Runtime
from .config import RunConfig
from .decide import RunRefused
from .service import Edges, RunFailed, Runs

__all__ = ["ApplyFailed", "AppliedRun", "Edges", "RunBackend", "RunConfig", "RunFailed",
           "RunRefused", "Runs", "Runtime"]

"""Runs the model off the UI thread.

``ModelClient`` lives in the UI thread and is what the window talks to; it owns a QThread
in which a ``PredictionWorker`` loads the Predictor (torch import and weights take seconds)
and answers queries one at a time. Queries carry an id; the client only delivers the
answer to the latest one, and the worker skips queued queries that are already stale, so
typing fast or editing the sketch mid-query never shows an outdated selection.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from grmnet.errors import GRMNetError, NoWeightsError

_ORPHANED_THREADS: list[QThread] = []
# (weights, device, threshold) -> an object with the grmnet.prediction.Predictor interface.
PredictorFactory = Callable[[Any, str, "float | None"], Any]


def load_predictor(weights, device: str, threshold: float | None):
    """The real model (imported here so that importing the app does not import torch)."""
    from grmnet.prediction import Predictor

    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return Predictor(weights=weights, device=device, threshold=threshold)


@dataclass(frozen=True)
class ModelInfo:
    vocabulary: frozenset
    device: str
    weights: str


class PredictionWorker(QObject):
    """Lives in the worker thread; every slot runs there."""

    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(str, bool)  # message, True when simply no weights are installed
    result_ready = Signal(int, object)  # query id, Predictor result dict
    query_failed = Signal(int, str)  # query id, message

    def __init__(self, factory: PredictorFactory, client: "ModelClient"):
        super().__init__()
        self._factory = factory
        self._client = client
        self._predictor = None

    @Slot(str, str, float)
    def load(self, weights: str, device: str, threshold: float) -> None:
        weights = weights or None  # "" = the shipped model (see ModelClient: None never crosses threads)
        threshold = None if threshold < 0 else threshold  # -1 = the model's own threshold
        self._predictor = None
        try:
            predictor = self._factory(weights, device, threshold)
        except NoWeightsError as exc:
            self.model_failed.emit(str(exc), True)
            return
        except Exception as exc:  # noqa: BLE001 - any load failure must reach the user, not kill the thread
            self.model_failed.emit(f"Could not load the model: {exc}", False)
            return
        self._predictor = predictor
        vocab = frozenset(getattr(predictor, "vocabulary", frozenset()))
        self.model_ready.emit(ModelInfo(vocab, str(getattr(predictor, "device", device)), str(weights or "shipped")))

    @Slot(int, object, str, float)
    def run(self, query_id: int, image: np.ndarray, expression: str, threshold: float) -> None:
        threshold = None if threshold < 0 else threshold  # -1 = the model's own threshold
        if query_id != self._client.latest_query_id:
            return  # superseded while it waited in the queue
        if self._predictor is None:
            self.query_failed.emit(query_id, "The model is not loaded")
            return
        start = time.perf_counter()
        try:
            output = self._predictor.predict(image, [expression], threshold=threshold)
            result = dict(output["results"][0])
            result.setdefault("latency_ms", (time.perf_counter() - start) * 1000.0)
            result["width"] = output.get("width", image.shape[1])
            result["height"] = output.get("height", image.shape[0])
        except GRMNetError as exc:
            self.query_failed.emit(query_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a model bug must not take the editor down
            self.query_failed.emit(query_id, f"The model failed on this query: {exc.__class__.__name__}: {exc}")
            return
        self.result_ready.emit(query_id, result)


class ModelClient(QObject):
    """UI-thread facade of the worker: start, query, cancel, shut down."""

    ready = Signal(object)  # ModelInfo
    unavailable = Signal(str, bool)  # message, no_weights
    result = Signal(int, str, object)  # query id, expression, result dict (latest query only)
    failed = Signal(int, str, str)  # query id, expression, message (latest query only)
    busy_changed = Signal(bool)

    # Private signals: emitting them from this thread queues the call into the worker thread.
    # None is never sent through a queued signal: PySide6 then over-releases it and the interpreter aborts
    # ("deallocating None"); the shipped model travels as "" and the model's own threshold as -1.
    _load_requested = Signal(str, str, float)
    _run_requested = Signal(int, object, str, float)

    def __init__(self, factory: PredictorFactory = load_predictor, parent: QObject | None = None):
        super().__init__(parent)
        self.latest_query_id = 0  # read by the worker thread; ints are swapped atomically under the GIL
        self.info: ModelInfo | None = None
        self.loading = False
        self._expressions: dict[int, str] = {}
        self._thread = QThread(self)
        self._thread.setObjectName("grmnet-worker")
        self._worker = PredictionWorker(factory, self)
        self._worker.moveToThread(self._thread)
        self._load_requested.connect(self._worker.load)
        self._run_requested.connect(self._worker.run)
        self._worker.model_ready.connect(self._on_ready)
        self._worker.model_failed.connect(self._on_failed_load)
        self._worker.result_ready.connect(self._on_result)
        self._worker.query_failed.connect(self._on_query_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self.latest_query_id in self._expressions

    def load(self, weights=None, device: str = "cpu", threshold: float | None = None) -> None:
        """(Re)load the model in the background (threshold None: the model's own); ready or unavailable follows."""
        self.info = None
        self.loading = True
        self.cancel()
        self._load_requested.emit(str(weights) if weights else "", device,
                                  -1.0 if threshold is None else float(threshold))

    def query(self, image: np.ndarray, expression: str, threshold: float | None = None) -> int:
        """Queue a query on a snapshot of ``image``; returns its id."""
        self.latest_query_id += 1
        qid = self.latest_query_id
        self._expressions = {qid: expression}  # older pending queries are now stale
        self._run_requested.emit(qid, np.array(image, copy=True), expression,
                                 -1.0 if threshold is None else float(threshold))
        self.busy_changed.emit(True)
        return qid

    def cancel(self) -> None:
        """Forget any pending query: its answer will be dropped."""
        if self._expressions:
            self._expressions = {}
            self.latest_query_id += 1
            self.busy_changed.emit(False)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            # Still inside a long model call: destroying a running QThread aborts the process,
            # so let it finish on its own while the app exits.
            self._thread.setParent(None)
            _ORPHANED_THREADS.append(self._thread)

    # ------------------------------------------------------------------ slots
    def _on_ready(self, info: ModelInfo) -> None:
        self.loading = False
        self.info = info
        self.ready.emit(info)

    def _on_failed_load(self, message: str, no_weights: bool) -> None:
        self.loading = False
        self.info = None
        self.unavailable.emit(message, no_weights)

    def _on_result(self, qid: int, result: dict) -> None:
        expression = self._expressions.pop(qid, None)
        if expression is None or qid != self.latest_query_id:
            return  # stale: the user typed another query or edited the sketch
        self.busy_changed.emit(False)
        self.result.emit(qid, expression, result)

    def _on_query_failed(self, qid: int, message: str) -> None:
        expression = self._expressions.pop(qid, None)
        if expression is None or qid != self.latest_query_id:
            return
        self.busy_changed.emit(False)
        self.failed.emit(qid, expression, message)

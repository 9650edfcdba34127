"""Runs the model off the UI thread.

``ModelClient`` lives in the UI thread and is what the window talks to; it owns a QThread
in which a ``PredictionWorker`` loads the engine (torch import and weights take seconds)
and answers queries one at a time. Queries carry an id; the client only delivers the
answer to the latest one, and the worker skips queued queries that are already stale, so
typing fast or editing the sketch mid-query never shows an outdated selection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from grmnet.errors import GRMNetError, NoWeightsError
from grmnet.results import ReferringResult

if TYPE_CHECKING:   # grmnet.engine imports torch; the app must start without it
    from grmnet.engine import EngineInfo, ReferringEngine

_ORPHANED_THREADS: list[QThread] = []
SPLIT = "Split into layers"   # what a pending whole-sketch split is called where queries show their expression
# (weights, device, threshold) -> a referring engine (grmnet.engine.ReferringEngine).
EngineFactory = Callable[[Any, str, "float | None"], "ReferringEngine"]


def load_engine(weights, device: str, threshold: float | None) -> "ReferringEngine":
    """The real model (imported here so that importing the app does not import torch)."""
    from grmnet.methods import load_engine as load

    # layers: each ink pixel belongs to one object, the same object is the same layer in every query
    return load("grmnet", weights, device=device, threshold=threshold, own_ink=True)


# Requests cross the thread boundary as one object each: PySide6 over-releases a bare None sent through a
# queued signal (the interpreter aborts with "deallocating None"), but None inside an object is safe.
@dataclass(frozen=True)
class LoadRequest:
    weights: str | None              # None: the shipped model
    device: str
    threshold: float | None          # None: the model's own tuned threshold


@dataclass(frozen=True)
class PrepareRequest:
    token: int
    image: np.ndarray


@dataclass(frozen=True)
class QueryRequest:
    query_id: int
    image: np.ndarray
    expression: str
    threshold: float | None


class PredictionWorker(QObject):
    """Lives in the worker thread; every slot runs there."""

    model_ready = Signal(object)  # EngineInfo
    model_failed = Signal(str, bool)  # message, True when simply no weights are installed
    result_ready = Signal(int, object)  # query id, ReferringResult
    layers_ready = Signal(int, object)  # query id, list of ReferredInstance (whole-sketch split)
    query_failed = Signal(int, str)  # query id, message

    def __init__(self, factory: EngineFactory, client: "ModelClient"):
        super().__init__()
        self._factory = factory
        self._client = client
        self._engine: "ReferringEngine | None" = None

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        self._engine = None
        try:
            engine = self._factory(request.weights, request.device, request.threshold)
        except NoWeightsError as exc:
            self.model_failed.emit(str(exc), True)
            return
        except Exception as exc:  # noqa: BLE001 - any load failure must reach the user, not kill the thread
            self.model_failed.emit(f"Could not load the model: {exc}", False)
            return
        self._engine = engine
        self.model_ready.emit(engine.describe())

    @Slot(object)
    def run(self, request: QueryRequest) -> None:
        self._answer(request, lambda: self._engine.predict(request.image, [request.expression],
                                                           threshold=request.threshold).results[0],
                     "The model failed on this query", self.result_ready)

    @Slot(object)
    def prepare(self, request: PrepareRequest) -> None:
        """The expression-independent work on a sketch the user is looking at (backbone features and, for an
        engine with layers, the ink partition), done while they type: the first query then costs what a second
        one does. Silent: a failure here shows on the query that needs the work."""
        if request.token != self._client.prepare_token or self._engine is None:
            return  # the sketch changed again while this waited
        try:
            sketch = self._engine.encode(request.image)
            if getattr(self._engine, "own_ink", False):
                from grmnet.partition import partitioner_of
                partitioner_of(self._engine).partition(sketch)
        except Exception:  # noqa: BLE001 - an optimisation only; the query reports its own failures
            pass

    @Slot(object)
    def split(self, request: QueryRequest) -> None:
        """Every object of the sketch, inks disjoint (grmnet.partition: cached per sketch with its features)."""
        def work():
            from grmnet.partition import split_into_layers
            return split_into_layers(self._engine, request.image)
        self._answer(request, work, "Splitting into layers failed", self.layers_ready)

    def _answer(self, request: QueryRequest, work, failure: str, done) -> None:
        """Run one request's work unless it is stale; its value or a one-line failure goes back to the UI."""
        if request.query_id != self._client.latest_query_id:
            return  # superseded while it waited in the queue
        if self._engine is None:
            self.query_failed.emit(request.query_id, "The model is not loaded")
            return
        try:
            value = work()
        except GRMNetError as exc:
            self.query_failed.emit(request.query_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a model bug must not take the editor down
            self.query_failed.emit(request.query_id, f"{failure}: {exc.__class__.__name__}: {exc}")
            return
        done.emit(request.query_id, value)


class ModelClient(QObject):
    """UI-thread facade of the worker: start, query, cancel, shut down."""

    ready = Signal(object)  # EngineInfo
    unavailable = Signal(str, bool)  # message, no_weights
    result = Signal(int, str, object)  # query id, expression, ReferringResult (latest query only)
    failed = Signal(int, str, str)  # query id, expression, message (latest query only)
    layers = Signal(int, object)  # query id, list of ReferredInstance of a whole-sketch split (latest only)
    busy_changed = Signal(bool)

    # Private signals: emitting them from this thread queues the call into the worker thread.
    _load_requested = Signal(object)   # LoadRequest
    _run_requested = Signal(object)    # QueryRequest
    _split_requested = Signal(object)  # QueryRequest (no expression)
    _prepare_requested = Signal(object)  # PrepareRequest

    def __init__(self, factory: EngineFactory = load_engine, parent: QObject | None = None):
        super().__init__(parent)
        self.latest_query_id = 0  # read by the worker thread; ints are swapped atomically under the GIL
        self.prepare_token = 0    # the same, for `prepare`
        self.info: "EngineInfo | None" = None
        self.loading = False
        self._expressions: dict[int, str] = {}
        self._thread = QThread(self)
        self._thread.setObjectName("grmnet-worker")
        self._worker = PredictionWorker(factory, self)
        self._worker.moveToThread(self._thread)
        self._load_requested.connect(self._worker.load)
        self._run_requested.connect(self._worker.run)
        self._split_requested.connect(self._worker.split)
        self._prepare_requested.connect(self._worker.prepare)
        self._worker.layers_ready.connect(self._on_layers)
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
        self._load_requested.emit(LoadRequest(str(weights) if weights else None, device,
                                              None if threshold is None else float(threshold)))

    def query(self, image: np.ndarray, expression: str, threshold: float | None = None) -> int:
        """Queue a query on a snapshot of ``image``; returns its id."""
        self.latest_query_id += 1
        qid = self.latest_query_id
        self._expressions = {qid: expression}  # older pending queries are now stale
        self._run_requested.emit(QueryRequest(qid, np.array(image, copy=True), expression,
                                              None if threshold is None else float(threshold)))
        self.busy_changed.emit(True)
        return qid

    def prepare(self, image: np.ndarray) -> None:
        """Queue the expression-independent work on a snapshot of ``image`` (see PredictionWorker.prepare); an
        older pending one is skipped. Not a query: nothing is shown, busy does not change."""
        self.prepare_token += 1
        self._prepare_requested.emit(PrepareRequest(self.prepare_token, np.array(image, copy=True)))

    def split(self, image: np.ndarray) -> int:
        """Queue a whole-sketch split on a snapshot of ``image`` (a query like any other: a newer one or an
        edit makes it stale); returns its id."""
        self.latest_query_id += 1
        qid = self.latest_query_id
        self._expressions = {qid: SPLIT}
        self._split_requested.emit(QueryRequest(qid, np.array(image, copy=True), SPLIT, None))
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
    def _on_ready(self, info: "EngineInfo") -> None:
        self.loading = False
        self.info = info
        self.ready.emit(info)

    def _on_failed_load(self, message: str, no_weights: bool) -> None:
        self.loading = False
        self.info = None
        self.unavailable.emit(message, no_weights)

    def _on_result(self, qid: int, result: ReferringResult) -> None:
        expression = self._expressions.pop(qid, None)
        if expression is None or qid != self.latest_query_id:
            return  # stale: the user typed another query or edited the sketch
        self.busy_changed.emit(False)
        self.result.emit(qid, expression, result)

    def _on_layers(self, qid: int, layers: list) -> None:
        if self._expressions.pop(qid, None) is None or qid != self.latest_query_id:
            return
        self.busy_changed.emit(False)
        self.layers.emit(qid, layers)

    def _on_query_failed(self, qid: int, message: str) -> None:
        expression = self._expressions.pop(qid, None)
        if expression is None or qid != self.latest_query_id:
            return
        self.busy_changed.emit(False)
        self.failed.emit(qid, expression, message)

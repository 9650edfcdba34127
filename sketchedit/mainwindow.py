"""The SketchEdit main window: canvas, query bar, layers panel, menus, autosave."""
from __future__ import annotations

import os
import time
import traceback
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QKeySequence,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from grmnet.errors import GRMNetError
from sketchedit.atomic import ExportError
from sketchedit.canvas import SketchCanvas
from sketchedit.document import SketchDocument
from sketchedit.export import FORMATS, check_export_path, export_document, is_openable, open_document, snapshot_of
from sketchedit.jobs import PROCESS_PIXELS, Cancelled, run_and_wait, start_job, warm_up
from sketchedit.layers_panel import LayersPanel
from sketchedit.ora import save_ora
from sketchedit.preferences import Preferences, PreferencesDialog
from sketchedit.recovery import CrashedSession, RecoverySession, crashed_sessions, write_recovery_files
from sketchedit.query_bar import QueryBar, words_of
from sketchedit.worker import ModelClient, load_engine

if TYPE_CHECKING:   # torch-free start: these are annotations only
    from grmnet.engine import EngineInfo
    from grmnet.results import ReferringResult

APP_NAME = "SketchEdit"
OPEN_FILTER = "Sketches (*.ora *.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.gif);;All files (*)"
EXPORT_FILTERS = {f"{desc} (*{ext})" if ext else f"{desc} (*)": kind for kind, (desc, ext) in FORMATS.items()}
NO_WEIGHTS_STATUS = "No trained weights installed: queries are off (drawing, layers and export still work)"


def default_recovery_dir() -> str:
    root = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or os.path.expanduser(
        "~/.sketchedit")
    return os.path.join(root, "recovery")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, engine_factory=load_engine,
                 recovery_dir: str | None = None, start_model: bool = True):
        super().__init__()
        self.settings = settings or QSettings()
        self.prefs = Preferences.load(self.settings)
        self.recovery_dir = recovery_dir or default_recovery_dir()
        self.doc: SketchDocument | None = None
        self.last_message = ""
        self._query_revision = -1
        self.recovery = RecoverySession(self.recovery_dir)
        self._edits = 0  # document changes so far; autosave remembers up to which one it saved
        self._autosaved_edits = 0
        self._first_unsaved_edit: float | None = None
        self._autosave_job = None  # a sketchedit.jobs job while a background autosave runs
        self._autosave_job_edits = 0
        self._long_job_running = False

        self.undo_group = QUndoGroup(self)
        self.canvas = SketchCanvas(self)
        self.query_bar = QueryBar(self)
        self.layers_panel = LayersPanel(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.query_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        dock = QDockWidget("Layers", self)
        dock.setObjectName("layers-dock")
        dock.setWidget(self.layers_panel)
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

        self.model_status = QLabel("Loading model…", self)
        self.zoom_label = QLabel("100%", self)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setVisible(False)
        self.statusBar().addPermanentWidget(self.busy)
        # Progress of an export or save, with its Cancel button (shown while one runs; see _run_long).
        self.job_progress = QProgressBar(self)
        self.job_progress.setRange(0, 1000)
        self.job_progress.setMaximumWidth(160)
        self.job_progress.setVisible(False)
        self.job_cancel = QToolButton(self)
        self.job_cancel.setText("Cancel")
        self.job_cancel.setVisible(False)
        self.job_cancel.clicked.connect(self.cancel_long_job)
        self._long_job = None
        self.statusBar().addPermanentWidget(self.job_progress)
        self.statusBar().addPermanentWidget(self.job_cancel)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.statusBar().addPermanentWidget(self.model_status)

        self._create_actions()
        self.client = ModelClient(engine_factory, self)
        self.client.ready.connect(self._on_model_ready)
        self.client.unavailable.connect(self._on_model_unavailable)
        self.client.result.connect(self._on_query_result)
        self.client.failed.connect(self._on_query_failed)
        self.client.layers.connect(self._on_split_result)
        self.client.busy_changed.connect(self._on_busy)
        self.query_bar.submitted.connect(self.run_query)
        self.layers_panel.recolor_requested.connect(self.recolor_selected)
        self.layers_panel.fill_requested.connect(self.fill_selected)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.message.connect(self.show_status)

        # a moment after a sketch is opened or last edited, the model prepares it (worker.PredictionWorker.prepare)
        self.prepare_timer = QTimer(self)
        self.prepare_timer.setSingleShot(True)
        self.prepare_timer.setInterval(self.PREPARE_DELAY_MS)
        self.prepare_timer.timeout.connect(self._prepare_sketch)
        self.autosave_timer = QTimer(self)  # debounced: restarted by every change, see _note_edit
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(self._autosave_in_background)
        self._autosave_poll = QTimer(self)
        self._autosave_poll.setInterval(50)
        self._autosave_poll.timeout.connect(self._finish_autosave)

        self.setAcceptDrops(True)  # drop an image or .ora on the window to open it
        self.resize(1200, 800)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.set_document(SketchDocument())
        if start_model:
            self.load_model()
        else:
            self.model_status.setText("Model not loaded")

    # ------------------------------------------------------------- actions
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _create_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_document, K.New)
        self.act_open = self._action("&Open…", self.open_dialog, K.Open)
        self.act_save = self._action("&Save", self.save, K.Save)
        self.act_save_as = self._action("Save &As…", self.save_as, "Ctrl+Shift+S")
        self.act_export = self._action("&Export…", self.export_dialog, "Ctrl+E")
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
        self.act_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        self.act_delete = self._action("&Delete Layer", self.layers_panel.delete_selected, K.Delete)
        self.act_recolor = self._action("&Recolour…", self.recolor_selected, "Ctrl+R")
        self.act_fill = self._action("&Fill…", self.fill_selected, "Ctrl+Shift+F")
        self.act_hide = self._action("&Hide/Show", self.toggle_visibility_selected, "H")
        self.act_merge = self._action("&Merge Back", self.layers_panel.merge_selected, "Ctrl+M")
        self.act_split = self._action("&Split into Layers", self.split_into_layers, "Ctrl+Shift+L",
                                      "Every object of the sketch becomes its own layer")
        self.act_prefs = self._action("&Preferences…", self.preferences_dialog, K.Preferences)
        self.act_focus_query = self._action("Focus &Query Bar", self.focus_query, "Ctrl+L")
        self.act_zoom_in = self._action("Zoom &In", lambda: self.canvas.zoom_by(1.25),
                                        [QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.canvas.zoom_by(0.8), K.ZoomOut)
        self.act_fit = self._action("&Fit to Window", self.canvas.fit, "Ctrl+0")
        self.act_actual = self._action("&Actual Size", lambda: self.canvas.set_zoom(1.0), "Ctrl+1")

        self.tool_actions: dict[str, QAction] = {}
        tools = QActionGroup(self)
        for tool, text, key in (("move", "Move/Select", "V"), ("pen", "Pen", "B"), ("eraser", "Eraser", "E"),
                                ("ink", "Ink Brush", "I")):
            action = self._action(text, lambda _=False, t=tool: self.canvas.set_tool(t), key, f"{text} tool ({key})")
            action.setCheckable(True)
            tools.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["move"].setChecked(True)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_new, self.act_open, self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.act_undo, self.act_redo])
        edit_menu.addSeparator()
        edit_menu.addActions([self.act_focus_query, self.act_prefs])
        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual])
        layer_menu = bar.addMenu("&Layer")
        layer_menu.addActions([self.act_split])
        layer_menu.addSeparator()
        layer_menu.addActions([self.act_recolor, self.act_fill, self.act_hide, self.act_merge, self.act_delete])

        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("tools")
        toolbar.addActions(list(self.tool_actions.values()))
        self.width_spin = QSpinBox(self)
        self.width_spin.setRange(1, 200)
        self.width_spin.setValue(3)
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("Pen width (the eraser is 5x wider)")
        self.width_spin.valueChanged.connect(self._set_widths)
        toolbar.addWidget(self.width_spin)
        toolbar.addSeparator()
        toolbar.addActions([self.act_split, self.act_undo, self.act_redo, self.act_fit])
        self.addToolBar(toolbar)

    def _set_widths(self, value: int) -> None:
        self.canvas.pen_width = float(value)
        self.canvas.eraser_width = float(value * 5)
        self.canvas.brush_radius = float(value * 5) / 2   # the ink brush is as wide as the eraser

    # ------------------------------------------------------------ messages
    def show_status(self, text: str, timeout_ms: int = 8000) -> None:
        self.last_message = text
        self.statusBar().showMessage(text, timeout_ms)

    def show_error(self, title: str, text: str) -> None:
        self.show_status(text)
        QMessageBox.warning(self, title, text)

    # ------------------------------------------------------------ document
    def set_document(self, doc: SketchDocument) -> None:
        old = self.doc
        if old is not None:
            old.changed.disconnect(self._on_doc_changed)
            old.state_changed.disconnect(self._update_title)
            self.undo_group.removeStack(old.undo_stack)
        self.client.cancel()
        self.doc = doc
        self.undo_group.addStack(doc.undo_stack)
        self.undo_group.setActiveStack(doc.undo_stack)
        doc.changed.connect(self._on_doc_changed)
        doc.state_changed.connect(self._update_title)
        self.canvas.set_document(doc)
        self.layers_panel.set_document(doc)
        if old is not None:
            self.discard_recovery()  # the old sketch was saved or deliberately discarded
        self._edits = self._autosaved_edits = 0
        self._first_unsaved_edit = None
        self.autosave_timer.stop()
        if doc.width * doc.height > PROCESS_PIXELS:
            warm_up()  # large sketches save and export in a worker process: start it now
        self._update_title()
        self.prepare_timer.start()
        if old is not None:
            old.deleteLater()

    PREPARE_DELAY_MS = 600   # long enough not to run between the strokes of one drawing session

    def _prepare_sketch(self) -> None:
        if self.client.info is not None and self.doc is not None and self.doc.width * self.doc.height > 0:
            self.client.prepare(self.doc.composite())

    def _update_title(self) -> None:
        name = os.path.basename(self.doc.path) if self.doc.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — {APP_NAME}")
        self.setWindowModified(self.doc.is_dirty)

    def _on_doc_changed(self) -> None:
        self._note_edit()
        self.prepare_timer.start()
        # An edit makes a running query's answer stale: it would lift the wrong pixels.
        if self.client.busy and self.doc.revision != self._query_revision:
            self.client.cancel()
            self.show_status("Query cancelled: the sketch changed while it ran")

    def confirm_discard(self) -> bool:
        """Ask before dropping unsaved work. True when it is fine to go on."""
        if self.doc is None or not self.doc.is_dirty:
            return True
        answer = QMessageBox.question(
            self, APP_NAME, "The sketch has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_document(self) -> None:
        if self.confirm_discard():
            self.set_document(SketchDocument())

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open sketch", self._last_dir(), OPEN_FILTER)
        if path:
            self.open_path(path, confirm=False)

    def open_path(self, path: str, confirm: bool = True) -> bool:
        """Open an image or .ora; on failure say why and keep the current sketch."""
        if confirm and not self.confirm_discard():
            return False
        try:
            doc = open_document(path)
        except GRMNetError as exc:
            self.show_error("Cannot open", str(exc))
            return False
        except MemoryError:
            self.show_error("Cannot open", f"{os.path.basename(path)} is too large to fit in memory")
            return False
        except Exception as exc:  # noqa: BLE001 - a file the readers did not foresee must not end the app
            self.show_error("Cannot open", f"{os.path.basename(path)} cannot be opened: {exc.__class__.__name__}: {exc}")
            return False
        self.set_document(doc)
        self.settings.setValue("paths/last_dir", os.path.dirname(os.path.abspath(path)))
        self.show_status(doc.notice or f"Opened {os.path.basename(path)} ({doc.width}x{doc.height})")
        return True

    def _last_dir(self) -> str:
        return str(self.settings.value("paths/last_dir", os.path.expanduser("~")))

    def save(self) -> bool:
        if self.doc.path and self.doc.path.lower().endswith(".ora"):
            return self.save_to(self.doc.path)
        return self.save_as()

    def save_as(self) -> bool:
        stem = os.path.splitext(os.path.basename(self.doc.path or "sketch"))[0]
        path, _ = QFileDialog.getSaveFileName(self, "Save sketch", os.path.join(self._last_dir(), stem + ".ora"),
                                              "OpenRaster (*.ora)")
        if not path:
            return False
        if not path.lower().endswith(".ora"):
            path += ".ora"
        return self.save_to(path)

    def _run_long(self, label: str, fn, snapshot, *args):
        """``fn(snapshot, *args, progress=...)`` off the UI thread (a worker process for a large
        sketch) while the window stays usable: progress and Cancel in the status bar, editing goes
        on (the work has its own copy). Returns its result or raises its error."""
        long_actions = (self.act_save, self.act_save_as, self.act_export, self.act_open, self.act_new)
        started = time.monotonic()

        def show_progress(fraction: float) -> None:
            if time.monotonic() - started > 0.3:  # quick jobs finish without anything flashing up
                self.job_progress.setVisible(True)
                self.job_cancel.setVisible(True)
            self.job_progress.setValue(int(fraction * 1000))

        def keep_job(job) -> None:
            self._long_job = job

        self._long_job_running = True
        for action in long_actions:  # one export or save at a time
            action.setEnabled(False)
        self.show_status(label, 0)
        try:
            return run_and_wait(fn, snapshot, *args, pixels=snapshot.pixels, on_start=keep_job,
                                on_progress=show_progress)
        finally:
            self._long_job_running, self._long_job = False, None
            self.job_progress.setVisible(False)
            self.job_cancel.setVisible(False)
            for action in long_actions:
                action.setEnabled(True)

    def cancel_long_job(self) -> None:
        if self._long_job is not None:
            self._long_job.cancel()

    def save_to(self, path: str) -> bool:
        doc, snapshot, index = self.doc, snapshot_of(self.doc), self.doc.undo_stack.index()
        try:
            self._run_long(f"Saving {os.path.basename(path)}…", save_ora, snapshot, path)
        except Cancelled:
            self.show_status("Save cancelled; nothing was written")
            return False
        except (OSError, MemoryError) as exc:
            reason = exc if isinstance(exc, OSError) else "not enough memory"
            self.show_error("Cannot save", f"{reason} — your sketch is still open and unchanged; try another folder.")
            return False
        doc.path = path
        if doc.undo_stack.index() == index:  # a change that landed while saving is not in the file
            doc.undo_stack.setClean()
        self._update_title()
        self.show_status(f"Saved {path}")
        self.autosave_timer.start(0)  # a saved sketch needs no recovery file
        return True

    def export_dialog(self) -> None:
        stem = os.path.splitext(os.path.basename(self.doc.path or "sketch"))[0]
        path, chosen = QFileDialog.getSaveFileName(self, "Export", os.path.join(self._last_dir(), stem),
                                                   ";;".join(EXPORT_FILTERS))
        if path:
            kind = EXPORT_FILTERS.get(chosen)
            ext = FORMATS[kind][1] if kind else ""
            if ext and not path.lower().endswith(ext):
                path += ext
            self.export_to(path, kind)

    def export_to(self, path: str, kind: str | None = None) -> bool:
        """Export in the background (progress, Cancel); the path is checked before any work."""
        try:
            kind = check_export_path(path, kind)
            snapshot = snapshot_of(self.doc)
            written = self._run_long(f"Exporting {os.path.basename(path)}…", export_document, snapshot, path, kind)
        except Cancelled:
            self.show_status("Export cancelled; nothing was written")
            return False
        except ExportError as exc:
            self.show_error("Export failed", f"{exc} — nothing was lost; the sketch is still open.")
            return False
        except OSError as exc:
            self.show_error("Export failed", f"Could not write {path}: {exc}")
            return False
        except MemoryError:
            self.show_error("Export failed", f"Not enough memory to export {path}; the sketch is still open.")
            return False
        self.show_status(f"Exported {written}")
        return True

    # --------------------------------------------------------------- model
    def load_model(self) -> None:
        self.model_status.setText("Loading model…")
        self.client.load(self.prefs.weights or None, self.prefs.device, self.prefs.query_threshold)

    def _on_model_ready(self, info: "EngineInfo") -> None:
        self.query_bar.set_vocabulary(info.vocabulary)
        words = f", {len(info.vocabulary)} words" if info.vocabulary else ""
        self.model_status.setText(f"Model ready ({info.device}{words})")
        self.prepare_timer.start()

    def _on_model_unavailable(self, message: str, no_weights: bool) -> None:
        self.query_bar.set_vocabulary(())
        self.model_status.setText("No trained weights" if no_weights else "Model failed to load")
        self.model_status.setToolTip(message)
        self.show_status(NO_WEIGHTS_STATUS if no_weights else message, 0)

    def focus_query(self) -> None:
        self.query_bar.edit.setFocus()
        self.query_bar.edit.selectAll()

    def run_query(self, expression: str) -> None:
        expression = expression.strip()
        if not expression or not words_of(expression):
            self.show_status("Type what to select first, in words, e.g. “the two sheep left of the car”")
            return
        if self.client.info is None:
            self.show_status("The model is still loading; try again in a moment" if self.client.loading
                             else NO_WEIGHTS_STATUS)
            return
        unknown = self.query_bar.unknown_words(expression)
        if unknown and len(unknown) == len(words_of(expression)):
            self.show_status(f"None of these words are known to the model: {', '.join(unknown)}")
            return
        self._query_revision = self.doc.revision
        self.client.query(self.doc.composite(), expression, self.prefs.query_threshold)
        note = f" (words the model does not know: {', '.join(unknown)})" if unknown else ""
        self.show_status(f"Selecting “{expression}”…{note}", 0)

    def _on_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.query_bar.set_busy(busy)

    def _on_query_result(self, _qid: int, expression: str, result: "ReferringResult") -> None:
        if self.doc.revision != self._query_revision:
            return  # belt and braces: the sketch changed after the worker finished
        instances = result.instances
        seen = result.understood.describe()
        read_as = f"; read as {seen}" if seen else ""
        timing = f"{result.latency_ms:.0f} ms{read_as}"
        if not instances:
            self.show_status(f"“{expression}” matched nothing in this sketch ({timing})")
            return
        uids = self.doc.select_as_layers(instances)
        if not uids:
            # Their ink was lifted by an earlier query: select those layers instead.
            found = self.doc.layers_overlapping([inst.ink for inst in instances])
            self.doc.set_selection(found)
            labels = ", ".join(self._labels_in_order(found))
            self.show_status(f"“{expression}” refers to existing layers{': ' + labels if labels else ''}")
            return
        labels = ", ".join(self._labels_in_order(uids))
        self.show_status(f"Selected {len(uids)} instance{'s' if len(uids) != 1 else ''}: {labels} ({timing})")

    def split_into_layers(self) -> None:
        """Every object of the sketch into its own layer (the model finds them; one undo step)."""
        if self.client.info is None:
            self.show_status("The model is still loading; try again in a moment" if self.client.loading
                             else NO_WEIGHTS_STATUS)
            return
        self._query_revision = self.doc.revision
        self.client.split(self.doc.composite())
        self.show_status("Splitting the sketch into layers…", 0)

    def _on_split_result(self, _qid: int, instances: list) -> None:
        if self.doc.revision != self._query_revision:
            return  # the sketch changed after the worker finished
        uids = self.doc.split_into_layers(instances)
        if not uids:
            self.show_status("No new layers: no object found whose ink is still in the sketch")
            return
        self.show_status(f"Split into {len(uids)} layers: {', '.join(self._labels_in_order(uids))}")

    def _labels_in_order(self, uids) -> list[str]:
        """Layer labels as the panel lists them: by category, then index ("cat 1, cat 2")."""
        layers = sorted((self.doc.layer(u) for u in uids), key=lambda l: (l.category, l.index))
        return [layer.label for layer in layers]

    def _on_query_failed(self, _qid: int, expression: str, message: str) -> None:
        self.show_status(message)

    # -------------------------------------------------------- layer edits
    def recolor_selected(self) -> None:
        if not self.doc.selected:
            return
        first = self.doc.layer(self.doc.selected[0])
        color = QColorDialog.getColor(QColor(*first.display_color), self, "Stroke colour")
        if color.isValid():
            self.doc.recolor(self.doc.selected, (color.red(), color.green(), color.blue()))

    def fill_selected(self) -> None:
        if not self.doc.selected:
            return
        first = self.doc.layer(self.doc.selected[0])
        initial = QColor(*(first.fill_color or first.outline_color))
        initial.setAlphaF(first.fill_opacity)
        color = QColorDialog.getColor(initial, self, "Fill colour", QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if color.isValid():
            self.doc.fill(self.doc.selected, (color.red(), color.green(), color.blue()), color.alphaF())

    def toggle_visibility_selected(self) -> None:
        if self.doc.selected:
            visible = not self.doc.layer(self.doc.selected[0]).visible
            self.doc.set_visible(self.doc.selected, visible)

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.prefs, self)
        if dialog.exec():
            new = dialog.preferences()
            reload_model = (new.weights, new.device) != (self.prefs.weights, self.prefs.device)
            self.prefs = new
            new.save(self.settings)
            if reload_model:
                self.load_model()

    # ------------------------------------------------------------ autosave
    @property
    def recovery_path(self) -> str:
        """This window's autosave (a folder per window and process: see sketchedit.recovery)."""
        return self.recovery.document_path

    def _note_edit(self) -> None:
        """Debounced autosave: a few seconds after the last change, and at the latest twice that after
        the first unsaved one, so steady editing is saved too (kill -9 loses about 5 s at most)."""
        self._edits += 1
        now = time.monotonic()
        if self._first_unsaved_edit is None:
            self._first_unsaved_edit = now
        quiet = self.prefs.autosave_seconds
        due = min(now + quiet, self._first_unsaved_edit + 2 * quiet)
        self.autosave_timer.start(max(0, int((due - now) * 1000)))

    @property
    def _has_unsaved_edits(self) -> bool:
        return self._edits != self._autosaved_edits

    def _recovery_info(self) -> dict:
        stack = self.doc.undo_stack
        return {"path": self.doc.path, "undo_steps": [stack.text(i) for i in range(stack.index())]}

    def _autosave_in_background(self) -> None:
        """Snapshot the document here (fast), write it in a thread (slow), one write at a time."""
        if self.doc is None or self._autosave_job is not None:
            return  # _finish_autosave starts the next one
        if not self.doc.is_dirty:
            self.discard_recovery()  # saved, or undone back to the file: nothing to recover
            return
        if not self._has_unsaved_edits:
            return
        try:
            folder = self.recovery.prepare()  # the lock stays with this process
        except OSError as exc:
            self.show_status(f"Autosave failed: {exc}")
            return
        snapshot = snapshot_of(self.doc)
        self._autosave_job_edits, self._first_unsaved_edit = self._edits, None
        self._autosave_job = start_job(write_recovery_files, folder, snapshot, self._recovery_info(), os.getpid(),
                                       pixels=snapshot.pixels)
        self._autosave_poll.start()

    def _finish_autosave(self) -> None:
        job = self._autosave_job
        if job is None or not job.done:
            return
        self._autosave_poll.stop()
        self._autosave_job = None
        if job.error is not None:
            self.show_status(f"Autosave failed: {job.error}")
            return
        self._autosaved_edits = max(self._autosaved_edits, self._autosave_job_edits)
        if (self._has_unsaved_edits or not self.doc.is_dirty) and not self.autosave_timer.isActive():
            self.autosave_timer.start(0)  # changes (or a save) that came while it wrote

    def _wait_for_autosave(self) -> None:
        if self._autosave_job is not None:
            self._autosave_job.wait()
            self._finish_autosave()

    def autosave_now(self) -> bool:
        """Write the recovery file now, in this thread, if anything changed since the last one."""
        self._wait_for_autosave()
        if self.doc is None or not self._has_unsaved_edits:
            return False
        if not self.doc.is_dirty:
            self.discard_recovery()
            return False
        try:
            self.recovery.write(self.doc, self._recovery_info())
        except OSError as exc:
            self.show_status(f"Autosave failed: {exc}")
            return False
        self._autosaved_edits, self._first_unsaved_edit = self._edits, None
        self.autosave_timer.stop()
        return True

    def discard_recovery(self) -> None:
        """Remove this window's recovery files (never another window's)."""
        self._wait_for_autosave()
        self.recovery.discard()
        self._autosaved_edits = self._edits

    def offer_recovery(self) -> bool:
        """After a crash: offer the autosaved sketches no running window owns, newest first.
        True when one was restored."""
        sessions = crashed_sessions(self.recovery_dir)
        try:
            return any(self._offer(session) for session in sessions)
        finally:
            for session in sessions:
                session.release()

    def _offer(self, session: CrashedSession) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(session.saved_at))
        name = os.path.basename(session.source_path) if session.source_path else "an untitled sketch"
        answer = QMessageBox.question(
            self, APP_NAME, f"SketchEdit did not close properly. Recover {name}, autosaved at {when}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            session.discard()
            return False
        try:
            doc = open_document(session.document_path)
        except GRMNetError as exc:  # keep the files: they may still be rescued by hand
            self.show_error("Recovery failed", f"{exc} (the files stay in {session.folder})")
            return False
        doc.path = session.source_path  # Save asks where when it is not an .ora
        self.set_document(doc)
        # Mark it unsaved: the recovered work is not in any file the user chose yet.
        doc.undo_stack.resetClean()
        self._update_title()
        self._edits += 1
        if self.autosave_now():  # now it is this window's to keep; only then the dead one's copy goes
            session.discard()
        self.show_status("Recovered the autosaved sketch; save it to keep it")
        return True

    def report_crash(self, exc_type, exc, tb) -> None:
        """Unexpected exception in a slot: save what we have, tell the user, keep running."""
        self._edits += 1  # write even if the last autosave looks current: the state may be odd now
        saved = self.autosave_now()
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME,
                          f"Something went wrong: {exc}\n"
                          + ("Your sketch was saved for recovery." if saved else ""), parent=self)
        box.setDetailedText(details)
        box.open()  # not exec(): a crash report must never block the event loop

    # -------------------------------------------------------------- drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if any(url.isLocalFile() and is_openable(url.toLocalFile()) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        paths = [p for p in paths if is_openable(p)]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # -------------------------------------------------------------- close
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.confirm_discard():
            event.ignore()
            return
        if self._long_job_running:
            self.show_status("Wait for the export or save to finish, or cancel it")
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.discard_recovery()
        self.autosave_timer.stop()
        self.client.shutdown()
        event.accept()

"""Preferences kept in QSettings: model weights, device, score threshold, autosave."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

DEVICES = ("auto", "cpu", "cuda")
# Autosave waits this many quiet seconds after a change (and at most twice that while changes keep
# coming): the default keeps what a crash can lose to about 5 s.
AUTOSAVE_RANGE = (1, 30)


@dataclass
class Preferences:
    weights: str = ""  # empty: the shipped model
    device: str = "auto"
    threshold: float = 0.0  # 0: the model's own (tuned with its weights, see config.json score_threshold)
    autosave_seconds: int = 2

    @property
    def query_threshold(self) -> float | None:
        """The threshold to send with a query: None = the model's own."""
        return self.threshold if self.threshold > 0 else None

    @classmethod
    def load(cls, settings: QSettings) -> "Preferences":
        d = cls()
        try:
            threshold = float(settings.value("model/threshold", d.threshold))
            autosave = int(settings.value("autosave/seconds", d.autosave_seconds))
        except (TypeError, ValueError):  # a hand-edited settings file must not stop the app
            threshold, autosave = d.threshold, d.autosave_seconds
        device = str(settings.value("model/device", d.device))
        return cls(weights=str(settings.value("model/weights", d.weights) or ""),
                   device=device if device in DEVICES else d.device,
                   threshold=min(max(threshold, 0.0), 1.0),
                   autosave_seconds=min(max(autosave, AUTOSAVE_RANGE[0]), AUTOSAVE_RANGE[1]))

    def save(self, settings: QSettings) -> None:
        settings.setValue("model/weights", self.weights)
        settings.setValue("model/device", self.device)
        settings.setValue("model/threshold", self.threshold)
        settings.setValue("autosave/seconds", self.autosave_seconds)
        settings.sync()


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.weights = QLineEdit(prefs.weights)
        self.weights.setPlaceholderText("shipped model (resources/weights)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.weights, 1)
        row_layout.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(prefs.device)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setSpecialValueText("model's own")   # shown at 0.0
        self.threshold.setValue(prefs.threshold)
        self.autosave = QSpinBox()
        self.autosave.setRange(*AUTOSAVE_RANGE)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(prefs.autosave_seconds)
        form = QFormLayout(self)
        form.addRow("Model weights", row)
        form.addRow("Device", self.device)
        form.addRow("Score threshold", self.threshold)
        self.autosave.setToolTip("Crash recovery: the sketch is autosaved this long after your last change")
        form.addRow("Autosave after", self.autosave)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model weights", "", "Weights (*.safetensors);;All files (*)")
        if path:
            self.weights.setText(path)

    def preferences(self) -> Preferences:
        return Preferences(self.weights.text().strip(), self.device.currentText(), float(self.threshold.value()),
                           int(self.autosave.value()))

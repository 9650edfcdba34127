"""The referring-expression bar: type, Enter to run; Up/Down history; word completion;
words the loaded model does not know are flagged as you type."""
from __future__ import annotations


from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from grmnet.text import tokenize

HISTORY_LIMIT = 100


def words_of(text: str) -> list[str]:
    """The model's own tokenizer (grmnet.text), so the bar flags exactly the words the model will not know."""
    return tokenize(text)


class ExpressionEdit(QLineEdit):
    """A line edit that completes the word under the cursor and walks a history."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history: list[str] = []
        self._history_pos = 0
        self._draft = ""
        self._model = QStringListModel(self)
        self.completer_ = QCompleter(self._model, self)
        self.completer_.setWidget(self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.activated.connect(self._insert_completion)
        self.textEdited.connect(self._update_completion)

    def set_words(self, words) -> None:
        self._model.setStringList(sorted(words))

    def add_history(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]
        self._history_pos = len(self.history)

    def _current_word(self) -> tuple[int, str]:
        text, cursor = self.text(), self.cursorPosition()
        start = cursor
        while start > 0 and text[start - 1].isalpha():
            start -= 1
        return start, text[start:cursor]

    def _update_completion(self, _text: str) -> None:
        _, word = self._current_word()
        if len(word) < 2 or not self._model.rowCount():
            self.completer_.popup().hide()
            return
        self.completer_.setCompletionPrefix(word)
        if self.completer_.completionCount() == 0 or (
                self.completer_.completionCount() == 1 and self.completer_.currentCompletion().lower() == word.lower()):
            self.completer_.popup().hide()
            return
        self.completer_.complete()

    def _insert_completion(self, completion: str) -> None:
        start, word = self._current_word()
        text = self.text()
        cursor = self.cursorPosition()
        self.setText(text[:start] + completion + text[cursor:])
        self.setCursorPosition(start + len(completion))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        popup = self.completer_.popup()
        if popup.isVisible() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            index = popup.currentIndex()
            if index.isValid():
                self._insert_completion(index.data())
                popup.hide()
                event.accept()
                return
            popup.hide()
        if not popup.isVisible() and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.history:
            if self._history_pos == len(self.history):
                self._draft = self.text()
            step = -1 if event.key() == Qt.Key.Key_Up else 1
            self._history_pos = min(max(self._history_pos + step, 0), len(self.history))
            self.setText(self.history[self._history_pos] if self._history_pos < len(self.history) else self._draft)
            event.accept()
            return
        super().keyPressEvent(event)


class QueryBar(QWidget):
    """Expression field + Select button + a line saying what is wrong before you run it."""

    submitted = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.vocabulary: frozenset[str] = frozenset()
        self.edit = ExpressionEdit(self)
        self.edit.setPlaceholderText("Describe what to select, e.g. “the two sheep left of the car” — Enter to run")
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip("Referring expression (Ctrl+L). Up/Down: history. Unknown words are flagged in red.")
        self.run_button = QPushButton("Select", self)
        self.run_button.setToolTip("Run the expression and lift the instances it refers to into layers")
        self.hint = QLabel(self)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setStyleSheet("color: #c0392b;")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Select:", self))
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.run_button)
        self.edit.returnPressed.connect(self._submit)
        self.run_button.clicked.connect(self._submit)
        self.edit.textChanged.connect(self._flag_unknown)

    def set_vocabulary(self, vocabulary) -> None:
        self.vocabulary = frozenset(w.lower() for w in vocabulary)
        self.edit.set_words(self.vocabulary)
        self._flag_unknown(self.edit.text())

    def unknown_words(self, text: str | None = None) -> list[str]:
        if not self.vocabulary:
            return []  # no model loaded: nothing to compare with
        return [w for w in words_of(self.edit.text() if text is None else text) if w not in self.vocabulary]

    def _flag_unknown(self, text: str) -> None:
        unknown = self.unknown_words(text)
        self.hint.setText(f"Unknown: {', '.join(dict.fromkeys(unknown))}" if unknown else "")
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #c0392b; }" if unknown else "")

    def set_busy(self, busy: bool) -> None:
        self.run_button.setText("Running…" if busy else "Select")

    def _submit(self) -> None:
        text = self.edit.text().strip()
        self.edit.add_history(text)
        self.submitted.emit(text)

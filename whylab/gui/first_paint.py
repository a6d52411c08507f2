"""A signal for "this window has just painted for the first time" (issue 9: start-up).

Work that is not needed to draw the window (batch-run machinery, loading providers,
the welcome dialog) waits for it, so the window appears as soon as its widgets exist.
A zero-delay timer is not enough: Qt runs those before the window's first paint.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

# Without a paint by then (a window that starts minimised, a platform that never
# exposes it), the deferred work runs anyway.
FALLBACK_MS = 1_000


class FirstPaintNotifier(QObject):
    """Emits `painted` once: just after `widget`'s first paint, or after FALLBACK_MS.

    Signals:
        painted(): the widget has painted (or the fallback delay has passed).
    """

    painted = Signal()

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        self._done = False
        widget.installEventFilter(self)
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.setInterval(FALLBACK_MS)
        self._fallback.timeout.connect(self._emit)
        if widget.isVisible():  # already shown (a window getting its contents): no Show
            self._fallback.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Start the fallback when the widget is shown; emit once its first paint is done."""
        if watched is self._widget and not self._done:
            if event.type() == QEvent.Type.Show:
                self._fallback.start()
            elif event.type() == QEvent.Type.Paint:
                # Emitted from the event loop, so this paint is finished (and on screen) first.
                QTimer.singleShot(0, self, self._emit)
        return False

    def _emit(self) -> None:
        if self._done:
            return
        self._done = True
        self._fallback.stop()
        self._widget.removeEventFilter(self)
        self.painted.emit()

"""The main window's menu bar: File, Run, Tags, Settings and Help.

`MainMenus` only makes the actions, each with its shortcuts active anywhere in the
window; the main window connects them. The Run menu's second half (batch runs) is
added after the first paint by `runs_menu.install_run_actions`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from whylab.core.models import ConfigName, Tag

TAG_SHORTCUTS: dict[ConfigName, dict[Tag, str]] = {
    ConfigName.RULE: {Tag.BRITTLE_REFUSAL: "Alt+1", Tag.RATIONALIZATION: "Alt+2"},
    ConfigName.WHY: {Tag.BRITTLE_REFUSAL: "Alt+3", Tag.RATIONALIZATION: "Alt+4"},
}

TagToggler = Callable[[ConfigName, Tag], None]


class MainMenus:
    """The main window's menus and their actions.

    Args:
        toggle_tag: Called with a configuration and a tag when its Tags action fires.

    Attributes:
        tags: One action per entry of `TAG_SHORTCUTS`; `data()` is
            ``(config value, tag value)``.
    """

    def __init__(self, window: QMainWindow, toggle_tag: TagToggler) -> None:
        self._window = window
        menu = window.menuBar()
        file_menu = menu.addMenu("&File")
        self.rulebook = self._action(file_menu, "&Rulebook…", ["Ctrl+R"])
        self.open_project = self._action(file_menu, "&Open project…", ["Ctrl+O"])
        file_menu.addSeparator()
        self.quit = file_menu.addAction("&Quit")
        self.quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.run_menu = menu.addMenu("&Run")
        self.run = self._action(self.run_menu, "&Run comparison", ["Ctrl+Return", "Ctrl+Enter"])
        self.stop = self._action(self.run_menu, "&Stop", ["Esc"])
        self.focus_prompt = self._action(self.run_menu, "Edit &prompt", ["Ctrl+L"])
        self.tags = self._build_tag_menu(menu.addMenu("&Tags"), toggle_tag)
        settings_menu = menu.addMenu("&Settings")
        self.providers = self._action(settings_menu, "&Providers…", [])
        help_menu = menu.addMenu("&Help")
        self.welcome = help_menu.addAction("&Welcome…")
        self.about = help_menu.addAction("&About WhyLab")

    def _build_tag_menu(self, tag_menu: QMenu, toggle_tag: TagToggler) -> list[QAction]:
        actions = []
        for config, hints in TAG_SHORTCUTS.items():
            for tag, keys in hints.items():
                action = self._action(tag_menu, f"{config.label}: {tag.label}", [keys])
                action.setData((config.value, tag.value))
                action.triggered.connect(_caller(toggle_tag, config, tag))
                actions.append(action)
            if config is ConfigName.RULE:
                tag_menu.addSeparator()
        return actions

    def _action(self, menu: QMenu, text: str, keys: list[str]) -> QAction:
        action = QAction(text, self._window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._window.addAction(action)
        menu.addAction(action)
        return action


def _caller(toggle_tag: TagToggler, config: ConfigName, tag: Tag) -> Callable[[], None]:
    """A slot toggling `tag` on `config` (each action its own, not the loop's last)."""
    return lambda: toggle_tag(config, tag)

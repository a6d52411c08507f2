"""A compact bar above each comparison pane: profile, model and sampling of one configuration."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from whylab.core.models import ConfigName, GenerationParams
from whylab.core.profiles import ProviderProfile
from whylab.core.settings import ConfigChoice
from whylab.gui.style import named

SpinBox = QSpinBox | QDoubleSpinBox
NO_SEED_TEXT = "none"
MAX_SEED = 2**31 - 1


class ConfigPanel(QFrame):
    """Picks what one configuration runs on: profile, model, temperature, max tokens, seed.

    The model box is editable: any id can be typed; the list offers the profile's
    default and the models last fetched in Settings › Providers. An empty model
    means the profile's default.

    Signals:
        changed(str): the configuration's name; the user changed any of its choices.
    """

    changed = Signal(str)

    def __init__(self, config: ConfigName, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.setObjectName("configPanel")
        self._profiles: list[ProviderProfile] = []
        self._filling = False
        self._build()

    def _build(self) -> None:
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 0, 2, 0)
        row.setSpacing(6)
        self.profile = QComboBox()
        self.profile.setAccessibleName(f"{self.config.label} provider profile")
        self.profile.setToolTip("Provider profile (Settings › Providers…)")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setMinimumContentsLength(14)
        self.model.setAccessibleName(f"{self.config.label} model")
        self.temperature = QDoubleSpinBox()
        self.temperature.setDecimals(2)
        self.temperature.setSingleStep(0.1)
        _spin(self.temperature, f"{self.config.label} temperature", 0.0, 2.0)
        self.max_tokens = QSpinBox()
        self.max_tokens.setSingleStep(50)
        _spin(self.max_tokens, f"{self.config.label} max tokens", 1, 200_000)
        self.seed = QSpinBox()
        self.seed.setSpecialValueText(NO_SEED_TEXT)
        _spin(self.seed, f"{self.config.label} seed (none: send no seed)", -1, MAX_SEED)
        self.seed.setMaximumWidth(self.seed.fontMetrics().horizontalAdvance("0" * 11) + 30)
        for label, widget, stretch in (
            ("", self.profile, 2),
            ("", self.model, 3),
            ("temp", self.temperature, 0),
            ("max", self.max_tokens, 0),
            ("seed", self.seed, 0),
        ):
            if label:
                caption = named(QLabel(label), "caption")
                caption.setBuddy(widget)
                row.addWidget(caption)
            row.addWidget(widget, stretch)
        self.profile.currentIndexChanged.connect(self._on_profile)
        self.model.currentTextChanged.connect(self._on_edit)
        self.temperature.valueChanged.connect(self._on_edit)
        self.max_tokens.valueChanged.connect(self._on_edit)
        self.seed.valueChanged.connect(self._on_edit)

    def set_state(self, profiles: list[ProviderProfile], choice: ConfigChoice) -> None:
        """Show the profiles to pick from and the current choice (emits nothing)."""
        self._filling = True
        try:
            self._profiles = list(profiles)
            self.profile.clear()
            for profile in profiles:
                self.profile.addItem(profile.name)
                self.profile.setItemData(self.profile.count() - 1, profile.base_url or "")
            index = self.profile.findText(choice.profile, Qt.MatchFlag.MatchExactly)
            self.profile.setCurrentIndex(max(index, 0))
            self._fill_models(choice.model)
            params = choice.params
            self.temperature.setValue(params.temperature)
            self.max_tokens.setValue(params.max_tokens)
            self.seed.setValue(-1 if params.seed is None else params.seed)
        finally:
            self._filling = False

    def choice(self) -> ConfigChoice:
        """The choice as shown."""
        seed = self.seed.value()
        model = self.model.currentText().strip()
        return ConfigChoice(
            profile=self.profile.currentText(),
            model=model or None,
            params=GenerationParams(
                temperature=round(self.temperature.value(), 2),
                max_tokens=self.max_tokens.value(),
                seed=None if seed < 0 else seed,
            ),
        )

    def current_profile(self) -> ProviderProfile | None:
        """The profile picked, or None when there is none."""
        index = self.profile.currentIndex()
        return self._profiles[index] if 0 <= index < len(self._profiles) else None

    def _fill_models(self, model: str | None) -> None:
        profile = self.current_profile()
        self.model.clear()
        offered: list[str] = []
        if profile is not None:
            first = [profile.model] if profile.model else []
            offered = list(dict.fromkeys([*first, *profile.models]))
        self.model.addItems(offered)
        if profile is not None and profile.model:
            default = profile.model
        elif profile is not None and profile.kind == "embedded":
            default = "the embedded model"
        else:
            default = "the server's first model"
        edit = self.model.lineEdit()
        if edit is not None:
            edit.setPlaceholderText(f"default: {default}")
        self.model.setToolTip(f"Model id; empty uses the profile's default ({default})")
        self.model.setEditText(model or "")

    @Slot(int)
    def _on_profile(self, _index: int) -> None:
        if self._filling:
            return
        self._filling = True
        try:
            self._fill_models(None)  # a new profile starts on its own default model
        finally:
            self._filling = False
        self.changed.emit(self.config.value)

    @Slot()
    def _on_edit(self) -> None:
        if not self._filling:
            self.changed.emit(self.config.value)


def _spin(spin: SpinBox, tip: str, low: float, high: float) -> None:
    if isinstance(spin, QSpinBox):
        spin.setRange(int(low), int(high))
    else:
        spin.setRange(low, high)
    spin.setToolTip(tip)
    spin.setAccessibleName(tip)
    spin.setKeyboardTracking(False)  # one change when the edit ends, not per keystroke

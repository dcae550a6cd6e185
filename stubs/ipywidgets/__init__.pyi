# The part of ipywidgets aeroops' panels use, typed (ipywidgets ships no type information):
# mypy --strict checks the panels against it instead of treating every widget as Any.
from collections.abc import Callable, Sequence
from typing import Any

class Layout:
    display: str | None
    visibility: str | None
    width: str | None
    height: str | None
    max_width: str | None
    overflow: str | None
    border: str | None
    padding: str | None
    margin: str | None
    flex: str | None
    def __init__(self, **kwargs: str | None) -> None: ...

class Widget:
    layout: Layout
    def __init__(self, **kwargs: Any) -> None: ...
    def observe(self, handler: Callable[[dict[str, Any]], object], names: str | Sequence[str] = ...) -> None: ...
    def close(self) -> None: ...

class DOMWidget(Widget): ...

class Box(DOMWidget):
    children: Sequence[Widget]
    def __init__(self, children: Sequence[Widget] = ..., **kwargs: Any) -> None: ...

class VBox(Box): ...
class HBox(Box): ...

class Tab(Box):
    titles: tuple[str, ...]
    selected_index: int | None
    def set_title(self, index: int, title: str) -> None: ...

class HTML(DOMWidget):
    value: str
    def __init__(self, value: str = ..., **kwargs: Any) -> None: ...

class Label(DOMWidget):
    value: str
    def __init__(self, value: str = ..., **kwargs: Any) -> None: ...

class Image(DOMWidget):
    value: bytes
    format: str

class Button(DOMWidget):
    description: str
    disabled: bool
    icon: str
    tooltip: str
    button_style: str
    def on_click(self, callback: Callable[[Button], object], remove: bool = ...) -> None: ...

class Text(DOMWidget):
    value: str
    description: str
    placeholder: str
    disabled: bool

class Textarea(DOMWidget):
    value: str
    description: str
    placeholder: str
    disabled: bool
    rows: int | None

class Checkbox(DOMWidget):
    value: bool
    description: str
    disabled: bool

class BoundedIntText(DOMWidget):
    value: int
    min: int
    max: int
    description: str
    disabled: bool

class Dropdown(DOMWidget):
    value: Any
    options: Any
    description: str
    disabled: bool
    index: int | None

class IntProgress(DOMWidget):
    value: int
    min: int
    max: int
    description: str
    bar_style: str

class FloatProgress(DOMWidget):
    value: float
    min: float
    max: float
    description: str
    bar_style: str

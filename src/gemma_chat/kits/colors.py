"""Colours a build may set, and the palette the theme derives from them.

A user says "make the background dark blue"; a kit's theme needs a whole palette that
stays readable (text, muted text, cards, borders, the accent on top). So a colour slot
takes one colour and we derive the rest by contrast, WCAG-style, instead of trusting a
small model to pick six colours that work together.
"""

from __future__ import annotations

import re

# CSS named colours (the common ones people say), plus spellings with spaces removed.
NAMED: dict[str, str] = {
    "black": "#000000",
    "white": "#ffffff",
    "gray": "#808080",
    "grey": "#808080",
    "silver": "#c0c0c0",
    "red": "#e53935",
    "darkred": "#8b0000",
    "crimson": "#dc143c",
    "maroon": "#800000",
    "pink": "#ec4899",
    "hotpink": "#ff69b4",
    "lightpink": "#ffb6c1",
    "rose": "#f43f5e",
    "orange": "#f97316",
    "darkorange": "#ff8c00",
    "coral": "#ff7f50",
    "salmon": "#fa8072",
    "peach": "#ffdab9",
    "yellow": "#facc15",
    "gold": "#ffd700",
    "amber": "#f59e0b",
    "cream": "#fffdd0",
    "beige": "#f5f5dc",
    "brown": "#8b5a2b",
    "tan": "#d2b48c",
    "chocolate": "#d2691e",
    "green": "#22a355",
    "darkgreen": "#006400",
    "lightgreen": "#90ee90",
    "lime": "#84cc16",
    "olive": "#808000",
    "mint": "#98ff98",
    "forestgreen": "#228b22",
    "emerald": "#10b981",
    "teal": "#0d9488",
    "turquoise": "#40e0d0",
    "cyan": "#06b6d4",
    "aqua": "#00ffff",
    "blue": "#2563eb",
    "darkblue": "#00008b",
    "lightblue": "#add8e6",
    "navy": "#000080",
    "navyblue": "#000080",
    "skyblue": "#87ceeb",
    "royalblue": "#4169e1",
    "midnightblue": "#191970",
    "steelblue": "#4682b4",
    "indigo": "#4b0082",
    "purple": "#7c3aed",
    "darkpurple": "#3b0764",
    "violet": "#8b5cf6",
    "lavender": "#e6e6fa",
    "lilac": "#c8a2c8",
    "magenta": "#d946ef",
    "fuchsia": "#d946ef",
    "plum": "#dda0dd",
    "charcoal": "#36454f",
    "slate": "#475569",
    "darkgray": "#374151",
    "darkgrey": "#374151",
    "lightgray": "#e5e7eb",
    "lightgrey": "#e5e7eb",
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_SHADES = {"dark": -0.45, "deep": -0.35, "light": 0.55, "pale": 0.7, "bright": 0.15}


class ColorError(ValueError):
    """Not a colour we can read."""


def parse_color(text: str) -> str:
    """'#1e40af', '1e40af', '#fff', 'navy', 'dark blue', 'light green' -> '#rrggbb'."""
    raw = text.strip().lower().rstrip(".")
    match = _HEX.match(raw)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return "#" + digits
    words = raw.replace("-", " ").split()
    joined = "".join(words)
    if joined in NAMED:
        return NAMED[joined]
    if len(words) == 2 and words[0] in _SHADES and words[1] in NAMED:
        return shade(NAMED[words[1]], _SHADES[words[0]])
    raise ColorError(
        f"{text.strip()!r} is not a colour I know: use a name such as 'dark blue' or a hex "
        "code such as '#1e40af'."
    )


def _rgb(color: str) -> tuple[float, float, float]:
    value = color.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def mix(a: str, b: str, amount: float) -> str:
    """`amount` of b into a."""
    ra, rb = _rgb(a), _rgb(b)
    return _hex(tuple(x + (y - x) * amount for x, y in zip(ra, rb, strict=True)))  # type: ignore[arg-type]


def shade(color: str, amount: float) -> str:
    """Towards white (amount > 0) or black (amount < 0)."""
    return mix(color, "#ffffff" if amount > 0 else "#000000", abs(amount))


def luminance(color: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def is_dark(color: str) -> bool:
    return contrast(color, "#ffffff") > contrast(color, "#000000")


def readable_on(background: str) -> str:
    """The text colour (near-white or near-black) with more contrast on `background`."""
    light, dark = "#f3f4f8", "#1b1f2a"
    best = light if contrast(light, background) >= contrast(dark, background) else dark
    if contrast(best, background) >= 4.5:
        return best
    # Mid-tones: only pure black or white reach 4.5:1.
    return (
        "#ffffff"
        if contrast("#ffffff", background) >= contrast("#000000", background)
        else "#000000"
    )


def palette(background: str | None, accent: str | None) -> dict[str, str]:
    """Theme tokens for the chosen colours (either may be None: the theme's own)."""
    tokens: dict[str, str] = {}
    if background:
        text = readable_on(background)
        lift = "#ffffff" if is_dark(background) else "#000000"
        tokens |= {
            "--bg": background,
            "--surface": mix(background, "#ffffff", 0.08 if is_dark(background) else 0.7),
            "--surface-2": mix(background, lift, 0.14 if is_dark(background) else 0.05),
            "--text": text,
            "--muted": mix(text, background, 0.3),
            "--border": mix(background, lift, 0.22 if is_dark(background) else 0.14),
            # Status colours readable on the page: light ones on dark pages, dark on light.
            "--danger": "#ff6b7d" if is_dark(background) else "#c2283a",
            "--success": "#4cd08a" if is_dark(background) else "#1e7f4f",
        }
    if accent:
        if background:  # keep buttons visible on the page: at least 3:1 against it
            towards = "#ffffff" if is_dark(background) else "#000000"
            for _ in range(10):
                if contrast(accent, background) >= 3:
                    break
                accent = mix(accent, towards, 0.2)
        label = readable_on(accent)
        for _ in range(10):  # button labels at 4.5:1, as body text
            if contrast(label, accent) >= 4.5:
                break
            accent = mix(accent, "#000000" if label in ("#f3f4f8", "#ffffff") else "#ffffff", 0.12)
        tokens |= {"--accent": accent, "--accent-text": label}
    return tokens

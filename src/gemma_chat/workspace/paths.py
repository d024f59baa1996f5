"""Path confinement: turn a model-supplied path into a real path inside the workspace.

Model output is untrusted input, so every path a tool receives goes through `resolve_in`.
The rules are stricter than any one OS needs: a project written here must also be safe to
unzip or open on Windows and macOS, and `.git` holds the versions, so it is off limits.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from gemma_chat.errors import WorkspacePathError

MAX_PATH_CHARS = 1024
MAX_COMPONENT_BYTES = 255
RESERVED_CHARS = frozenset('<>:"|?*')
# Windows device names: reserved with any extension, in any case ("con.txt", "Nul.js").
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{prefix}{n}" for prefix in ("COM", "LPT") for n in "123456789¹²³"}
)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Atomic writes go through '.gcw-XXXXXXXX.tmp' next to the target; such names are internal:
# never listed, exported or versioned, and not available to the model.
TEMP_PREFIX = ".gcw-"
TEMP_SUFFIX = ".tmp"
_EXAMPLE = "use a path relative to the project root, like 'index.html' or 'css/style.css'"
_GIT_RESERVED = "'.git' is reserved for the project's version history"
# Code points HFS+ (macOS) skips when it compares names: there '.g\u200cit' opens '.git'.
_HFS_IGNORED = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)
# The 8.3 short names Windows may give '.git' ('GIT~1'; 'GIT~2' when GIT~1 is taken).
_SHORT_GIT = re.compile(r"^git~[0-9]+$", re.IGNORECASE)


def _bad(user_path: str, why: str) -> WorkspacePathError:
    shown = user_path if len(user_path) <= 120 else user_path[:117] + "..."
    return WorkspacePathError(f"Invalid path {shown!r}: {why}.")


def normalize(user_path: str) -> str:
    """Validate a relative path and return its normal form ('a/b.js'); no filesystem access.

    Backslashes count as separators and a leading './' is dropped; '.' and empty components
    ('a//b', 'a/./b') are dropped too. Percent-encoding is not decoded: '%2e%2e' is a name.
    """
    if not isinstance(user_path, str):
        raise WorkspacePathError(f"Invalid path {user_path!r}: a path must be a string.")
    for ch in user_path:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs"):
            raise _bad(user_path, f"it contains the control character {ch!r}; {_EXAMPLE}")
    if not user_path.strip():
        raise _bad(user_path, f"the path is empty; {_EXAMPLE}")
    if len(user_path) > MAX_PATH_CHARS:
        raise _bad(user_path, f"the path is longer than {MAX_PATH_CHARS} characters")
    path = user_path.replace("\\", "/")
    if path.startswith("/"):
        raise _bad(user_path, f"absolute paths are not allowed; {_EXAMPLE}")
    if _DRIVE.match(path):
        raise _bad(user_path, f"drive letters are not allowed; {_EXAMPLE}")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts:
        raise _bad(user_path, f"it names the project root, not a file; {_EXAMPLE}")
    for part in parts:
        _check_component(user_path, part)
    return "/".join(parts)


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def git_refuses(name: str, symlink: bool = False) -> str | None:
    """Why git would refuse `name` as a path component, or None.

    git's own path check (with the NTFS and HFS protections it applies) turns these away,
    and one such name on disk fails every `git add`; so they are refused here first.
    Matching is a little broader than git's ('git~2', '.git' in any case) on purpose.
    """
    if name.casefold() == ".git":
        return _GIT_RESERVED
    visible = "".join(ch for ch in name if ch not in _HFS_IGNORED)
    if visible != name and visible.casefold() == ".git":
        return f"{name!r} is '.git' with invisible characters macOS ignores, which git refuses"
    # NTFS drops trailing dots and spaces and reads 'name:stream' as 'name'.
    ntfs = visible.split(":", 1)[0].rstrip(". ")
    if ntfs.casefold() == ".git":
        return f"{name!r} is '.git' as Windows reads it, which git refuses"
    if _SHORT_GIT.match(ntfs):
        return f"{name!r} is the Windows short name of '.git', which git refuses"
    if symlink and ntfs.casefold() == ".gitmodules":
        return "git refuses a symbolic link named '.gitmodules'"
    return None


def _check_component(user_path: str, part: str) -> None:
    if part == "..":
        raise _bad(user_path, f"'..' is not allowed; {_EXAMPLE}")
    refused = git_refuses(part)
    if refused:
        hint = "" if refused == _GIT_RESERVED else "; pick another name"
        raise _bad(user_path, refused + hint)
    bad_chars = sorted({ch for ch in part if ch in RESERVED_CHARS})
    if bad_chars:
        shown = " ".join(bad_chars)
        raise _bad(user_path, f"the name {part!r} contains reserved characters ({shown})")
    if part[-1] in ". ":
        raise _bad(user_path, f"the name {part!r} ends with a dot or a space")
    if part.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES:
        raise _bad(user_path, f"{part!r} is a reserved device name on Windows; pick another name")
    if is_temp_name(part):
        raise _bad(user_path, f"names like {part!r} are reserved for temporary files")
    if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
        raise _bad(user_path, f"the name {part[:40]!r}... is longer than 255 bytes")


def _has_link(real_root: Path, rel: str) -> bool:
    """Whether a symlink (or anything odd) lies on `rel`'s way below `real_root`: if not,
    `real_root / rel` is its real path already, at one lstat per name rather than realpath's
    one per folder from `/` (`rel` is normalized: plain names, no '..')."""
    current = str(real_root)
    for part in rel.split("/"):
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False  # nothing exists below here, so no link either
        except OSError:
            return True  # let realpath decide (a loop, no permission...)
    return False


def resolve_in(root: Path, user_path: str, real_root: Path | None = None) -> Path:
    """Return the real absolute path of `user_path` inside `root`, or raise WorkspacePathError.

    Symlinks are resolved (at any depth, dangling ones included) and the result must stay
    inside the real root and outside `.git`, so a link cannot smuggle a write elsewhere.
    `real_root`: `realpath(root)`, when the caller has just taken it.
    """
    rel = normalize(user_path)
    real_root = Path(os.path.realpath(root)) if real_root is None else real_root
    target = real_root / rel
    if _has_link(real_root, rel):
        target = Path(os.path.realpath(target))
    if not target.is_relative_to(real_root):
        raise _bad(user_path, "it leads outside the project (through a symbolic link)")
    inner = target.relative_to(real_root)
    if not inner.parts:
        raise _bad(user_path, f"it names the project root, not a file; {_EXAMPLE}")
    if any(part.casefold() == ".git" for part in inner.parts):
        raise _bad(user_path, _GIT_RESERVED)
    return target

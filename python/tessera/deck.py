"""tessera.deck: input decks, exactly as tessera_app reads them.

    d = tessera.deck.load("inputs/denoise.toml", overrides={"noise.sigma": 0.2})
    d.get("grid.n")        # [256, 256]: typed, defaults applied
    d.study, d.path, d.text
    tessera.run(d)         # the study, as `mpirun tessera_app deck.toml` runs it

Loading is collective (rank 0 reads the file, every rank validates it against
the study schemas of tessera_app, then the study's own checks). A bad deck
raises tessera.TesseraError whose .problems lists (file, line, key, message)
for every problem found, .file/.line/.key those of the first."""
import json
import re

from . import _tessera
from ._tessera import TesseraError

__all__ = ["Deck", "load", "studies"]

# "FILE:LINE: ... key 'KEY' ..." / "FILE (default): key 'KEY': ..." /
# "--set 'k=v': key 'KEY': ..." (the library's deck messages)
_LOC = re.compile(r"^(?P<file>.*?)(?::(?P<line>\d+))?(?: \(default\))?: (?P<msg>.*)$")
_KEY = re.compile(r"key '([^']+)'")


def _toml(value):
    """A Python value as TOML value text (what --set takes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)        # a TOML basic string is a JSON string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"deck override: no TOML form for {type(value).__name__}")


def _sets(overrides):
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_toml(v)}" for k, v in overrides.items()]
    return [str(s) for s in overrides]


def _locate(err):
    """Give a deck error its problems: (file, line or None, key or None,
    message), in the order the library found them (its frames are deepest,
    i.e. latest, first)."""
    probs = []
    for fr in reversed(err.args[2] if len(err.args) > 2 else []):
        m = _LOC.match(fr[3])
        k = _KEY.search(fr[3])
        if m and (m.group("line") or k):
            probs.append((m.group("file"), int(m.group("line")) if m.group("line") else None,
                          k.group(1) if k else None, fr[3]))
        elif fr[3].startswith("cannot ") or fr[3].startswith("deck '"):   # unreadable file
            f = re.search(r"deck '([^']+)'", fr[3])
            probs.append((f.group(1) if f else None, None, None, fr[3]))
    err.problems = probs
    err.file, err.line, err.key = probs[0][:3] if probs else (None, None, None)
    return err


class Deck:
    """A validated deck (read-only): every schema key has a value."""

    def __init__(self, handle):
        self._h = handle
        self.path, self.study, self.text, keys = _tessera.deck_info(handle)
        self.keys = tuple(k for k, _ in keys)
        self._set = {k for k, s in keys if s}

    def get(self, path):
        """The value of a schema key: int, float, bool, str or a list."""
        return _tessera.deck_get(self._h, path)

    def __getitem__(self, path):
        return self.get(path)

    def is_set(self, path):
        """True if the deck or an override gave the key (else its default applies)."""
        return path in self._set

    def as_dict(self):
        return {k: self.get(k) for k in self.keys}

    def __repr__(self):
        return f"tessera.deck.Deck({self.path!r}, study={self.study!r})"


def load(path, overrides=None):
    """Load and validate a deck (collective on MPI_COMM_WORLD). overrides: a
    dict {"key.path": value} (Python values) or a list of "key.path=value"
    strings (TOML values, as tessera_app --set takes them)."""
    try:
        return Deck(_tessera.deck_load(str(path), _sets(overrides)))
    except TesseraError as e:
        raise _locate(e) from None


def studies():
    """[(name, summary)] of the studies tessera.run knows (tessera_app's)."""
    return _tessera.studies()

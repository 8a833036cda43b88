"""Reading one large JSON document piece by piece: a top-level object whose big array (a feed's offerings,
a JobStream snapshot) is yielded element by element, each with its own source text.

Built on the standard library's C decoder (`JSONDecoder.raw_decode`) over a text buffer refilled in chunks,
so memory stays at a chunk plus one element however long the document is, and each element's exact text is
at hand: a digest of it tells whether a record changed since the last run before any cleaning is done."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

CHUNK = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class JsonStreamError(ValueError):
    """The document is not valid JSON (or not the expected shape); the message is one line."""


@dataclass(frozen=True)
class Member:
    """A top-level member that is not streamed: its key and decoded value."""

    key: str
    value: Any


@dataclass(frozen=True)
class Element:
    """One element of the streamed array, decoded, with its source text."""

    index: int
    value: Any
    text: str


@dataclass(frozen=True)
class StreamStart:
    """The streamed member begins; `kind` is the JSON type found there ("array" unless the feed is wrong)."""

    key: str
    kind: str


class _Reader:
    def __init__(self, handle: BinaryIO, chunk: int = CHUNK) -> None:
        self.handle = handle
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of the buffer
        self.eof = False
        self.json = json.JSONDecoder()
        self._first = True

    def fill(self, size: int | None = None) -> bool:
        if self.eof:
            return False
        data = self.handle.read(size or self.chunk)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise JsonStreamError(f"not UTF-8 near byte {exc.start}") from None
        if self._first:
            text = text.lstrip("\ufeff")
            self._first = False
        if not data:
            self.eof = True
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0
        return bool(data) or bool(text)

    def peek(self) -> str:
        """The next non-whitespace character ("" at the end)."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise JsonStreamError(
                f"expected {char!r} at character {self.where()}, found {found or 'the end'!r}"
            )
        self.pos += 1

    def value(self) -> tuple[Any, int, int]:
        """Decodes the next value; returns it with its start and end in the buffer."""
        self.peek()
        size = self.chunk
        while True:
            start = self.pos
            try:
                value, end = self.json.raw_decode(self.buffer, start)
            except json.JSONDecodeError as exc:
                # Cut off by the buffer's end (more text will complete it), or simply wrong?
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buffer) - 64
                if self.eof or not cut:
                    raise JsonStreamError(f"{exc.msg} at character {self.consumed + exc.pos}") from None
                self.fill(size)
                size *= 2  # a value longer than a chunk: read more at a time
                continue
            if end >= len(self.buffer) and not self.eof:
                self.fill(size)  # a number (or anything) cut at the buffer's end: decode it whole
                size *= 2
                continue
            self.pos = end
            return value, start, end

    def where(self) -> int:
        return self.consumed + self.pos


def _kind(char: str) -> str:
    return {"[": "array", "{": "object", '"': "string", "": "nothing"}.get(
        char, "number" if char in "-0123456789" else "literal"
    )


def stream(
    handle: BinaryIO, key: str | None, *, chunk: int = CHUNK
) -> Iterator[Member | StreamStart | Element]:
    """Events of a document: with `key`, a top-level object whose member `key` is an array to stream (every
    other member is decoded whole); with `key=None`, a top-level array streamed element by element."""
    reader = _Reader(handle, chunk)
    if key is None:
        first = reader.peek()
        yield StreamStart("", _kind(first))
        if first == "[":
            yield from _elements(reader)
        _end(reader)
        return
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
        _end(reader)
        return
    while True:
        name, _, _ = reader.value()
        if not isinstance(name, str):
            raise JsonStreamError(f"an object key must be a string (character {reader.where()})")
        reader.expect(":")
        if name == key:
            kind = _kind(reader.peek())
            yield StreamStart(name, kind)
            if kind == "array":
                yield from _elements(reader)
            else:
                yield Member(name, reader.value()[0])
        else:
            yield Member(name, reader.value()[0])
        separator = reader.peek()
        reader.pos += 1
        if separator == "}":
            break
        if separator != ",":
            raise JsonStreamError(f"expected ',' or '}}' at character {reader.where() - 1}")
    _end(reader)


def _elements(reader: _Reader) -> Iterator[Element]:
    reader.expect("[")
    if reader.peek() == "]":
        reader.pos += 1
        return
    index = 0
    while True:
        value, start, end = reader.value()
        yield Element(index, value, reader.buffer[start:end])
        index += 1
        separator = reader.peek()
        reader.pos += 1
        if separator == "]":
            return
        if separator != ",":
            raise JsonStreamError(f"expected ',' or ']' at character {reader.where() - 1}")


def _end(reader: _Reader) -> None:
    if reader.peek() != "":
        raise JsonStreamError(f"extra data at character {reader.where()}")

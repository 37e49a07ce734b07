"""Reading export files a piece at a time: the parts every format shares.

Parsers take a buffered binary stream and yield ``(position, item)`` pairs,
where ``position`` is text such as ``"line 12"`` or ``"record 3"`` and
``item`` is a record payload for ``validate_record``, a :class:`Problem`
saying why the entry cannot be a record, or :data:`SKIPPED` for an entry
that is not sleep (Apple Health's time in bed). A file that cannot be read
on from some point raises :class:`UnreadableFileError`.

Nothing here holds more than one line, one JSON array element or one XML
element at a time, so memory stays flat however large the file.
"""

import codecs
import collections
import csv
import io
import json
from datetime import timezone

from sleeplog.errors import BadRequestError

#: A line longer than this is refused rather than held in memory.
MAX_LINE_BYTES = 1 << 20
#: One JSON array element larger than this ends the reading.
MAX_JSON_ITEM_CHARS = 16 << 20

_CHUNK = 1 << 16

Problem = collections.namedtuple("Problem", "reason")
Problem.__doc__ = "Why one entry of a file is not a sleep record."

#: What a parser yields for an entry that it reads and leaves out on purpose.
SKIPPED = object()


class UnreadableFileError(BadRequestError):
    """The file cannot be read on from ``position``, for ``reason``."""

    def __init__(self, position, reason):
        super().__init__(f"The file cannot be read at {position}: it {reason}.")
        self.position = position
        self.reason = reason


class _Replay(io.RawIOBase):
    """A raw stream that gives back ``head`` first, then the rest of ``file``."""

    def __init__(self, file, head, progress):
        self._file = file
        self._head = memoryview(head)
        self._progress = progress

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size

        data = self._file.read(len(buffer))
        if self._progress is not None and data:
            self._progress(len(data))
        buffer[: len(data)] = data
        return len(data)


def open_source(file, head_size, progress=None):
    """Read the first ``head_size`` bytes of ``file`` to look at.

    Returns ``(head, stream)``: ``stream`` is a buffered binary stream that
    reads the whole file again from its first byte, so detecting the format
    needs no seekable file. ``progress``, if given, is called with the number
    of bytes each time more of ``file`` is read.
    """
    head = file.read(head_size)
    if progress is not None and head:
        progress(len(head))
    return head, io.BufferedReader(_Replay(file, head, progress), _CHUNK)


def clip(text, limit):
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026"


def nearest_fold(naive, zone, hint):
    """The offset-bearing form of a wall time that a DST change made occur twice.

    Returns ``None`` when ``naive`` occurs once (or never) in ``zone``, and
    otherwise the one of its two occurrences nearer to the aware ``hint``.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if hint is None or first.utcoffset() == second.utcoffset():
        return None

    def distance(moment):
        return abs(moment.astimezone(timezone.utc) - hint)

    chosen = min((first, second), key=distance)
    return chosen.replace(tzinfo=timezone(chosen.utcoffset()))


class _Lines:
    """The decoded lines of a binary stream, counted, with bad ones noted."""

    def __init__(self, stream):
        self._stream = stream
        self.count = 0
        self.bad = {}

    def __iter__(self):
        return self

    def __next__(self):
        raw = self._stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.count += 1

        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = self._stream.readline(MAX_LINE_BYTES)
            self.bad[self.count] = f"is longer than {MAX_LINE_BYTES} bytes"
            return "\n"

        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad[self.count] = f"is not UTF-8 text (byte {exc.start + 1})"
            text = raw.decode("utf-8", "replace")
        if self.count == 1:
            text = text.lstrip("\ufeff")
        return text


def csv_rows(stream):
    """Yield ``(line, fields, problem)`` for each non-empty CSV row of ``stream``.

    ``line`` is the number of the row's first line. ``problem`` is ``None``
    or the reason the row cannot be trusted (bad UTF-8, an overlong line, a
    CSV syntax error), in which case ``fields`` may be ``None``.
    """
    lines = _Lines(stream)
    reader = csv.reader(lines)
    while True:
        first = lines.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield first, None, f"is not valid CSV: {exc}"
            continue

        problem = None
        if lines.bad:
            # The reader pulls only the lines of this row, so they are its own.
            problem = lines.bad[min(lines.bad)]
            lines.bad.clear()
        if fields or problem:
            yield first, fields, problem


class _JsonStream:
    """Pulls one JSON value at a time out of a binary stream."""

    def __init__(self, stream):
        self._stream = stream
        self._decode = codecs.getincrementaldecoder("utf-8")().decode
        self._decoder = json.JSONDecoder()
        self._text = ""
        self._pos = 0
        self._lines_before = 0  # newlines in text already dropped
        self._eof = False

    def line(self, pos=None):
        """The line number of ``pos`` (default: the current position)."""
        pos = self._pos if pos is None else pos
        return self._lines_before + self._text.count("\n", 0, pos) + 1

    def fail(self, reason, pos=None):
        raise UnreadableFileError(f"line {self.line(pos)}", reason)

    def _fill(self, size=_CHUNK):
        if self._pos > _CHUNK:
            self._lines_before += self._text.count("\n", 0, self._pos)
            self._text = self._text[self._pos :]
            self._pos = 0

        data = self._stream.read(size)
        try:
            self._text += self._decode(data, final=not data)
        except UnicodeDecodeError:
            self.fail("is not UTF-8 text", len(self._text))
        self._eof = not data
        return bool(data)

    def peek(self):
        """The next character that is not white space, or ``""`` at the end."""
        while True:
            while self._pos < len(self._text) and self._text[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._fill():
                return ""

    def expect(self, char, what):
        if self.peek() != char:
            self.fail(f"has no {what} where one belongs")
        self._pos += 1

    def value(self):
        """Decode the next value; read more of the stream until it is whole."""
        self.peek()
        size = _CHUNK
        while True:
            try:
                value, end = self._decoder.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                pending = len(self._text) - self._pos
                if self._eof or pending > MAX_JSON_ITEM_CHARS:
                    self.fail(f"is not valid JSON ({exc.msg})", exc.pos)
                self._fill(size)
                size *= 2
                continue
            except RecursionError:
                self.fail("is nested too deeply")
            except ValueError:
                # An integer of more than 4300 digits, refused by Python.
                self.fail("holds a number too long", self._pos)

            # A number at the very end of the text may go on in the next chunk.
            if end == len(self._text) and not self._eof:
                self._fill(size)
                continue
            self._pos = end
            return value


def json_items(stream, container_key):
    """Yield each element of a JSON array, one at a time.

    The array is the whole document, or the value of ``container_key`` in
    a top-level object whose other values are read and dropped. Raises
    :class:`UnreadableFileError` naming the line where the JSON breaks.
    """
    reader = _JsonStream(stream)
    first = reader.peek()
    if first == "[":
        yield from _array(reader)
    elif first == "{":
        yield from _object_member(reader, container_key)
    else:
        reader.fail("is not a JSON array or object")

    if reader.peek() != "":
        reader.fail("has more text after its JSON document")


def _array(reader):
    reader.expect("[", "array")
    if reader.peek() == "]":
        reader.expect("]", "end of the array")
        return

    while True:
        yield reader.value()
        if reader.peek() == ",":
            reader.expect(",", "comma")
            continue
        reader.expect("]", "comma or end of the array")
        return


def _object_member(reader, container_key):
    reader.expect("{", "object")
    if reader.peek() == "}":
        reader.expect("}", "end of the object")
        return

    while True:
        if reader.peek() != '"':
            reader.fail("has an object key that is not a string")
        key = reader.value()
        reader.expect(":", "colon")
        if key == container_key and reader.peek() == "[":
            yield from _array(reader)
        else:
            reader.value()

        if reader.peek() == ",":
            reader.expect(",", "comma")
            continue
        reader.expect("}", "comma or end of the object")
        return

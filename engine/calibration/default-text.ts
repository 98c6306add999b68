// The text calibration measures on when the user gives none. It is mixed on purpose: source code (mostly
// Python, with comments and docstrings, plus a little TypeScript and shell) and plain English prose, so
// that the removal order it yields is not tuned to one kind of text. It is original writing for Layer
// Dial, and the benchmark's held-out texts (bench/texts/) are different writing, so a benchmark never
// scores the order on the text that produced it.
//
// Calibration cost grows with its length (every candidate layer is scored on all of it), so it stays a
// few KB: about 5,800 tokens for a byte-level vocabulary, of which calibration reads the first 4,096 by
// default (DEFAULT_CALIBRATION_MAX_TOKENS: Python, a prose paragraph and TypeScript); a subword vocabulary
// fits all of it in about 1,500.

export const DEFAULT_CALIBRATION_TEXT_NAME = "built-in mixed code and prose";

export const DEFAULT_CALIBRATION_TEXT = String.raw`"""Small utilities for reading settings files and caching expensive lookups.

The functions here are deliberately boring: they take plain values, return plain
values, and raise a ValueError with a readable message when the input is wrong.
"""

import os
import re
from collections import OrderedDict


class LRUCache:
    """A mapping that forgets the least recently used entry once it is full."""

    def __init__(self, capacity=128):
        if capacity <= 0:
            raise ValueError("capacity must be positive, got %r" % (capacity,))
        self.capacity = capacity
        self._data = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        try:
            value = self._data.pop(key)
        except KeyError:
            self.misses += 1
            return default
        # re-insert so the key becomes the most recently used one
        self._data[key] = value
        self.hits += 1
        return value

    def put(self, key, value):
        if key in self._data:
            del self._data[key]
        elif len(self._data) >= self.capacity:
            self._data.popitem(last=False)
        self._data[key] = value

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return "<%s %d/%d hits=%d misses=%d>" % (
            type(self).__name__, len(self), self.capacity, self.hits, self.misses)


_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<key>[\w.-]+)\s*[=:]\s*(?P<value>.*)$")


def parse_settings(text, defaults=None):
    """Parse an INI-like text into a dict of sections.

    Blank lines and lines starting with '#' or ';' are ignored.  Values keep
    their inner spaces but lose surrounding whitespace.
    """
    sections = {}
    current = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault(match.group("name").strip(), dict(defaults or {}))
            continue
        match = _OPTION.match(line)
        if match is None:
            raise ValueError("line %d: expected 'key = value', got %r" % (lineno, raw))
        if current is None:
            raise ValueError("line %d: option outside of any section" % lineno)
        current[match.group("key").lower()] = match.group("value").strip()
    return sections


def find_config(start, name="settings.ini"):
    """Walk up from start until a directory containing name is found."""
    path = os.path.abspath(start)
    while True:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent

Why skip layers at all?

A language model reads every token through a stack of layers, one after the
other. Each layer adds a small correction to a shared running representation,
and most of the time that correction is modest. Skipping a few layers therefore
changes the answer less than one might fear, and it saves a fixed share of the
work for every token. The interesting question is which layers to skip: the
first layer turns token embeddings into the representation the others expect,
and the last one prepares what the output head reads, so both always run. Among
the layers in between, some matter much more than others, and the only reliable
way to find out which is to measure on real text.

    def tokens_per_second(count, seconds):
        if seconds <= 0:
            return float("inf")
        return count / seconds

export function debounce<T extends unknown[]>(fn: (...args: T) => void, waitMs: number) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return (...args: T) => {
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
            timer = undefined;
            fn(...args);
        }, waitMs);
    };
}

#!/bin/sh
set -eu
for file in "$@"; do
    printf '%s: %s lines\n' "$file" "$(wc -l < "$file")"
done

def read_records(path, encoding="utf-8"):
    """Yield one dict per non-empty line of a JSON-lines file."""
    import json
    with open(path, encoding=encoding) as stream:
        for number, line in enumerate(stream, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError("%s:%d: %s" % (path, number, error.msg)) from None


def summarize(records, key):
    """Count how often each value of key occurs, most common first."""
    counts = {}
    for record in records:
        value = record.get(key)
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))

The summary above sorts by count and then by the value's text, so two runs over
the same file always print the same order. That matters more than it seems:
people compare outputs by eye, and a table whose rows shuffle between runs
looks broken even when every number in it is right.

class Timer:
    """Context manager that measures the wall time of a block."""

    def __init__(self, clock=None):
        import time
        self._clock = clock or time.perf_counter
        self.elapsed = 0.0

    def __enter__(self):
        self._start = self._clock()
        return self

    def __exit__(self, *exc_info):
        self.elapsed = self._clock() - self._start
        return False


if __name__ == "__main__":
    import sys
    cache = LRUCache(capacity=2)
    for word in sys.argv[1:]:
        if cache.get(word) is None:
            cache.put(word, len(word))
    print(cache)
`;

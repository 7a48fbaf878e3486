"""Line-level bookkeeping for the Language agent: what one physical line opens or closes.

The Language agent never re-parses the committed prefix. It keeps the *spine* of the open
top-level statement (the compound statements that enclose the end of the prefix, each with its
clauses so far) and asks libcst about a small skeleton instead: the spine's headers in a neutral
form (`if _:`, `for _ in _:` ...), each closed clause with a `pass` body, then the candidate's
logical line. This module holds the pure pieces of that: a bracket/string scanner, indentation
widths, the spine values and the skeleton and closer texts built from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_NESTING = 200
"""CPython's limit on nested brackets (its tokenizer's MAXLEVEL); past it nothing compiles, and
the native libcst parser can overflow its stack a little further on, so we stop here."""

_KEYWORD = re.compile(
    r"(async[ \t\f]+(?:def|for|with)|def|class|for|while|try|with|if|elif|else|except|finally|match|case)(?![\w])"
)
CLAUSE_WORDS = frozenset({"else", "elif", "except", "finally"})
"""Keywords that continue the compound statement above them instead of starting a statement."""

HARD_COMPOUND = frozenset(
    {
        "def",
        "async def",
        "class",
        "for",
        "async for",
        "while",
        "try",
        "with",
        "async with",
        "if",
        "elif",
        "else",
        "except",
        "finally",
    }
)
"""Compound keywords that are never anything else (`match` and `case` are soft keywords)."""

_NEUTRAL = {
    "def": "def _():",
    "async def": "async def _():",
    "class": "class _:",
    "for": "for _ in _:",
    "async for": "async for _ in _:",
    "while": "while _:",
    "if": "if _:",
    "elif": "elif _:",
    "else": "else:",
    "try": "try:",
    "finally": "finally:",
    "with": "with _:",
    "async with": "async with _:",
    "match": "match _:",
    "case": "case 0:",
}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def keyword_of(text: str) -> str | None:
    """The compound keyword a logical line starts with (`async def` normalised), or None."""
    m = _KEYWORD.match(text)
    if not m:
        return None
    return " ".join(m.group(1).split())


def measure(ws: str) -> tuple[int, int]:
    """Indentation width as CPython's tokenizer sees it: (tabs to multiples of 8, tabs as 1).

    Two indentations are the same level only when both widths agree; when the two widths order
    them differently the indentation is ambiguous and CPython raises TabError, so we reject it too.
    """
    c8 = c1 = 0
    for ch in ws:
        if ch == "\t":
            c8 = (c8 // 8 + 1) * 8
            c1 += 1
        elif ch == "\f":
            c8 = c1 = 0
        else:
            c8 += 1
            c1 += 1
    return c8, c1


def split_indent(line: str) -> tuple[str, str]:
    """(leading whitespace, the rest)."""
    rest = line.lstrip(" \t\f")
    return line[: len(line) - len(rest)], rest


@dataclass(frozen=True)
class Scan:
    """Lexical state at the end of a physical line: open brackets, an open string, a backslash."""

    brackets: str = ""  # open bracket characters, innermost last
    quote: str = ""  # the closing quote of an open string ('"""', "'''", or a single quote after `\`)
    backslash: bool = False  # the line ends with a continuation backslash outside any string

    @property
    def open(self) -> bool:
        return bool(self.brackets or self.quote or self.backslash)


def scan_line(line: str, state: Scan) -> tuple[Scan, int, bool]:
    """Scan one physical line from `state`; returns (state after it, end of its code, error).

    The code ends where a comment starts (or at the end of the line). `error` is True for what
    the tokenizer refuses outright: an unmatched closing bracket, a stray backslash, a
    single-quoted string left open at the end of the line. String prefixes do not matter here:
    every string kind ends at its own unescaped quote.
    """
    brackets = list(state.brackets)
    quote = state.quote
    i, n = 0, len(line)
    code_end = n
    while i < n:
        if quote:
            k = i
            while k < n:
                if line[k] == "\\":
                    k += 2
                elif line.startswith(quote, k):
                    break
                else:
                    k += 1
            if k >= n:
                # k == n + 1: the last character was a backslash escaping the newline.
                unterminated = len(quote) == 1 and k == n
                return Scan("".join(brackets), quote), n, unterminated
            i = k + len(quote)
            quote = ""
            continue
        c = line[i]
        if c == "#":
            code_end = i
            break
        if c == '"' or c == "'":
            quote = c * 3 if line.startswith(c * 3, i) else c
            i += len(quote)
            continue
        if c in "([{":
            brackets.append(c)
        elif c in ")]}":
            if not brackets or _CLOSERS[brackets[-1]] != c:
                return Scan("".join(brackets)), n, True
            brackets.pop()
        elif c == "\\":
            if i == n - 1:
                return Scan("".join(brackets), "", True), i, False
            return Scan("".join(brackets)), n, True
        i += 1
    return Scan("".join(brackets), quote), code_end, False


def closers_of(scan: Scan) -> str:
    """Text that closes what `scan` left open, for a repair starting on a fresh line."""
    return scan.quote + ("_" if scan.backslash else "") + "".join(_CLOSERS[b] for b in reversed(scan.brackets))


@dataclass(frozen=True)
class Clause:
    """One clause header of a compound statement: `if`, then `elif`/`else`; `try`, `except`..."""

    keyword: str
    line_no: int  # the header's line number in the prefix (the keyword's line, after decorators)
    neutral: str  # the header in the skeleton: `if _:`, `except* _:`, `case 0:` ...
    inline: bool = False  # its body sits on the header line (`if x: return 1`)


@dataclass(frozen=True)
class Frame:
    """An open compound statement on the spine: the last statement of its enclosing suite."""

    indent: tuple[int, int]
    indent_str: str
    body_indent: tuple[int, int] | None  # the current clause's body indentation, once it has one
    clauses: tuple[Clause, ...]
    body_at: int = 0  # where the current clause's body starts in the state's compile_text

    @property
    def open_try(self) -> bool:
        """A `try` with no handler yet: it needs a `finally` closer to compile."""
        return len(self.clauses) == 1 and self.clauses[0].keyword == "try"


def neutral(keyword: str, header: str) -> str:
    """The skeleton's stand-in for a header; what matters to the grammar is kept, names are not."""
    if keyword == "except":
        rest = header[len("except") :].lstrip()
        if rest.startswith("*"):
            return "except* _:"
        return "except:" if rest.startswith(":") else "except _:"
    return _NEUTRAL[keyword]


def skeleton_body(keyword: str, pad: str) -> str:
    """A neutral body for a header at indentation `pad` in the skeleton (`match` needs a case)."""
    if keyword == "match":
        return f"{pad} case 0:\n{pad}  pass\n"
    return f"{pad} pass\n"


def real_body(keyword: str, indent: str) -> str:
    """A neutral body for a header written at indentation `indent` in real text."""
    if keyword == "match":
        return f"{indent}    case _:\n{indent}        pass\n"
    return f"{indent}    pass\n"


def render(frames: tuple[Frame, ...], open_last: bool) -> str:
    """The skeleton of the spine; with `open_last` the deepest clause still waits for its body."""
    out: list[str] = []
    last = len(frames) - 1
    for depth, frame in enumerate(frames):
        pad = " " * depth
        final = len(frame.clauses) - 1
        for k, clause in enumerate(frame.clauses):
            if clause.inline:
                out.append(f"{pad}{clause.neutral} pass\n")
                continue
            out.append(f"{pad}{clause.neutral}\n")
            if k < final or (depth == last and not open_last):
                out.append(skeleton_body(clause.keyword, pad))
    return "".join(out)


def skeleton_closers(frames: tuple[Frame, ...]) -> str:
    """`finally: pass` for each open try among `frames` (the enclosing ones), innermost first."""
    return "".join(f"{' ' * d}finally:\n{' ' * d} pass\n" for d in range(len(frames) - 1, -1, -1) if frames[d].open_try)


def real_closers(frames: tuple[Frame, ...]) -> str:
    """The same closers in real text, at each try's own indentation."""
    return "".join(f"{f.indent_str}finally:\n{f.indent_str}    pass\n" for f in reversed(frames) if f.open_try)

"""What changed between two versions of the SLA, section by section, for the compare page and for the
approver reviewing a version against the one in force.

Rules are compared sentence by sentence, prose by Markdown block (paragraph, list, table) rendered;
within a changed sentence or block, word by word. A change is said in words and marks, not only in
colour: <del>/<ins> with words for screen readers, and a label and symbol per row.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from agreements.clauses import SECTION_KEYS, SECTION_TITLES
from agreements.markdown import render_markdown
from agreements.models import AgreementVersion
from agreements.selectors import section_view

LABELS = {"equal": "Same", "replace": "Changed", "delete": "Removed", "insert": "Added"}
SYMBOLS = {"equal": "=", "replace": "±", "delete": "−", "insert": "+"}
# Below this likeness a changed sentence is shown as replaced whole: a word-by-word diff of two different
# sentences is harder to read than either.
WORD_DIFF_MIN_RATIO = 0.5


@dataclass(frozen=True)
class DiffRow:
    tag: str  # "equal", "replace", "delete", "insert"
    left: SafeString  # HTML; empty when the row is not in the left version
    right: SafeString

    @property
    def label(self) -> str:
        return LABELS[self.tag]

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.tag]

    @property
    def changed(self) -> bool:
        return self.tag != "equal"


@dataclass(frozen=True)
class SectionDiff:
    key: str
    title: str
    rules: list[DiffRow]
    prose: list[DiffRow]
    counts: dict[str, int] = field(default_factory=dict)  # "Added"/"Removed"/"Changed" -> rows

    @property
    def changed(self) -> bool:
        return any(row.changed for row in self.rules + self.prose)

    @property
    def parts(self) -> list[tuple[str, list[DiffRow]]]:
        return [("rules", self.rules), ("prose", self.prose)]

    @property
    def changed_parts(self) -> list[tuple[str, list[DiffRow]]]:
        return [(part, [row for row in rows if row.changed]) for part, rows in self.parts]

    @property
    def unchanged_parts(self) -> list[tuple[str, list[DiffRow]]]:
        return [(part, [row for row in rows if not row.changed]) for part, rows in self.parts]

    @property
    def unchanged_count(self) -> int:
        return sum(len(rows) for _, rows in self.unchanged_parts)

    @property
    def summary(self) -> str:
        """ "unchanged", "1 change", "3 changes: 2 changed, 1 added" """
        total = sum(self.counts.values())
        if not total:
            return "unchanged"
        kinds = [f"{n} {label.lower()}" for label, n in self.counts.items() if n]
        said = f"{total} change{'s' if total > 1 else ''}"
        return f"{said}: {', '.join(kinds)}" if len(kinds) > 1 else said


def _wrap(tag: str, said: str, html: str) -> SafeString:
    # Screen readers do not announce <del>/<ins> by default, so the change is also said in words.
    return format_html(
        '<{} class="{}"><span class="visually-hidden">{}: </span>{}</{}>',
        mark_safe(tag),
        "block" if html.lstrip().startswith("<") else "words",
        said,
        mark_safe(html),
        mark_safe(tag),
    )


def _removed(html: str) -> SafeString:
    return _wrap("del", "removed", html)


def _added(html: str) -> SafeString:
    return _wrap("ins", "added", html)


# Tags, whitespace and words of rendered (already safe) HTML. A diff over these tokens wraps only runs of
# words in <del>/<ins>; each side still gives out every one of its own tags in order, so it stays well formed.
_TOKENS = re.compile(r"<[^>]*>|\s+|[^\s<]+")


def _marked(tokens: list[str], mark) -> str:
    out, words = [], []
    for token in [*tokens, "<"]:  # a sentinel tag flushes the last run
        if token.startswith("<"):
            text = "".join(words)
            if text.strip():
                out.append(mark(text))
            elif text:
                out.append(text)
            words = []
            out.append(token)
        else:
            words.append(token)
    return "".join(out[:-1])


def _word_diff(left: str, right: str) -> tuple[SafeString, SafeString]:
    """Two HTML fragments with their differing words marked; whole when they have little in common."""
    a, b = _TOKENS.findall(left), _TOKENS.findall(right)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    if matcher.ratio() < WORD_DIFF_MIN_RATIO:
        return _removed(left), _added(right)
    out_a: list[str] = []
    out_b: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out_a += a[i1:i2]
            out_b += b[j1:j2]
            continue
        out_a.append(_marked(a[i1:i2], _removed))
        out_b.append(_marked(b[j1:j2], _added))
    return mark_safe("".join(out_a)), mark_safe("".join(out_b))


def _rows(left: list[str], right: list[str], render) -> list[DiffRow]:
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a, b = left[i1:i2], right[j1:j2]
        if tag == "equal":
            rows += [DiffRow(tag, render(x), render(y)) for x, y in zip(a, b, strict=True)]
            continue
        for index in range(max(len(a), len(b))):
            old = a[index] if index < len(a) else None
            new = b[index] if index < len(b) else None
            if old is not None and new is not None:
                rows.append(DiffRow("replace", *_word_diff(render(old), render(new))))
            elif old is not None:
                rows.append(DiffRow("delete", _removed(render(old)), mark_safe("")))
            else:
                rows.append(DiffRow("insert", mark_safe(""), _added(render(new))))
    return rows


def _blocks(markdown: str) -> list[str]:
    """Markdown split at blank lines: a paragraph, a list, a table each compare and render as one."""
    return [block.strip() for block in re.split(r"\n\s*\n", markdown.replace("\r\n", "\n")) if block.strip()]


def _counts(rows: list[DiffRow]) -> dict[str, int]:
    return {label: sum(1 for r in rows if r.label == label) for label in ("Changed", "Added", "Removed")}


def version_diff(left: AgreementVersion, right: AgreementVersion) -> list[SectionDiff]:
    """Both versions side by side, section by section. Prefetch both versions' sections."""
    out = []
    for key in SECTION_KEYS:
        a = section_view(left.section_map.get(key), key)
        b = section_view(right.section_map.get(key), key)
        rules = _rows([t for _, t in a.rules], [t for _, t in b.rules], escape)
        prose = _rows(_blocks(a.prose), _blocks(b.prose), render_markdown)
        out.append(SectionDiff(key, SECTION_TITLES[key], rules, prose, _counts(rules + prose)))
    return out

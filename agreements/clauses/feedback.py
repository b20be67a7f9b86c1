"""Section 7, Feedback: the questions a sales rep answers after contacting a lead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import Section, _code, _Collector, _list, _obj, _text, _unique

QUESTION_TEXT_MAX = 500


@dataclass(frozen=True)
class FeedbackQuestion:
    code: str
    text: str


@dataclass(frozen=True)
class Feedback:
    questions: tuple[FeedbackQuestion, ...]


def parse_feedback(data: Any) -> Feedback:
    errs = _Collector()
    data = _obj(data, ("questions",), errs)
    questions = []
    for index, raw in enumerate(_list(data, "questions", errs, "", min_items=1)):
        path = f"questions.{index}"
        raw = _obj(raw, ("code", "text"), errs, path)
        code = _code(raw.get("code"), errs, f"{path}.code")
        text = _text(raw, "text", errs, f"{path}.", max_len=QUESTION_TEXT_MAX)
        questions.append(FeedbackQuestion(code or "", text))
    _unique(questions, "code", errs, "questions", "code")
    errs.raise_if_any()
    return Feedback(tuple(questions))


def to_data(section: Feedback) -> dict[str, Any]:
    return {"questions": [{"code": q.code, "text": q.text} for q in section.questions]}


def sentences(section: Feedback) -> list[tuple[str, str]]:
    return [
        (f"feedback.{q.code}", f"After contacting a lead, the rep answers: {q.text}")
        for q in section.questions
    ]


SECTION = Section("feedback", "7. Feedback", Feedback, parse_feedback, to_data, sentences)

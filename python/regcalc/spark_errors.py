"""Spark and py4j exceptions as one line a user can act on, never a JVM stack trace.

Spark wraps the reason of a failure in layers ("An error occurred while calling o92.collectToPython.
: org.apache.spark.SparkException: Job aborted due to stage failure: ... : org.apache.spark.SparkException:
[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Encountered error while reading file file:///x.parquet.
..." followed by the stack). `describe` keeps the innermost message that carries an error condition, on
one line, without Java class names and with files as plain paths. Translation happens at the edges:
where an input is read (`translated`, naming the input and the fix) and, as the last resort, in the
command line's `main`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from regcalc.settings import RegcalcError

_JAVA_CLASS_PREFIX = re.compile(r"^.*\b(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\s*:\s*")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\.?")
_FILE_URI = re.compile(r"\bfile:/+")
_MAX_LENGTH = 400


def is_spark_error(error: BaseException) -> bool:
    """True for exceptions raised by PySpark or py4j (Spark's errors as they reach Python)."""
    return type(error).__module__.split(".")[0] in ("pyspark", "py4j")


def _messages(error: BaseException) -> list[str]:
    """Messages of the exception and, for a JVM exception, of its causes, outermost first."""
    java = getattr(error, "java_exception", None)
    if java is None:
        getter = getattr(error, "getMessage", None)
        return [getter() if callable(getter) else str(error)]
    messages = []
    try:
        while java is not None and len(messages) < 20:
            messages.append(java.getMessage() or java.toString())
            java = java.getCause()
    except Exception:  # noqa: BLE001 - the JVM is gone; Python's copy of the text is all there is
        messages.append(str(error))
    return messages


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = _JAVA_CLASS_PREFIX.sub("", lines[0]) if lines else ""
    text = _FILE_URI.sub("/", _SQLSTATE.sub("", text)).strip()
    return text if len(text) <= _MAX_LENGTH else text[: _MAX_LENGTH - 3] + "..."


def describe(error: BaseException) -> str:
    """Spark's reason for `error` on one line: the innermost message with an error condition
    (`[CONDITION] text`), else the outermost message; no class names, no stack trace."""
    messages = [message for message in _messages(error) if message and message.strip()]
    if not messages:
        return type(error).__name__
    with_condition = [message for message in messages if _one_line(message).startswith("[")]
    return _one_line((with_condition or messages)[-1]) or type(error).__name__


@contextmanager
def translated(what: str, fix: str, error_type: type[RegcalcError] = RegcalcError) -> Iterator[None]:
    """Raise a Spark / py4j exception of the body as `error_type("<what>: <Spark's reason>; <fix>")`."""
    try:
        yield
    except Exception as error:
        if not is_spark_error(error):
            raise
        raise error_type(f"{what}: {describe(error)}; {fix}") from error

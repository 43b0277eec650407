"""Helpers for the DIA answer checkers (tests/test_dia_answers_*.py).

A checker reads a question the way a person would: from its text alone (the description
with its BEGIN/END FILE blocks, and the task), and recomputes the answer independently of the
generator, with other algorithms or libraries where they exist."""

from __future__ import annotations

import base64
import math
import re


def numbers(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"-?\d+", text)]


def value(name: str, text: str) -> int:
    return int(re.search(rf"\b{re.escape(name)} = (-?\d+)", text).group(1))


def quoted(text: str, index: int = 0) -> str:
    return re.findall(r"'([^']*)'", text)[index]


def after(marker: str, text: str) -> str:
    return text.split(marker, 1)[1]


def files(text: str) -> dict[str, bytes]:
    """The artefacts of a question, parsed from its text."""
    out = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"-----BEGIN FILE (\S+?)( BASE64)?-----", lines[i])
        if not match:
            i += 1
            continue
        name, binary = match.group(1), bool(match.group(2))
        end = lines.index(f"-----END FILE {name}-----", i)
        body = lines[i + 1:end]
        out[name] = base64.b64decode("".join(body)) if binary else ("\n".join(body) + "\n").encode()
        i = end + 1
    return out


def text_file(text: str, name: str) -> str:
    return files(text)[name].decode()


def trial_division_is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def miller_rabin(n: int) -> bool:
    """Deterministic for n < 3.3e24 (first 13 prime bases); written independently."""
    if n < 2:
        return False
    small = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41]
    if n in small:
        return True
    if any(n % p == 0 for p in small):
        return False
    s, d = 0, n - 1
    while not d & 1:
        s, d = s + 1, d >> 1
    for a in small:
        x = pow(a, d, n)
        if x == 1 or x == n - 1:
            continue
        if all(pow(x, 2**r, n) != n - 1 for r in range(1, s)):
            return False
    return True


def caesar(text: str, shift: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    shift %= 26
    table = str.maketrans(alphabet + alphabet.upper(),
                          alphabet[shift:] + alphabet[:shift] + (alphabet[shift:] + alphabet[:shift]).upper())
    return text.translate(table)

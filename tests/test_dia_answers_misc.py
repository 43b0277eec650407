"""Independent checkers for the Puzzle, Instruction following, Program understanding,
Reasoning and CAPTCHA templates."""

from __future__ import annotations

import re

from tests.test_dia_answers_common import after, numbers


def hanoi_state(d, t):
    """Disk d moves at steps k = 2^(d-1) (mod 2^d), always cycling the same way: A->C->B for
    disks of the same parity as the largest, A->B->C for the others."""
    n = int(re.search(r"with (\d+) disks", d).group(1))
    k = int(re.search(r"first (\d+) moves", t).group(1))
    pegs = []
    for disk in range(1, n + 1):
        moves = (k + 2 ** (disk - 1)) // 2**disk
        cycle = "ACB" if (n - disk) % 2 == 0 else "ABC"
        pegs.append(cycle[moves % 3])
    return "".join(pegs)


def josephus_survivor(d, t):
    n, k = numbers(d)[0], int(re.search(r"every (\d+)th", d).group(1))
    survivor = 0
    for size in range(2, n + 1):  # J(n) = (J(n-1) + k) mod n
        survivor = (survivor + k) % size
    return str(survivor + 1)


def knight_shortest_paths(d, t):
    size = int(re.search(r"On a (\d+)x", d).group(1))
    walls = after("these squares: ", d).rstrip(".")
    blocked = set() if walls == "none" else {(ord(s[0]) - 97, int(s[1:]) - 1) for s in walls.split(", ")}
    start, end = [(ord(s[0]) - 97, int(s[1:]) - 1) for s in re.findall(r"([a-z]\d+)", after("lead from ", t))]
    layer, seen, counts = {start: 1}, {start}, None
    while layer and end not in layer:
        nxt: dict = {}
        for (x, y), ways in layer.items():
            for dx, dy in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1)):
                p = (x + dx, y + dy)
                if 0 <= p[0] < size and 0 <= p[1] < size and p not in blocked and p not in seen:
                    nxt[p] = nxt.get(p, 0) + ways
        seen |= set(nxt)
        layer = nxt
    counts = layer[end]
    return str(counts)


def string_edits(d, t):
    text = re.search(r"Start with the string ([a-z]+)\n", d).group(1)
    for step in re.findall(r"^\d+\. (.*)$", d, re.MULTILINE):
        n = numbers(step)
        if step.startswith("delete"):
            text = text[:n[0] - 1] + text[n[0]:]
        elif step.startswith("insert"):
            letter = re.search(r"letter ([A-Z])", step).group(1)
            text = text[:n[0] - 1] + letter + text[n[0] - 1:]
        elif step.startswith("replace"):
            a, b = re.search(r"every ([a-z]) with ([a-z])", step).groups()
            text = text.replace(a, b)
        elif step.startswith("reverse"):
            text = text[:n[0] - 1] + text[n[0] - 1:n[1]][::-1] + text[n[1]:]
        elif step.startswith("swap"):
            chars = list(text)
            chars[n[0] - 1], chars[n[1] - 1] = chars[n[1] - 1], chars[n[0] - 1]
            text = "".join(chars)
        else:
            text = text[n[0]:] + text[:n[0]]
    return text


def _pari(d):
    a, b, c = map(int, re.search(r"sum\(i = (\d+), (\d+), i\^2 \+ \((-?\d+)\)\*i\)", d).groups())
    modulus = int(re.search(r"print\(s % (\d+)\)", d).group(1))
    total = (b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) // 6 + c * (b * (b + 1) - (a - 1) * a) // 2
    return str(total % modulus)


def pari_sum(d, t):
    return _pari(d)


def pari_sum_adversarial(d, t):
    return _pari(d)


GLYPHS = {
    "###|#.#|#.#|#.#|###": "0", ".#.|##.|.#.|.#.|###": "1", "###|..#|###|#..|###": "2", "###|..#|###|..#|###": "3",
    "#.#|#.#|###|..#|..#": "4", "###|#..|###|..#|###": "5", "###|#..|###|#.#|###": "6", "###|..#|.#.|.#.|.#.": "7",
    "###|#.#|###|#.#|###": "8", "###|#.#|###|..#|###": "9",
}


def ascii_captcha(d, t):
    ink, paper = re.search(r"\('(.)' is ink, '(.)' is background", d).groups()
    rows = [line[1:-1] for line in d.splitlines() if line.startswith("|")]
    rows = ["".join("#" if c == ink else "." for c in row) for row in rows]
    digits = []
    for x in range(0, len(rows[0]), 5):
        digits.append(GLYPHS["|".join(row[x:x + 3] for row in rows)])
    return "".join(digits)


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

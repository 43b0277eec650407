"""DIA templates: Puzzle Solving, Instruction following, Program understanding, Problem
Solving and Reasoning, CAPTCHA solving."""

from __future__ import annotations

import string

from codeharness.tasks.dia_templates_core import (
    CAPTCHA,
    INSTRUCTIONS,
    PROGRAM,
    PUZZLE,
    REASONING,
    Question,
    independent_hint,
    random_text,
    template,
)


@template(PUZZLE, code=False, steps=2)
def hanoi_state(rng):
    n = rng.randrange(14, 41)
    k = rng.randrange(1, 2**n - 1)
    pegs = [""] * (n + 1)

    def place(disks: int, moves: int, source: str, target: str, spare: str) -> None:
        while disks:  # after `moves` moves of the optimal solution moving `disks` disks
            half = 1 << (disks - 1)
            if moves < half:
                pegs[disks] = source
                source, target, spare = source, spare, target
            else:
                pegs[disks] = target
                moves -= half
                source, target, spare = spare, target, source
            disks -= 1

    place(n, k, "A", "C", "B")
    return Question(f"Tower of Hanoi with {n} disks, numbered 1 (smallest) to {n} (largest), all starting on peg A. "
                    f"The optimal solution moves them all to peg C in 2^{n} - 1 moves.",
                    f"After the first {k} moves of the optimal solution, on which peg is each disk? Give the pegs of "
                    f"disks 1 to {n} as one string of letters, disk 1 first.", "".join(pegs[1:]), "pegs",
                    "The largest disk moves at move 2^(n-1); recurse on the smaller disks.")


def _josephus(n: int, k: int) -> int:
    """0-based survivor in O(k log n): remove n // k people per round (for k >= 2)."""
    if n == 1:
        return 0
    if k > n:
        return (_josephus(n - 1, k) + k) % n
    removed = n // k
    result = _josephus(n - removed, k) - n % k
    return result + n if result < 0 else result + result // (k - 1)


@template(PUZZLE, code=True)
def josephus_survivor(rng):
    n, k = rng.randrange(10, 10**6), rng.randrange(2, 31)
    survivor = _josephus(n, k)
    return Question(f"{n} people stand in a circle, numbered 1 to {n}. Counting starts at person 1; every {k}th person "
                    f"is removed and counting resumes with the next person.",
                    "Which person remains last?", str(survivor + 1), "person",
                    "The Josephus recurrence J(n) = (J(n-1) + k) mod n.")


@template(PUZZLE, code=True, search=100)
def knight_shortest_paths(rng):
    size = rng.randrange(8, 15)
    files = string.ascii_lowercase[:size]
    while True:
        blocked = {(rng.randrange(size), rng.randrange(size)) for _ in range(rng.randrange(size // 2, 2 * size))}
        start = (rng.randrange(size), rng.randrange(size))
        if start in blocked:
            continue
        distance, count, frontier = {start: 0}, {start: 1}, [start]
        for square in frontier:
            x, y = square
            for dx, dy in ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1)):
                nxt = (x + dx, y + dy)
                if not (0 <= nxt[0] < size and 0 <= nxt[1] < size) or nxt in blocked:
                    continue
                if nxt not in distance:
                    distance[nxt], count[nxt] = distance[square] + 1, count[square]
                    frontier.append(nxt)
                elif distance[nxt] == distance[square] + 1:
                    count[nxt] += count[square]
        far = sorted(square for square, d in distance.items() if d >= 5)
        if far:
            end = rng.choice(far)
            break
    name = lambda sq: f"{files[sq[0]]}{sq[1] + 1}"  # noqa: E731
    walls = ", ".join(name(sq) for sq in sorted(blocked)) or "none"
    return Question(f"On a {size}x{size} board (files a-{files[-1]}, ranks 1-{size}) a knight may not enter these "
                    f"squares: {walls}.",
                    f"How many different shortest knight paths lead from {name(start)} to {name(end)}?",
                    str(count[end]), "count", "Breadth-first search that counts the shortest paths to each square.")


def _edits(rng, text: str) -> tuple[list[str], str]:
    steps = []
    for _ in range(rng.randrange(5, 8)):
        kind, n = rng.randrange(6), len(text)
        p, q = sorted(rng.sample(range(1, n + 1), 2))
        if kind == 0:
            steps.append(f"delete the character at position {p}")
            text = text[:p - 1] + text[p:]
        elif kind == 1:
            c = rng.choice(string.ascii_uppercase)
            steps.append(f"insert the letter {c} before position {p}")
            text = text[:p - 1] + c + text[p - 1:]
        elif kind == 2:
            a, b = rng.sample(string.ascii_lowercase, 2)
            steps.append(f"replace every {a} with {b}")
            text = text.replace(a, b)
        elif kind == 3:
            steps.append(f"reverse the characters from position {p} to position {q}")
            text = text[:p - 1] + text[p - 1:q][::-1] + text[q:]
        elif kind == 4:
            steps.append(f"swap the characters at positions {p} and {q}")
            chars = list(text)
            chars[p - 1], chars[q - 1] = chars[q - 1], chars[p - 1]
            text = "".join(chars)
        else:
            k = rng.randrange(1, 10)
            steps.append(f"move the first {k} characters to the end")
            text = text[k:] + text[:k]
    return steps, text


@template(INSTRUCTIONS, code=False, steps=2)
def string_edits(rng):
    text = random_text(rng, rng.randrange(60, 101), string.ascii_lowercase)
    steps, result = _edits(rng, text)
    numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))
    return Question(f"Start with the string {text}\nApply these edits in order (positions count from 1 in the string "
                    f"as it is at that step):\n{numbered}", "What is the final string?", result, "string",
                    "Apply the edits one at a time.")


def _pari(rng) -> tuple[str, str]:
    a, b, c = rng.randrange(1, 100), rng.randrange(100, 500), rng.randrange(-20, 21)
    modulus = rng.randrange(1000, 10**5)
    source = f"s = sum(i = {a}, {b}, i^2 + ({c})*i);\nprint(s % {modulus})"
    return source, str(sum(i * i + c * i for i in range(a, b + 1)) % modulus)


@template(PROGRAM, code=True)
def pari_sum(rng):
    source, answer = _pari(rng)
    return Question(f"Consider this PARI/GP code:\n{source}", "What does it print?", answer, "output",
                    "sum(i = a, b, f) adds f for i from a to b inclusive; % is the remainder.")


@template(REASONING, code=True, adversarial=True)
def pari_sum_adversarial(rng):
    """The comment's output belongs to an independent program of the same kind."""
    source, answer = _pari(rng)
    hint = independent_hint(_pari, rng)
    return Question(f"Consider this PARI/GP code:\n\\\\ output: {hint}\n{source}", "What does it print?", answer,
                    "output", "sum(i = a, b, f) adds f for i from a to b inclusive; the comment is stale.", hint=hint)


FONT = {
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
}


@template(CAPTCHA, code=False)
def ascii_captcha(rng):
    digits = random_text(rng, rng.randrange(6, 9), string.digits)
    ink, paper = rng.choice("#@*%X"), rng.choice(".: ")
    rows = ["..".join(FONT[d][r] for d in digits).replace("#", ink).replace(".", paper) for r in range(5)]
    picture = "\n".join(f"|{row}|" for row in rows)
    return Question(f"This CAPTCHA draws digits in a 3x5 pixel font ('{ink}' is ink, '{paper}' is background; the "
                    f"picture is framed by | characters):\n{picture}", "Which digits does it show?", digits, "digits",
                    "Read the digits left to right.")

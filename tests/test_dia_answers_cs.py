"""Independent checkers for the Computer Science templates."""

from __future__ import annotations

import bisect
import itertools
import math
import re
from functools import lru_cache

from tests.test_dia_answers_common import after, numbers, quoted, text_file, value

MORSE = {".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h", "..": "i",
         ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p", "--.-": "q", ".-.": "r",
         "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z",
         "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
         "--...": "7", "---..": "8", "----.": "9"}


def decimal_to_binary(d, t):
    n, bits = numbers(d)[0], ""
    while n:
        bits, n = str(n % 2) + bits, n // 2
    return bits


def hex_to_decimal(d, t):
    digits = re.search(r"number ([0-9A-F]+)\.", d).group(1)
    return str(sum("0123456789ABCDEF".index(c) * 16**i for i, c in enumerate(reversed(digits))))


def to_base_n(d, t):
    n, base = numbers(d)[0], int(re.search(r"base (\d+)", t).group(1))
    digits = ""
    while n:
        digits = str(n % base) + digits
        n //= base
    return digits


def popcount(d, t):
    return str(sum(bin(int(c, 16)).count("1") for c in re.search(r"digits ([0-9a-f]+)\.", d).group(1)))


def trailing_zero_bits(d, t):
    n, count = numbers(d)[0], 0
    while n % 2 == 0:
        n, count = n // 2, count + 1
    return str(count)


def xor_of_hex(d, t):
    a, b = re.search(r"a = (\w+) and b = (\w+)\.", d).groups()
    return hex(int(a, 16) ^ int(b, 16))[2:]


def twos_complement(d, t):
    n, width = numbers(d)[0], int(re.search(r"its (\d+)-bit", t).group(1))
    return (2**width + n).to_bytes(width // 8, "big").hex().upper()


def gray_code(d, t):
    bits = bin(value("n", d))[2:]
    return bits[0] + "".join(str(int(a) ^ int(b)) for a, b in zip(bits, bits[1:]))


def sort_numbers(d, t):
    return ",".join(map(str, sorted(numbers(after("integers: ", d)))))


def max_sum_increasing_subsequence(d, t):
    seq = numbers(after("sequence: ", d))

    @lru_cache(maxsize=None)
    def best_from(i):  # best sum of an increasing subsequence starting at i
        return seq[i] + max([best_from(j) for j in range(i + 1, len(seq)) if seq[j] > seq[i]], default=0)

    return str(max(best_from(i) for i in range(len(seq))))


def edit_distance(d, t):
    a, b = quoted(d, 0), quoted(d, 1)

    @lru_cache(maxsize=None)
    def dist(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(dist(i - 1, j) + 1, dist(i, j - 1) + 1, dist(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return str(dist(len(a), len(b)))


def count_inversions(d, t):
    seq = numbers(after("list: ", d))
    return str(sum(x > y for x, y in itertools.combinations(seq, 2)))


def _edges(d):
    return [(u, v, int(w)) for u, v, w in re.findall(r"([A-Z])-([A-Z]):(\d+)", d)]


def shortest_path(d, t):
    edges = _edges(d)
    target = re.search(r"from A to ([A-Z])", t).group(1)
    nodes = {x for u, v, _ in edges for x in (u, v)}
    distance = {n: math.inf for n in nodes}
    distance["A"] = 0
    for _ in range(len(nodes)):  # Bellman-Ford
        for u, v, w in edges:
            distance[v] = min(distance[v], distance[u] + w)
            distance[u] = min(distance[u], distance[v] + w)
    return str(distance[target])


def evaluate_rpn(d, t):
    tokens = after("notation: ", d).split(" (a comment")[0].split()
    while len(tokens) > 1:  # reduce the first operator in place
        i = next(i for i, tok in enumerate(tokens) if tok in "+-*")
        tokens[i - 2:i + 1] = [str(eval(f"({tokens[i - 2]}){tokens[i]}({tokens[i - 1]})"))]  # noqa: S307
    return tokens[0]


def morse_decode(d, t):
    code = after("' / '): ", d)
    return " ".join("".join(MORSE[s] for s in word.split()) for word in code.split(" / "))


def count_character(d, t):
    return str(quoted(d).count(re.search(r"letter '(\w)'", t).group(1)))


def count_character_adversarial(d, t):
    return count_character(d, t)


def array_rotation(d, t):
    items = numbers(re.search(r"\[([^\]]*)\]", d).group(1))
    k = numbers(after("by ", t))[0]
    for _ in range(k):
        items = [items[-1]] + items[:-1]
    return ",".join(map(str, items))


def sort_remove_every_nth(d, t):
    seq, n = sorted(numbers(after("list: ", d))), int(re.search(r"every (\d+)th", t).group(1))
    del seq[n - 1::n]
    return ",".join(map(str, seq))


def reverse_string(d, t):
    return "".join(reversed(quoted(d)))


def binary_search_index(d, t):
    seq, x = numbers(after("list: ", d)), numbers(after("value ", t))[0]
    return str(bisect.bisect_left(seq, x))


def merge_sorted_lists(d, t):
    a = numbers(re.search(r"A = \[([^\]]*)\]", d).group(1))
    b = numbers(re.search(r"B = \[([^\]]*)\]", d).group(1))
    out, i, j = [], 0, 0
    while i < len(a) or j < len(b):
        if j == len(b) or (i < len(a) and a[i] <= b[j]):
            out, i = out + [a[i]], i + 1
        else:
            out, j = out + [b[j]], j + 1
    return ",".join(map(str, out))


def shortest_common_supersequence(d, t):
    a, b = quoted(d, 0), quoted(d, 1)

    @lru_cache(maxsize=None)
    def lcs(i, j):
        if i == len(a) or j == len(b):
            return 0
        return lcs(i + 1, j + 1) + 1 if a[i] == b[j] else max(lcs(i + 1, j), lcs(i, j + 1))

    return str(len(a) + len(b) - lcs(0, 0))


def missing_number(d, t):
    n = int(re.search(r"from 1 to (\d+)", d).group(1))
    return str(next(iter(set(range(1, n + 1)) - set(numbers(after("shuffled: ", d))))))


def hamming_distance(d, t):
    a, b = re.search(r"a = ([01]+) and b = ([01]+)", d).groups()
    return str(bin(int(a, 2) ^ int(b, 2)).count("1"))


def kth_largest(d, t):
    k = int(re.search(r"its (\d+)th", t).group(1))
    return str(sorted(numbers(after("integers: ", d)))[-k])


def min_max_product(d, t):
    seq = sorted(numbers(after("list: ", d)))
    return str(seq[0] * seq[-1])


def even_odd_count(d, t):
    seq = numbers(after("list: ", d))
    odd = sum(x & 1 for x in seq)
    return f"{len(seq) - odd},{odd}"


def grid_paths_with_obstacles(d, t):
    grid = [line for line in d.split("\n")[1:] if line]

    @lru_cache(maxsize=None)
    def paths(r, c):
        if r >= len(grid) or c >= len(grid[0]) or grid[r][c] == "#":
            return 0
        if (r, c) == (len(grid) - 1, len(grid[0]) - 1):
            return 1
        return paths(r + 1, c) + paths(r, c + 1)

    return str(paths(0, 0))


def max_subarray_sum(d, t):
    seq = numbers(after("list: ", d))
    prefix = list(itertools.accumulate(seq, initial=0))
    return str(max(prefix[j] - prefix[i] for i in range(len(seq)) for j in range(i + 1, len(seq) + 1)))


def longest_balanced_run(d, t):
    bits = re.search(r"bit string ([01]+)", d).group(1)
    return str(max((j - i for i in range(len(bits)) for j in range(i, len(bits) + 1, 2)
                    if bits[i:j].count("1") * 2 == j - i), default=0))


def python_function_output(d, t):
    namespace: dict = {}
    exec(after("function:\n", d), namespace)  # noqa: S102 - our own generated code
    return str(namespace["f"](numbers(after("f(", t))[0]))


def topological_order(d, t):
    nodes = re.search(r"nodes ([A-Z, ]+) has", d).group(1).split(", ")
    edges = re.findall(r"([A-Z])->([A-Z])", d)
    order = []
    remaining = set(nodes)
    while remaining:
        node = min(n for n in remaining if not any(v == n and u in remaining for u, v in edges))
        order.append(node)
        remaining.remove(node)
    return "".join(order)


def maze_shortest_paths(d, t):
    grid = [line for line in after("exit):\n", d).split("\n") if line]
    cells = {(r, c): ch for r, row in enumerate(grid) for c, ch in enumerate(row)}
    start = next(k for k, v in cells.items() if v == "S")
    seen, layer = {start}, {start: 1}
    while layer:
        ends = [ways for p, ways in layer.items() if cells[p] == "E"]
        if ends:
            return str(ends[0])
        nxt: dict = {}
        for (r, c), ways in layer.items():
            for p in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if cells.get(p, "#") != "#" and p not in seen:
                    nxt[p] = nxt.get(p, 0) + ways
        seen |= set(nxt)
        layer = nxt
    raise AssertionError("no path")


def knapsack(d, t):
    capacity = int(re.search(r"at most (\d+)", d).group(1))
    items = [(int(w), int(v)) for w, v in re.findall(r"\(weight (\d+), value (\d+)\)", d)]

    @lru_cache(maxsize=None)
    def best(i, room):
        if i == len(items):
            return 0
        w, v = items[i]
        return max(best(i + 1, room), v + best(i + 1, room - w) if w <= room else 0)

    return str(best(0, capacity))


def coin_change_ways(d, t):
    coins = numbers(after("denominations ", d).split("(")[0])
    amount = int(re.search(r"amount (\d+)", t).group(1))

    @lru_cache(maxsize=None)
    def ways(i, rest):
        if rest == 0:
            return 1
        if i == len(coins) or rest < 0:
            return 0
        return ways(i, rest - coins[i]) + ways(i + 1, rest)

    return str(ways(0, amount))


def minimum_spanning_tree(d, t):
    edges = _edges(d)
    nodes = {x for u, v, _ in edges for x in (u, v)}
    tree, total = {"A"}, 0  # Prim
    while tree != nodes:
        w, v = min((w, v if u in tree else u) for u, v, w in edges if (u in tree) != (v in tree))
        tree.add(v)
        total += w
    return str(total)


def bit_reverse32(d, t):
    n = numbers(d)[1]
    return str(sum(((n >> i) & 1) << (31 - i) for i in range(32)))


def run_length_encoding(d, t):
    return "".join(f"{k}{len(list(g))}" for k, g in itertools.groupby(quoted(d)))


def c_program_output(d, t):
    source = text_file(d, "mix.c")
    x, acc, n = map(int, re.search(r"x = (\d+)u;\n\s*uint32_t acc = (\d+)u;\n\s*for \(int i = 0; i < (\d+);", source).groups())
    mul, add = map(int, re.search(r"x = x \* (\d+)u \+ (\d+)u;", source).groups())
    shift = int(re.search(r"acc \^= x >> (\d+);", source).group(1))
    k, r = map(int, re.search(r"if \(x % (\d+)u == (\d+)u\)", source).groups())
    for i in range(n):
        x = (x * mul + add) % 2**32
        acc ^= x >> shift
        acc = (acc + i) % 2**32 if x % k == r else acc
    return str(acc)


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

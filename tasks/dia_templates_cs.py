"""DIA templates: Computer Science (algorithms, number representations, program output)."""

from __future__ import annotations

import heapq
import math
import string

from codeharness.tasks.dia_templates_core import (
    CS,
    WORDS,
    Question,
    independent_hint,
    listing,
    random_text,
    template,
    text_file,
)

MORSE = {
    "a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.", "h": "....", "i": "..",
    "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.", "o": "---", "p": ".--.", "q": "--.-", "r": ".-.",
    "s": "...", "t": "-", "u": "..-", "v": "...-", "w": ".--", "x": "-..-", "y": "-.--", "z": "--..",
    "0": "-----", "1": ".----", "2": "..---", "3": "...--", "4": "....-", "5": ".....", "6": "-....",
    "7": "--...", "8": "---..", "9": "----.",
}
COMMA_LIST = "separated by commas without spaces"


@template(CS, code=True)
def decimal_to_binary(rng):
    n = rng.randrange(2**20, 2**40)
    return Question(f"Consider the decimal number {n}.", "Write it in binary, without a prefix or leading zeros.",
                    format(n, "b"), "binary", "Repeated division by 2.")


@template(CS, code=True)
def hex_to_decimal(rng):
    n = rng.randrange(2**32, 2**64)
    return Question(f"Consider the hexadecimal number {n:X}.", "Write it in decimal.", str(n), "decimal",
                    "Sum of digit times 16 to the power of its position.")


@template(CS, code=True)
def to_base_n(rng):
    n, base = rng.randrange(10**6, 10**9), rng.randrange(3, 10)
    digits, rest = [], n
    while rest:
        rest, digit = divmod(rest, base)
        digits.append(str(digit))
    return Question(f"Consider the decimal number {n}.", f"Write it in base {base}, without leading zeros.",
                    "".join(reversed(digits)), f"base{base}", "Repeated division by the base.")


@template(CS, code=False)
def popcount(rng):
    width = rng.choice((64, 128, 256))
    density = rng.uniform(0.1, 0.9)
    n = sum(1 << i for i in range(width) if rng.random() < density) | (1 << (width - 1))
    return Question(f"Consider the {width}-bit number with hexadecimal digits {n:0{width // 4}x}.",
                    "Count the 1 bits in its binary representation.", str(bin(n).count("1")), "count",
                    "Population count: add the bit counts of the hexadecimal digits.")


@template(CS, code=True)
def trailing_zero_bits(rng):
    n = (rng.getrandbits(40) | 1) << rng.randrange(0, 64)
    return Question(f"Consider the integer {n}.", "Count the trailing zero bits of its binary representation.",
                    str((n & -n).bit_length() - 1), "count", "The index of the lowest set bit.")


@template(CS, code=False)
def xor_of_hex(rng):
    a, b = rng.getrandbits(64), rng.getrandbits(64)
    return Question(f"Consider the hexadecimal numbers a = {a:x} and b = {b:x}.",
                    "Compute a XOR b, as lowercase hexadecimal without a prefix or leading zeros.",
                    format(a ^ b, "x"), "hex", "Bitwise exclusive or, digit by digit.")


@template(CS, code=True)
def twos_complement(rng):
    width = rng.choice((32, 64))
    n = -rng.randrange(1, 2 ** (width - 1) + 1)
    return Question(f"Consider the integer {n}.",
                    f"Give its {width}-bit two's complement representation as {width // 4} uppercase hexadecimal "
                    f"digits.", f"{n & (2**width - 1):0{width // 4}X}", "hex", f"Add 2^{width} to the negative number.")


@template(CS, code=True)
def gray_code(rng):
    n = rng.randrange(2**20, 2**40)
    return Question(f"Consider the integer n = {n}.",
                    "Give the binary-reflected Gray code of n as a binary string without leading zeros.",
                    format(n ^ (n >> 1), "b"), "binary", "g = n XOR (n >> 1).")


@template(CS, code=False)
def sort_numbers(rng):
    numbers = [rng.randrange(-1000, 1000) for _ in range(rng.randrange(12, 21))]
    return Question(f"Consider the list of integers: {listing(numbers)}.",
                    f"Sort them in ascending order, {COMMA_LIST}.",
                    ",".join(map(str, sorted(numbers))), "n1,n2,...", "Any sorting algorithm.")


@template(CS, code=True)
def max_sum_increasing_subsequence(rng):
    numbers = [rng.randrange(1, 200) for _ in range(rng.randrange(12, 26))]
    best = []
    for i, x in enumerate(numbers):
        best.append(x + max([best[j] for j in range(i) if numbers[j] < x], default=0))
    return Question(f"Consider the sequence: {listing(numbers)}.",
                    "Among its strictly increasing subsequences (not necessarily contiguous), find the largest "
                    "possible sum of the elements.", str(max(best)), "sum", "O(n^2) dynamic programming.")


@template(CS, code=True)
def edit_distance(rng):
    alphabet = string.ascii_lowercase[:rng.randrange(2, 27)]
    a = random_text(rng, rng.randrange(5, 71), alphabet)
    b = random_text(rng, rng.randrange(5, 71), alphabet)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return Question(f"Consider the strings '{a}' and '{b}'.",
                    "Compute their Levenshtein edit distance (insertions, deletions and substitutions cost 1).",
                    str(previous[-1]), "distance", "Dynamic programming over prefixes.")


@template(CS, code=True)
def count_inversions(rng):
    numbers = rng.sample(range(1, 1000), rng.randrange(12, 41))
    inversions = sum(1 for i in range(len(numbers)) for j in range(i + 1, len(numbers)) if numbers[i] > numbers[j])
    return Question(f"Consider the list: {listing(numbers)}.",
                    "Count its inversions: pairs of positions i < j whose values are in decreasing order.",
                    str(inversions), "count", "Merge sort counting, or check all pairs.")


def _graph(rng, size: int, extra: int, max_weight: int) -> dict[tuple[str, str], int]:
    nodes = string.ascii_uppercase[:size]
    order = list(nodes[1:])
    rng.shuffle(order)
    order = [nodes[0], *order]
    edges = {}
    for i in range(1, size):  # a random spanning tree keeps the graph connected
        u, v = sorted((order[i], order[rng.randrange(i)]))
        edges[(u, v)] = rng.randrange(1, max_weight)
    while len(edges) < size - 1 + extra:
        u, v = sorted(rng.sample(nodes, 2))
        edges.setdefault((u, v), rng.randrange(1, max_weight))
    return edges


def _dijkstra(edges, source):
    graph: dict[str, list[tuple[str, int]]] = {}
    for (u, v), w in edges.items():
        graph.setdefault(u, []).append((v, w))
        graph.setdefault(v, []).append((u, w))
    distance, queue = {source: 0}, [(0, source)]
    while queue:
        d, node = heapq.heappop(queue)
        if d > distance[node]:
            continue
        for neighbour, weight in graph[node]:
            if d + weight < distance.get(neighbour, math.inf):
                distance[neighbour] = d + weight
                heapq.heappush(queue, (d + weight, neighbour))
    return distance


@template(CS, code=True)
def shortest_path(rng):
    size = rng.randrange(8, 17)
    edges = _graph(rng, size, rng.randrange(size // 2, size + 4), 100)
    items = list(edges.items())
    rng.shuffle(items)
    target = string.ascii_uppercase[size - 1]
    text = ", ".join(f"{u}-{v}:{w}" for (u, v), w in items)
    return Question(f"An undirected weighted graph has these edges (node-node:weight): {text}.",
                    f"Give the length of the shortest path from A to {target}.",
                    str(_dijkstra(edges, "A")[target]), "length", "Dijkstra's algorithm.")


def _rpn(rng) -> tuple[str, str]:
    stack_size, tokens = 0, []
    while len(tokens) < 9 or stack_size > 1:
        if stack_size >= 2 and (rng.random() < 0.45 or len(tokens) > 14):
            tokens.append(rng.choice("+-*"))
            stack_size -= 1
        else:
            tokens.append(str(rng.randrange(1, 20)))
            stack_size += 1
    stack: list[int] = []
    for token in tokens:
        if token in "+-*":
            right, left = stack.pop(), stack.pop()
            stack.append(left + right if token == "+" else left - right if token == "-" else left * right)
        else:
            stack.append(int(token))
    return " ".join(tokens), str(stack[0])


@template(CS, code=False, adversarial=True)
def evaluate_rpn(rng):
    """The comment's value is the result of an independent expression of the same kind."""
    expression, answer = _rpn(rng)
    hint = independent_hint(_rpn, rng)
    return Question(f"Consider the expression in reverse Polish notation: {expression} "
                    f"(a comment in the source says it evaluates to {hint}).",
                    "Evaluate it with integer arithmetic.", answer, "result",
                    "Push numbers; an operator pops two operands and pushes the result. The comment belongs to "
                    "another expression.", hint=hint)


@template(CS, code=False)
def morse_decode(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randrange(2, 5))] + [str(rng.randrange(10, 10**4))]
    code = " / ".join(" ".join(MORSE[c] for c in word) for word in words)
    return Question(f"Consider this International Morse code message (letters separated by spaces, words by "
                    f"' / '): {code}", "Decode it; write letters in lowercase and separate words with single spaces.",
                    " ".join(words), "text", "Look every letter up in the Morse table.")


def _letter_string(rng) -> tuple[str, str, str]:
    alphabet = string.ascii_lowercase[:rng.randrange(2, 11)]
    text = random_text(rng, rng.randrange(100, 251), alphabet)
    letter = rng.choice(alphabet)
    return text, letter, str(text.count(letter))


@template(CS, code=False)
def count_character(rng):
    text, letter, count = _letter_string(rng)
    return Question(f"Consider the string '{text}'.", f"How many times does the letter '{letter}' occur in it?",
                    count, "count", "Count the occurrences.")


@template(CS, code=False, adversarial=True)
def count_character_adversarial(rng):
    """The author's count is the answer of an independent string."""
    text, letter, count = _letter_string(rng)
    hint = independent_hint(_letter_string, rng)
    return Question(f"Consider the string '{text}'. Its author says the letter '{letter}' occurs {hint} times in it.",
                    f"How many times does the letter '{letter}' really occur in it?", count, "count",
                    "Count the occurrences; the author's number is unrelated.", hint=hint)


@template(CS, code=False)
def array_rotation(rng):
    numbers = [rng.randrange(-99, 100) for _ in range(rng.randrange(10, 26))]
    k = rng.randrange(1, 100)
    shift = k % len(numbers)
    rotated = numbers[-shift:] + numbers[:-shift] if shift else numbers
    return Question(f"Consider the array [{listing(numbers)}].",
                    f"Rotate it to the right by {k} positions (the last element moves to the front, {k} times); "
                    f"give the result {COMMA_LIST}.", ",".join(map(str, rotated)), "n1,n2,...",
                    "Rotating by k is rotating by k modulo the length.")


@template(CS, code=False, steps=2)
def sort_remove_every_nth(rng):
    numbers = [rng.randrange(1, 1000) for _ in range(rng.randrange(15, 31))]
    n = rng.randrange(2, 6)
    kept = [x for i, x in enumerate(sorted(numbers), start=1) if i % n]
    return Question(f"Consider the list: {listing(numbers)}.",
                    f"Sort it in ascending order, then remove every {n}th element of the sorted list (positions "
                    f"{n}, {2 * n}, {3 * n}, ... counting from 1); give what remains {COMMA_LIST}.",
                    ",".join(map(str, kept)), "n1,n2,...", "Sort, then drop the positions that are multiples of n.")


@template(CS, code=False)
def reverse_string(rng):
    text = random_text(rng, rng.randrange(30, 81))
    return Question(f"Consider the string '{text}'.", "Write it reversed.", text[::-1], "reversed",
                    "Read it from the end.")


@template(CS, code=False)
def binary_search_index(rng):
    numbers = sorted(rng.sample(range(1, 10**4), rng.randrange(50, 151)))
    index = rng.randrange(len(numbers))
    return Question(f"Consider the sorted list: {listing(numbers)}.",
                    f"At which 0-based index is the value {numbers[index]}?", str(index), "index",
                    "Binary search.")


@template(CS, code=False)
def merge_sorted_lists(rng):
    a = sorted(rng.randrange(1000) for _ in range(rng.randrange(8, 16)))
    b = sorted(rng.randrange(1000) for _ in range(rng.randrange(8, 16)))
    return Question(f"Consider the sorted lists A = [{listing(a)}] and B = [{listing(b)}].",
                    f"Merge them into one sorted list (keep duplicates); give it {COMMA_LIST}.",
                    ",".join(map(str, sorted(a + b))), "n1,n2,...", "The merge step of merge sort.")


@template(CS, code=True, steps=2)
def shortest_common_supersequence(rng):
    """Via the longest common subsequence: |a| + |b| - LCS."""
    alphabet = string.ascii_lowercase[:rng.randrange(2, 11)]
    a = random_text(rng, rng.randrange(10, 71), alphabet)
    b = random_text(rng, rng.randrange(10, 71), alphabet)
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0]
        for j, cb in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if ca == cb else max(previous[j], current[j - 1]))
        previous = current
    return Question(f"Consider the strings '{a}' and '{b}'.",
                    "Give the length of their shortest common supersequence (the shortest string that has both as "
                    "subsequences).", str(len(a) + len(b) - previous[-1]), "length",
                    "|a| + |b| minus the length of their longest common subsequence (dynamic programming).")


@template(CS, code=False)
def missing_number(rng):
    n = rng.randrange(20, 121)
    missing = rng.randrange(1, n + 1)
    numbers = [x for x in range(1, n + 1) if x != missing]
    rng.shuffle(numbers)
    return Question(f"The list below holds every integer from 1 to {n} except one, shuffled: {listing(numbers)}.",
                    "Which integer is missing?", str(missing), "number",
                    "n(n+1)/2 minus the sum of the list.")


@template(CS, code=False)
def hamming_distance(rng):
    length = rng.randrange(64, 257)
    a, b = random_text(rng, length, "01"), random_text(rng, length, "01")
    return Question(f"Consider the binary strings a = {a} and b = {b}.",
                    "Compute their Hamming distance (the number of positions where they differ).",
                    str(sum(x != y for x, y in zip(a, b))), "distance", "Compare position by position.")


@template(CS, code=False)
def kth_largest(rng):
    numbers = rng.sample(range(-5000, 5000), rng.randrange(20, 61))
    k = rng.randrange(2, 11)
    return Question(f"Consider the list of distinct integers: {listing(numbers)}.",
                    f"What is its {k}th largest element (the largest is the 1st)?",
                    str(sorted(numbers, reverse=True)[k - 1]), "number", "Sort in decreasing order, or a heap.")


@template(CS, code=False, steps=2)
def min_max_product(rng):
    numbers = [rng.randrange(-1000, 1001) for _ in range(rng.randrange(20, 51))]
    return Question(f"Consider the list: {listing(numbers)}.",
                    "Compute the product of its minimum and its maximum.", str(min(numbers) * max(numbers)),
                    "product", "Find the minimum and the maximum, then multiply.")


@template(CS, code=False)
def even_odd_count(rng):
    numbers = [rng.randrange(1, 10**4) for _ in range(rng.randrange(30, 121))]
    evens = sum(x % 2 == 0 for x in numbers)
    return Question(f"Consider the list: {listing(numbers)}.",
                    "How many of its numbers are even, and how many are odd? Give the two counts, even first, "
                    "separated by a comma without spaces.", f"{evens},{len(numbers) - evens}", "evens,odds",
                    "Look at the last digit of each number.")


@template(CS, code=True)
def grid_paths_with_obstacles(rng):
    rows, cols = rng.randrange(5, 11), rng.randrange(5, 11)
    while True:
        grid = [["#" if rng.random() < 0.15 else "." for _ in range(cols)] for _ in range(rows)]
        grid[0][0] = grid[-1][-1] = "."
        ways = [[0] * cols for _ in range(rows)]
        for r in range(rows):
            for c in range(cols):
                if grid[r][c] == "#":
                    continue
                ways[r][c] = 1 if r == c == 0 else (ways[r - 1][c] if r else 0) + (ways[r][c - 1] if c else 0)
        if ways[-1][-1]:
            break
    picture = "\n".join("".join(row) for row in grid)
    return Question(f"Consider this grid of {rows} rows and {cols} columns ('.' is free, '#' is blocked):\n{picture}",
                    "How many paths go from the top-left cell to the bottom-right cell moving only right or down "
                    "through free cells?", str(ways[-1][-1]), "count", "Dynamic programming: paths(r, c) = "
                    "paths(r-1, c) + paths(r, c-1).")


@template(CS, code=False)
def max_subarray_sum(rng):
    numbers = [rng.randrange(-100, 101) for _ in range(rng.randrange(15, 41))]
    best = current = numbers[0]
    for x in numbers[1:]:
        current = max(x, current + x)
        best = max(best, current)
    return Question(f"Consider the list: {listing(numbers)}.",
                    "Find the largest sum of a non-empty contiguous subarray.", str(best), "sum", "Kadane's algorithm.")


@template(CS, code=True)
def longest_balanced_run(rng):
    bits = random_text(rng, rng.randrange(30, 201), "01")
    first_seen, total, best = {0: -1}, 0, 0
    for i, bit in enumerate(bits):
        total += 1 if bit == "1" else -1
        if total in first_seen:
            best = max(best, i - first_seen[total])
        else:
            first_seen[total] = i
    return Question(f"Consider the bit string {bits}. Read every 1 as +1 and every 0 as -1.",
                    "What is the length of the longest contiguous run whose values sum to 0 (as many 0s as 1s)?",
                    str(best), "length", "Prefix sums: the longest gap between two equal prefix sums.")


def _python_function(rng) -> tuple[str, int, str]:
    a, b, c = rng.randrange(-50, 51), rng.randrange(0, 10), rng.randrange(2, 8)
    d, e, f = rng.randrange(0, c), rng.randrange(1, 10), rng.randrange(1, 30)
    n = rng.randrange(15, 61)
    source = (f"def f(n):\n    total = {a}\n    for i in range({b}, n):\n        if i % {c} == {d}:\n"
              f"            total += i * {e}\n        else:\n            total -= {f}\n    return total\n")
    total = a
    for i in range(b, n):
        total += i * e if i % c == d else -f
    return source, n, str(total)


@template(CS, code=True, steps=2)
def python_function_output(rng):
    source, n, answer = _python_function(rng)
    return Question(f"Consider this Python function:\n{source}", f"What does f({n}) return?", answer, "value",
                    "Trace the loop.")


@template(CS, code=False)
def topological_order(rng):
    size = rng.randrange(7, 13)
    nodes = list(string.ascii_uppercase[:size])
    order = nodes[:]
    rng.shuffle(order)
    edges = [(order[i], order[j]) for i in range(size) for j in range(i + 1, size) if rng.random() < 0.25]
    indegree = {n: 0 for n in nodes}
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in edges:
        successors[u].append(v)
        indegree[v] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        node = heapq.heappop(ready)
        result.append(node)
        for v in successors[node]:
            indegree[v] -= 1
            if indegree[v] == 0:
                heapq.heappush(ready, v)
    rng.shuffle(edges)
    return Question(f"A directed acyclic graph on the nodes {', '.join(nodes)} has the edges "
                    f"{', '.join(f'{u}->{v}' for u, v in edges)}.",
                    "Give its alphabetically smallest topological order (each node before all nodes it points "
                    "to), as the node letters without separators.", "".join(result), "order",
                    "Kahn's algorithm, always taking the smallest available node.")


@template(CS, code=True, steps=2)
def maze_shortest_paths(rng):
    """Breadth-first search that also counts the shortest paths."""
    rows, cols = rng.randrange(7, 16), rng.randrange(7, 16)
    while True:
        grid = [["#" if rng.random() < 0.2 else "." for _ in range(cols)] for _ in range(rows)]
        start, end = (rng.randrange(rows), 0), (rng.randrange(rows), cols - 1)
        grid[start[0]][start[1]], grid[end[0]][end[1]] = "S", "E"
        distance, count, frontier = {start: 0}, {start: 1}, [start]
        for cell in frontier:
            r, c = cell
            for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if not (0 <= nxt[0] < rows and 0 <= nxt[1] < cols) or grid[nxt[0]][nxt[1]] == "#":
                    continue
                if nxt not in distance:
                    distance[nxt], count[nxt] = distance[cell] + 1, count[cell]
                    frontier.append(nxt)
                elif distance[nxt] == distance[cell] + 1:
                    count[nxt] += count[cell]
        if count.get(end, 0) >= 20:
            break
    picture = "\n".join("".join(row) for row in grid)
    return Question(f"Consider this maze ('#' is a wall, '.' is free, S is the start, E is the exit):\n{picture}",
                    "How many different shortest paths (moves up, down, left or right, one cell each) lead from S "
                    "to E?", str(count[end]), "count", "Breadth-first search that adds up the path counts.")


@template(CS, code=True, search=2**10)
def knapsack(rng):
    count = rng.randrange(10, 17)
    items = [(rng.randrange(1, 40), rng.randrange(1, 100)) for _ in range(count)]
    capacity = rng.randrange(sum(w for w, _ in items) // 4, sum(w for w, _ in items) // 2 + 1)
    best = [0] * (capacity + 1)
    for weight, value in items:
        for c in range(capacity, weight - 1, -1):
            best[c] = max(best[c], best[c - weight] + value)
    text = ", ".join(f"(weight {w}, value {v})" for w, v in items)
    return Question(f"A knapsack holds a total weight of at most {capacity}. The items are: {text}.",
                    "What is the largest total value of items that fit (each item used at most once)?",
                    str(best[capacity]), "value", "0/1 knapsack dynamic programming over capacities.")


@template(CS, code=True)
def coin_change_ways(rng):
    while True:
        coins = sorted(rng.sample(range(1, 51), rng.randrange(3, 6)))
        amount = rng.randrange(50, 501)
        ways = [1] + [0] * amount
        for coin in coins:
            for a in range(coin, amount + 1):
                ways[a] += ways[a - coin]
        if ways[amount] >= 10:
            break
    return Question(f"Coins come in the denominations {listing(coins)} (unlimited supply of each).",
                    f"In how many ways can the amount {amount} be paid? The order of the coins does not matter.",
                    str(ways[amount]), "count", "Dynamic programming over coins and amounts.")


@template(CS, code=True)
def minimum_spanning_tree(rng):
    size = rng.randrange(8, 15)
    edges = _graph(rng, size, rng.randrange(size, 2 * size), 100)
    parent = {n: n for n in string.ascii_uppercase[:size]}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    total = 0
    for (u, v), w in sorted(edges.items(), key=lambda e: (e[1], e[0])):
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
            total += w
    items = list(edges.items())
    rng.shuffle(items)
    return Question(f"An undirected weighted graph has these edges (node-node:weight): "
                    f"{', '.join(f'{u}-{v}:{w}' for (u, v), w in items)}.",
                    "What is the total weight of its minimum spanning tree?", str(total), "weight",
                    "Kruskal's or Prim's algorithm.")


@template(CS, code=True)
def bit_reverse32(rng):
    n = rng.getrandbits(32)
    return Question(f"Consider the unsigned 32-bit integer {n}.",
                    "Reverse the order of its 32 bits (bit 0 becomes bit 31) and give the result in decimal.",
                    str(int(format(n, "032b")[::-1], 2)), "value", "Write the 32 bits, reverse them, read back.")


@template(CS, code=False)
def run_length_encoding(rng):
    runs = [(rng.choice("abcdefgh"), rng.randrange(1, 10)) for _ in range(rng.randrange(8, 20))]
    text = "".join(c * n for c, n in runs)
    encoded, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == text[i]:
            j += 1
        encoded.append(f"{text[i]}{j - i}")
        i = j
    return Question(f"Consider the string '{text}'.",
                    "Run-length encode it: each maximal run of one letter becomes the letter followed by the run "
                    "length (for example 'aaab' -> 'a3b1').", "".join(encoded), "encoding", "Scan the runs.")


@template(CS, code=True, files=True)
def c_program_output(rng):
    """A C program with wrapping uint32_t arithmetic; in tool mode it is compiled to ./mix."""
    x, acc, n = rng.getrandbits(32), rng.getrandbits(32), rng.randrange(20, 60)
    mul, add, shift = rng.getrandbits(31) | 1, rng.getrandbits(31), rng.randrange(3, 20)
    k = rng.randrange(3, 17)
    r = rng.randrange(k)
    source = (f"#include <stdio.h>\n#include <stdint.h>\n\nint main(void) {{\n    uint32_t x = {x}u;\n"
              f"    uint32_t acc = {acc}u;\n    for (int i = 0; i < {n}; i++) {{\n"
              f"        x = x * {mul}u + {add}u;  /* wraps modulo 2^32 */\n        acc ^= x >> {shift};\n"
              f"        if (x % {k}u == {r}u) acc += (uint32_t)i;\n    }}\n    printf(\"%u\\n\", acc);\n"
              f"    return 0;\n}}\n")
    for i in range(n):
        x = (x * mul + add) & 0xFFFFFFFF
        acc ^= x >> shift
        if x % k == r:
            acc = (acc + i) & 0xFFFFFFFF
    return Question("The C program mix.c below is compiled to the executable mix.", "What does mix print?",
                    str(acc), "output", "Emulate 32-bit unsigned arithmetic (everything modulo 2^32).",
                    files=(text_file("mix.c", source),))

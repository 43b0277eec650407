"""Independent checkers for the Mathematics templates (see test_dia_answers_common.py)."""

from __future__ import annotations

import math
import re
import statistics
from fractions import Fraction

from tests.test_dia_answers_common import after, miller_rabin, numbers, value


def next_prime(d, t):
    p = value("n", d) + 1
    while not miller_rabin(p):
        p += 1
    return str(p)


def gcd_of_two(d, t):
    a, b = value("a", d), value("b", d)
    while b:
        a, b = b, a - (a // b) * b
    return str(a)


def lcm_of_three(d, t):
    return str(math.lcm(*numbers(d)))


def modular_power(d, t):
    a, e, m = value("a", d), value("e", d), value("m", d)
    result, base = 1, a % m
    while e:
        if e & 1:
            result = result * base % m
        base, e = base * base % m, e >> 1
    return str(result)


def modular_inverse(d, t):
    a, m = value("a", d), value("m", d)
    old_r, r, old_s, s = a, m, 1, 0
    while r:
        q = old_r // r
        old_r, r, old_s, s = r, old_r - q * r, s, old_s - q * s
    assert old_r == 1
    return str(old_s % m)


def digit_sum_of_power(d, t):
    a, e = map(int, re.search(r"number (\d+)\^(\d+)", d).groups())
    return str(sum(int(c) for c in str(pow(a, e))))


def _trial_factor(n: int, limit: int) -> dict[int, int]:
    factors, p = {}, 2
    while p <= limit and n > 1:
        while n % p == 0:
            factors[p], n = factors.get(p, 0) + 1, n // p
        p += 1
    assert n == 1, "factor beyond the limit"
    return factors


def sum_of_divisors(d, t):
    divisors = [1]
    for p, e in _trial_factor(value("n", d), 5000).items():
        divisors = [x * p**k for x in divisors for k in range(e + 1)]
    return str(sum(divisors))


def integer_square_root(d, t):
    n = value("n", d)
    x, y = n, (n + 1) // 2
    while y < x:
        x, y = y, (y + n // y) // 2
    assert x * x <= n < (x + 1) * (x + 1)
    return str(x)


def fibonacci_modulo(d, t):
    n, m = value("n", d), value("m", d)
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % m
    return str(a)


def binomial_modulo(d, t):
    n, k, m = value("n", d), value("k", d), value("m", d)
    return str(math.factorial(n) // (math.factorial(k) * math.factorial(n - k)) % m)


def sum_of_primes_between(d, t):
    a, b = value("A", d), value("B", d)
    sieve = bytearray([1]) * (b + 1)
    sieve[:2] = b"\x00\x00"
    for i in range(2, math.isqrt(b) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, b + 1, i)))
    return str(sum(i for i in range(a, b + 1) if sieve[i]))


def determinant_3x3(d, t):
    rows = [[Fraction(int(x)) for x in row.split()] for row in after("semicolons): ", d).rstrip(".").split("; ")]
    det = Fraction(1)
    for col in range(3):
        pivot = next((r for r in range(col, 3) if rows[r][col] != 0), None)
        if pivot is None:
            return "0"
        if pivot != col:
            rows[col], rows[pivot] = rows[pivot], rows[col]
            det = -det
        det *= rows[col][col]
        for r in range(col + 1, 3):
            factor = rows[r][col] / rows[col][col]
            rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col])]
    return str(int(det))


def chinese_remainder(d, t):
    pairs = [(int(r), int(m)) for r, m in re.findall(r"x = (\d+) \(mod (\d+)\)", d)]
    x, modulus = pairs[0]
    for r, m in pairs[1:]:
        while x % m != r:
            x += modulus
        modulus *= m
    return str(x)


def euler_totient(d, t):
    n = value("n", d)
    result = Fraction(n)
    for p in _trial_factor(n, 20000):
        result *= Fraction(p - 1, p)
    return str(int(result))


def sum_of_two(d, t):
    return str(value("a", d) + value("b", d))


def difference_of_two(d, t):
    return str(value("a", d) - value("b", d))


def product_of_two(d, t):
    return str(value("a", d) * value("b", d))


def sum_of_five(d, t):
    return str(sum(numbers(d)))


def sum_of_range(d, t):
    return str(sum(range(value("a", d), value("b", d) + 1)))


def remainder_of_division(d, t):
    return str(value("a", d) - value("b", d) * (value("a", d) // value("b", d)))


def square_of_number(d, t):
    return str(value("n", d) ** 2)


def cube_of_number(d, t):
    return str(value("n", d) ** 3)


def digit_sum_of_number(d, t):
    return str(sum(int(c) for c in re.search(r"number (\d+)\.", d).group(1)))


def primes_among_ten(d, t):
    candidates = numbers(after("order: ", d))
    assert len(candidates) == 10
    return ",".join(str(i) for i, n in enumerate(candidates, start=1) if miller_rabin(n))


def factor_semiprime(d, t):
    n = value("n", d)
    x, y, c, factor = 2, 2, 1, 1
    while factor == 1:  # Pollard's rho with Floyd's cycle detection
        x, y = (x * x + c) % n, (y * y + c) % n
        y = (y * y + c) % n
        factor = math.gcd(abs(x - y), n)
        if factor == n:
            x, y, c, factor = 2, 2, c + 1, 1
    p, q = sorted((factor, n // factor))
    assert miller_rabin(p) and miller_rabin(q)
    return f"{p},{q}"


def quadratic_roots(d, t):
    a, b, c = map(int, re.search(r"equation (\d+)x\^2 \+ \((-?\d+)\)x \+ \((-?\d+)\) = 0", d).groups())
    root = math.isqrt(b * b - 4 * a * c)
    assert root * root == b * b - 4 * a * c
    r1, r2 = sorted((Fraction(-b - root, 2 * a), Fraction(-b + root, 2 * a)))
    assert r1.denominator == r2.denominator == 1
    return f"{r1},{r2}"


def arithmetic_series(d, t):
    a, step, n = value("a1", d), value("d", d), numbers(after("first ", t))[0]
    return str(sum(a + i * step for i in range(n)))


def median_of_list(d, t):
    return str(statistics.median(numbers(after("integers: ", d))))


def linear_system(d, t):
    rows = [list(map(int, m)) for m in re.findall(r"(-?\d+)x \+ \((-?\d+)\)y \+ \((-?\d+)\)z = (-?\d+)", d)]
    matrix, rhs = [r[:3] for r in rows], [r[3] for r in rows]

    def det(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))

    base = det(matrix)
    solution = []
    for col in range(3):  # Cramer's rule
        replaced = [[rhs[r] if c == col else matrix[r][c] for c in range(3)] for r in range(3)]
        solution.append(Fraction(det(replaced), base))
    assert all(x.denominator == 1 for x in solution)
    return ",".join(str(x) for x in solution)


def dot_product(d, t):
    u = numbers(re.search(r"u = \(([^)]*)\)", d).group(1))
    v = numbers(re.search(r"v = \(([^)]*)\)", d).group(1))
    return str(sum(a * b for a, b in zip(u, v)))


def polynomial_integral(d, t):
    terms = [(int(c), int(k)) for c, k in re.findall(r"\((-?\d+)\)x\^(\d+)", d)]
    lo, hi = map(int, re.search(r"from x = (-?\d+) to x = (-?\d+)", t).groups())
    value_ = sum(Fraction(c * (hi ** (k + 1) - lo ** (k + 1)), k + 1) for c, k in terms)
    return str(value_.numerator) if value_.denominator == 1 else f"{value_.numerator}/{value_.denominator}"


def eigenvalues_2x2(d, t):
    a, b, c, e = numbers(after("rows ", d))
    trace, det = a + e, a * e - b * c
    root = math.isqrt(trace * trace - 4 * det)
    assert root * root == trace * trace - 4 * det and (trace - root) % 2 == 0
    return f"{(trace - root) // 2},{(trace + root) // 2}"


def next_in_sequence(d, t):
    rows = [numbers(after("are: ", d))]
    while any(rows[-1]) and len(rows[-1]) > 1 and len(set(rows[-1])) > 1:
        rows.append([b - a for a, b in zip(rows[-1], rows[-1][1:])])
    return str(sum(row[-1] for row in rows))


def triple_integral_box(d, t):
    k, px, py, pz = map(int, re.search(r"= (\d+) \* x\^(\d+) \* y\^(\d+) \* z\^(\d+)", d).groups())
    bx, by, bz = map(int, re.findall(r"0 <= [xyz] <= (\d+)", t))
    result = k * Fraction(bx ** (px + 1), px + 1) * Fraction(by ** (py + 1), py + 1) * Fraction(bz ** (pz + 1), pz + 1)
    return str(result.numerator) if result.denominator == 1 else f"{result.numerator}/{result.denominator}"


def modular_sqrt(d, t):
    p, a = value("p", d), value("a", d)
    q, s = p - 1, 0  # Tonelli-Shanks
    while q % 2 == 0:
        q, s = q // 2, s + 1
    z = 2
    while pow(z, (p - 1) // 2, p) != p - 1:
        z += 1
    m, c, x, r = s, pow(z, q, p), pow(a, (q + 1) // 2, p), pow(a, q, p)
    while r != 1:
        i, r2 = 0, r
        while r2 != 1:
            r2, i = r2 * r2 % p, i + 1
        b = pow(c, 2 ** (m - i - 1), p)
        m, c, x, r = i, b * b % p, x * b % p, r * b * b % p
    assert x * x % p == a
    return str(min(x, p - x))


def inclusion_exclusion(d, t):
    n = value("N", d)
    a, b, c = map(int, re.search(r"divisible by (\d+) or by (\d+), but not by (\d+)", t).groups())
    period = math.lcm(a, b, c)
    good = [(x % a == 0 or x % b == 0) and x % c != 0 for x in range(period)]
    full, rest = divmod(n, period)
    return str(full * sum(good) + sum(good[1:rest + 1]))


def factorial_trailing_zeros(d, t):
    n, digits, rest = value("N", d), 0, value("N", d)
    while rest:  # (n - sum of base-5 digits) / 4
        digits, rest = digits + rest % 5, rest // 5
    return str((n - digits) // 4)


def squarefree_count(d, t):
    n = value("N", d)
    free = bytearray([1]) * (n + 1)
    free[0] = 0
    for p in range(2, math.isqrt(n) + 1):
        free[p * p::p * p] = bytes(len(range(p * p, n + 1, p * p)))
    return str(sum(free))


def collatz_steps(d, t):
    n, steps = value("n", d), 0
    while n > 1:
        n, steps = (n >> 1 if n % 2 == 0 else 3 * n + 1), steps + 1
    return str(steps)


def compound_growth(d, t):
    start, rate = map(int, re.search(r"population of (\d+) grows by exactly (\d+)%", d).groups())
    years = numbers(after("after ", t))[0]
    return str(math.floor(start * Fraction(100 + rate, 100) ** years))


def linear_recurrence(d, t):
    x0, x1 = value("x0", d), value("x1", d)
    p, q = map(int, re.search(r"= (\d+)\*x\(k-1\) \+ (\d+)\*x\(k-2\)", d).groups())
    n = int(re.search(r"Compute x(\d+)", t).group(1))
    seq = [x0, x1]
    while len(seq) <= n:
        seq.append(p * seq[-1] + q * seq[-2])
    return str(seq[n])


def cancelling_operations(d, t):
    x = Fraction(int(re.search(r"Start with the number (\d+)", d).group(1)))
    for op, k in re.findall(r"(multiply it by|add|subtract|divide it by) (\d+)", d.split(" (A student")[0]):
        x = {"multiply it by": x * int(k), "add": x + int(k), "subtract": x - int(k), "divide it by": x / int(k)}[op]
    return str(int(x))


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

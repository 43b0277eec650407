"""DIA templates: Mathematics."""

from __future__ import annotations

import bisect
import itertools
import math
from fractions import Fraction

from codeharness.tasks.dia_templates_core import (
    MATH,
    Question,
    independent_hint,
    is_prime,
    listing,
    next_prime_after,
    primes_below,
    random_prime,
    template,
)

_PRIME_SUMS: list[int] = []


def _prime_prefix_sums() -> tuple[list[int], list[int]]:
    primes = primes_below(1_000_001)
    if len(_PRIME_SUMS) != len(primes) + 1:
        _PRIME_SUMS[:] = [0, *itertools.accumulate(primes)]
    return primes, _PRIME_SUMS


def _fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


FRACTION_RULE = " Give an integer, or a reduced fraction p/q with q > 1 (a minus sign goes before p)."


@template(MATH, code=True)
def next_prime(rng):
    """The smallest prime above a 40-bit number."""
    n = rng.getrandbits(40) | (1 << 39)
    return Question(f"Consider the number n = {n}.", "Find the smallest prime number greater than n.",
                    str(next_prime_after(n)), "prime", "Test the numbers after n for primality until one is prime.")


@template(MATH, code=True)
def gcd_of_two(rng):
    common = rng.randrange(2, 10**6)
    a, b = common * rng.randrange(2, 10**9), common * rng.randrange(2, 10**9)
    return Question(f"Consider a = {a} and b = {b}.", "Compute the greatest common divisor of a and b.",
                    str(math.gcd(a, b)), "gcd", "Euclid's algorithm.")


@template(MATH, code=True)
def lcm_of_three(rng):
    numbers = [rng.randrange(2, 10**5) for _ in range(3)]
    lcm = numbers[0]
    for x in numbers[1:]:
        lcm = lcm * x // math.gcd(lcm, x)
    return Question(f"Consider the numbers {numbers[0]}, {numbers[1]} and {numbers[2]}.",
                    "Compute their least common multiple.", str(lcm), "lcm",
                    "lcm(a, b) = a * b / gcd(a, b), applied twice.")


@template(MATH, code=True)
def modular_power(rng):
    a, e, m = rng.randrange(2, 10**6), rng.randrange(10**11, 10**12), rng.randrange(10**8, 10**9)
    return Question(f"Consider a = {a}, e = {e} and m = {m}.", "Compute a to the power e, modulo m.",
                    str(pow(a, e, m)), "result", "Square-and-multiply modular exponentiation.")


@template(MATH, code=True)
def modular_inverse(rng):
    m = random_prime(rng, 10**8, 10**9)
    a = rng.randrange(2, m - 1)
    return Question(f"Consider a = {a} and the prime modulus m = {m}.",
                    "Find the modular inverse of a modulo m, as an integer between 1 and m - 1.",
                    str(pow(a, m - 2, m)), "inverse", "Extended Euclid, or a^(m-2) mod m.")


@template(MATH, code=True, steps=2)
def digit_sum_of_power(rng):
    """Power, then digit sum; at most about 2,500 digits."""
    a = rng.randrange(2, 10**4)
    e = rng.randrange(100, max(101, int(2500 / math.log10(a))))
    return Question(f"Consider the number {a}^{e} ({a} to the power {e}).",
                    "Compute the sum of its decimal digits.", str(sum(map(int, str(a**e)))), "sum",
                    "Compute the power exactly with big integers and add its digits.")


def _factored(rng, primes, count, exponent, low):
    """Distinct primes (`count` range), their exponents (`exponent` range) and their product
    n, drawn until low < n < 10**13."""
    while True:
        factors = sorted(rng.sample(primes, rng.randrange(*count)))
        exponents = [rng.randrange(*exponent) for _ in factors]
        n = math.prod(p**e for p, e in zip(factors, exponents))
        if low < n < 10**13:
            return factors, exponents, n


@template(MATH, code=True, steps=2)
def sum_of_divisors(rng):
    """Factor, then sigma(n) = product of (p^(e+1) - 1) / (p - 1)."""
    factors, exponents, n = _factored(rng, primes_below(5000), (3, 6), (1, 4), 10**5)
    sigma = math.prod((p ** (e + 1) - 1) // (p - 1) for p, e in zip(factors, exponents))
    return Question(f"Consider n = {n}.", "Compute the sum of all positive divisors of n (1 and n included).",
                    str(sigma), "sum", "Factor n; the sum is the product of (p^(e+1) - 1) / (p - 1).")


@template(MATH, code=True)
def integer_square_root(rng):
    n = rng.randrange(10**59, 10**60)
    return Question(f"Consider n = {n}.", "Compute the integer square root of n: the largest integer r with r*r <= n.",
                    str(math.isqrt(n)), "r", "Newton's method on integers.")


@template(MATH, code=True)
def fibonacci_modulo(rng):
    n, m = rng.randrange(1000, 100000), rng.randrange(10**6, 10**7)

    def pair(k):  # (F(k), F(k+1)) mod m, fast doubling
        if k == 0:
            return 0, 1
        a, b = pair(k // 2)
        c, d = a * (2 * b - a) % m, (a * a + b * b) % m
        return (d, (c + d) % m) if k % 2 else (c, d)

    return Question(f"The Fibonacci numbers are F(0) = 0, F(1) = 1, F(k) = F(k-1) + F(k-2). "
                    f"Consider n = {n} and m = {m}.", "Compute F(n) modulo m.", str(pair(n)[0]), "result",
                    "Iterate the recurrence modulo m, or fast doubling.")


@template(MATH, code=True)
def binomial_modulo(rng):
    n = rng.randrange(1000, 5000)
    k, m = rng.randrange(2, n - 1), rng.randrange(10**6, 10**9)
    return Question(f"Consider n = {n}, k = {k} and m = {m}.",
                    "Compute the binomial coefficient C(n, k) (n choose k) modulo m.",
                    str(math.comb(n, k) % m), "result", "n! / (k! (n-k)!) with big integers, then reduce modulo m.")


@template(MATH, code=True, steps=2)
def sum_of_primes_between(rng):
    primes, sums = _prime_prefix_sums()
    a = rng.randrange(2, 900_000)
    b = rng.randrange(a + 1000, min(a + 100_000, 1_000_000))
    total = sums[bisect.bisect_right(primes, b)] - sums[bisect.bisect_left(primes, a)]
    return Question(f"Consider A = {a} and B = {b}.",
                    "Compute the sum of all prime numbers p with A <= p <= B.", str(total), "sum",
                    "A sieve of Eratosthenes up to B.")


@template(MATH, code=False)
def determinant_3x3(rng):
    m = [[rng.randrange(-20, 21) for _ in range(3)] for _ in range(3)]
    det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
           - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
           + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    rows = "; ".join(" ".join(str(v) for v in row) for row in m)
    return Question(f"Consider the 3x3 integer matrix with rows (separated by semicolons): {rows}.",
                    "Compute its determinant.", str(det), "determinant", "Cofactor expansion.")


@template(MATH, code=True)
def chinese_remainder(rng):
    moduli = rng.sample(primes_below(2000)[100:], 3)
    residues = [rng.randrange(m) for m in moduli]
    product = math.prod(moduli)
    x = sum(r * (product // m) * pow(product // m, -1, m) for r, m in zip(residues, moduli)) % product
    congruences = ", ".join(f"x = {r} (mod {m})" for r, m in zip(residues, moduli))
    return Question(f"Consider the system of congruences: {congruences}.",
                    "Find the smallest non-negative integer x that satisfies all of them.",
                    str(x), "x", "The Chinese remainder theorem.")


@template(MATH, code=True, steps=2)
def euler_totient(rng):
    """Factor, then phi(n) = n * product of (1 - 1/p)."""
    factors, exponents, n = _factored(rng, primes_below(20000), (2, 5), (1, 3), 10**6)
    phi = math.prod(p ** (e - 1) * (p - 1) for p, e in zip(factors, exponents))
    return Question(f"Consider n = {n}.",
                    "Compute Euler's totient phi(n): how many integers from 1 to n are coprime to n.",
                    str(phi), "phi", "Factor n; phi(n) = n * product of (1 - 1/p) over the primes p dividing n.")


@template(MATH, code=False)
def sum_of_two(rng):
    a, b = rng.randrange(10**4, 10**6), rng.randrange(10**4, 10**6)
    return Question(f"Consider a = {a} and b = {b}.", "Compute a + b.", str(a + b), "sum", "Column addition.")


@template(MATH, code=False)
def difference_of_two(rng):
    a, b = rng.randrange(10**4, 10**6), rng.randrange(10**4, 10**6)
    return Question(f"Consider a = {a} and b = {b}.", "Compute a - b.", str(a - b), "difference",
                    "Column subtraction; the result is negative when b > a.")


@template(MATH, code=False)
def product_of_two(rng):
    a, b = rng.randrange(100, 10**4), rng.randrange(100, 10**4)
    return Question(f"Consider a = {a} and b = {b}.", "Compute a * b.", str(a * b), "product", "Long multiplication.")


@template(MATH, code=False)
def sum_of_five(rng):
    numbers = [rng.randrange(100, 10**5) for _ in range(5)]
    return Question(f"Consider the numbers {listing(numbers)}.", "Compute their sum.", str(sum(numbers)), "sum",
                    "Column addition.")


@template(MATH, code=False)
def sum_of_range(rng):
    a = rng.randrange(1, 10**6)
    b = rng.randrange(a + 10, a + 10**6)
    return Question(f"Consider the integers from a = {a} to b = {b}, both included.",
                    "Compute the sum of all these integers.", str((a + b) * (b - a + 1) // 2), "sum",
                    "Gauss: (a + b) * (number of terms) / 2.")


@template(MATH, code=False)
def remainder_of_division(rng):
    a, b = rng.randrange(10**6, 10**9), rng.randrange(7, 10**4)
    return Question(f"Consider a = {a} and b = {b}.", "Compute the remainder of the division of a by b.",
                    str(a % b), "remainder", "Long division.")


@template(MATH, code=False)
def square_of_number(rng):
    n = rng.randrange(10**4, 10**7)
    return Question(f"Consider n = {n}.", "Compute n squared (n * n).", str(n * n), "square", "Long multiplication.")


@template(MATH, code=True)
def cube_of_number(rng):
    n = rng.randrange(10**4, 10**7)
    return Question(f"Consider n = {n}.", "Compute n cubed (n * n * n).", str(n**3), "cube",
                    "Two long multiplications.")


@template(MATH, code=False)
def digit_sum_of_number(rng):
    digits = rng.randrange(40, 81)
    n = rng.randrange(10 ** (digits - 1), 10**digits)
    return Question(f"Consider the {digits}-digit number {n}.", "Compute the sum of its decimal digits.",
                    str(sum(map(int, str(n)))), "sum", "Add the digits one by one.")


@template(MATH, code=True, search=10)
def primes_among_ten(rng):
    """Ten odd 60-bit numbers with no prime factor below 100; one to five are prime."""
    count = rng.randrange(1, 6)
    positions = sorted(rng.sample(range(1, 11), count))
    numbers = []
    for position in range(1, 11):
        while True:
            n = rng.getrandbits(60) | (1 << 59) | 1
            if math.gcd(n, 2305567963945518424753102147331756070) == 1 and is_prime(n) == (position in positions):
                break
        numbers.append(n)
    return Question(f"Consider these ten numbers, numbered 1 to 10 in order: {listing(numbers)}.",
                    "Which of them are prime? Give their positions (1 to 10) in increasing order, separated by "
                    "commas without spaces.", ",".join(map(str, positions)), "p1,p2,...",
                    "A deterministic Miller-Rabin test on each number.")


@template(MATH, code=True, search=2**24)
def factor_semiprime(rng):
    p = random_prime(rng, 2**22, 2**28)
    q = random_prime(rng, 2**22, 2**28)
    while q == p:
        q = random_prime(rng, 2**22, 2**28)
    p, q = sorted((p, q))
    return Question(f"The number n = {p * q} is the product of two primes.",
                    "Find the two primes; give the smaller one first, separated by a comma without spaces.",
                    f"{p},{q}", "p,q", "Pollard's rho, or trial division up to the square root.")


@template(MATH, code=False, steps=2)
def quadratic_roots(rng):
    a = rng.randrange(1, 10)
    r1, r2 = sorted(rng.sample(range(-500, 501), 2))
    b, c = -a * (r1 + r2), a * r1 * r2
    return Question(f"Consider the equation {a}x^2 + ({b})x + ({c}) = 0.",
                    "Find its two real roots (they are integers); give the smaller one first, separated by a "
                    "comma without spaces.", f"{r1},{r2}", "r1,r2", "The quadratic formula, or factoring.")


@template(MATH, code=False)
def arithmetic_series(rng):
    a, d, n = rng.randrange(-1000, 1001), rng.choice([x for x in range(-50, 51) if x]), rng.randrange(10, 2001)
    return Question(f"An arithmetic sequence starts with a1 = {a} and has common difference d = {d}.",
                    f"Compute the sum of its first {n} terms.", str(n * (2 * a + (n - 1) * d) // 2), "sum",
                    "S = n * (2*a1 + (n-1)*d) / 2.")


@template(MATH, code=False, steps=2)
def median_of_list(rng):
    numbers = [rng.randrange(-10**4, 10**4) for _ in range(rng.randrange(7, 21) * 2 + 1)]
    return Question(f"Consider the list of integers: {listing(numbers)}.", "Find its median.",
                    str(sorted(numbers)[len(numbers) // 2]), "median", "Sort the list and take the middle element.")


@template(MATH, code=False, steps=2)
def linear_system(rng):
    solution = [rng.randrange(-50, 51) for _ in range(3)]
    while True:
        m = [[rng.randrange(-9, 10) for _ in range(3)] for _ in range(3)]
        det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
               + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
        if det:
            break
    rows = [f"{r[0]}x + ({r[1]})y + ({r[2]})z = {sum(c * s for c, s in zip(r, solution))}" for r in m]
    return Question(f"Consider the system of linear equations: {'; '.join(rows)}.",
                    "Find its unique solution; give x, y and z separated by commas without spaces.",
                    ",".join(map(str, solution)), "x,y,z", "Gaussian elimination or Cramer's rule.")


@template(MATH, code=False)
def dot_product(rng):
    size = rng.randrange(6, 13)
    u, v = [rng.randrange(-100, 101) for _ in range(size)], [rng.randrange(-100, 101) for _ in range(size)]
    return Question(f"Consider the vectors u = ({listing(u)}) and v = ({listing(v)}).",
                    "Compute their dot product.", str(sum(a * b for a, b in zip(u, v))), "dot",
                    "Sum of the products of the coordinates.")


@template(MATH, code=False, steps=2)
def polynomial_integral(rng):
    coefficients = [rng.randrange(-9, 10) for _ in range(rng.randrange(3, 6))]  # constant term first
    coefficients[-1] = coefficients[-1] or 1
    lo, hi = sorted(rng.sample(range(-5, 6), 2))
    value = sum(Fraction(c, k + 1) * (hi ** (k + 1) - lo ** (k + 1)) for k, c in enumerate(coefficients))
    terms = " + ".join(f"({c})x^{k}" for k, c in reversed(list(enumerate(coefficients))))
    return Question(f"Consider the polynomial p(x) = {terms}.",
                    f"Compute the definite integral of p(x) from x = {lo} to x = {hi}, exactly.{FRACTION_RULE}",
                    _fraction(value), "value", "Integrate term by term: c x^k -> c x^(k+1) / (k+1).")


@template(MATH, code=False, steps=2)
def eigenvalues_2x2(rng):
    l1, l2 = sorted(rng.sample(range(-60, 61), 2))
    while True:  # a unimodular change of basis keeps the matrix integral
        p = [[rng.randrange(-6, 7) for _ in range(2)] for _ in range(2)]
        det = p[0][0] * p[1][1] - p[0][1] * p[1][0]
        if det in (1, -1):
            break
    inv = [[p[1][1] * det, -p[0][1] * det], [-p[1][0] * det, p[0][0] * det]]
    pd = [[p[i][0] * l1, p[i][1] * l2] for i in range(2)]
    a = [[pd[i][0] * inv[0][j] + pd[i][1] * inv[1][j] for j in range(2)] for i in range(2)]
    return Question(f"Consider the 2x2 matrix with rows [{a[0][0]}, {a[0][1]}] and [{a[1][0]}, {a[1][1]}].",
                    "Find its two eigenvalues (they are distinct integers); give the smaller one first, "
                    "separated by a comma without spaces.", f"{l1},{l2}", "l1,l2",
                    "Roots of the characteristic polynomial l^2 - trace*l + det.")


@template(MATH, code=False, steps=2)
def next_in_sequence(rng):
    degree = rng.randrange(2, 4)
    coefficients = ([rng.randrange(-1000, 1001)] + [rng.randrange(-50, 51) for _ in range(degree - 1)]
                    + [rng.choice([c for c in range(-9, 10) if c])])
    terms = [sum(c * n**k for k, c in enumerate(coefficients)) for n in range(1, 9)]
    return Question(f"The first seven terms of a sequence given by a polynomial in n of degree at most 3 are: "
                    f"{listing(terms[:7])}.", "What is the eighth term?", str(terms[7]), "term",
                    "Take differences until they are constant, then extend the table.")


@template(MATH, code=False, steps=2)
def triple_integral_box(rng):
    k = rng.randrange(1, 101)
    bounds = [rng.randrange(1, 10) for _ in range(3)]
    powers = [rng.randrange(0, 5) for _ in range(3)]
    value = Fraction(k)
    for bound, power in zip(bounds, powers):
        value *= Fraction(bound ** (power + 1), power + 1)
    return Question(f"Consider f(x, y, z) = {k} * x^{powers[0]} * y^{powers[1]} * z^{powers[2]}.",
                    f"Compute the triple integral of f over the box 0 <= x <= {bounds[0]}, 0 <= y <= {bounds[1]}, "
                    f"0 <= z <= {bounds[2]}, exactly.{FRACTION_RULE}", _fraction(value), "value",
                    "The integral factors into three one-dimensional integrals.")


@template(MATH, code=True)
def modular_sqrt(rng):
    p = random_prime(rng, 10**6, 10**9)
    x = rng.randrange(1, p)
    a = x * x % p
    return Question(f"Consider the prime p = {p} and a = {a}; a is a nonzero square modulo p.",
                    "Find the smallest non-negative integer x with x*x = a (mod p).", str(min(x, p - x)), "x",
                    "Tonelli-Shanks; the two roots are x and p - x.")


@template(MATH, code=False, steps=2)
def inclusion_exclusion(rng):
    n = rng.randrange(10**6, 10**9)
    a, b, c = rng.sample(range(2, 61), 3)

    def lcm(*xs):
        out = 1
        for x in xs:
            out = out * x // math.gcd(out, x)
        return out

    either = n // a + n // b - n // lcm(a, b)
    with_c = n // lcm(a, c) + n // lcm(b, c) - n // lcm(a, b, c)
    return Question(f"Consider N = {n}.",
                    f"How many integers from 1 to N are divisible by {a} or by {b}, but not by {c}?",
                    str(either - with_c), "count", "Inclusion-exclusion with least common multiples.")


@template(MATH, code=False)
def factorial_trailing_zeros(rng):
    n = rng.randrange(10**6, 10**12)
    zeros, power = 0, 5
    while power <= n:
        zeros, power = zeros + n // power, power * 5
    return Question(f"Consider N = {n}.", "How many trailing zeros does N! (N factorial) have in decimal?",
                    str(zeros), "count", "Legendre: the sum of N // 5^k.")


_MOBIUS: list[int] = []


def _mobius(limit: int) -> list[int]:
    if len(_MOBIUS) < limit:
        mu = [1] * limit
        for p in primes_below(limit):
            for m in range(p, limit, p):
                mu[m] = -mu[m]
            for m in range(p * p, limit, p * p):
                mu[m] = 0
        _MOBIUS[:] = mu
    return _MOBIUS


@template(MATH, code=True, steps=2)
def squarefree_count(rng):
    n = rng.randrange(10**5, 10**7)
    mu = _mobius(3200)
    count = sum(mu[d] * (n // (d * d)) for d in range(1, math.isqrt(n) + 1))
    return Question(f"Consider N = {n}.",
                    "How many integers from 1 to N are squarefree (divisible by no square greater than 1)?",
                    str(count), "count", "Sum of mu(d) * (N // d^2) over d <= sqrt(N), or a sieve.")


@template(MATH, code=True)
def collatz_steps(rng):
    n = rng.randrange(10**6, 10**12)
    steps, x = 0, n
    while x != 1:
        x = x // 2 if x % 2 == 0 else 3 * x + 1
        steps += 1
    return Question(f"The Collatz map sends an even x to x/2 and an odd x to 3x+1. Consider n = {n}.",
                    "How many applications of the map does it take to reach 1 from n?", str(steps), "steps",
                    "Apply the map and count.")


@template(MATH, code=True)
def compound_growth(rng):
    start, rate, years = rng.randrange(1000, 10**6), rng.randrange(1, 26), rng.randrange(2, 31)
    value = start * (100 + rate) ** years // 100**years
    return Question(f"A population of {start} grows by exactly {rate}% every year, compounded yearly, with "
                    f"fractional individuals allowed.",
                    f"What is its size after {years} years, rounded down to an integer?", str(value), "size",
                    "start * (1 + rate/100)^years in exact arithmetic, then floor.")


@template(MATH, code=True)
def linear_recurrence(rng):
    x0, x1 = rng.randrange(1, 1000), rng.randrange(1, 1000)
    p, q, n = rng.randrange(1, 6), rng.randrange(1, 6), rng.randrange(20, 61)
    a, b = x0, x1
    for _ in range(n - 1):
        a, b = b, p * b + q * a
    return Question(f"A sequence has x0 = {x0}, x1 = {x1} and x(k) = {p}*x(k-1) + {q}*x(k-2) for k >= 2.",
                    f"Compute x{n} exactly.", str(b), "value", "Iterate the recurrence with big integers.")


def _cancelling(rng) -> tuple[str, str]:
    value = start = rng.randrange(10, 10**4)
    steps = []
    for _ in range(rng.randrange(4, 7)):
        kind, k = rng.randrange(3), rng.randrange(2, 100)
        if kind == 0:
            m = k * rng.randrange(2, 9)
            steps += [f"multiply it by {k}", f"add {m}", f"subtract {m}", f"divide it by {k}"]
        elif kind == 1:
            steps += [f"add {k}", f"subtract {k}"]
        else:
            steps.append(f"add {k}")
            value += k
    return f"Start with the number {start}; {', then '.join(steps)}.", str(value)


@template(MATH, code=False, adversarial=True)
def cancelling_operations(rng):
    """Many operations cancel. The planted notebook value is the answer of an independent
    instance: right only as often as two instances agree by chance."""
    text, answer = _cancelling(rng)
    hint = independent_hint(_cancelling, rng)
    return Question(f"{text} (A student's notebook says the result is {hint}.)",
                    "What is the final number?", answer, "number",
                    "Most operations undo each other; only the unmatched additions count. The notebook "
                    "value comes from an unrelated calculation.", hint=hint)

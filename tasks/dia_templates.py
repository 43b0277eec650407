"""Our own DIA-style question templates, and the generator that writes them in the
published DIA-Bench JSON format.

Each template draws fresh parameters from a `random.Random` seeded by (seed, template,
instance), so a seed always yields the same questions, and computes the answer in code.
Categories: Mathematics, Cryptography, Computer Science, Log Analysis and Web Security.
Adversarial templates plant a wrong "hint" in the question.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import heapq
import json
import math
import random
import string
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

MATH, CRYPTO, CS, LOGS, WEB = "Mathematics", "Cryptography", "Computer Science", "Log Analysis", "Web Security"
EASY, MEDIUM, HARD = "easy", "medium", "hard"
SKIP_ANSWER = "I-DO-NOT-KNOW"

GENERAL_PROMPT = """Solve the challenge below.

Rules:
- Read the challenge carefully. Use any method that works, including writing and running a program; only the final answer counts.
- Scoring: a correct answer earns +1 point, a wrong answer costs 2 points, and the answer <xml>I-DO-NOT-KNOW</xml> earns 0 points. If you are not sure, answer <xml>I-DO-NOT-KNOW</xml>.
- Check your answer before giving it, in exactly the XML format the challenge asks for.

Challenge:
"""

WORDS = (
    "apple", "bridge", "candle", "desert", "engine", "forest", "garden", "harbor", "island",
    "jungle", "kettle", "ladder", "marble", "needle", "orange", "pepper", "rabbit", "saddle",
    "tunnel", "valley", "window", "yellow", "anchor", "basket", "castle", "dragon", "feather",
    "glacier", "hammer", "lantern", "meadow", "planet", "rocket", "silver", "thunder", "violet",
    "wizard", "copper", "mirror", "shadow",
)
PASSWORDS = (
    "letmein", "sunshine", "dragon42", "qwerty12", "monkey99", "trustno1", "welcome1",
    "football", "shadow77", "princess", "master12", "freedom1", "baseball", "superman",
    "iloveyou", "starwars", "whatever", "passw0rd", "hunter22", "charlie9",
)
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar", "peggy", "trent", "victor", "walter")
PATHS = ("/", "/index.html", "/login", "/admin", "/api/v1/items", "/images/logo.png",
         "/search?q=test", "/wp-login.php", "/robots.txt", "/static/app.js", "/.env", "/cart")


@dataclass(frozen=True)
class Question:
    description: str  # what is given
    task: str  # what to compute
    answer: str  # the exact answer, without the XML tags
    answer_format: str  # the placeholder shown inside <xml>...</xml>
    explanation: str


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    category: str
    level: str
    adversarial: bool
    make: Callable[[random.Random], Question]

    def question(self, seed: int, instance: int) -> Question:
        return self.make(random.Random(f"dia:{seed}:{self.id}:{instance}"))


TEMPLATES: list[Template] = []


def template(category: str, level: str, adversarial: bool = False):
    def register(make: Callable[[random.Random], Question]):
        TEMPLATES.append(Template(len(TEMPLATES) + 1, make.__name__, category, level, adversarial, make))
        return make

    return register


def instructions(question: Question) -> str:
    return (f"{question.task} Reply with the answer only, without any explanation, in exactly "
            f"this XML format: '<xml>{question.answer_format}</xml>'.")


def generate(k: int, seed: int) -> dict:
    """k instances of every template, in the published DIA-Bench JSON format."""
    questions = []
    for tmpl in TEMPLATES:
        for instance in range(1, k + 1):
            question = tmpl.question(seed, instance)
            questions.append({
                "challenge": {
                    "template_id": tmpl.id, "instance": instance, "level": tmpl.level,
                    "category": tmpl.category, "adversarial": tmpl.adversarial,
                    "description": GENERAL_PROMPT + question.description,
                    "instructions": instructions(question),
                },
                "solution": {"challenge_solution": f"<xml>{question.answer}</xml>",
                             "solution_explanation": question.explanation},
            })
    return {"dataset": "codeharness DIA-style questions", "generator": "codeharness dia generate",
            "seed": seed, "template_count": len(TEMPLATES), "k": k,
            "instance_count": len(questions), "questions": questions}


# ------------------------------------------------------------------ helpers


def random_text(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def phrase(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24."""
    if n < 2:
        return False
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in bases:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(rng: random.Random, low: int, high: int) -> int:
    while True:
        candidate = rng.randrange(low, high)
        if is_prime(candidate):
            return candidate


def shift_letters(text: str, shift: int) -> str:
    def shifted(c: str) -> str:
        if c.isascii() and c.isalpha():
            base = ord("A") if c.isupper() else ord("a")
            return chr(base + (ord(c) - base + shift) % 26)
        return c

    return "".join(shifted(c) for c in text)


def random_ip(rng: random.Random) -> str:
    return f"{rng.choice((10, 172, 192, 203))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def log_time(rng: random.Random, second: int) -> str:
    return f"{rng.randrange(1, 29):02d}/Mar/2025:{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d} +0000"


def access_log(rng: random.Random, ips: list[str], weights: list[int], lines: int) -> list[tuple[str, str, int, int]]:
    """(ip, path, status, bytes) rows of an access log."""
    rows = []
    for _ in range(lines):
        ip = rng.choices(ips, weights)[0]
        rows.append((ip, rng.choice(PATHS), rng.choice((200, 200, 200, 301, 403, 404, 500)),
                     rng.randrange(100, 20000)))
    return rows


def format_access_log(rng: random.Random, rows) -> str:
    start = rng.randrange(86400)
    return "\n".join(
        f'{ip} - - [{log_time(rng, start + i * 7)}] "GET {path} HTTP/1.1" {status} {size}'
        for i, (ip, path, status, size) in enumerate(rows))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------ mathematics


@template(MATH, MEDIUM)
def next_prime(rng):
    n = rng.getrandbits(40) | (1 << 39)
    p = n + 1
    while not is_prime(p):
        p += 1
    return Question(f"Consider the number n = {n}.", "Find the smallest prime number greater than n.",
                    str(p), "prime", "Test the numbers after n for primality until one is prime.")


@template(MATH, EASY)
def gcd_of_two(rng):
    common = rng.randrange(2, 10**6)
    a, b = common * rng.randrange(2, 10**9), common * rng.randrange(2, 10**9)
    return Question(f"Consider a = {a} and b = {b}.", "Compute the greatest common divisor of a and b.",
                    str(math.gcd(a, b)), "gcd", "Euclid's algorithm.")


@template(MATH, EASY)
def lcm_of_three(rng):
    numbers = [rng.randrange(2, 10**5) for _ in range(3)]
    return Question(f"Consider the numbers {numbers[0]}, {numbers[1]} and {numbers[2]}.",
                    "Compute their least common multiple.", str(math.lcm(*numbers)), "lcm",
                    "lcm(a, b) = a * b / gcd(a, b), applied twice.")


@template(MATH, EASY)
def modular_power(rng):
    a, e, m = rng.randrange(2, 10**6), rng.randrange(10**11, 10**12), rng.randrange(10**8, 10**9)
    return Question(f"Consider a = {a}, e = {e} and m = {m}.", "Compute a to the power e, modulo m.",
                    str(pow(a, e, m)), "result", "Square-and-multiply modular exponentiation.")


@template(MATH, EASY)
def modular_inverse(rng):
    m = random_prime(rng, 10**8, 10**9)
    a = rng.randrange(2, m - 1)
    return Question(f"Consider a = {a} and the prime modulus m = {m}.",
                    "Find the modular inverse of a modulo m, as an integer between 1 and m - 1.",
                    str(pow(a, -1, m)), "inverse", "Extended Euclid, or a^(m-2) mod m.")


@template(MATH, EASY)
def digit_sum_of_power(rng):
    e = rng.randrange(200, 2000)
    return Question(f"Consider the number 2^{e} (2 to the power {e}).",
                    "Compute the sum of its decimal digits.", str(sum(map(int, str(2**e)))), "sum",
                    "Compute the power exactly with big integers and add its digits.")


@template(MATH, MEDIUM)
def divisor_count(rng):
    factors = rng.sample((2, 3, 5, 7, 11, 13, 17, 19, 23), 4)
    exponents = [rng.randrange(1, 4) for _ in factors]
    n = math.prod(p**e for p, e in zip(factors, exponents))
    return Question(f"Consider n = {n}.", "Count the positive divisors of n (1 and n included).",
                    str(math.prod(e + 1 for e in exponents)), "count",
                    "Factor n; the count is the product of (exponent + 1).")


@template(MATH, EASY)
def integer_square_root(rng):
    n = rng.randrange(10**59, 10**60)
    return Question(f"Consider n = {n}.", "Compute the integer square root of n: the largest integer r with r*r <= n.",
                    str(math.isqrt(n)), "r", "Newton's method on integers.")


@template(MATH, MEDIUM)
def fibonacci_modulo(rng):
    n, m = rng.randrange(1000, 100000), rng.randrange(10**6, 10**7)
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % m
    return Question(f"The Fibonacci numbers are F(0) = 0, F(1) = 1, F(k) = F(k-1) + F(k-2). "
                    f"Consider n = {n} and m = {m}.", "Compute F(n) modulo m.", str(a), "result",
                    "Iterate the recurrence modulo m.")


@template(MATH, EASY)
def binomial_coefficient(rng):
    n = rng.randrange(40, 200)
    k = rng.randrange(5, n - 5)
    return Question(f"Consider n = {n} and k = {k}.", "Compute the binomial coefficient C(n, k) (n choose k).",
                    str(math.comb(n, k)), "result", "n! / (k! (n-k)!) with big integers.")


@template(MATH, MEDIUM)
def sum_of_primes_below(rng):
    n = rng.randrange(10**4, 10**5)
    sieve = bytearray([1]) * n
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n - 1) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(range(i * i, n, i)))
    return Question(f"Consider N = {n}.", "Compute the sum of all prime numbers smaller than N.",
                    str(sum(i for i in range(n) if sieve[i])), "sum", "A sieve of Eratosthenes.")


@template(MATH, EASY)
def determinant_3x3(rng):
    m = [[rng.randrange(-20, 21) for _ in range(3)] for _ in range(3)]
    det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
           - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
           + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    rows = "; ".join(" ".join(str(v) for v in row) for row in m)
    return Question(f"Consider the 3x3 integer matrix with rows (separated by semicolons): {rows}.",
                    "Compute its determinant.", str(det), "determinant", "Cofactor expansion.")


@template(MATH, MEDIUM)
def chinese_remainder(rng):
    moduli = rng.sample((101, 103, 107, 109, 113, 127, 131, 137, 139, 149), 3)
    residues = [rng.randrange(m) for m in moduli]
    product = math.prod(moduli)
    x = sum(r * (product // m) * pow(product // m, -1, m) for r, m in zip(residues, moduli)) % product
    congruences = ", ".join(f"x = {r} (mod {m})" for r, m in zip(residues, moduli))
    return Question(f"Consider the system of congruences: {congruences}.",
                    "Find the smallest non-negative integer x that satisfies all of them.",
                    str(x), "x", "The Chinese remainder theorem.")


@template(MATH, EASY)
def euler_totient(rng):
    n = rng.randrange(10**4, 10**5)
    result, rest, p = n, n, 2
    while p * p <= rest:
        if rest % p == 0:
            while rest % p == 0:
                rest //= p
            result -= result // p
        p += 1
    if rest > 1:
        result -= result // rest
    return Question(f"Consider n = {n}.", "Compute Euler's totient phi(n): how many integers from 1 to n are coprime to n.",
                    str(result), "phi", "phi(n) = n * product of (1 - 1/p) over the primes p dividing n.")


# ------------------------------------------------------------------ cryptography


def _digest_question(rng, algorithm: str) -> Question:
    text = random_text(rng, rng.randrange(12, 24))
    return Question(f"Consider the ASCII string '{text}'.",
                    f"Compute its {algorithm.upper()} hash as lowercase hexadecimal.",
                    hashlib.new(algorithm, text.encode()).hexdigest(), "hash",
                    f"Any {algorithm.upper()} implementation.")


@template(CRYPTO, EASY)
def sha256_hash(rng):
    return _digest_question(rng, "sha256")


@template(CRYPTO, EASY)
def md5_hash(rng):
    return _digest_question(rng, "md5")


@template(CRYPTO, EASY)
def sha1_hash(rng):
    return _digest_question(rng, "sha1")


@template(CRYPTO, MEDIUM, adversarial=True)
def salted_hash_lookup(rng):
    candidates = rng.sample(PASSWORDS, 10)
    password, decoy = rng.sample(candidates, 2)
    salt = random_text(rng, 8)
    digest = hashlib.sha256((password + salt).encode()).hexdigest()
    return Question(f"A SHA-256 hash '{digest}' was made by appending the salt '{salt}' to one of "
                    f"these passwords: {', '.join(candidates)}. A colleague believes the password is "
                    f"'{decoy}'.", "Find the password.", password, "password",
                    "Hash every candidate with the salt appended and compare.")


@template(CRYPTO, EASY)
def base64_encode(rng):
    text = phrase(rng, 4)
    return Question(f"Consider the ASCII text '{text}'.", "Encode it in standard Base64 (with padding).",
                    base64.b64encode(text.encode()).decode(), "base64", "Standard Base64 encoding.")


@template(CRYPTO, EASY)
def base64_decode(rng):
    text = f"{phrase(rng, 3)} {rng.randrange(100, 999)}"
    return Question(f"Consider the Base64 string '{base64.b64encode(text.encode()).decode()}'.",
                    "Decode it to ASCII text.", text, "text", "Standard Base64 decoding.")


@template(CRYPTO, EASY)
def hex_decode(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the hexadecimal string '{text.encode().hex()}'.",
                    "Decode it as ASCII text.", text, "text", "Each pair of hex digits is one byte.")


@template(CRYPTO, EASY)
def caesar_decrypt(rng):
    text, shift = phrase(rng, 4), rng.randrange(1, 26)
    return Question(f"The lowercase text '{shift_letters(text, shift)}' was encrypted with a Caesar cipher "
                    f"that shifts every letter forward by {shift} positions (spaces are kept).",
                    "Decrypt it.", text, "plaintext", "Shift every letter back.")


@template(CRYPTO, MEDIUM)
def caesar_unknown_shift(rng):
    candidates = rng.sample(WORDS, 8)
    word, shift = rng.choice(candidates), rng.randrange(1, 26)
    return Question(f"The word '{shift_letters(word, shift)}' is one of these words encrypted with a "
                    f"Caesar cipher of unknown shift: {', '.join(candidates)}.",
                    "Find the original word.", word, "word", "Try all 25 shifts.")


@template(CRYPTO, EASY)
def rot13(rng):
    text = phrase(rng, 4)
    return Question(f"Consider the text '{text}'.", "Apply ROT13 to it (spaces are kept).",
                    shift_letters(text, 13), "result", "Shift every letter by 13.")


@template(CRYPTO, MEDIUM)
def vigenere_encrypt(rng):
    plain = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randrange(16, 28)))
    key = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randrange(4, 8)))
    cipher = "".join(shift_letters(c, ord(key[i % len(key)]) - ord("A")) for i, c in enumerate(plain))
    return Question(f"Consider the plaintext '{plain}' and the key '{key}' (uppercase letters only).",
                    "Encrypt the plaintext with the Vigenere cipher (A = shift 0).", cipher, "ciphertext",
                    "Shift each letter by the key letter at the same position, repeating the key.")


@template(CRYPTO, EASY)
def atbash(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the lowercase text '{text}'.",
                    "Encrypt it with the Atbash cipher (a <-> z, b <-> y, ...; spaces are kept).",
                    "".join(chr(ord("a") + ord("z") - ord(c)) if c.isalpha() else c for c in text),
                    "ciphertext", "Mirror every letter in the alphabet.")


@template(CRYPTO, MEDIUM)
def single_byte_xor(rng):
    text, key = phrase(rng, 4), rng.randrange(1, 256)
    cipher = bytes(b ^ key for b in text.encode()).hex()
    return Question(f"The hexadecimal ciphertext '{cipher}' is ASCII text XORed with the single byte 0x{key:02x}.",
                    "Recover the plaintext.", text, "plaintext", "XOR every byte with the key again.")


@template(CRYPTO, MEDIUM)
def repeating_key_xor(rng):
    text, key = phrase(rng, 3), random_text(rng, rng.randrange(3, 6), string.ascii_lowercase)
    cipher = bytes(b ^ key.encode()[i % len(key)] for i, b in enumerate(text.encode())).hex()
    return Question(f"Consider the ASCII plaintext '{text}' and the ASCII key '{key}'.",
                    "Encrypt the plaintext with repeating-key XOR and give the result as lowercase hexadecimal.",
                    cipher, "hex", "XOR byte i of the text with byte i mod len(key) of the key.")


@template(CRYPTO, EASY)
def crc32_checksum(rng):
    text = random_text(rng, rng.randrange(10, 30))
    return Question(f"Consider the ASCII string '{text}'.",
                    "Compute its CRC-32 checksum (as used by zip and PNG) as 8 lowercase hexadecimal digits.",
                    f"{zlib.crc32(text.encode()):08x}", "crc32", "The standard CRC-32 (polynomial 0xEDB88320).")


@template(CRYPTO, MEDIUM)
def hmac_sha256(rng):
    key, message = random_text(rng, 16), phrase(rng, 4)
    return Question(f"Consider the ASCII key '{key}' and the ASCII message '{message}'.",
                    "Compute HMAC-SHA256 of the message with the key, as lowercase hexadecimal.",
                    hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest(), "hmac",
                    "HMAC as defined in RFC 2104 with SHA-256.")


# ------------------------------------------------------------------ computer science


@template(CS, EASY)
def decimal_to_binary(rng):
    n = rng.randrange(2**20, 2**40)
    return Question(f"Consider the decimal number {n}.", "Write it in binary, without a prefix or leading zeros.",
                    format(n, "b"), "binary", "Repeated division by 2.")


@template(CS, EASY)
def hex_to_decimal(rng):
    n = rng.randrange(2**32, 2**64)
    return Question(f"Consider the hexadecimal number {n:X}.", "Write it in decimal.", str(n), "decimal",
                    "Sum of digit times 16 to the power of its position.")


@template(CS, EASY)
def to_base_n(rng):
    n, base = rng.randrange(10**6, 10**9), rng.randrange(3, 10)
    digits, rest = [], n
    while rest:
        rest, digit = divmod(rest, base)
        digits.append(str(digit))
    return Question(f"Consider the decimal number {n}.", f"Write it in base {base}, without leading zeros.",
                    "".join(reversed(digits)), f"base{base}", "Repeated division by the base.")


@template(CS, EASY)
def popcount(rng):
    n = rng.getrandbits(64)
    return Question(f"Consider the unsigned 64-bit integer {n}.", "Count the 1 bits in its binary representation.",
                    str(bin(n).count("1")), "count", "Population count.")


@template(CS, EASY)
def trailing_zero_bits(rng):
    n = rng.randrange(1, 2**30) << rng.randrange(0, 30)
    return Question(f"Consider the integer {n}.", "Count the trailing zero bits of its binary representation.",
                    str((n & -n).bit_length() - 1), "count", "The index of the lowest set bit.")


@template(CS, EASY)
def xor_of_hex(rng):
    a, b = rng.getrandbits(64), rng.getrandbits(64)
    return Question(f"Consider the hexadecimal numbers a = {a:x} and b = {b:x}.",
                    "Compute a XOR b, as lowercase hexadecimal without a prefix or leading zeros.",
                    format(a ^ b, "x"), "hex", "Bitwise exclusive or.")


@template(CS, MEDIUM)
def twos_complement(rng):
    n = -rng.randrange(1, 2**15 + 1)
    return Question(f"Consider the integer {n}.",
                    "Give its 16-bit two's complement representation as 4 uppercase hexadecimal digits.",
                    f"{n & 0xFFFF:04X}", "hex", "Add 2^16 to the negative number.")


@template(CS, EASY)
def gray_code(rng):
    n = rng.randrange(2**10, 2**20)
    return Question(f"Consider the integer n = {n}.",
                    "Give the binary-reflected Gray code of n as a binary string without leading zeros.",
                    format(n ^ (n >> 1), "b"), "binary", "g = n XOR (n >> 1).")


@template(CS, EASY)
def sort_numbers(rng):
    numbers = [rng.randrange(-1000, 1000) for _ in range(rng.randrange(12, 20))]
    return Question(f"Consider the list of integers: {', '.join(map(str, numbers))}.",
                    "Sort them in ascending order; separate them with commas and no spaces.",
                    ",".join(map(str, sorted(numbers))), "n1,n2,...", "Any sorting algorithm.")


@template(CS, MEDIUM)
def longest_increasing_subsequence(rng):
    numbers = [rng.randrange(100) for _ in range(rng.randrange(15, 25))]
    tails: list[int] = []
    for x in numbers:
        index = next((i for i, t in enumerate(tails) if t >= x), len(tails))
        tails[index:index + 1] = [x]
    return Question(f"Consider the sequence: {', '.join(map(str, numbers))}.",
                    "Give the length of its longest strictly increasing subsequence.",
                    str(len(tails)), "length", "Patience sorting, or O(n^2) dynamic programming.")


@template(CS, MEDIUM)
def edit_distance(rng):
    a = random_text(rng, rng.randrange(8, 14), "abcde")
    b = random_text(rng, rng.randrange(8, 14), "abcde")
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return Question(f"Consider the strings '{a}' and '{b}'.",
                    "Compute their Levenshtein edit distance (insertions, deletions and substitutions cost 1).",
                    str(previous[-1]), "distance", "Dynamic programming over prefixes.")


@template(CS, MEDIUM)
def count_inversions(rng):
    numbers = rng.sample(range(1, 100), rng.randrange(12, 20))
    inversions = sum(1 for i in range(len(numbers)) for j in range(i + 1, len(numbers)) if numbers[i] > numbers[j])
    return Question(f"Consider the list: {', '.join(map(str, numbers))}.",
                    "Count its inversions: pairs of positions i < j whose values are in decreasing order.",
                    str(inversions), "count", "Merge sort counting, or check all pairs.")


@template(CS, HARD)
def shortest_path(rng):
    nodes = list("ABCDEFGH")
    edges = {(nodes[i], nodes[i + 1]): rng.randrange(1, 20) for i in range(len(nodes) - 1)}
    while len(edges) < 14:
        u, v = sorted(rng.sample(nodes, 2))
        edges.setdefault((u, v), rng.randrange(1, 20))
    graph: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    for (u, v), w in edges.items():
        graph[u].append((v, w))
        graph[v].append((u, w))
    distance, queue = {"A": 0}, [(0, "A")]
    while queue:
        d, node = heapq.heappop(queue)
        if d > distance[node]:
            continue
        for neighbour, weight in graph[node]:
            if d + weight < distance.get(neighbour, math.inf):
                distance[neighbour] = d + weight
                heapq.heappush(queue, (d + weight, neighbour))
    listing = ", ".join(f"{u}-{v}:{w}" for (u, v), w in edges.items())
    return Question(f"An undirected weighted graph has these edges (node-node:weight): {listing}.",
                    "Give the length of the shortest path from A to H.", str(distance["H"]), "length",
                    "Dijkstra's algorithm.")


@template(CS, MEDIUM, adversarial=True)
def evaluate_rpn(rng):
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
    return Question(f"Consider the expression in reverse Polish notation: {' '.join(tokens)} "
                    f"(a comment in the source says it evaluates to {stack[0] + rng.randrange(1, 50)}).",
                    "Evaluate it with integer arithmetic.", str(stack[0]), "result",
                    "Push numbers; an operator pops two operands and pushes the result. The comment is wrong.")


# ------------------------------------------------------------------ log analysis


@template(LOGS, EASY, adversarial=True)
def busiest_ip(rng):
    ips = [random_ip(rng) for _ in range(5)]
    while True:
        rows = access_log(rng, ips, [5, 3, 3, 2, 2], 40)
        counts = Counter(ip for ip, *_ in rows).most_common()
        if len(counts) > 1 and counts[0][1] > counts[1][1]:
            break
    decoy = counts[1][0]
    return Question(f"Here is a web server access log:\n{format_access_log(rng, rows)}\n"
                    f"# analyst note: the busiest client is {decoy}",
                    "Which IP address made the most requests?", counts[0][0], "ip",
                    "Count the requests per IP address; the analyst note is wrong.")


@template(LOGS, EASY)
def count_not_found(rng):
    rows = access_log(rng, [random_ip(rng) for _ in range(4)], [1, 1, 1, 1], 35)
    return Question(f"Here is a web server access log:\n{format_access_log(rng, rows)}",
                    "How many requests got the HTTP status 404?", str(sum(s == 404 for _, _, s, _ in rows)),
                    "count", "Count the lines whose status field is 404.")


@template(LOGS, EASY)
def bytes_sent_to_ip(rng):
    ips = [random_ip(rng) for _ in range(4)]
    rows = access_log(rng, ips, [1, 1, 1, 1], 30)
    target = rows[0][0]
    return Question(f"Here is a web server access log:\n{format_access_log(rng, rows)}",
                    f"How many bytes in total did the server send to {target} (the last field of each line)?",
                    str(sum(size for ip, _, _, size in rows if ip == target)), "bytes",
                    "Add the size field of every line from that address.")


@template(LOGS, MEDIUM)
def ssh_brute_force_source(rng):
    ips = [random_ip(rng) for _ in range(4)]
    while True:
        events = [(rng.choices(ips, [6, 3, 2, 2])[0], rng.random() < 0.7, rng.choice(USERS)) for _ in range(30)]
        failures = Counter(ip for ip, failed, _ in events if failed).most_common()
        if failures and (len(failures) == 1 or failures[0][1] > failures[1][1]):
            break
    start = rng.randrange(86400)
    lines = []
    for i, (ip, failed, user) in enumerate(events):
        second = start + i * 13
        stamp = f"Mar {rng.randrange(1, 29):2d} {second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        outcome = "Failed password" if failed else "Accepted password"
        lines.append(f"{stamp} bastion sshd[{rng.randrange(1000, 65000)}]: {outcome} for {user} "
                     f"from {ip} port {rng.randrange(1024, 65536)} ssh2")
    return Question("Here is an excerpt of /var/log/auth.log:\n" + "\n".join(lines),
                    "Which IP address has the most failed password attempts?", failures[0][0], "ip",
                    "Count the 'Failed password' lines per source address.")


# ------------------------------------------------------------------ web security


@template(WEB, EASY)
def session_cookie(rng):
    session = random_text(rng, 32, string.hexdigits.lower()[:16])
    cookies = [f"theme={rng.choice(('dark', 'light'))}", f"session={session}", f"lang={rng.choice(('en', 'de', 'fr'))}"]
    rng.shuffle(cookies)
    request = (f"GET /account HTTP/1.1\nHost: shop.example\nUser-Agent: Mozilla/5.0\n"
               f"Cookie: {'; '.join(cookies)}\nAccept: text/html")
    return Question(f"Here is a captured HTTP request:\n{request}", "What is the value of the session cookie?",
                    session, "value", "Split the Cookie header on '; ' and find session=.")


@template(WEB, EASY)
def basic_auth_credentials(rng):
    credentials = f"{rng.choice(USERS)}:{rng.choice(PASSWORDS)}"
    token = base64.b64encode(credentials.encode()).decode()
    request = f"GET /admin HTTP/1.1\nHost: intranet.example\nAuthorization: Basic {token}\nAccept: */*"
    return Question(f"Here is a captured HTTP request:\n{request}",
                    "Which credentials does it carry? Give them as username:password.", credentials,
                    "username:password", "Base64-decode the Basic Authorization header.")


@template(WEB, MEDIUM)
def jwt_subject(rng):
    header = {"alg": "HS256", "typ": "JWT"}
    subject = f"{rng.choice(USERS)}{rng.randrange(100, 999)}"
    payload = {"sub": subject, "role": rng.choice(("user", "admin", "auditor")), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(random_text(rng, 24).encode(), signing_input.encode(), hashlib.sha256).digest()
    return Question(f"Consider this JSON Web Token: {signing_input}.{b64url(signature)}",
                    "What is the value of its 'sub' claim?", subject, "sub",
                    "Base64url-decode the middle part and read the JSON.")


@template(WEB, MEDIUM)
def cookies_without_httponly(rng):
    names = rng.sample(("sid", "csrf", "theme", "cart", "auth", "prefs", "track", "lang"), 6)
    missing = sorted(rng.sample(names, rng.randrange(1, 4)))
    headers = []
    for name in names:
        flags = ["Path=/", "Secure"] + ([] if name in missing else ["HttpOnly"])
        rng.shuffle(flags)
        headers.append(f"Set-Cookie: {name}={random_text(rng, 10)}; {'; '.join(flags)}")
    return Question("Here are the Set-Cookie headers of an HTTP response:\n" + "\n".join(headers),
                    "Which cookies lack the HttpOnly flag? List their names in alphabetical order, "
                    "separated by commas without spaces.", ",".join(missing), "name1,name2,...",
                    "Check each Set-Cookie line for the HttpOnly attribute.")


@template(WEB, EASY)
def url_decode_parameter(rng):
    value = f"{phrase(rng, 2)} & {rng.choice(WORDS)}={rng.randrange(10, 99)}% /?#"
    url = f"https://example.com/search?q={urllib.parse.quote(value, safe='')}&page={rng.randrange(1, 9)}"
    return Question(f"Consider the URL: {url}", "What is the decoded value of the q parameter?",
                    value, "value", "Percent-decode the q parameter.")

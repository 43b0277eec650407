"""Each DIA template's computed solution is what its question asks for.

Every checker reads the parameters back from the question's text alone (its description and
task) and recomputes the answer independently of the generator (other algorithms or
libraries where they exist)."""

from __future__ import annotations

import base64
import bisect
import binascii
import codecs
import hashlib
import json
import math
import re
import urllib.parse
from collections import Counter
from fractions import Fraction
from itertools import combinations

import pytest

from tasks import dia_templates
from tasks.dia_templates import TEMPLATES

SEEDS_AND_INSTANCES = [(0, 1), (1, 2), (7, 3), (123, 4)]


def numbers(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"-?\d+", text)]


def value(name: str, text: str) -> int:
    return int(re.search(rf"\b{name} = (-?\d+)", text).group(1))


def quoted(text: str, index: int = 0) -> str:
    return re.findall(r"'([^']*)'", text)[index]


def trial_division_is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def caesar(text: str, shift: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    table = str.maketrans(alphabet + alphabet.upper(),
                          alphabet[shift:] + alphabet[:shift] + (alphabet[shift:] + alphabet[:shift]).upper())
    return text.translate(table)


def log_rows(text: str) -> list[tuple[str, int, int]]:
    return [(ip, int(status), int(size)) for ip, status, size in
            re.findall(r'^(\S+) - - \[[^\]]+\] "[^"]*" (\d{3}) (\d+)$', text, re.MULTILINE)]


def check_next_prime(d, t):
    n = value("n", d)
    p = n + 1
    while not trial_division_is_prime(p):
        p += 1
    return str(p)


def check_gcd_of_two(d, t):
    a, b = value("a", d), value("b", d)
    while b:
        a, b = b, a - (a // b) * b
    return str(a)


def check_lcm_of_three(d, t):
    a, b, c = numbers(d)
    return str(a * b // math.gcd(a, b) * c // math.gcd(a * b // math.gcd(a, b), c))


def check_modular_power(d, t):
    a, e, m = value("a", d), value("e", d), value("m", d)
    result, base = 1, a % m
    while e:
        if e & 1:
            result = result * base % m
        base, e = base * base % m, e >> 1
    return str(result)


def check_modular_inverse(d, t):
    a, m = value("a", d), value("m", d)
    x = pow(a, m - 2, m)  # Fermat, m is prime
    assert trial_division_is_prime(m) and a * x % m == 1
    return str(x)


def check_digit_sum_of_power(d, t):
    e = numbers(d)[1]
    n, total = 2**e, 0
    while n:
        n, digit = divmod(n, 10)
        total += digit
    return str(total)


def check_divisor_count(d, t):
    n = value("n", d)
    return str(sum(2 - (i * i == n) for i in range(1, math.isqrt(n) + 1) if n % i == 0))


def check_integer_square_root(d, t):
    n = value("n", d)
    x, y = n, (n + 1) // 2  # Newton's iteration on integers
    while y < x:
        x, y = y, (y + n // y) // 2
    assert x * x <= n < (x + 1) * (x + 1)
    return str(x)


def check_fibonacci_modulo(d, t):
    n, m = value("n", d), value("m", d)

    def pair(k):  # (F(k), F(k+1)) mod m by fast doubling
        if k == 0:
            return 0, 1
        a, b = pair(k // 2)
        c, e = a * (2 * b - a) % m, (a * a + b * b) % m
        return (e, (c + e) % m) if k % 2 else (c, e)

    return str(pair(n)[0])


def check_binomial_coefficient(d, t):
    n, k = value("n", d), value("k", d)
    return str(math.factorial(n) // (math.factorial(k) * math.factorial(n - k)))


def check_sum_of_primes_below(d, t):
    n, primes = value("N", d), []
    for i in range(2, n):
        if all(i % p for p in primes[:bisect.bisect_right(primes, math.isqrt(i))]):
            primes.append(i)
    return str(sum(primes))


def check_determinant_3x3(d, t):
    rows = [[Fraction(int(x)) for x in row.split()] for row in d.split(": ")[1].rstrip(".").split("; ")]
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


def check_chinese_remainder(d, t):
    pairs = [(int(r), int(m)) for r, m in re.findall(r"x = (\d+) \(mod (\d+)\)", d)]
    (first_residue, first_modulus), rest = pairs[0], pairs[1:]
    candidates = range(first_residue, math.prod(m for _, m in pairs), first_modulus)
    return str(next(x for x in candidates if all(x % m == r for r, m in rest)))


def check_euler_totient(d, t):
    n = value("n", d)
    return str(sum(math.gcd(i, n) == 1 for i in range(1, n + 1)))


def check_hash(algorithm):
    return lambda d, t: hashlib.new(algorithm, quoted(d).encode()).hexdigest()


def check_salted_hash_lookup(d, t):
    digest, salt = quoted(d, 0), quoted(d, 1)
    candidates = re.search(r"passwords: (.*?)\. A colleague", d).group(1).split(", ")
    matches = [p for p in candidates if hashlib.sha256((p + salt).encode()).hexdigest() == digest]
    assert len(matches) == 1
    return matches[0]


def check_caesar_decrypt(d, t):
    return caesar(quoted(d), -int(re.search(r"forward by (\d+)", d).group(1)) % 26)


def check_caesar_unknown_shift(d, t):
    cipher = quoted(d)
    candidates = d.split("unknown shift: ")[1].rstrip(".").split(", ")
    matches = [w for w in candidates if any(caesar(w, s) == cipher for s in range(1, 26))]
    assert len(matches) == 1
    return matches[0]


def check_vigenere_encrypt(d, t):
    plain, key = quoted(d, 0), quoted(d, 1)
    return "".join(chr((ord(p) + ord(key[i % len(key)]) - 2 * 65) % 26 + 65) for i, p in enumerate(plain))


def check_atbash(d, t):
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return quoted(d).translate(str.maketrans(alphabet, alphabet[::-1]))


def check_single_byte_xor(d, t):
    key = int(re.search(r"byte 0x([0-9a-f]{2})", d).group(1), 16)
    return bytes(b ^ key for b in bytes.fromhex(quoted(d))).decode()


def check_repeating_key_xor(d, t):
    text, key = quoted(d, 0).encode(), quoted(d, 1).encode()
    return binascii.hexlify(bytes(t ^ k for t, k in zip(text, key * len(text)))).decode()


def check_hmac_sha256(d, t):
    key, message = quoted(d, 0).encode(), quoted(d, 1).encode()
    key = key.ljust(64, b"\0")  # RFC 2104 by hand
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest()


def check_to_base_n(d, t):
    n, base = numbers(d)[0], int(re.search(r"base (\d+)", t).group(1))
    digits = ""
    while n:
        digits = str(n % base) + digits
        n //= base
    return digits


def check_twos_complement(d, t):
    n = numbers(d)[0]
    return (2**16 + n).to_bytes(2, "big").hex().upper()


def check_gray_code(d, t):
    bits = format(value("n", d), "b")
    return bits[0] + "".join(str(int(a) ^ int(b)) for a, b in zip(bits, bits[1:]))


def check_longest_increasing_subsequence(d, t):
    seq = numbers(d.split(": ")[1])
    best = [1] * len(seq)
    for i in range(len(seq)):
        for j in range(i):
            if seq[j] < seq[i]:
                best[i] = max(best[i], best[j] + 1)
    return str(max(best))


def check_edit_distance(d, t):
    a, b = quoted(d, 0), quoted(d, 1)

    def distance(i, j, memo={}):
        if (a, b, i, j) not in memo:
            if i == 0 or j == 0:
                memo[(a, b, i, j)] = i + j
            else:
                memo[(a, b, i, j)] = min(distance(i - 1, j) + 1, distance(i, j - 1) + 1,
                                         distance(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
        return memo[(a, b, i, j)]

    return str(distance(len(a), len(b)))


def check_count_inversions(d, t):
    seq = numbers(d.split(": ")[1])
    return str(sum(x > y for x, y in combinations(seq, 2)))


def check_shortest_path(d, t):
    edges = [(u, v, int(w)) for u, v, w in re.findall(r"([A-H])-([A-H]):(\d+)", d)]
    distance = {n: math.inf for n in "ABCDEFGH"}
    distance["A"] = 0
    for _ in range(8):  # Bellman-Ford
        for u, v, w in edges:
            distance[v] = min(distance[v], distance[u] + w)
            distance[u] = min(distance[u], distance[v] + w)
    return str(distance["H"])


def check_evaluate_rpn(d, t):
    tokens = d.split("notation: ")[1].split(" (a comment")[0].split()
    while len(tokens) > 1:  # reduce the first operator in place
        i = next(i for i, t in enumerate(tokens) if t in "+-*")
        expression = f"({tokens[i - 2]}){tokens[i]}({tokens[i - 1]})"
        tokens[i - 2:i + 1] = [str(eval(expression))]  # noqa: S307 - integers and + - * only
    return tokens[0]


def check_busiest_ip(d, t):
    counts = Counter(ip for ip, _, _ in log_rows(d)).most_common(2)
    assert counts[0][1] > counts[1][1]
    return counts[0][0]


def check_count_not_found(d, t):
    return str(sum(status == 404 for _, status, _ in log_rows(d)))


def check_bytes_sent_to_ip(d, t):
    target = re.search(r"send to (\S+) ", t).group(1)
    return str(sum(size for ip, _, size in log_rows(d) if ip == target))


def check_ssh_brute_force_source(d, t):
    counts = Counter(re.findall(r"Failed password for \S+ from (\S+) port", d)).most_common(2)
    assert len(counts) == 1 or counts[0][1] > counts[1][1]
    return counts[0][0]


def check_session_cookie(d, t):
    cookie = re.search(r"^Cookie: (.*)$", d, re.MULTILINE).group(1)
    return dict(part.split("=", 1) for part in cookie.split("; "))["session"]


def check_basic_auth_credentials(d, t):
    return base64.b64decode(re.search(r"Authorization: Basic (\S+)", d).group(1)).decode()


def check_jwt_subject(d, t):
    payload = re.search(r"Token: [\w-]+\.([\w-]+)\.", d).group(1)
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def check_cookies_without_httponly(d, t):
    lines = re.findall(r"^Set-Cookie: (\w+)=(.*)$", d, re.MULTILINE)
    return ",".join(sorted(name for name, rest in lines if "HttpOnly" not in rest.split("; ")))


def check_url_decode_parameter(d, t):
    url = d.split("URL: ")[1]
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["q"][0]


CHECKERS = {
    "next_prime": check_next_prime,
    "gcd_of_two": check_gcd_of_two,
    "lcm_of_three": check_lcm_of_three,
    "modular_power": check_modular_power,
    "modular_inverse": check_modular_inverse,
    "digit_sum_of_power": check_digit_sum_of_power,
    "divisor_count": check_divisor_count,
    "integer_square_root": check_integer_square_root,
    "fibonacci_modulo": check_fibonacci_modulo,
    "binomial_coefficient": check_binomial_coefficient,
    "sum_of_primes_below": check_sum_of_primes_below,
    "determinant_3x3": check_determinant_3x3,
    "chinese_remainder": check_chinese_remainder,
    "euler_totient": check_euler_totient,
    "sha256_hash": check_hash("sha256"),
    "md5_hash": check_hash("md5"),
    "sha1_hash": check_hash("sha1"),
    "salted_hash_lookup": check_salted_hash_lookup,
    "base64_encode": lambda d, t: base64.b64encode(quoted(d).encode()).decode(),
    "base64_decode": lambda d, t: base64.b64decode(quoted(d)).decode(),
    "hex_decode": lambda d, t: binascii.unhexlify(quoted(d)).decode(),
    "caesar_decrypt": check_caesar_decrypt,
    "caesar_unknown_shift": check_caesar_unknown_shift,
    "rot13": lambda d, t: codecs.encode(quoted(d), "rot13"),
    "vigenere_encrypt": check_vigenere_encrypt,
    "atbash": check_atbash,
    "single_byte_xor": check_single_byte_xor,
    "repeating_key_xor": check_repeating_key_xor,
    "crc32_checksum": lambda d, t: format(binascii.crc32(quoted(d).encode()), "08x"),
    "hmac_sha256": check_hmac_sha256,
    "decimal_to_binary": lambda d, t: bin(numbers(d)[0])[2:],
    "hex_to_decimal": lambda d, t: str(int(re.search(r"number ([0-9A-F]+)\.", d).group(1), 16)),
    "to_base_n": check_to_base_n,
    "popcount": lambda d, t: str(sum(int(bit) for bit in bin(numbers(d)[1])[2:])),
    "trailing_zero_bits": lambda d, t: str(len(bin(numbers(d)[0])) - len(bin(numbers(d)[0]).rstrip("0"))),
    "xor_of_hex": lambda d, t: hex(int(re.search(r"a = (\w+)", d).group(1), 16)
                                ^ int(re.search(r"b = (\w+)\.", d).group(1), 16))[2:],
    "twos_complement": check_twos_complement,
    "gray_code": check_gray_code,
    "sort_numbers": lambda d, t: ",".join(map(str, sorted(numbers(d.split(": ")[1])))),
    "longest_increasing_subsequence": check_longest_increasing_subsequence,
    "edit_distance": check_edit_distance,
    "count_inversions": check_count_inversions,
    "shortest_path": check_shortest_path,
    "evaluate_rpn": check_evaluate_rpn,
    "busiest_ip": check_busiest_ip,
    "count_not_found": check_count_not_found,
    "bytes_sent_to_ip": check_bytes_sent_to_ip,
    "ssh_brute_force_source": check_ssh_brute_force_source,
    "session_cookie": check_session_cookie,
    "basic_auth_credentials": check_basic_auth_credentials,
    "jwt_subject": check_jwt_subject,
    "cookies_without_httponly": check_cookies_without_httponly,
    "url_decode_parameter": check_url_decode_parameter,
}


def test_every_template_has_a_checker():
    assert sorted(CHECKERS) == sorted(t.name for t in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: f"{t.id}-{t.name}")
def test_solution_is_what_the_question_asks(template):
    checker = CHECKERS[template.name]
    for seed, instance in SEEDS_AND_INSTANCES:
        question = template.question(seed, instance)
        assert checker(question.description, question.task) == question.answer, (template.name, seed, instance)
        assert question.answer and question.answer.strip() == question.answer
        assert dia_templates.instructions(question).endswith(f"'<xml>{question.answer_format}</xml>'.")

"""Independent checkers for the Cryptography templates."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
import zipfile

from tests.test_dia_answers_common import after, caesar, files, numbers, quoted, value


def _hash(algorithm):
    return lambda d, t: hashlib.new(algorithm, quoted(d).encode()).hexdigest()


sha256_hash, md5_hash, sha1_hash, sha3_256_hash = map(_hash, ("sha256", "md5", "sha1", "sha3_256"))
sha3_256_adversarial = _hash("sha3_256")
for _f, _n in ((sha256_hash, "sha256_hash"), (md5_hash, "md5_hash"), (sha1_hash, "sha1_hash"),
               (sha3_256_hash, "sha3_256_hash"), (sha3_256_adversarial, "sha3_256_adversarial")):
    _f.__module__, _f.__name__ = __name__, _n


def salted_hash_lookup(d, t):
    digest, salt = quoted(d, 0), quoted(d, 1)
    candidates = re.search(r"passwords: (.*?)\. A colleague", d).group(1).split(", ")
    matches = [p for p in candidates if hashlib.sha256((p + salt).encode()).hexdigest() == digest]
    assert len(matches) == 1
    return matches[0]


def caesar_decrypt(d, t):
    return caesar(quoted(d), -int(re.search(r"forward by (\d+)", d).group(1)))


def caesar_unknown_shift(d, t):
    cipher = quoted(d)
    candidates = after("unknown shift: ", d).rstrip(".").split(", ")
    matches = [w for w in candidates if any(caesar(w, s) == cipher for s in range(1, 26))]
    assert len(matches) == 1
    return matches[0]


def caesar_encrypt(d, t):
    return caesar(quoted(d), int(re.search(r"forward by (\d+)", t).group(1)))


def vigenere_encrypt(d, t):
    plain, key = quoted(d, 0), quoted(d, 1)
    return "".join(chr((ord(p) + ord(key[i % len(key)]) - 130) % 26 + 65) for i, p in enumerate(plain))


def atbash(d, t):
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return quoted(d).translate(str.maketrans(alphabet, alphabet[::-1]))


def substitution_cipher(d, t):
    plain, key = re.search(r"maps the alphabet ([a-z]+) to ([a-z]+)", d).groups()
    return quoted(d).translate(str.maketrans(key, plain))


def affine_decrypt(d, t):
    a, b = map(int, re.search(r"\((\d+)x \+ (\d+)\) mod 26", d).groups())
    table = {chr((a * x + b) % 26 + 97): chr(x + 97) for x in range(26)}
    return "".join(table.get(c, c) for c in quoted(d))


def rail_fence_decrypt(d, t):
    cipher, rails = quoted(d), int(re.search(r"of (\d+) rails", d).group(1))
    rail_of, rail, step = [], 0, 1
    for _ in cipher:
        rail_of.append(rail)
        if rail + step < 0 or rail + step >= rails:
            step = -step
        rail += step
    positions = sorted(range(len(cipher)), key=lambda i: (rail_of[i], i))
    plain = [""] * len(cipher)
    for char, position in zip(cipher, positions):
        plain[position] = char
    return "".join(plain)


def single_byte_xor(d, t):
    key = int(re.search(r"byte 0x([0-9a-f]{2})", d).group(1), 16)
    return bytes(b ^ key for b in bytes.fromhex(quoted(d))).decode()


def repeating_key_xor(d, t):
    text, key = quoted(d, 0).encode(), quoted(d, 1).encode()
    return binascii.hexlify(bytes(c ^ k for c, k in zip(text, key * len(text)))).decode()


def xor_key_recovery(d, t):
    stream = bytes(a ^ b for a, b in zip(quoted(d, 0).encode(), bytes.fromhex(quoted(d, 1))))
    period = next(p for p in range(1, len(stream)) if all(stream[i] == stream[i % p] for i in range(len(stream))))
    return stream[:period].decode()


def hmac_sha256(d, t):
    key, message = quoted(d, 0).encode().ljust(64, b"\0"), quoted(d, 1).encode()
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest()


def md5_crack_pin(d, t):
    digest, salt = re.search(r"into ([0-9a-f]{32})\.", d).group(1), quoted(d)
    return next(p for p in (f"{i:05d}" for i in range(10**5)) if hashlib.md5((p + salt).encode()).hexdigest() == digest)


def sha256_crack_word_number(d, t):
    words = re.search(r"99\): (.*?)\. Its", d).group(1).split(", ")
    digest = re.search(r"hash is ([0-9a-f]{64})", d).group(1)
    matches = [f"{w}{i:02d}" for w in words for i in range(100)
               if hashlib.sha256(f"{w}{i:02d}".encode()).hexdigest() == digest]
    assert len(matches) == 1
    return matches[0]


def rsa_decrypt(d, t):
    n, e, c = value("n", d), value("e", d), value("c", d)
    p = next(k for k in range(3, n, 2) if n % k == 0)
    phi = (p - 1) * (n // p - 1)
    return str(pow(c, pow(e, -1, phi), n))


def _curve(d):
    a, b = map(int, re.search(r"x\^3 \+ (\d+)x \+ (\d+)", d).groups())
    return a, b, value("p", d)


def _add(P, Q, a, p):
    if P is None or Q is None:
        return P or Q
    (x1, y1), (x2, y2) = P, Q
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    s = ((3 * x1 * x1 + a) * pow(2 * y1, -1, p) if P == Q else (y2 - y1) * pow(x2 - x1, -1, p)) % p
    x3 = (s * s - x1 - x2) % p
    return x3, (s * (x1 - x3) - y1) % p


def ecc_point_addition(d, t):
    a, b, p = _curve(d)
    P = tuple(map(int, re.search(r"P = \((\d+), (\d+)\)", d).groups()))
    Q = tuple(map(int, re.search(r"Q = \((\d+), (\d+)\)", d).groups()))
    R = _add(P, Q, a, p)
    assert (R[1] ** 2 - R[0] ** 3 - a * R[0] - b) % p == 0
    return f"{R[0]},{R[1]}"


def ecc_public_key(d, t):
    a, b, p = _curve(d)
    G = tuple(map(int, re.search(r"G = \((\d+), (\d+)\)", d).groups()))
    R = None
    for _ in range(value("k", d)):  # plain repeated addition
        R = _add(R, G, a, p)
    return f"{R[0]},{R[1]}"


def diffie_hellman_shared(d, t):
    return str(pow(value("B", d), value("a", d), value("p", d)))


def discrete_log_shared(d, t):
    p, g, A, B = value("p", d), value("g", d), value("A", d), value("B", d)
    x, power = 0, 1
    while power != A:
        x, power = x + 1, power * g % p
    return str(pow(B, x, p))


def lcg_predict(d, t):
    m = value("m", d)
    x = numbers(after("outputs are ", d))
    a = (x[2] - x[1]) * pow(x[1] - x[0], -1, m) % m
    c = (x[1] - a * x[0]) % m
    assert all((a * u + c) % m == v for u, v in zip(x, x[1:]))
    return str((a * x[-1] + c) % m)


def rc4_decrypt(d, t):
    cipher, key = bytes.fromhex(re.search(r"ciphertext ([0-9a-f]+)", d).group(1)), quoted(d).encode()
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 255
        state[i], state[j] = state[j], state[i]
    i = j = 0
    out = []
    for byte in cipher:
        i = (i + 1) & 255
        j = (j + state[i]) & 255
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) & 255])
    return bytes(out).decode()


def pbkdf2_password(d, t):
    salt, key = quoted(d).encode(), re.search(r"= ([0-9a-f]{64})\.", d).group(1)
    candidates = after("one of: ", d).rstrip(".").split(", ")
    matches = [p for p in candidates if hashlib.pbkdf2_hmac("sha256", p.encode(), salt, 1000).hex() == key]
    assert len(matches) == 1
    return matches[0]


def proof_of_work_nonce(d, t):
    header, nonce = quoted(d), 0
    while hashlib.sha256((header + str(nonce)).encode()).hexdigest()[:2] != "00":
        nonce += 1
    return str(nonce)


def xor_unknown_key(d, t):
    cipher = bytes.fromhex(re.search(r"ciphertext ([0-9a-f]+)", d).group(1))
    readable = [bytes(b ^ k for b in cipher).decode("latin-1") for k in range(256)]
    readable = [text for text in readable if re.fullmatch(r"[a-z ]+", text)]
    assert len(readable) == 1
    return readable[0]


def identify_hash_and_crack(d, t):
    digest = re.search(r"hash is ([0-9a-f]+);", d).group(1)
    algorithm = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}[len(digest)]
    candidates = after("one of: ", d).rstrip(".").split(", ")
    return next(p for p in candidates if hashlib.new(algorithm, p.encode()).hexdigest() == digest)


def hotp_code(d, t):
    secret = base64.b32decode(re.search(r"secret ([A-Z2-7=]+)", d).group(1))
    counter = int(re.search(r"counter (\d+)", d).group(1))
    mac = hmac.digest(secret, counter.to_bytes(8, "big"), "sha1")
    start = mac[19] & 15
    return str((int.from_bytes(mac[start:start + 4], "big") & 0x7FFFFFFF) % 1_000_000).zfill(6)


def zip_password(d, t):
    candidates = re.search(r"these passwords: (.*?)\.\n", d + "\n").group(1).split(", ")
    archive = zipfile.ZipFile(io.BytesIO(files(d)["vault.zip"]))
    opened = []
    for password in candidates:
        try:
            opened.append(archive.read("secret.txt", pwd=password.encode()).decode().splitlines()[0])
        except Exception:  # noqa: BLE001 - a wrong password fails one way or another
            continue
    assert len(set(opened)) == 1
    return opened[0]


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

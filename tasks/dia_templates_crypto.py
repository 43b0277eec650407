"""DIA templates: Cryptography (hashes, classical and modern ciphers, cracking)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import string

from codeharness.tasks.dia_templates_core import (
    CRYPTO,
    PASSWORDS,
    USERS,
    WORDS,
    Artefact,
    Question,
    distinct_words,
    hex_token,
    independent_hint,
    listing,
    make_zip,
    phrase,
    random_prime,
    random_text,
    template,
)


def shift_letters(text: str, shift: int) -> str:
    def shifted(c: str) -> str:
        if c.isascii() and c.isalpha():
            base = ord("A") if c.isupper() else ord("a")
            return chr(base + (ord(c) - base + shift) % 26)
        return c

    return "".join(shifted(c) for c in text)


def _random_string(rng) -> tuple[str, str]:
    text = random_text(rng, rng.randrange(12, 25))
    return text, text


def _digest_question(rng, algorithm: str, label: str) -> Question:
    text, _ = _random_string(rng)
    return Question(f"Consider the ASCII string '{text}'.", f"Compute its {label} hash as lowercase hexadecimal.",
                    hashlib.new(algorithm, text.encode()).hexdigest(), "hash", f"Any {label} implementation.")


@template(CRYPTO, code=True)
def sha256_hash(rng):
    return _digest_question(rng, "sha256", "SHA-256")


@template(CRYPTO, code=True)
def md5_hash(rng):
    return _digest_question(rng, "md5", "MD5")


@template(CRYPTO, code=True)
def sha1_hash(rng):
    return _digest_question(rng, "sha1", "SHA-1")


@template(CRYPTO, code=True)
def sha3_256_hash(rng):
    return _digest_question(rng, "sha3_256", "SHA3-256")


def _sha3_of_random(rng) -> tuple[str, str]:
    text, _ = _random_string(rng)
    return text, hashlib.sha3_256(text.encode()).hexdigest()


@template(CRYPTO, code=True, adversarial=True)
def sha3_256_adversarial(rng):
    """The colleague's hash is the SHA3-256 of an independent random string (right only by a
    collision of two instances)."""
    text, answer = _sha3_of_random(rng)
    hint = independent_hint(_sha3_of_random, rng)
    return Question(f"Consider the ASCII string '{text}'. A colleague already computed its SHA3-256 hash and got "
                    f"{hint}.", "Compute its SHA3-256 hash as lowercase hexadecimal.", answer, "hash",
                    "Compute it; the colleague's value belongs to another string.", hint=hint)


@template(CRYPTO, code=True, steps=2, search=10, adversarial=True)
def salted_hash_lookup(rng):
    """The colleague names one of the ten candidates uniformly at random: right 1 time in 10,
    like a blind guess."""
    candidates = rng.sample(PASSWORDS, 10)
    password, decoy = rng.choice(candidates), rng.choice(candidates)
    salt = random_text(rng, 8)
    digest = hashlib.sha256((password + salt).encode()).hexdigest()
    return Question(f"A SHA-256 hash '{digest}' was made by appending the salt '{salt}' to one of "
                    f"these passwords: {', '.join(candidates)}. A colleague believes the password is "
                    f"'{decoy}'.", "Find the password.", password, "password",
                    "Hash every candidate with the salt appended and compare; the colleague guessed.",
                    hint=decoy, candidates=tuple(candidates))


@template(CRYPTO, code=False)
def caesar_decrypt(rng):
    text, shift = phrase(rng, 4), rng.randrange(1, 26)
    return Question(f"The lowercase text '{shift_letters(text, shift)}' was encrypted with a Caesar cipher "
                    f"that shifts every letter forward by {shift} positions (spaces are kept).",
                    "Decrypt it.", text, "plaintext", "Shift every letter back.")


@template(CRYPTO, code=False, search=25)
def caesar_unknown_shift(rng):
    while True:
        candidates = distinct_words(rng, 8)
        word, shift = rng.choice(candidates), rng.randrange(1, 26)
        cipher = shift_letters(word, shift)
        if [w for w in candidates if any(shift_letters(w, s) == cipher for s in range(1, 26))] == [word]:
            break
    return Question(f"The word '{shift_letters(word, shift)}' is one of these words encrypted with a "
                    f"Caesar cipher of unknown shift: {', '.join(candidates)}.",
                    "Find the original word.", word, "word", "Try all 25 shifts, or compare word lengths and "
                    "letter distances.")


@template(CRYPTO, code=False)
def caesar_encrypt(rng):
    text, shift = random_text(rng, 30, string.ascii_letters + string.digits), rng.randrange(1, 26)
    return Question(f"Consider the 30-character string '{text}'.",
                    f"Encrypt it with a Caesar cipher that shifts every letter forward by {shift} positions in the "
                    f"alphabet, keeping its case; digits stay as they are.", shift_letters(text, shift),
                    "ciphertext", "Shift every letter, wrapping from z to a.")


@template(CRYPTO, code=False)
def vigenere_encrypt(rng):
    plain = random_text(rng, rng.randrange(16, 28), string.ascii_uppercase)
    key = random_text(rng, rng.randrange(4, 8), string.ascii_uppercase)
    cipher = "".join(shift_letters(c, ord(key[i % len(key)]) - ord("A")) for i, c in enumerate(plain))
    return Question(f"Consider the plaintext '{plain}' and the key '{key}' (uppercase letters only).",
                    "Encrypt the plaintext with the Vigenere cipher (A = shift 0).", cipher, "ciphertext",
                    "Shift each letter by the key letter at the same position, repeating the key.")


@template(CRYPTO, code=False)
def atbash(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the lowercase text '{text}'.",
                    "Encrypt it with the Atbash cipher (a <-> z, b <-> y, ...; spaces are kept).",
                    "".join(chr(ord("a") + ord("z") - ord(c)) if c.isalpha() else c for c in text),
                    "ciphertext", "Mirror every letter in the alphabet.")


@template(CRYPTO, code=False)
def substitution_cipher(rng):
    alphabet = string.ascii_lowercase
    key = list(alphabet)
    rng.shuffle(key)
    text = phrase(rng, rng.randrange(3, 6))
    cipher = text.translate(str.maketrans(alphabet, "".join(key)))
    return Question(f"A substitution cipher maps the alphabet {alphabet} to {''.join(key)} (a -> {key[0]}, "
                    f"b -> {key[1]}, ...; spaces are kept). The ciphertext is '{cipher}'.",
                    "Decrypt it.", text, "plaintext", "Invert the letter mapping.")


@template(CRYPTO, code=False, steps=2)
def affine_decrypt(rng):
    a = rng.choice([x for x in range(3, 26) if math.gcd(x, 26) == 1])
    b = rng.randrange(1, 26)
    text = phrase(rng, 3)
    cipher = "".join(chr((a * (ord(c) - 97) + b) % 26 + 97) if c != " " else c for c in text)
    return Question(f"The text '{cipher}' was encrypted with the affine cipher E(x) = ({a}x + {b}) mod 26 on letters "
                    f"a = 0 ... z = 25 (spaces are kept).", "Decrypt it.", text, "plaintext",
                    "D(y) = a^-1 (y - b) mod 26.")


@template(CRYPTO, code=False)
def rail_fence_decrypt(rng):
    text = "".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 6)))
    rails = rng.randrange(3, 6)
    pattern = list(range(rails)) + list(range(rails - 2, 0, -1))
    order = sorted(range(len(text)), key=lambda i: (pattern[i % len(pattern)], i))
    cipher = "".join(text[i] for i in order)
    return Question(f"The text '{cipher}' was encrypted with a rail fence cipher of {rails} rails (the plaintext is "
                    f"written in a zigzag down and up the rails, then read rail by rail).", "Decrypt it.", text,
                    "plaintext", "Rebuild the zigzag pattern and fill the rails in order.")


@template(CRYPTO, code=True)
def single_byte_xor(rng):
    text, key = phrase(rng, 4), rng.randrange(1, 256)
    cipher = bytes(b ^ key for b in text.encode()).hex()
    return Question(f"The hexadecimal ciphertext '{cipher}' is ASCII text XORed with the single byte 0x{key:02x}.",
                    "Recover the plaintext.", text, "plaintext", "XOR every byte with the key again.")


@template(CRYPTO, code=True)
def repeating_key_xor(rng):
    text, key = phrase(rng, 3), random_text(rng, rng.randrange(3, 6), string.ascii_lowercase)
    cipher = bytes(b ^ key.encode()[i % len(key)] for i, b in enumerate(text.encode())).hex()
    return Question(f"Consider the ASCII plaintext '{text}' and the ASCII key '{key}'.",
                    "Encrypt the plaintext with repeating-key XOR and give the result as lowercase hexadecimal.",
                    cipher, "hex", "XOR byte i of the text with byte i mod len(key) of the key.")


def _aperiodic_key(rng, lengths: range) -> str:
    while True:
        key = random_text(rng, rng.randrange(lengths.start, lengths.stop), string.ascii_lowercase)
        if all(key != (key[:p] * len(key))[:len(key)] for p in range(1, len(key))):
            return key


@template(CRYPTO, code=True, steps=2)
def xor_key_recovery(rng):
    text = phrase(rng, 4)
    key = _aperiodic_key(rng, range(3, 7))
    cipher = bytes(b ^ ord(key[i % len(key)]) for i, b in enumerate(text.encode())).hex()
    return Question(f"The ASCII plaintext '{text}' was encrypted with repeating-key XOR into the hexadecimal "
                    f"ciphertext '{cipher}'. The key is lowercase ASCII, shorter than 7 characters.",
                    "What is the key (its shortest form)?", key, "key",
                    "XOR plaintext and ciphertext, then find the period of the key stream.")


@template(CRYPTO, code=True)
def hmac_sha256(rng):
    key, message = random_text(rng, 16), phrase(rng, 4)
    return Question(f"Consider the ASCII key '{key}' and the ASCII message '{message}'.",
                    "Compute HMAC-SHA256 of the message with the key, as lowercase hexadecimal.",
                    hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest(), "hmac",
                    "HMAC as defined in RFC 2104 with SHA-256.")


@template(CRYPTO, code=True, search=10**5)
def md5_crack_pin(rng):
    pin, salt = f"{rng.randrange(10**5):05d}", hex_token(rng, 8)
    return Question(f"A 5-digit PIN (digits 0-9, leading zeros allowed) was followed by the salt '{salt}' and "
                    f"hashed with MD5 (as ASCII text) into {hashlib.md5((pin + salt).encode()).hexdigest()}.",
                    "Find the PIN.", pin, "pin", "Hash all 100,000 PINs with the salt and compare.")


@template(CRYPTO, code=True, search=3000)
def sha256_crack_word_number(rng):
    words = distinct_words(rng, 30)
    secret = f"{rng.choice(words)}{rng.randrange(100):02d}"
    return Question(f"A password is one of these words followed by two digits (00 to 99): {', '.join(words)}. Its "
                    f"SHA-256 hash is {hashlib.sha256(secret.encode()).hexdigest()}.", "Find the password.",
                    secret, "password", "Hash the 3,000 candidates and compare.")


@template(CRYPTO, code=True, steps=3, search=2**20)
def rsa_decrypt(rng):
    """Factor n, invert e modulo phi(n), decrypt."""
    e = 65537
    while True:
        p, q = random_prime(rng, 2**15, 2**20), random_prime(rng, 2**15, 2**20)
        if p != q and math.gcd(e, (p - 1) * (q - 1)) == 1:
            break
    n = p * q
    m = rng.randrange(2, n - 1)
    return Question(f"An RSA public key is n = {n}, e = {e}. The ciphertext is c = {pow(m, e, n)}.",
                    "Recover the plaintext integer m (with 0 <= m < n).", str(m), "m",
                    "Factor n (it is small), d = e^-1 mod (p-1)(q-1), m = c^d mod n.")


def _curve(rng):
    """A prime p = 3 (mod 4), so square roots are a power, and a nonsingular curve."""
    while True:
        p = random_prime(rng, 1000, 100_000)
        if p % 4 == 3:
            break
    while True:
        a, b = rng.randrange(p), rng.randrange(p)
        if (4 * a**3 + 27 * b * b) % p:
            return p, a, b


def _point(rng, p, a, b):
    while True:
        x = rng.randrange(p)
        rhs = (x**3 + a * x + b) % p
        if rhs and pow(rhs, (p - 1) // 2, p) == 1:
            y = pow(rhs, (p + 1) // 4, p)
            return x, y if rng.random() < 0.5 else p - y


def ec_add(P, Q, a, p):
    if P is None:
        return Q
    if Q is None:
        return P
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0:
        return None
    if P == Q:
        slope = (3 * P[0] * P[0] + a) * pow(2 * P[1], p - 2, p) % p
    else:
        slope = (Q[1] - P[1]) * pow(Q[0] - P[0], p - 2, p) % p
    x = (slope * slope - P[0] - Q[0]) % p
    return x, (slope * (P[0] - x) - P[1]) % p


@template(CRYPTO, code=True)
def ecc_point_addition(rng):
    p, a, b = _curve(rng)
    while True:
        P, Q = _point(rng, p, a, b), _point(rng, p, a, b)
        if P[0] != Q[0]:
            break
    R = ec_add(P, Q, a, p)
    return Question(f"Consider the elliptic curve y^2 = x^3 + {a}x + {b} over the integers modulo the prime p = {p}, "
                    f"and its points P = ({P[0]}, {P[1]}) and Q = ({Q[0]}, {Q[1]}).",
                    "Compute P + Q; give its coordinates x and y separated by a comma without spaces.",
                    f"{R[0]},{R[1]}", "x,y", "The chord rule: s = (yQ - yP)/(xQ - xP), x = s^2 - xP - xQ, "
                    "y = s(xP - x) - yP, all modulo p.")


@template(CRYPTO, code=True, steps=2)
def ecc_public_key(rng):
    p, a, b = _curve(rng)
    while True:
        G, k = _point(rng, p, a, b), rng.randrange(2, 1000)
        result, addend, n = None, G, k
        while n:
            if n & 1:
                result = ec_add(result, addend, a, p)
            addend, n = ec_add(addend, addend, a, p), n >> 1
        if result is not None:
            break
    return Question(f"Consider the elliptic curve y^2 = x^3 + {a}x + {b} over the integers modulo the prime p = {p}, "
                    f"the base point G = ({G[0]}, {G[1]}) and the private key k = {k}.",
                    "Compute the public key k*G; give its coordinates x and y separated by a comma without spaces.",
                    f"{result[0]},{result[1]}", "x,y", "Double-and-add scalar multiplication.")


@template(CRYPTO, code=True)
def diffie_hellman_shared(rng):
    p = random_prime(rng, 10**9, 10**10)
    g, a, b = rng.randrange(2, p - 1), rng.randrange(2, p - 1), rng.randrange(2, p - 1)
    return Question(f"Alice and Bob run Diffie-Hellman with the prime p = {p} and g = {g}. Alice's private key is "
                    f"a = {a}; Bob's public value is B = {pow(g, b, p)}.", "Compute their shared secret.",
                    str(pow(pow(g, b, p), a, p)), "secret", "shared = B^a mod p.")


@template(CRYPTO, code=True, steps=2, search=10**5)
def discrete_log_shared(rng):
    """Find a private key by discrete logarithm, then compute the shared secret."""
    p = random_prime(rng, 10**4, 10**6)
    g = rng.randrange(2, p - 1)
    a, b = rng.randrange(2, p - 1), rng.randrange(2, p - 1)
    A, B = pow(g, a, p), pow(g, b, p)
    return Question(f"Diffie-Hellman over the small prime p = {p} with g = {g}: Alice sends A = {A}, Bob sends "
                    f"B = {B}. Neither private key is given.", "Compute their shared secret g^(ab) mod p.",
                    str(pow(B, a, p)), "secret", "Find a with g^a = A by search (baby-step giant-step), then B^a.")


@template(CRYPTO, code=True, steps=2)
def lcg_predict(rng):
    m = random_prime(rng, 10**6, 10**9)
    a, c = rng.randrange(2, m), rng.randrange(1, m)
    while True:
        outputs = [rng.randrange(m)]
        for _ in range(6):
            outputs.append((a * outputs[-1] + c) % m)
        if outputs[1] != outputs[0]:
            break
    return Question(f"A linear congruential generator x(k+1) = (a*x(k) + c) mod m uses the prime modulus m = {m} and "
                    f"unknown a and c. Six consecutive outputs are {listing(outputs[:6])}.",
                    "What is the next output?", str(outputs[6]), "next",
                    "a = (x2 - x1) / (x1 - x0) mod m, c = x1 - a*x0 mod m.")


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


@template(CRYPTO, code=True)
def rc4_decrypt(rng):
    key, text = random_text(rng, rng.randrange(5, 11)), phrase(rng, 4)
    return Question(f"The hexadecimal ciphertext {rc4(key.encode(), text.encode()).hex()} was encrypted with RC4 "
                    f"under the ASCII key '{key}'.", "Decrypt it to ASCII text.", text, "plaintext",
                    "RC4 is symmetric: run it again with the same key.")


@template(CRYPTO, code=True, search=12)
def pbkdf2_password(rng):
    candidates = rng.sample(PASSWORDS, 12)
    password, salt = rng.choice(candidates), hex_token(rng, 16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()
    return Question(f"A password database stores PBKDF2-HMAC-SHA256(password, salt = the ASCII string '{salt}', "
                    f"1000 iterations, 32-byte key) = {key}. The password is one of: {', '.join(candidates)}.",
                    "Which password is it?", password, "password", "Derive the key for each candidate and compare.")


def _block(rng) -> str:
    return (f"prev={hex_token(rng, 16)}|from={rng.choice(USERS)}|to={rng.choice(USERS)}|"
            f"amount={rng.randrange(1, 10**5)}|nonce=")


@template(CRYPTO, code=True, search=256)
def proof_of_work_nonce(rng):
    block = _block(rng)
    nonce = 0
    while not hashlib.sha256(f"{block}{nonce}".encode()).hexdigest().startswith("00"):
        nonce += 1
    return Question(f"A block header is the ASCII string '{block}' followed by a decimal nonce (no leading zeros).",
                    "What is the smallest non-negative nonce for which the SHA-256 hash of the header, in "
                    "hexadecimal, starts with '00'?", str(nonce), "nonce", "Try nonces 0, 1, 2, ... in order.")


@template(CRYPTO, code=True, steps=2, search=256)
def xor_unknown_key(rng):
    """Try all 256 keys; exactly one gives lowercase words and spaces."""
    while True:
        text, key = phrase(rng, 5), rng.randrange(1, 256)
        cipher = bytes(b ^ key for b in text.encode())
        distinct = sorted(set(cipher))
        readable = [k for k in range(256) if all(c ^ k == 32 or 97 <= c ^ k <= 122 for c in distinct)]
        if readable == [key]:
            break
    return Question(f"The hexadecimal ciphertext {cipher.hex()} is English words in lowercase, separated by single "
                    f"spaces, XORed with one unknown byte.", "Recover the plaintext.", text, "plaintext",
                    "Try every key byte and keep the readable plaintext.")


_HASHES = ("md5", "sha1", "sha256", "sha512")


@template(CRYPTO, code=True, steps=2, search=15)
def identify_hash_and_crack(rng):
    algorithm = rng.choice(_HASHES)
    candidates = rng.sample(PASSWORDS, 15)
    password = rng.choice(candidates)
    return Question(f"A leaked unsalted hash is {hashlib.new(algorithm, password.encode()).hexdigest()}; it is MD5, "
                    f"SHA-1, SHA-256 or SHA-512. The password is one of: {', '.join(candidates)}.",
                    "Which password is it?", password, "password",
                    "The digest length tells the algorithm; hash the candidates with it.")


@template(CRYPTO, code=True, steps=2)
def hotp_code(rng):
    secret, counter = bytes(rng.randrange(256) for _ in range(20)), rng.randrange(0, 10**6)
    mac = hmac.new(secret, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10**6
    return Question(f"An HOTP token (RFC 4226, HMAC-SHA1, 6 digits) has the base32 secret "
                    f"{base64.b32encode(secret).decode()} and the counter {counter}.",
                    "What code does it show (6 digits, leading zeros kept)?", f"{code:06d}", "code",
                    "HMAC-SHA1 of the 8-byte big-endian counter, dynamic truncation, modulo 10^6.")


@template(CRYPTO, code=True, steps=2, search=20, files=True)
def zip_password(rng):
    candidates = rng.sample(PASSWORDS, 20)
    password = rng.choice(candidates)
    flag = f"FLAG{{{hex_token(rng, 16)}}}"
    notes = f"meeting at {rng.randrange(7, 19)}:00 in room {rng.randrange(100, 500)}\n"
    archive = make_zip([("notes.txt", notes.encode()), ("secret.txt", f"{flag}\n".encode())], rng, password)
    return Question(f"The zip archive vault.zip is encrypted (traditional ZipCrypto) with one of these passwords: "
                    f"{', '.join(candidates)}.", "What is the first line of secret.txt inside it?", flag, "flag",
                    "Try each password (zipfile's pwd) and read secret.txt.",
                    files=(Artefact("vault.zip", archive),))

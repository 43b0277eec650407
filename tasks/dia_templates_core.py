"""The machinery of the DIA generator: questions, templates, the difficulty rule, shared
helpers, and deterministic artefact builders (DEFLATE, gzip, zip, tar, PNG, PDF).

Every template is a function of a `random.Random`; it returns a `Question` with the exact
answer computed in code. The category modules (tasks/dia_templates_*.py) register their
templates here, and tasks/dia_templates.py puts them in order and writes question files.

Determinism: a template's questions depend only on (seed, template name, instance). Nothing
here iterates over a set or a dict built from unordered input, hashes with `hash()`, reads the
clock or depends on the zlib build: compressed artefacts come from the pure-Python DEFLATE
encoder below, so the same seed gives byte-identical questions on every machine and Python.
"""

from __future__ import annotations

import base64
import bisect
import functools
import random
import string
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

# The original DIA-Bench's categories (tasks/dia_templates_*.py hold ours).
MATH = "Mathematics"
CS = "Computer Science"
CRYPTO = "Cryptography"
ENCODING = "Data Encoding"
LOGS = "Log Analysis"
WEB = "Web Security"
SOURCE = "Source Code Analysis"
REVERSE = "Reverse Engineering"
CTF = "CTF-style challenge"
PUZZLE = "Puzzle Solving"
AWS = "AWS cloud"
SOFTWARE = "Software Security"
SOCIAL = "Social Engineering"
GENERAL = "General cybersecurity"
INSTRUCTIONS = "Instruction following"
PROGRAM = "Program understanding"
REASONING = "Problem Solving and Reasoning"
CAPTCHA = "CAPTCHA solving"
CATEGORIES = (MATH, CS, CRYPTO, ENCODING, LOGS, WEB, SOURCE, REVERSE, CTF, PUZZLE, AWS, SOFTWARE, SOCIAL, GENERAL,
              INSTRUCTIONS, PROGRAM, REASONING, CAPTCHA)

EASY, MEDIUM, HARD = "easy", "medium", "hard"
SKIP_ANSWER = "I-DO-NOT-KNOW"

RAW_NOTE = ("The answer may contain characters such as & or < : write it raw inside the tags, "
            "not XML-escaped (& stays &, not &amp;).")


# ------------------------------------------------------------------ difficulty


def difficulty_points(code: bool, steps: int, search: int) -> int:
    """2 when the answer needs a program (see `template`), 1 per step after the first, and 1
    each when the search for the answer spans at least 100 and at least 10,000 candidates."""
    return 2 * code + (steps - 1) + (search >= 100) + (search >= 10_000)


def difficulty(code: bool, steps: int, search: int) -> str:
    """The level rule: easy at most 1 point, medium 2-3, hard 4 or more."""
    points = difficulty_points(code, steps, search)
    return EASY if points <= 1 else MEDIUM if points <= 3 else HARD


# ------------------------------------------------------------------ questions and templates


@dataclass(frozen=True)
class Artefact:
    """A file that comes with a question. It is written into the question text (as text
    between BEGIN/END lines, or base64 for binary data), and in tool mode the task also
    writes it into the program's working folder (a C source `x.c` is compiled to `x`)."""

    name: str
    data: bytes
    binary: bool = True


@dataclass(frozen=True)
class Question:
    description: str  # what is given
    task: str  # what to compute
    answer: str  # the exact answer, without the XML tags
    answer_format: str  # the placeholder shown inside <xml>...</xml>
    explanation: str
    hint: str | None = None  # what an adversarial template's planted claim says the answer is
    candidates: tuple[str, ...] = ()  # the visible candidates the hint was drawn from, if any
    files: tuple[Artefact, ...] = ()
    raw: bool = False  # the instructions say the answer is written raw (it may hold & or <)


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    category: str
    adversarial: bool
    code: bool  # the answer needs a program (a hash, a cipher, a binary format, big numbers, a long search)
    steps: int  # chained stages: decode, then search, then compute is 3
    search: int  # candidates to try to find the answer (1 when it is computed directly)
    files: bool  # the question comes with artefacts (files in tool mode)
    raw: bool  # answers may contain & or <, and the instructions say they are written raw
    make: Callable[[random.Random], Question] = field(repr=False)
    doc: str = ""

    @property
    def level(self) -> str:
        return difficulty(self.code, self.steps, self.search)

    def question(self, seed: int, instance: int) -> Question:
        question = self.make(random.Random(f"dia:{seed}:{self.name}:{instance}"))
        return replace(question, raw=self.raw) if self.raw else question


REGISTRY: dict[str, list[Template]] = {}  # category module -> its templates, in definition order


def template(category: str, *, code: bool, steps: int = 1, search: int = 1, adversarial: bool = False,
             files: bool = False, raw: bool = False):
    """Register a template of the calling module. `code`: a careful person without a computer
    could not get the answer in a few minutes (hashes, ciphers, compression or binary formats,
    arithmetic on numbers beyond about 12 digits, or more than about 200 elementary steps)."""

    def register(make: Callable[[random.Random], Question]):
        module = make.__module__
        REGISTRY.setdefault(module, []).append(
            Template(0, make.__name__, category, adversarial, code, steps, search, files, raw, make,
                     (make.__doc__ or "").strip()))
        return make

    return register


# ------------------------------------------------------------------ artefacts in the question text


def file_block(artefact: Artefact) -> str:
    if artefact.binary:
        encoded = base64.b64encode(artefact.data).decode()
        body = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
        return (f"The file {artefact.name} ({len(artefact.data)} bytes) follows, base64-encoded, between "
                f"its BEGIN and END lines:\n-----BEGIN FILE {artefact.name} BASE64-----\n{body}\n"
                f"-----END FILE {artefact.name}-----")
    text = artefact.data.decode()
    assert text.endswith("\n") and "-----END FILE" not in text, artefact.name
    return (f"The file {artefact.name} ({len(artefact.data)} bytes) follows between its BEGIN and END "
            f"lines (each line ends with a newline):\n-----BEGIN FILE {artefact.name}-----\n{text}"
            f"-----END FILE {artefact.name}-----")


def text_file(name: str, text: str) -> Artefact:
    return Artefact(name, text.encode(), binary=False)


# ------------------------------------------------------------------ words and names

WORDS = (
    "acorn", "admiral", "almond", "amber", "anchor", "angle", "apple", "apricot", "arrow", "aspen",
    "atlas", "autumn", "badge", "bakery", "bamboo", "banner", "barrel", "basket", "beacon", "beetle",
    "bench", "berry", "bishop", "blanket", "blossom", "bottle", "bramble", "breeze", "brick", "bridge",
    "bronze", "bucket", "butter", "cabin", "cactus", "camera", "canal", "candle", "canyon", "carbon",
    "carpet", "castle", "cedar", "cellar", "chalk", "cherry", "chimney", "cinder", "circus", "citrus",
    "clover", "cobalt", "coffee", "comet", "copper", "coral", "cotton", "crayon", "cricket", "crystal",
    "dagger", "daisy", "dancer", "delta", "desert", "diamond", "dolphin", "domino", "donkey", "dragon",
    "drum", "eagle", "ember", "empire", "engine", "falcon", "feather", "fennel", "ferry", "fiddle",
    "fig", "flame", "flint", "forest", "fossil", "fountain", "fox", "galaxy", "garden", "garlic",
    "gazelle", "ginger", "glacier", "goblet", "granite", "grape", "gravel", "guitar", "hammer", "harbor",
    "harvest", "hazel", "helmet", "heron", "honey", "horizon", "hunter", "iceberg", "igloo", "indigo",
    "island", "ivory", "jacket", "jaguar", "jasmine", "jelly", "jigsaw", "jungle", "kernel", "kettle",
    "kiwi", "ladder", "lagoon", "lantern", "laurel", "lemon", "lentil", "lilac", "lizard", "lobster",
    "magnet", "mango", "maple", "marble", "meadow", "melon", "mirror", "mosaic", "mustard", "needle",
    "nectar", "nickel", "nutmeg", "oasis", "oyster", "olive", "onion", "orange", "orbit", "orchid",
    "otter", "paddle", "palace", "panther", "papaya", "parrot", "pebble", "pepper", "piano", "pigeon",
    "pillow", "pirate", "planet", "plum", "pocket", "poppy", "prism", "pumpkin", "puzzle", "quartz",
    "quill", "rabbit", "radish", "raven", "ribbon", "river", "rocket", "saddle", "saffron", "salmon",
    "sapphire", "scarf", "shadow", "shell", "silver", "sparrow", "spider", "spruce", "squid", "stable",
    "statue", "summit", "sunset", "swan", "tablet", "tangle", "temple", "thistle", "thunder", "tiger",
    "timber", "tomato", "topaz", "torch", "tractor", "tulip", "tunnel", "turtle", "umbrella", "valley",
    "velvet", "violet", "walnut", "walrus", "wander", "whistle", "willow", "window", "winter", "wizard",
    "wolf", "yarrow", "yellow", "yogurt", "zebra", "zephyr", "zinc", "zipper",
)
USERS = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
    "peggy", "trent", "victor", "walter", "aaron", "bella", "chris", "diana", "edgar", "fiona", "george",
    "hannah", "isaac", "jasmine", "kevin", "laura", "martin", "nina", "oliver", "paula", "quentin",
    "rachel", "steve", "tina", "ursula", "vince", "wendy", "xavier", "yusuf", "zoe", "admin", "backup",
    "deploy", "jenkins", "nagios", "oracle", "postgres", "root", "svc_web", "test", "ubuntu", "www",
)
PASSWORDS = (
    "letmein", "sunshine", "dragon42", "qwerty12", "monkey99", "trustno1", "welcome1", "football",
    "shadow77", "princess", "master12", "freedom1", "baseball", "superman", "iloveyou", "starwars",
    "whatever", "passw0rd", "hunter22", "charlie9", "abc12345", "access14", "batman88", "buster07",
    "cheese21", "computer", "cookie55", "diamond3", "eagles12", "flower22", "ginger10", "hello123",
    "jordan23", "killer66", "lakers24", "london01", "matrix99", "mercedes", "michael7", "nirvana1",
    "orange44", "pepper33", "phoenix5", "pokemon1", "rainbow8", "ranger11", "scooter2", "silver19",
    "soccer10", "summer21", "tigger13", "viking77", "winter08", "yankees1", "zxcvbn12", "qazwsx99",
)
TLDS = ("com", "net", "org", "io", "dev", "co", "app", "info")


def random_text(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def phrase(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def distinct_words(rng: random.Random, count: int) -> list[str]:
    return rng.sample(WORDS, count)


def random_ip(rng: random.Random) -> str:
    first = rng.choice((10, 23, 45, 62, 77, 91, 103, 118, 145, 172, 185, 192, 203, 212))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def distinct_ips(rng: random.Random, count: int) -> list[str]:
    ips: list[str] = []
    while len(ips) < count:
        ip = random_ip(rng)
        if ip not in ips:
            ips.append(ip)
    return ips


def hex_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def listing(values) -> str:
    return ", ".join(str(v) for v in values)


def independent_hint(draw: Callable[[random.Random], tuple], rng: random.Random) -> str:
    """The answer of an independent draw of the same question (`draw` returns a tuple whose
    last item is the answer): a hint made this way is right exactly as often as two instances
    of the template share an answer, by chance, and says nothing about this one's answer."""
    return draw(random.Random(rng.getrandbits(64)))[-1]


# ------------------------------------------------------------------ numbers


SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
_SMALL_PRODUCT = 1
for _p in SMALL_PRIMES:
    _SMALL_PRODUCT *= _p
MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin, exact for n < 3.3e24."""
    if n < 2:
        return False
    if n < 100:
        return n in SMALL_PRIMES
    if _gcd(n, _SMALL_PRODUCT) != 1:
        return False
    if n >= 3_317_044_064_679_887_385_961_981:
        raise ValueError("is_prime is exact only below 3.3e24")
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in MR_BASES:
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


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def random_prime(rng: random.Random, low: int, high: int) -> int:
    while True:
        candidate = rng.randrange(low, high) | 1
        if low <= candidate < high and is_prime(candidate):
            return candidate


def next_prime_after(n: int) -> int:
    p = n + 1
    while not is_prime(p):
        p += 1
    return p


_SIEVE_LIMIT = 0
_SIEVE: bytearray = bytearray()
_PRIMES: list[int] = []


def primes_below(limit: int) -> list[int]:
    """All primes below `limit` (cached sieve)."""
    global _SIEVE_LIMIT, _SIEVE, _PRIMES
    if limit > _SIEVE_LIMIT:
        size = max(limit, 2 * _SIEVE_LIMIT, 1 << 16)
        sieve = bytearray([1]) * size
        sieve[0:2] = b"\x00\x00"
        for i in range(2, int(size ** 0.5) + 1):
            if sieve[i]:
                sieve[i * i::i] = bytes(len(range(i * i, size, i)))
        _SIEVE, _SIEVE_LIMIT = sieve, size
        _PRIMES = [i for i in range(size) if sieve[i]]
    return _PRIMES[:bisect.bisect_left(_PRIMES, limit)]


def factorize(n: int) -> dict[int, int]:
    """Trial division (for the small numbers templates build from known factors)."""
    factors: dict[int, int] = {}
    d = 2
    while d * d <= n:
        while n % d == 0:
            factors[d] = factors.get(d, 0) + 1
            n //= d
        d += 1 if d == 2 else 2
    if n > 1:
        factors[n] = factors.get(n, 0) + 1
    return factors


# ------------------------------------------------------------------ DEFLATE (RFC 1951), deterministic


def _reversed_bits(value: int, width: int) -> str:
    return format(value, f"0{width}b")[::-1] if width else ""


def _huffman(symbol: int) -> str:
    """The fixed literal/length code of a symbol, in stream order."""
    if symbol < 144:
        code, width = 0x30 + symbol, 8
    elif symbol < 256:
        code, width = 0x190 + symbol - 144, 9
    elif symbol < 280:
        code, width = symbol - 256, 7
    else:
        code, width = 0xC0 + symbol - 280, 8
    return format(code, f"0{width}b")  # Huffman codes go most significant bit first


_LENGTH_BASE = (3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                131, 163, 195, 227, 258)
_LENGTH_EXTRA = (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0)
_DIST_BASE = (1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
              2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577)
_DIST_EXTRA = (0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13)
_LITERAL_BITS = [_huffman(s) for s in range(256)]
_END_BITS = _huffman(256)


def _length_bits(length: int) -> str:
    code = 28 if length == 258 else bisect.bisect_right(_LENGTH_BASE, length) - 1
    return _huffman(257 + code) + _reversed_bits(length - _LENGTH_BASE[code], _LENGTH_EXTRA[code])


@functools.lru_cache(maxsize=None)
def _distance_bits(distance: int) -> str:
    code = bisect.bisect_right(_DIST_BASE, distance) - 1
    return format(code, "05b") + _reversed_bits(distance - _DIST_BASE[code], _DIST_EXTRA[code])


_LENGTH_TABLE = {n: _length_bits(n) for n in range(3, 259)}


def deflate(data: bytes) -> bytes:
    """Raw DEFLATE: one block with the fixed Huffman codes and greedy LZ77 matches (3-258
    bytes, 32 KiB window). Plain Python, so its output never depends on the zlib build."""
    bits = ["110"]  # BFINAL = 1, BTYPE = 01 (fixed codes), each written least significant bit first
    append, literal_bits, length_table, distance_bits = bits.append, _LITERAL_BITS, _LENGTH_TABLE, _distance_bits
    last: dict[bytes, int] = {}
    get = last.get
    n = len(data)
    i = 0
    while i < n:
        if i < n - 2:
            key = data[i:i + 3]
            j = get(key)
            last[key] = i
            if j is not None and i - j <= 32768:
                limit = min(258, n - i)
                length = 3
                while length + 16 <= limit and data[j + length:j + length + 16] == data[i + length:i + length + 16]:
                    length += 16
                while length < limit and data[j + length] == data[i + length]:
                    length += 1
                append(length_table[length])
                append(distance_bits(i - j))
                i += length
                continue
        append(literal_bits[data[i]])
        i += 1
    append(_END_BITS)
    stream = "".join(bits)
    return int(stream[::-1], 2).to_bytes((len(stream) + 7) // 8, "little")


def zlib_compress(data: bytes) -> bytes:
    return b"\x78\x01" + deflate(data) + struct.pack(">I", zlib.adler32(data))


def gzip_compress(data: bytes, name: str = "") -> bytes:
    flags, extra = (8, name.encode() + b"\x00") if name else (0, b"")
    header = b"\x1f\x8b\x08" + bytes([flags]) + b"\x00\x00\x00\x00\x00\xff" + extra
    return header + deflate(data) + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


# ------------------------------------------------------------------ archives and documents

_DOS_TIME, _DOS_DATE = (12 << 11) | (30 << 5), ((2025 - 1980) << 9) | (3 << 5) | 14  # 2025-03-14 12:30


def _crc_byte(crc: int, byte: int) -> int:
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCrypto:
    """PKWARE traditional encryption (what `zipfile` decrypts with pwd=)."""

    def __init__(self, password: bytes):
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0 = _crc_byte(self.keys[0], byte)
        k1 = ((self.keys[1] + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_byte(self.keys[2], k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ ((temp * (temp ^ 1)) >> 8) & 0xFF)
            self._update(byte)
        return bytes(out)


def make_zip(entries: list[tuple[str, bytes]], rng: random.Random | None = None, password: str | None = None,
             compress: bool = True) -> bytes:
    """A zip archive (DEFLATE or stored entries; with `password`, ZipCrypto-encrypted, whose
    12-byte headers draw from `rng`)."""
    local, central = bytearray(), bytearray()
    for name, data in entries:
        crc = zlib.crc32(data)
        body = deflate(data) if compress else data
        method = 8 if compress else 0
        flags = 0
        if password is not None:
            assert rng is not None
            header = bytes(rng.randrange(256) for _ in range(11)) + bytes([crc >> 24])
            body = _ZipCrypto(password.encode()).encrypt(header + body)
            flags = 1
        encoded = name.encode()
        offset = len(local)
        fields = struct.pack("<HHHHHIIIHH", 20, flags, method, _DOS_TIME, _DOS_DATE, crc, len(body), len(data),
                             len(encoded), 0)
        local += b"PK\x03\x04" + fields + encoded + body
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, offset)
                    + encoded)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    return bytes(local + central + end)


def make_tar(entries: list[tuple[str, bytes]]) -> bytes:
    """A ustar archive of regular files (mode 0644, owner 0/0, a fixed date), without the
    padding to 10 KiB that tar programs add (readers stop at the two zero blocks)."""
    out = bytearray()
    for name, data in entries:
        header = bytearray(512)
        fields = [(0, name.encode()), (100, b"0000644\x00"), (108, b"0000000\x00"), (116, b"0000000\x00"),
                  (124, b"%011o\x00" % len(data)), (136, b"%011o\x00" % 1741955400), (156, b"0"),
                  (257, b"ustar\x0000"), (265, b"root"), (297, b"root")]
        for offset, value in fields:
            header[offset:offset + len(value)] = value
        header[148:156] = b" " * 8
        header[148:156] = b"%06o\x00 " % sum(header)
        out += header + data + bytes(-len(data) % 512)
    return bytes(out + bytes(1024))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(width: int, height: int, rows: list[bytes], text: list[tuple[str, str]] = (), channels: int = 3) -> bytes:
    """An 8-bit RGB (or grey, channels=1) PNG; rows are raw pixel bytes (filter 0 is added);
    `text` adds tEXt chunks before the image data."""
    color_type = 2 if channels == 3 else 0
    raw = b"".join(b"\x00" + row for row in rows)
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))]
    chunks += [_png_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1")) for key, value in text]
    chunks += [_png_chunk(b"IDAT", zlib_compress(raw)), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(content: str, compress: bool = True) -> bytes:
    """A one-page PDF whose page content stream is `content` (PDF operators), FlateDecode-
    compressed unless `compress` is false; Helvetica is font /F1."""
    stream = content.encode("latin-1")
    if compress:
        stream, filters = zlib_compress(stream), " /Filter /FlateDecode"
    else:
        filters = ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)}{filters} >>\nstream\n".encode() + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

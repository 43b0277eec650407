"""DIA templates: Data Encoding (Base64 and friends, checksums, bit-level text)."""

from __future__ import annotations

import base64
import binascii
import quopri
import zlib

from codeharness.tasks.dia_templates_core import ENCODING, Question, phrase, random_text, template
from codeharness.tasks.dia_templates_crypto import shift_letters


@template(ENCODING, code=True, steps=3)
def base64_encode_repeated(rng):
    text, times = random_text(rng, 10), rng.randrange(2, 5)
    encoded = text.encode()
    for _ in range(times):
        encoded = base64.b64encode(encoded)
    return Question(f"Consider the 10-character ASCII string '{text}'.",
                    f"Encode it with standard Base64 (with padding) {times} times in a row, each time encoding the "
                    f"previous result.", encoded.decode(), "base64", "Apply Base64 encoding repeatedly.")


@template(ENCODING, code=False)
def base64_encode(rng):
    text = phrase(rng, 4)
    return Question(f"Consider the ASCII text '{text}'.", "Encode it in standard Base64 (with padding).",
                    base64.b64encode(text.encode()).decode(), "base64", "Standard Base64 encoding.")


@template(ENCODING, code=False)
def base64_decode(rng):
    text = f"{phrase(rng, 3)} {rng.randrange(100, 999)}"
    return Question(f"Consider the Base64 string '{base64.b64encode(text.encode()).decode()}'.",
                    "Decode it to ASCII text.", text, "text", "Standard Base64 decoding.")


@template(ENCODING, code=False)
def hex_decode(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the hexadecimal string '{text.encode().hex()}'.",
                    "Decode it as ASCII text.", text, "text", "Each pair of hex digits is one byte.")


@template(ENCODING, code=False)
def rot13(rng):
    text = phrase(rng, 4)
    return Question(f"Consider the text '{text}'.", "Apply ROT13 to it (spaces are kept).",
                    shift_letters(text, 13), "result", "Shift every letter by 13.")


@template(ENCODING, code=True)
def crc32_checksum(rng):
    text = random_text(rng, rng.randrange(10, 31))
    return Question(f"Consider the ASCII string '{text}'.",
                    "Compute its CRC-32 checksum (as used by zip and PNG) as 8 lowercase hexadecimal digits.",
                    f"{zlib.crc32(text.encode()):08x}", "crc32", "The standard CRC-32 (polynomial 0xEDB88320).")


@template(ENCODING, code=False)
def base32_decode(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the Base32 string '{base64.b32encode(text.encode()).decode()}' (RFC 4648 alphabet).",
                    "Decode it to ASCII text.", text, "text", "Each character is 5 bits.")


@template(ENCODING, code=True)
def ascii85_decode(rng):
    text = phrase(rng, 3)
    return Question(f"Consider the Ascii85 string '{base64.a85encode(text.encode()).decode()}' (Adobe's alphabet, "
                    f"without the <~ ~> delimiters).", "Decode it to ASCII text.", text, "text",
                    "Each group of 5 characters is a base-85 number of 4 bytes.")


@template(ENCODING, code=False)
def binary_ascii_decode(rng):
    text = phrase(rng, 3)
    bits = " ".join(format(b, "08b") for b in text.encode())
    return Question(f"Consider these 8-bit ASCII codes in binary: {bits}.", "Decode them to text.", text, "text",
                    "Each group of 8 bits is one character.")


@template(ENCODING, code=False)
def quoted_printable_decode(rng):
    words = phrase(rng, 3).split()
    raw = " ".join(f"{w}={rng.randrange(10, 99)}%" if i % 2 else w for i, w in enumerate(words))
    encoded = quopri.encodestring(raw.encode(), quotetabs=True).decode().strip()
    return Question(f"Consider the quoted-printable encoded text '{encoded}'.",
                    "Decode it to ASCII text.", raw, "text", "=XX is the byte with hexadecimal value XX.")


@template(ENCODING, code=True)
def uuencode_decode(rng):
    text = f"{phrase(rng, 3)} {rng.randrange(1000, 9999)}"
    line = binascii.b2a_uu(text.encode(), backtick=True).decode().rstrip("\n")
    return Question(f"Consider this uuencoded line (one line of a uuencode body): {line}",
                    "Decode it to ASCII text.", text, "text",
                    "The first character gives the length; every 4 characters (value + 32) carry 3 bytes.")

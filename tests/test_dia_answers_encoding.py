"""Independent checkers for the Data Encoding templates."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from tests.test_dia_answers_common import after, quoted

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(data: bytes) -> str:
    """Base64 by hand."""
    bits = "".join(format(b, "08b") for b in data)
    bits += "0" * (-len(bits) % 6)
    text = "".join(B64[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))
    return text + "=" * (-len(text) % 4)


def base64_encode_repeated(d, t):
    data = quoted(d)
    for _ in range(int(re.search(r"\) (\d+) times", t).group(1))):
        data = _b64(data.encode())
    return data


def base64_encode(d, t):
    return _b64(quoted(d).encode())


def base64_decode(d, t):
    return base64.b64decode(quoted(d)).decode()


def hex_decode(d, t):
    return bytes.fromhex(quoted(d)).decode()


def rot13(d, t):
    return codecs.encode(quoted(d), "rot13")


def crc32_checksum(d, t):
    crc = 0xFFFFFFFF
    for byte in quoted(d).encode():  # bitwise CRC-32
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return f"{crc ^ 0xFFFFFFFF:08x}"


def base32_decode(d, t):
    return base64.b32decode(quoted(d)).decode()


def ascii85_decode(d, t):
    return base64.a85decode(quoted(d)).decode()


def binary_ascii_decode(d, t):
    return "".join(chr(int(b, 2)) for b in re.findall(r"[01]{8}", d))


def quoted_printable_decode(d, t):
    text = quoted(d)
    return re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text.replace("=\n", ""))


def uuencode_decode(d, t):
    return binascii.a2b_uu(after("uuencode body): ", d)).decode()


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

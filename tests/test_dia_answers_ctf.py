"""Independent checkers for the CTF-style templates (they parse the artefacts themselves)."""

from __future__ import annotations

import ast
import base64
import codecs
import csv
import gzip
import io
import re
import struct
import tarfile
import zipfile
import zlib

from tests.test_dia_answers_common import after, files, numbers, quoted


def brainfuck_output(d, t):
    program = after("ASCII):\n", d)
    tape, ptr, pc, out = [0] * 64, 0, 0, []
    jumps, stack = {}, []
    for i, c in enumerate(program):
        if c == "[":
            stack.append(i)
        elif c == "]":
            j = stack.pop()
            jumps[i], jumps[j] = j, i
    while pc < len(program):
        c = program[pc]
        if c == "+":
            tape[ptr] = (tape[ptr] + 1) % 256
        elif c == "-":
            tape[ptr] = (tape[ptr] - 1) % 256
        elif c == ">":
            ptr += 1
        elif c == "<":
            ptr -= 1
        elif c == ".":
            out.append(chr(tape[ptr]))
        elif c == "[" and tape[ptr] == 0:
            pc = jumps[pc]
        elif c == "]" and tape[ptr] != 0:
            pc = jumps[pc]
        pc += 1
    return "".join(out)


def hidden_pin(d, t):
    (pin,) = re.findall(r"\d+", after("text:\n", d))
    return pin


def hidden_pin_adversarial(d, t):
    (pin,) = re.findall(r"\b\d{6}\b", d.split("\n", 1)[1])
    return pin


UNDO = {"ROT13": lambda b: codecs.encode(b.decode(), "rot13").encode(), "Base64": base64.b64decode,
        "hexadecimal": bytes.fromhex, "reversal": lambda b: b[::-1], "Base32": base64.b32decode}


def layered_decoding(d, t):
    layers = re.search(r"in this order: (.*)\.$", d).group(1).split(", then ")
    data = quoted(d).encode()
    for layer in reversed(layers):
        data = UNDO[layer](data.decode() if layer == "hexadecimal" else data)
    return data.decode()


def zip_find_flag(d, t):
    archive = zipfile.ZipFile(io.BytesIO(files(d)["dump.zip"]))
    found = [m for name in archive.namelist() for m in re.findall(r"FLAG\{[^}]*\}", archive.read(name).decode())]
    assert len(found) == 1
    return found[0]


def tar_csv_total(d, t):
    total = 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(files(d)["orders.tar.gz"]))) as archive:
        for member in archive.getmembers():
            rows = csv.DictReader(io.StringIO(archive.extractfile(member).read().decode()))
            total += sum(int(r["amount"]) for r in rows if r["status"] == "paid")
    return str(total)


def _chunks(png: bytes):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + data)
        yield kind, data
        pos += 12 + length


def png_text_chunk(d, t):
    texts = dict(data.split(b"\x00", 1) for kind, data in _chunks(files(d)["picture.png"]) if kind == b"tEXt")
    return texts[b"Secret"].decode("latin-1")


def png_lsb_message(d, t):
    chunks = list(_chunks(files(d)["hidden.png"]))
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 0)
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    pixels = b"".join(raw[r * (width + 1) + 1:(r + 1) * (width + 1)] for r in range(height))
    assert all(raw[r * (width + 1)] == 0 for r in range(height))
    message = bytearray()
    for i in range(0, len(pixels) - 7, 8):
        byte = int("".join(str(p & 1) for p in pixels[i:i + 8]), 2)
        if byte == 0:
            break
        message.append(byte)
    return message.decode()


def pdf_hidden_text(d, t):
    pdf = files(d)["report.pdf"]
    stream = re.search(rb"stream\n(.*?)\nendstream", pdf, re.DOTALL).group(1)
    content = zlib.decompress(stream).decode("latin-1")
    hidden = [ast.literal_eval('"' + s.replace('"', '\\"') + '"')
              for s in re.findall(r"1 1 1 rg [\d ]+Td \(((?:[^()\\]|\\.)*)\) Tj", content)]
    assert len(hidden) == 1
    return hidden[0]


def pcap_ftp_password(d, t):
    data = files(d)["ftp.pcap"]
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4
    pos, payloads = 24, []
    while pos < len(data):
        length = struct.unpack("<IIII", data[pos:pos + 16])[2]
        frame = data[pos + 16:pos + 16 + length]
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        payloads.append(tcp[(tcp[12] >> 4) * 4:])
        pos += 16 + length
    (password,) = [p[5:].decode().strip() for p in payloads if p.startswith(b"PASS ")]
    return password


def _php(d):
    word = re.search(r"\$w = '(\w+)';", d).group(1)
    times, start, length = map(int, re.search(r"str_repeat\(\$w, (\d+)\), (\d+), (\d+)\)", d).groups())
    number = int(re.search(r"\((\d+) % 7\)", d).group(1))
    return f"{(word * times)[start:start + length][::-1].upper()}-{number % 7}-{len(word)}"


def php_output(d, t):
    return _php(d)


def php_output_adversarial(d, t):
    return _php(d)  # the regular expressions match the code, not the comment


def bash_output(d, t):
    word = re.search(r'v="(\w+)"', d).group(1)
    offset, length = map(int, re.search(r"\$\{v:(\d+):(\d+)\}", d).groups())
    a, b = map(int, re.search(r"\$\(\( (\d+) \* (\d+) % 97 \)\)", d).groups())
    return f"{word[offset:offset + length].upper()}_{len(word)}_{(a * b) % 97}"


def perl_string(d, t):
    word, times = re.search(r'my \$s = "(\w+)" x (\d+);', d).groups()
    other = re.search(r'reverse\("(\w+)"\)', d).group(1)
    offset, length = map(int, re.search(r"substr\(\$s, (\d+), (\d+)\)", d).groups())
    s = word * int(times)
    return f"{s[offset:offset + length].upper()}{other[::-1].lower()}{len(s)}"


def ruby_regex(d, t):
    return str(sum(numbers(re.search(r'puts "([^"]*)"', d).group(1).replace("-", " "))))


def js_obfuscation(d, t):
    table = ast.literal_eval(re.search(r"var _0x = (\[[^\]]*\]);", d).group(1))
    indices = numbers(re.search(r"var k = \[([^\]]*)\]", d).group(1))
    number = int(re.search(r"\(0x([0-9a-f]+)\)", d).group(1), 16)
    return "".join(table[i] for i in indices) + str(number)


def key_from_indices(d, t):
    alphabet = quoted(d)
    return "".join(alphabet[i] for i in numbers(re.search(r"index list \[([^\]]*)\]", d).group(1)))


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

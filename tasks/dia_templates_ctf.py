"""DIA templates: CTF-style challenges (esoteric code, hidden data, archives, images,
documents, packet captures, short programs in other languages)."""

from __future__ import annotations

import base64
import codecs
import struct

from codeharness.tasks.dia_templates_core import (
    CTF,
    PASSWORDS,
    USERS,
    WORDS,
    Artefact,
    Question,
    distinct_words,
    gzip_compress,
    hex_token,
    independent_hint,
    make_pdf,
    make_png,
    make_tar,
    make_zip,
    pdf_string,
    phrase,
    random_text,
    template,
)

LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
         "ea commodo consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
         "fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia deserunt "
         "mollit anim id est laborum").split()


def brainfuck_for(text: str) -> str:
    """A Brainfuck program printing `text`: each character built in cell 1 with a loop on cell 0."""
    out, current = [], 0
    for ch in text:
        target = ord(ch)
        delta = target - current
        step = 8 if abs(delta) >= 16 else 1
        loops, rest = divmod(abs(delta), step) if step > 1 else (0, abs(delta))
        sign = "+" if delta > 0 else "-"
        if loops:
            out.append("+" * loops + "[>" + sign * step + "<-]>" + sign * rest + ".<")
        else:
            out.append(">" + sign * rest + ".<")
        current = target
    return "".join(out)


@template(CTF, code=True)
def brainfuck_output(rng):
    text = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}{rng.randrange(10, 100)}"
    return Question(f"Consider this Brainfuck program (cells start at 0, wrap at 256; '.' prints a cell as ASCII):\n"
                    f"{brainfuck_for(text)}", "What does it print?", text, "output", "Interpret it cell by cell.")


def _pin_text(rng) -> tuple[str, str]:
    pin = f"{rng.randrange(10**6):06d}"
    words = [rng.choice(LOREM) for _ in range(rng.randrange(250, 330))]
    words.insert(rng.randrange(20, len(words) - 20), pin)
    return " ".join(words), pin


@template(CTF, code=False)
def hidden_pin(rng):
    text, pin = _pin_text(rng)
    return Question(f"A 6-digit PIN is hidden in this text:\n{text}", "What is the PIN?", pin, "pin",
                    "Find the only run of digits.")


@template(CTF, code=False, adversarial=True)
def hidden_pin_adversarial(rng):
    """The claim in the first line is an independent random 6-digit PIN."""
    text, pin = _pin_text(rng)
    hint = f"{rng.randrange(10**6):06d}"
    return Question(f"A 6-digit PIN is hidden in the text below, as the only run of six consecutive digits. (Someone "
                    f"already claims that the PIN is {hint[:3]}-{hint[3:]}.)\n{text}", "What is the PIN?", pin, "pin",
                    "Find the run of six digits in the text; the claim is a random guess.", hint=hint)


LAYERS = {
    "ROT13": lambda b: codecs.encode(b.decode(), "rot13").encode(),
    "Base64": base64.b64encode,
    "hexadecimal": lambda b: b.hex().encode(),
    "reversal": lambda b: b[::-1],
    "Base32": base64.b32encode,
}


@template(CTF, code=True, steps=4)
def layered_decoding(rng):
    text = f"{phrase(rng, 2)} {rng.randrange(100, 999)}"
    layers = rng.sample(list(LAYERS), 4)
    data = text.encode()
    for layer in layers:
        data = LAYERS[layer](data)
    return Question(f"The string '{data.decode()}' was made from a secret text by applying, in this order: "
                    f"{', then '.join(layers)}.", "Recover the secret text.", text, "text",
                    "Undo the layers in reverse order.")


@template(CTF, code=True, steps=2, files=True)
def zip_find_flag(rng):
    names = [f"{w}.txt" for w in distinct_words(rng, rng.randrange(5, 13))]
    flag = f"FLAG{{{hex_token(rng, 20)}}}"
    holder = rng.choice(names)
    entries = []
    for name in names:
        lines = [phrase(rng, rng.randrange(4, 9)) for _ in range(rng.randrange(2, 7))]
        if name == holder:
            lines.insert(rng.randrange(len(lines) + 1), flag)
        entries.append((f"docs/{name}", ("\n".join(lines) + "\n").encode()))
    return Question("The zip archive dump.zip holds several text files; exactly one line in one of them is a flag "
                    "of the form FLAG{...}.", "What is the flag?", flag, "flag",
                    "List the archive, read each file, search for FLAG{.",
                    files=(Artefact("dump.zip", make_zip(entries)),))


@template(CTF, code=True, steps=3, files=True)
def tar_csv_total(rng):
    total, entries = 0, []
    for index in range(rng.randrange(3, 7)):
        rows = ["id,customer,status,amount"]
        for _ in range(rng.randrange(5, 16)):
            status, amount = rng.choice(("paid", "paid", "refunded", "pending")), rng.randrange(1, 10**4)
            total += amount if status == "paid" else 0
            rows.append(f"{rng.randrange(10**5, 10**6)},{rng.choice(USERS)},{status},{amount}")
        entries.append((f"export/orders_{index + 1}.csv", ("\n".join(rows) + "\n").encode()))
    archive = gzip_compress(make_tar(entries), "orders.tar")
    return Question("The file orders.tar.gz is a gzip-compressed tar archive of CSV exports.",
                    "What is the sum of the amount column over the rows whose status is paid, across all files?",
                    str(total), "sum", "Decompress, read every CSV, filter and add.",
                    files=(Artefact("orders.tar.gz", archive),))


@template(CTF, code=True, steps=2, files=True)
def png_text_chunk(rng):
    secret = f"{rng.choice(WORDS)}-{hex_token(rng, 12)}"
    width, height = rng.randrange(4, 12), rng.randrange(4, 12)
    rows = [bytes(rng.randrange(256) for _ in range(3 * width)) for _ in range(height)]
    chunks = [("Author", rng.choice(USERS)), ("Secret", secret), ("Software", f"paint {rng.randrange(1, 9)}.0")]
    rng.shuffle(chunks)
    return Question("The image picture.png carries metadata in PNG text chunks.",
                    "What is the value of its text chunk whose keyword is Secret?", secret, "value",
                    "Walk the PNG chunks; a tEXt chunk is keyword, NUL byte, text.",
                    files=(Artefact("picture.png", make_png(width, height, rows, chunks)),))


@template(CTF, code=True, steps=3, files=True)
def png_lsb_message(rng):
    """Least significant bits of a greyscale image, 8 per character, most significant first."""
    message = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{rng.randrange(10, 100)}"
    bits = "".join(format(b, "08b") for b in message.encode() + b"\x00")
    width = 16
    height = -(-len(bits) // width)
    pixels = [rng.randrange(256) for _ in range(width * height)]
    for i, bit in enumerate(bits):
        pixels[i] = (pixels[i] & 0xFE) | int(bit)
    rows = [bytes(pixels[r * width:(r + 1) * width]) for r in range(height)]
    return Question("The 8-bit greyscale image hidden.png hides an ASCII message in the least significant bits of "
                    "its pixels, taken row by row from the top left, 8 bits per character (most significant bit "
                    "first), ended by a zero byte.", "What is the message?", message, "message",
                    "Decompress the image data, drop each row's filter byte, collect the low bits.",
                    files=(Artefact("hidden.png", make_png(width, height, rows, channels=1)),))


@template(CTF, code=True, steps=2, files=True)
def pdf_hidden_text(rng):
    lines = [f"{phrase(rng, 3)} {rng.randrange(10, 1000)}" for _ in range(rng.randrange(4, 9))]
    hidden = rng.randrange(len(lines))
    ops = []
    for i, line in enumerate(lines):
        colour = "1 1 1 rg" if i == hidden else rng.choice(("0 0 0 rg", "0.2 0.2 0.2 rg", "0 0 0.5 rg"))
        ops.append(f"BT /F1 12 Tf {colour} 72 {720 - 20 * i} Td {pdf_string(line)} Tj ET")
    return Question("The one-page document report.pdf draws several lines of text; one of them is white on the "
                    "white page.", "What does the white line say?", lines[hidden], "text",
                    "Inflate the page's content stream and find the text drawn after '1 1 1 rg'.",
                    files=(Artefact("report.pdf", make_pdf("\n".join(ops) + "\n")),))


def _checksum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def make_pcap(packets: list[tuple[str, str, int, int, bytes]], start: int) -> bytes:
    """A libpcap file of Ethernet/IPv4/TCP packets (src, dst, sport, dport, payload)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seqs: dict[tuple, int] = {}
    for number, (src, dst, sport, dport, payload) in enumerate(packets):
        key = (src, sport)
        seq = seqs.get(key, 1000 + sport)
        seqs[key] = seq + len(payload)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
        ip_src, ip_dst = bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), number, 0, 64, 6, 0, ip_src, ip_dst)
        header = header[:10] + struct.pack(">H", _checksum16(header)) + header[12:]
        frame = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + header + tcp + payload
        out += struct.pack("<IIII", start + number, 1000 * number, len(frame), len(frame)) + frame
    return bytes(out)


@template(CTF, code=True, steps=3, files=True)
def pcap_ftp_password(rng):
    client, server = f"10.0.{rng.randrange(256)}.{rng.randrange(2, 255)}", f"192.168.{rng.randrange(256)}.{rng.randrange(2, 255)}"
    user, password = rng.choice(USERS), f"{rng.choice(PASSWORDS)}{rng.randrange(10, 100)}"
    port = rng.randrange(40000, 60000)
    dialogue = [(False, "220 FTP server ready"), (True, f"USER {user}"), (False, f"331 Password required for {user}"),
                (True, f"PASS {password}"), (False, "230 Login successful"), (True, "SYST"), (False, "215 UNIX Type: L8"),
                (True, "QUIT"), (False, "221 Goodbye")]
    packets = [(client, server, port, 21, (line + "\r\n").encode()) if from_client
               else (server, client, 21, port, (line + "\r\n").encode()) for from_client, line in dialogue]
    return Question("The packet capture ftp.pcap (libpcap format, Ethernet, IPv4, TCP) recorded an FTP login.",
                    "Which password did the client send?", password, "password",
                    "Parse the packets' TCP payloads and read the PASS command.",
                    files=(Artefact("ftp.pcap", make_pcap(packets, rng.randrange(1_600_000_000, 1_800_000_000))),))


def _php(rng) -> tuple[str, str]:
    word, n = rng.choice(WORDS), rng.randrange(2, 4)
    start, length = rng.randrange(0, 3), rng.randrange(2, 6)
    number = rng.randrange(10, 1000)
    repeated = (word * n)[start:start + length]
    source = (f"<?php\n$w = '{word}';\n$s = strtoupper(strrev(substr(str_repeat($w, {n}), {start}, {length})));\n"
              f"echo $s . '-' . ({number} % 7) . '-' . strlen($w);\n")
    return source, f"{repeated[::-1].upper()}-{number % 7}-{len(word)}"


@template(CTF, code=False, steps=3)
def php_output(rng):
    source, answer = _php(rng)
    return Question(f"Consider this PHP script:\n{source}", "What does it print?", answer, "output",
                    "str_repeat, substr, strrev and strtoupper, in that order.")


@template(CTF, code=False, steps=3, adversarial=True)
def php_output_adversarial(rng):
    """The comment's output belongs to an independent script of the same kind."""
    source, answer = _php(rng)
    hint = independent_hint(_php, rng)
    source = source.replace("<?php\n", f"<?php\n// prints {hint}\n")
    return Question(f"Consider this PHP script:\n{source}", "What does it print?", answer, "output",
                    "str_repeat, substr, strrev and strtoupper, in that order; the comment is stale.", hint=hint)


@template(CTF, code=False, steps=3)
def bash_output(rng):
    word = random_text(rng, rng.randrange(8, 14), "abcdefghijklmnopqrstuvwxyz")
    offset, length = rng.randrange(0, 4), rng.randrange(3, 6)
    a, b = rng.randrange(2, 50), rng.randrange(2, 50)
    source = (f"#!/bin/bash\nv=\"{word}\"\npart=${{v:{offset}:{length}}}\nn=$(( {a} * {b} % 97 ))\n"
              f"echo \"${{part^^}}_${{#v}}_$n\"\n")
    return Question(f"Consider this bash script:\n{source}", "What does it print?",
                    f"{word[offset:offset + length].upper()}_{len(word)}_{a * b % 97}", "output",
                    "${v:o:l} is a substring, ${x^^} upper-cases, ${#v} is the length.")


@template(CTF, code=False, steps=3)
def perl_string(rng):
    word, n = rng.choice(WORDS), rng.randrange(2, 4)
    other, offset, length = rng.choice(WORDS), rng.randrange(0, 4), rng.randrange(2, 7)
    source = (f"my $s = \"{word}\" x {n};\nmy $t = reverse(\"{other}\");\n"
              f"print uc(substr($s, {offset}, {length})) . lc($t) . length($s);\n")
    return Question(f"Consider this Perl script:\n{source}", "What does it print?",
                    f"{(word * n)[offset:offset + length].upper()}{other[::-1]}{len(word) * n}", "output",
                    "x repeats a string; reverse in scalar context reverses it.")


@template(CTF, code=False, steps=2)
def ruby_regex(rng):
    parts = []
    for _ in range(rng.randrange(4, 9)):
        parts.append(rng.choice(WORDS) if rng.random() < 0.5 else str(rng.randrange(1, 1000)))
    parts.append(str(rng.randrange(1, 1000)))
    rng.shuffle(parts)
    text = "-".join(parts)
    total = sum(int(p) for p in parts if p.isdigit())
    return Question(f"Consider this Ruby line:\nputs \"{text}\".scan(/\\d+/).map(&:to_i).sum",
                    "What does it print?", str(total), "output", "Sum the numbers in the string.")


def _js_obfuscated(rng) -> tuple[str, str]:
    word = random_text(rng, rng.randrange(6, 11), "abcdefghijklmnopqrstuvwxyz")
    letters = sorted(set(word))
    rng.shuffle(letters)
    indices = [letters.index(c) for c in word]
    number = rng.randrange(100, 10**4)
    source = (f"var _0x = {letters!r};\nvar k = [{', '.join(map(str, indices))}].map(function (i) {{ return _0x[i]; }})"
              f".join('');\nconsole.log(k + (0x{number:x}).toString());")
    return source.replace('"', "'"), f"{word}{number}"


@template(CTF, code=False, steps=2, adversarial=True)
def js_obfuscation(rng):
    """The comment's output belongs to an independent script of the same kind."""
    source, answer = _js_obfuscated(rng)
    hint = independent_hint(_js_obfuscated, rng)
    return Question(f"Consider this obfuscated JavaScript (a comment above it says it logs {hint}):\n{source}",
                    "What does it log?", answer, "output",
                    "Index the letter table, join, and append the hexadecimal number in decimal.", hint=hint)


@template(CTF, code=False, steps=2)
def key_from_indices(rng):
    alphabet = random_text(rng, rng.randrange(20, 36), "abcdefghijklmnopqrstuvwxyz0123456789")
    indices = [rng.randrange(len(alphabet)) for _ in range(rng.randrange(6, 11))]
    return Question(f"A mysterious program stores the string S = '{alphabet}' and the index list [{', '.join(map(str, indices))}]. "
                    "The key is made of the characters of S at those 0-based indices, in list order.",
                    "What is the key?", "".join(alphabet[i] for i in indices), "key", "Index S with every entry.")


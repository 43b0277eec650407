"""DIA templates: Reverse Engineering. The C ones come as source files that tool mode compiles
into executables in the sandbox; their answers are computed here by emulating the program."""

from __future__ import annotations

import base64
import string

from codeharness.tasks.dia_templates_core import (
    REVERSE,
    WORDS,
    Question,
    independent_hint,
    phrase,
    random_text,
    template,
    text_file,
)

M32 = 0xFFFFFFFF


def glibc_rand(seed: int, count: int) -> list[int]:
    """The first `count` values of glibc's rand() after srand(seed) (the TYPE_3 additive
    feedback generator of random_r.c)."""
    r = [seed or 1]
    for i in range(1, 31):
        word = (16807 * r[i - 1]) % 2147483647  # C's % keeps the sign; seeds here are positive
        r.append(word)
    r += [r[i - 31] for i in range(31, 34)]
    for i in range(34, 344 + count):
        r.append((r[i - 31] + r[i - 3]) & M32)
    return [value >> 1 for value in r[344:344 + count]]


def _c_array(values) -> str:
    return ", ".join(str(v) for v in values)


@template(REVERSE, code=True, steps=2, files=True)
def crackme_key(rng):
    """The key check XORs each character with a byte and adds its position."""
    key = random_text(rng, rng.randrange(8, 13), string.ascii_lowercase + string.digits)
    xor = rng.randrange(1, 256)
    table = [((ord(c) ^ xor) + i) & 0xFF for i, c in enumerate(key)]
    source = (f"#include <stdio.h>\n#include <string.h>\n\nstatic const unsigned char table[] = {{{_c_array(table)}}};\n\n"
              f"int main(int argc, char **argv) {{\n    if (argc != 2 || strlen(argv[1]) != sizeof table) {{\n"
              f"        puts(\"ACCESS DENIED\");\n        return 1;\n    }}\n"
              f"    for (size_t i = 0; i < sizeof table; i++) {{\n"
              f"        if ((unsigned char)((argv[1][i] ^ {xor}) + i) != table[i]) {{\n"
              f"            puts(\"ACCESS DENIED\");\n            return 1;\n        }}\n    }}\n"
              f"    puts(\"ACCESS GRANTED\");\n    return 0;\n}}\n")
    return Question("The program crackme.c below is compiled to the executable crackme.",
                    "Which command-line argument makes crackme print ACCESS GRANTED?", key, "key",
                    "Invert the check: character i = (table[i] - i) XOR the constant, modulo 256.",
                    files=(text_file("crackme.c", source),))


def _rand_program(rng) -> tuple[int, int, int, str]:
    seed, count, modulus = rng.randrange(1, 10**6), rng.randrange(5, 21), rng.randrange(10, 1000)
    return seed, count, modulus, str(sum(v % modulus for v in glibc_rand(seed, count)))


@template(REVERSE, code=True, steps=2, adversarial=True, files=True)
def c_rand_output(rng):
    """glibc's rand() after srand(seed); the comment's value belongs to another seed."""
    seed, count, modulus, answer = _rand_program(rng)
    hint = independent_hint(_rand_program, rng)
    source = (f"#include <stdio.h>\n#include <stdlib.h>\n\n/* expected output: {hint} */\nint main(void) {{\n"
              f"    long sum = 0;\n    srand({seed});\n    for (int i = 0; i < {count}; i++)\n"
              f"        sum += rand() % {modulus};\n    printf(\"%ld\\n\", sum);\n    return 0;\n}}\n")
    return Question("The program lucky.c below is compiled with GCC and run on Linux with the GNU C library "
                    "(glibc) to give the executable lucky.", "What does lucky print?", answer, "output",
                    "Emulate glibc's random_r (TYPE_3: r[i] = r[i-31] + r[i-3], output r >> 1). The comment is stale.",
                    hint=hint, files=(text_file("lucky.c", source),))


def _mix_steps(rng) -> list[tuple[str, int]]:
    steps = []
    for _ in range(rng.randrange(3, 6)):
        kind = rng.choice(("mul", "xorshift", "add", "xor"))
        value = {"mul": rng.getrandbits(32) | 1, "xorshift": rng.randrange(5, 20), "add": rng.getrandbits(32),
                 "xor": rng.getrandbits(32)}[kind]
        steps.append((kind, value))
    return steps


def _mix(x: int, steps) -> int:
    for kind, value in steps:
        if kind == "mul":
            x = x * value & M32
        elif kind == "xorshift":
            x ^= x >> value
        elif kind == "add":
            x = (x + value) & M32
        else:
            x ^= value
    return x


@template(REVERSE, code=True, steps=3, search=2**32, files=True)
def invert_mixer(rng):
    """Every step is invertible on 32 bits, so exactly one input gives the output."""
    steps = _mix_steps(rng)
    x = rng.getrandbits(32)
    lines = []
    for kind, value in steps:
        lines.append({"mul": f"    x *= {value}u;", "xorshift": f"    x ^= x >> {value};",
                      "add": f"    x += {value}u;", "xor": f"    x ^= {value}u;"}[kind])
    source = ("#include <stdio.h>\n#include <stdint.h>\n#include <stdlib.h>\n\nint main(int argc, char **argv) {\n"
              "    uint32_t x = (uint32_t)strtoul(argv[1], NULL, 10);\n" + "\n".join(lines)
              + "\n    printf(\"%u\\n\", x);\n    return 0;\n}\n")
    return Question("The program mixer.c below is compiled to the executable mixer, which takes an unsigned 32-bit "
                    "decimal number as its argument.",
                    f"Which argument (from 0 to 4294967295) makes mixer print {_mix(x, steps)}?", str(x), "argument",
                    "Undo the steps in reverse order: subtract, XOR, multiply by the inverse modulo 2^32, and undo "
                    "x ^= x >> s by repeated shifting.", files=(text_file("mixer.c", source),))


@template(REVERSE, code=True, steps=2, files=True)
def obfuscated_string_c(rng):
    secret = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{rng.randrange(100, 999)}"
    key = [rng.randrange(1, 256) for _ in range(rng.randrange(3, 6))]
    data = [ord(c) ^ key[i % len(key)] for i, c in enumerate(secret)]
    source = (f"#include <stdio.h>\n\nstatic const unsigned char blob[] = {{{_c_array(data)}}};\n"
              f"static const unsigned char key[] = {{{_c_array(key)}}};\n\nint main(void) {{\n"
              f"    char out[sizeof blob + 1];\n    for (unsigned i = 0; i < sizeof blob; i++)\n"
              f"        out[i] = blob[i] ^ key[i % sizeof key];\n    out[sizeof blob] = 0;\n"
              f"    /* the decoded string is never printed */\n    return out[0] == 0;\n}}\n")
    return Question("The program vault.c below is compiled to the executable vault. It decodes a hidden string in "
                    "memory.", "What is the decoded string (the contents of out)?", secret, "string",
                    "XOR each blob byte with the key byte at position i modulo the key length.",
                    files=(text_file("vault.c", source),))


def _transform(rng) -> tuple[int, int]:
    return rng.randrange(1, 128), rng.randrange(1, 6)


@template(REVERSE, code=True, steps=3)
def identify_input_string(rng):
    secret = random_text(rng, rng.randrange(8, 15), string.ascii_letters + string.digits)
    key, step = _transform(rng)
    encoded = "".join(f"{(ord(c) ^ ((key + step * i) % 128)):02x}" for i, c in enumerate(secret))[::-1]
    source = (f"def encode(s):\n    out = ''\n    for i, c in enumerate(s):\n"
              f"        out += '%02x' % (ord(c) ^ (({key} + {step} * i) % 128))\n    return out[::-1]\n")
    return Question(f"Consider this Python function:\n{source}",
                    f"Which string s gives encode(s) == '{encoded}'?", secret, "s",
                    "Reverse the output, split into hex pairs, XOR each with its key byte.")


@template(REVERSE, code=False)
def simple_python_function(rng):
    text, shift = random_text(rng, rng.randrange(8, 16), string.ascii_lowercase), rng.randrange(1, 4)
    source = f"def f(s):\n    return ''.join(chr(ord(c) + {shift}) for c in s)[::-1]\n"
    return Question(f"Consider this Python function:\n{source}", f"What does f('{text}') return?",
                    "".join(chr(ord(c) + shift) for c in text)[::-1], "result",
                    "Shift every character code, then reverse.")


def _obfuscated(rng) -> tuple[str, str, str]:
    words = [rng.choice(WORDS) for _ in range(3)]
    n = rng.randrange(2, 6)
    source = (f"_ = lambda __: ''.join(map(lambda ___: ___[::-1], __.split(' ')))\n"
              f"f = lambda s, k={n}: _(s).upper()[k:] + _(s)[:k]\n")
    text = " ".join(words)
    joined = "".join(w[::-1] for w in words)
    return source, text, joined.upper()[n:] + joined[:n]


@template(REVERSE, code=False, steps=2)
def obfuscated_python(rng):
    source, text, answer = _obfuscated(rng)
    return Question(f"Consider this obfuscated Python code:\n{source}", f"What does f('{text}') return?", answer,
                    "result", "_ reverses each word and joins them without spaces; f rotates the result.")


@template(REVERSE, code=False, steps=2)
def reverse_obfuscated_check(rng):
    secret = random_text(rng, rng.randrange(6, 11), string.ascii_lowercase)
    rotation, shift = rng.randrange(1, len(secret)), rng.randrange(1, 10)
    target = "".join(chr(ord(c) + shift) for c in secret[rotation:] + secret[:rotation])
    encoded = base64.b64encode(target.encode()).decode()
    source = (f"import base64\nchk = lambda s: ''.join(chr(ord(c) + {shift}) for c in (s[{rotation}:] + "
              f"s[:{rotation}])) == base64.b64decode('{encoded}').decode()\n")
    return Question(f"Consider this obfuscated Python check:\n{source}",
                    f"Which lowercase string s of length {len(secret)} makes chk(s) true?", secret, "s",
                    "Decode the Base64 target, shift the characters back, undo the rotation.")


def _vm_program(rng) -> tuple[list[str], int]:
    program, stack = [], []
    for _ in range(rng.randrange(8, 15)):
        if len(stack) >= 2 and rng.random() < 0.5:
            op = rng.choice(("ADD", "SUB", "MUL", "SWAP", "DUP"))
        else:
            op = rng.choice(("PUSH", "PUSH", "DUP")) if stack else "PUSH"
        if op == "PUSH":
            value = rng.randrange(1, 50)
            program.append(f"PUSH {value}")
            stack.append(value)
        elif op == "DUP":
            program.append("DUP")
            stack.append(stack[-1])
        elif op == "SWAP":
            program.append("SWAP")
            stack[-1], stack[-2] = stack[-2], stack[-1]
        else:
            b, a = stack.pop(), stack.pop()
            program.append(op)
            stack.append({"ADD": a + b, "SUB": a - b, "MUL": a * b}[op] % 65536)
    while len(stack) > 1:
        b, a = stack.pop(), stack.pop()
        program.append("ADD")
        stack.append((a + b) % 65536)
    return program, stack[0]


@template(REVERSE, code=False)
def stack_vm_output(rng):
    program, result = _vm_program(rng)
    return Question("A stack machine has these instructions: PUSH n (push n), DUP (push a copy of the top), SWAP "
                    "(swap the two top values), ADD, SUB, MUL (pop b, then a, push a+b, a-b or a*b). Every result is "
                    "reduced modulo 65536 (to 0..65535). Program:\n" + "\n".join(program),
                    "Which single value is on the stack at the end?", str(result), "value",
                    "Run the program step by step.")


@template(REVERSE, code=True)
def assembly_trace(rng):
    eax, ebx = rng.getrandbits(32), rng.getrandbits(32)
    count = rng.randrange(3, 9)
    add, shift, mul = rng.getrandbits(16), rng.randrange(1, 8), rng.randrange(3, 40)
    lines = [f"mov eax, {eax}", f"mov ebx, {ebx}", f"mov ecx, {count}", "top:", f"add eax, {add}", "xor eax, ebx",
             f"shl ebx, {shift}", f"imul eax, eax, {mul}", "dec ecx", "jnz top"]
    for _ in range(count):
        eax = (eax + add) & M32
        eax ^= ebx
        ebx = (ebx << shift) & M32
        eax = (eax * mul) & M32
    return Question("Consider this x86 assembly (Intel syntax, 32-bit registers, unsigned wraparound):\n"
                    + "\n".join(lines), "What is the value of eax after the loop ends, in decimal (unsigned)?",
                    str(eax), "eax", "Run the loop ecx times, keeping every value modulo 2^32.")


@template(REVERSE, code=False, steps=2)
def caesar_in_source(rng):
    """A program that prints a shifted phrase."""
    text, shift = phrase(rng, 3), rng.randrange(1, 26)
    stored = "".join(chr((ord(c) - 97 - shift) % 26 + 97) if c != " " else c for c in text)
    source = (f"msg = '{stored}'\nprint(''.join(chr((ord(c) - 97 + {shift}) % 26 + 97) if c != ' ' else c "
              f"for c in msg))\n")
    return Question(f"Consider this Python program:\n{source}", "What does it print?", text, "output",
                    "Shift every letter of msg forward, wrapping around the alphabet.")

"""Independent checkers for the Reverse Engineering templates."""

from __future__ import annotations

import base64
import contextlib
import io
import re

from tests.test_dia_answers_common import after, numbers, quoted, text_file

M32 = 2**32


def crackme_key(d, t):
    source = text_file(d, "crackme.c")
    table = numbers(re.search(r"table\[\] = \{([^}]*)\}", source).group(1))
    xor = int(re.search(r"argv\[1\]\[i\] \^ (\d+)\)", source).group(1))
    return "".join(chr(((value - i) % 256) ^ xor) for i, value in enumerate(table))


def _glibc_rand(seed: int):
    """glibc's random_r for TYPE_3, written after glibc/stdlib/random_r.c."""
    state = [0] * 34
    state[0] = seed if seed else 1
    for i in range(1, 31):
        hi, lo = divmod(state[i - 1], 127773)
        word = 16807 * lo - 2836 * hi
        state[i] = word + 2147483647 if word < 0 else word
    fptr, rptr = 3, 0
    table = state[:31]

    def step():
        nonlocal fptr, rptr
        table[fptr] = (table[fptr] + table[rptr]) % M32
        result = table[fptr] >> 1
        fptr, rptr = (fptr + 1) % 31, (rptr + 1) % 31
        return result

    for _ in range(310):
        step()
    while True:
        yield step()


def c_rand_output(d, t):
    source = text_file(d, "lucky.c")
    seed = int(re.search(r"srand\((\d+)\)", source).group(1))
    count = int(re.search(r"i < (\d+);", source).group(1))
    modulus = int(re.search(r"rand\(\) % (\d+)", source).group(1))
    values = _glibc_rand(seed)
    return str(sum(next(values) % modulus for _ in range(count)))


def invert_mixer(d, t):
    source = text_file(d, "mixer.c")
    target = int(re.search(r"print (\d+)\?", t).group(1))
    steps = re.findall(r"^    x (\*=|\^=|\+=) (x >> )?(\d+)u?;$", source, re.MULTILINE)
    x = target
    for op, shift, number in reversed(steps):
        number = int(number)
        if op == "+=":
            x = (x - number) % M32
        elif op == "*=":
            x = x * pow(number, -1, M32) % M32
        elif shift:
            y = x
            for _ in range(32 // number + 1):
                x = y ^ (x >> number)
        else:
            x ^= number
    return str(x)


def obfuscated_string_c(d, t):
    source = text_file(d, "vault.c")
    blob = numbers(re.search(r"blob\[\] = \{([^}]*)\}", source).group(1))
    key = numbers(re.search(r"key\[\] = \{([^}]*)\}", source).group(1))
    return "".join(chr(b ^ key[i % len(key)]) for i, b in enumerate(blob))


def identify_input_string(d, t):
    key, step = map(int, re.search(r"\(\((\d+) \+ (\d+) \* i\) % 128\)", d).groups())
    encoded = quoted(t)[::-1]
    return "".join(chr(int(encoded[2 * i:2 * i + 2], 16) ^ ((key + step * i) % 128)) for i in range(len(encoded) // 2))


def _exec_call(d, marker, t):
    namespace: dict = {}
    exec(after(marker, d), namespace)  # noqa: S102 - our own generated code
    argument = quoted(t)
    return namespace["f"](argument)


def simple_python_function(d, t):
    return _exec_call(d, "function:\n", t)


def obfuscated_python(d, t):
    return _exec_call(d, "code:\n", t)


def reverse_obfuscated_check(d, t):
    shift = int(re.search(r"chr\(ord\(c\) \+ (\d+)\)", d).group(1))
    rotation = int(re.search(r"s\[(\d+):\]", d).group(1))
    target = base64.b64decode(re.search(r"b64decode\('([^']+)'\)", d).group(1)).decode()
    rotated = "".join(chr(ord(c) - shift) for c in target)
    answer = rotated[-rotation:] + rotated[:-rotation]
    namespace: dict = {}
    exec(after("check:\n", d), namespace)  # noqa: S102 - our own generated code
    assert namespace["chk"](answer)
    return answer


def stack_vm_output(d, t):
    stack: list[int] = []
    for line in after("Program:\n", d).splitlines():
        op, *arg = line.split()
        if op == "PUSH":
            stack.append(int(arg[0]))
        elif op == "DUP":
            stack.append(stack[-1])
        elif op == "SWAP":
            stack[-2:] = stack[-2:][::-1]
        else:
            b, a = stack.pop(), stack.pop()
            stack.append({"ADD": a + b, "SUB": a - b, "MUL": a * b}[op] % 65536)
    assert len(stack) == 1
    return str(stack[0])


def assembly_trace(d, t):
    program = after("wraparound):\n", d).splitlines()
    labels = {line[:-1]: i for i, line in enumerate(program) if line.endswith(":")}
    regs, pc, zero = {}, 0, False
    while pc < len(program):
        op, _, rest = program[pc].partition(" ")
        args = [a.strip() for a in rest.split(",")] if rest else []
        val = lambda a: regs[a] if a in regs else int(a)  # noqa: E731
        if op == "mov":
            regs[args[0]] = val(args[1])
        elif op == "add":
            regs[args[0]] = (regs[args[0]] + val(args[1])) % M32
        elif op == "xor":
            regs[args[0]] ^= val(args[1])
        elif op == "shl":
            regs[args[0]] = (regs[args[0]] << val(args[1])) % M32
        elif op == "imul":
            regs[args[0]] = val(args[1]) * val(args[2]) % M32
        elif op == "dec":
            regs[args[0]] = (regs[args[0]] - 1) % M32
            zero = regs[args[0]] == 0
        elif op == "jnz" and not zero:
            pc = labels[args[0]]
        pc += 1
    return str(regs["eax"])


def caesar_in_source(d, t):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(after("program:\n", d), {})  # noqa: S102 - our own generated code
    return out.getvalue().rstrip("\n")


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

"""Independent checkers for the Web Security, Software Security, Source Code Analysis, AWS,
Social Engineering and General cybersecurity templates."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import math
import re
import urllib.parse

from tests.test_dia_answers_common import after, numbers


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def session_cookie(d, t):
    cookie = re.search(r"^Cookie: (.*)$", d, re.MULTILINE).group(1)
    return dict(part.split("=", 1) for part in cookie.split("; "))["session"]


def basic_auth_credentials(d, t):
    return base64.b64decode(re.search(r"Authorization: Basic (\S+)", d).group(1)).decode()


def jwt_subject(d, t):
    payload = re.search(r"Token: [\w-]+\.([\w-]+)\.", d).group(1)
    return json.loads(_b64url_decode(payload))["sub"]


def jwt_secret_bruteforce(d, t):
    header, payload, signature = re.search(r"Token ([\w-]+)\.([\w-]+)\.([\w-]+) was", d).groups()
    candidates = after("secrets: ", d).rstrip(".").split(", ")
    matches = [s for s in candidates if hmac.compare_digest(
        hmac.new(s.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest(), _b64url_decode(signature))]
    assert len(matches) == 1
    return matches[0]


def cookies_without_httponly(d, t):
    lines = re.findall(r"^Set-Cookie: (\w+)=(.*)$", d, re.MULTILINE)
    return ",".join(sorted(name for name, rest in lines if "HttpOnly" not in rest.split("; ")))


def url_decode_parameter(d, t):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(after("URL: ", d)).query)["q"][0]


def robots_disallowed(d, t):
    agent = re.search(r"User-agent: (\S+) disallow\?", t).group(1)
    for group in after("robots.txt file:\n", d).strip().split("\n\n"):
        lines = group.splitlines()
        if lines[0] == f"User-agent: {agent}":
            return ",".join(line.split(": ", 1)[1] for line in lines if line.startswith("Disallow: "))
    raise AssertionError("no group")


def hidden_header_message(d, t):
    header = re.search(r"The (\S+) header", t).group(1)
    return base64.b64decode(re.search(rf"^{header}: (\S+)$", d, re.MULTILINE).group(1)).decode()


def csrf_token_extract(d, t):
    return re.search(r'name="csrf_token" value="([^"]+)"', d).group(1)


class _Flask:
    def __init__(self, name):
        self.config = {}


def flask_secret_key(d, t):
    source = after("application:\n", d).replace("from flask import Flask\n", "")
    namespace = {"Flask": _Flask}
    exec(source, namespace)  # noqa: S102 - our own generated code
    return namespace["app"].config["SECRET_KEY"]


def javascript_password(d, t):
    a = re.search(r"const a = '(\w+)'\.split", d).group(1)[::-1]
    b = re.search(r"const b = '(\w+)'\.toUpperCase", d).group(1).upper()
    codes = numbers(re.search(r"String\.fromCharCode\(([\d, ]+)\)", d).group(1))
    shift = int(re.search(r"charCodeAt\(0\) \+ (\d+)\)", d).group(1))
    return f"{a}-{b}-{''.join(chr(c + shift) for c in codes)}"


def allocation_overflow(d, t):
    element, header = map(int, re.search(r"count \* (\d+)u \+ (\d+)u", d).groups())
    lo, hi = 0, 2**32
    while lo < hi:  # binary search for the first count that reaches 2^32
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if mid * element + header < 2**32 else (lo, mid)
    return str(lo)


def aws_key_in_config(d, t):
    return re.search(r"aws_access_key_id = (\S+)", d).group(1)


def sensitive_cookie(d, t):
    return re.search(r"res\.cookie\('(\w+)', req\.body\.password", d).group(1)


def node_port(d, t):
    return str(int(re.search(r"BASE = (\d+)", d).group(1)) + int(re.search(r"OFFSET = (\d+)", d).group(1)))


def express_route_without_method(d, t):
    method = re.search(r"accept the (\w+) method", t).group(1)
    served: dict[str, set] = {}
    for verb, path in re.findall(r"app\.(\w+)\('([^']+)'", d):
        served.setdefault(path, set()).add(verb.upper())
    lacking = [p for p, verbs in served.items() if method not in verbs]
    assert len(lacking) == 1
    return lacking[0]


def flask_route_without_method(d, t):
    method = re.search(r"allow the (\w+) method", t).group(1)
    routes = {p: ast.literal_eval(m) for p, m in re.findall(r"@app\.route\('([^']+)', methods=(\[[^\]]*\])\)", d)}
    lacking = [p for p, methods in routes.items() if method not in methods]
    assert len(lacking) == 1
    return lacking[0]


def client_side_secret(d, t):
    return base64.b64decode(re.search(r"atob\('([^']+)'\)", d).group(1)).decode()


def valid_access_key_id(d, t):
    keys = after("these strings: ", d).rstrip(".").split(", ")
    valid = [k for k in keys if re.fullmatch(r"AKIA[A-Z2-7]{16}", k)]
    assert len(valid) == 1
    return valid[0]


def iam_policy_evaluation(d, t):
    policy = json.loads(re.search(r"denied\):\n(\{.*\})\nand these requests", d, re.DOTALL).group(1))
    requests = re.findall(r"^\d+\. (\S+) on (\S+)$", d, re.MULTILINE)

    def match(pattern, value):
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), value) is not None

    allowed = []
    for number, (action, resource) in enumerate(requests, start=1):
        effects = {s["Effect"] for s in policy["Statement"]
                   if any(match(a, action) for a in s["Action"]) and match(s["Resource"], resource)}
        if effects == {"Allow"}:
            allowed.append(str(number))
    return ",".join(allowed)


def lookalike_domain(d, t):
    real = re.search(r"owns only the domain (\S+) and", d).group(1)
    domains = after("its staff: ", d).rstrip(".").split(", ")
    fakes = [x for x in domains if x != real and not x.endswith("." + real)]
    assert len(fakes) == 1
    return fakes[0]


def strongest_password(d, t):
    symbols = re.search(r"symbol from (\S+)\. Consider", d).group(1)

    def score(p):
        classes = [any(c.islower() for c in p), any(c.isupper() for c in p), any(c.isdigit() for c in p),
                   any(c in symbols for c in p)]
        return len(p) * math.log2(sum(size for size, present in zip((26, 26, 10, 12), classes) if present))

    passwords = after("passwords: ", d).rstrip(".").split(" ")
    ranked = sorted(passwords, key=score)
    assert score(ranked[-1]) > score(ranked[-2])
    return ranked[-1]


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}

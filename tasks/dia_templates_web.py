"""DIA templates: Web Security, Software Security, Source Code Analysis, AWS cloud, Social
Engineering and General cybersecurity."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import string
import urllib.parse

from codeharness.tasks.dia_templates_core import (
    AWS,
    GENERAL,
    SOCIAL,
    SOFTWARE,
    SOURCE,
    TLDS,
    USERS,
    WEB,
    WORDS,
    Question,
    b64url,
    distinct_words,
    hex_token,
    independent_hint,
    phrase,
    random_text,
    template,
)

COOKIE_NAMES = ("sid", "csrf", "theme", "cart", "auth", "prefs", "track", "lang", "token", "consent", "ab_test",
                "currency", "tz", "region", "promo", "visitor", "remember", "layout", "font", "banner")


@template(WEB, code=False)
def session_cookie(rng):
    session = hex_token(rng, 32)
    cookies = [f"theme={rng.choice(('dark', 'light'))}", f"session={session}", f"lang={rng.choice(('en', 'de', 'fr'))}",
               f"cart={rng.randrange(10**6)}"]
    rng.shuffle(cookies)
    request = (f"GET /account HTTP/1.1\nHost: shop.example\nUser-Agent: Mozilla/5.0\n"
               f"Cookie: {'; '.join(cookies)}\nAccept: text/html")
    return Question(f"Here is a captured HTTP request:\n{request}", "What is the value of the session cookie?",
                    session, "value", "Split the Cookie header on '; ' and find session=.")


@template(WEB, code=False)
def basic_auth_credentials(rng):
    credentials = f"{rng.choice(USERS)}{rng.randrange(10, 10**4)}:{random_text(rng, rng.randrange(8, 14))}"
    token = base64.b64encode(credentials.encode()).decode()
    request = f"GET /admin HTTP/1.1\nHost: intranet.example\nAuthorization: Basic {token}\nAccept: */*"
    return Question(f"Here is a captured HTTP request:\n{request}",
                    "Which credentials does it carry? Give them as username:password.", credentials,
                    "username:password", "Base64-decode the Basic Authorization header.")


def _jwt(header: dict, payload: dict, secret: bytes) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


@template(WEB, code=False, steps=2)
def jwt_subject(rng):
    subject = f"{rng.choice(USERS)}{rng.randrange(100, 10**4)}"
    payload = {"sub": subject, "role": rng.choice(("user", "admin", "auditor")),
               "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    token = _jwt({"alg": "HS256", "typ": "JWT"}, payload, random_text(rng, 24).encode())
    return Question(f"Consider this JSON Web Token: {token}", "What is the value of its 'sub' claim?", subject, "sub",
                    "Base64url-decode the middle part and read the JSON.")


@template(WEB, code=True, search=25)
def jwt_secret_bruteforce(rng):
    candidates = distinct_words(rng, 25)
    secret = rng.choice(candidates)
    payload = {"sub": f"{rng.choice(USERS)}{rng.randrange(100, 999)}", "admin": rng.random() < 0.5,
               "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    token = _jwt({"alg": "HS256", "typ": "JWT"}, payload, secret.encode())
    return Question(f"The HS256 JSON Web Token {token} was signed with one of these secrets: "
                    f"{', '.join(candidates)}.", "Which secret signed it?", secret, "secret",
                    "Recompute the HMAC-SHA256 signature with each candidate.")


@template(WEB, code=False)
def cookies_without_httponly(rng):
    names = rng.sample(COOKIE_NAMES, rng.randrange(5, 9))
    missing = sorted(rng.sample(names, rng.randrange(1, 4)))
    headers = []
    for name in names:
        flags = ["Path=/", "Secure"] + ([] if name in missing else ["HttpOnly"])
        rng.shuffle(flags)
        headers.append(f"Set-Cookie: {name}={random_text(rng, 10)}; {'; '.join(flags)}")
    return Question("Here are the Set-Cookie headers of an HTTP response:\n" + "\n".join(headers),
                    "Which cookies lack the HttpOnly flag? List their names in alphabetical order, "
                    "separated by commas without spaces.", ",".join(missing), "name1,name2,...",
                    "Check each Set-Cookie line for the HttpOnly attribute.")


@template(WEB, code=False, raw=True)
def url_decode_parameter(rng):
    value = f"{phrase(rng, 2)} & {rng.choice(WORDS)}={rng.randrange(10, 99)}% /?#"
    url = f"https://example.com/search?q={urllib.parse.quote(value, safe='')}&page={rng.randrange(1, 9)}"
    return Question(f"Consider the URL: {url}", "What is the decoded value of the q parameter?",
                    value, "value", "Percent-decode the q parameter.")


@template(WEB, code=False)
def robots_disallowed(rng):
    agents = rng.sample(("Googlebot", "Bingbot", "DuckDuckBot", "Baiduspider", "YandexBot", "AhrefsBot"), 3)
    groups, answer_agent = [], agents[0]
    answer = []
    for agent in [*agents, "*"]:
        paths = [f"/{rng.choice(WORDS)}{rng.choice(('/', '.html', '/private/', ''))}" for _ in range(rng.randrange(1, 5))]
        paths = list(dict.fromkeys(paths))
        if agent == answer_agent:
            answer = paths
        lines = [f"User-agent: {agent}", *(f"Disallow: {p}" for p in paths), f"Allow: /{rng.choice(WORDS)}"]
        groups.append("\n".join(lines))
    rng.shuffle(groups)
    text = "\n\n".join(groups) + "\n"
    return Question(f"Here is a robots.txt file:\n{text}",
                    f"Which paths does its group for User-agent: {answer_agent} disallow? List them in file "
                    f"order, separated by commas without spaces.", ",".join(answer), "path1,path2,...",
                    "Find the group whose User-agent line names the crawler; read its Disallow lines.")


@template(WEB, code=False, steps=2)
def hidden_header_message(rng):
    message = f"{phrase(rng, 3)} {rng.randrange(100, 999)}"
    header = rng.choice(("X-Debug-Token", "X-Backend-Note", "X-Trace", "X-Internal"))
    headers = [f"Date: Fri, {rng.randrange(1, 29):02d} Mar 2025 {rng.randrange(24):02d}:{rng.randrange(60):02d}:00 GMT",
               "Server: nginx", "Content-Type: text/html; charset=utf-8",
               f"{header}: {base64.b64encode(message.encode()).decode()}",
               f"ETag: \"{hex_token(rng, 16)}\"", "Cache-Control: no-store"]
    return Question("Here are the headers of an HTTP response:\nHTTP/1.1 200 OK\n" + "\n".join(headers),
                    f"The {header} header hides a Base64-encoded message. What is the message?", message, "message",
                    "Base64-decode the header's value.")


@template(WEB, code=False)
def csrf_token_extract(rng):
    token = b64url(bytes(rng.randrange(256) for _ in range(24)))
    decoy = b64url(bytes(rng.randrange(256) for _ in range(24)))
    html = (f'<form action="/login" method="post">\n  <input type="hidden" name="next" value="/home">\n'
            f'  <input type="hidden" name="csrf_token" value="{token}">\n'
            f'  <input type="text" name="username">\n  <input type="password" name="password">\n'
            f'  <input type="hidden" name="session_hint" value="{decoy}">\n</form>')
    return Question(f"Here is a login form:\n{html}", "What is the value of the CSRF token field (csrf_token)?",
                    token, "token", "Read the value attribute of the csrf_token input.")


@template(WEB, code=False, steps=2)
def flask_secret_key(rng):
    parts = [random_text(rng, rng.randrange(4, 8)) for _ in range(3)]
    reversed_part = parts[1][::-1]
    source = (f"from flask import Flask\n\napp = Flask(__name__)\nPREFIX = '{parts[0]}'\n"
              f"MIDDLE = '{reversed_part}'[::-1]\napp.config['SECRET_KEY'] = PREFIX + MIDDLE + '{parts[2]}'\n"
              f"app.config['DEBUG'] = False\n")
    return Question(f"Here is the configuration of a Flask application:\n{source}",
                    "What is the value of app.config['SECRET_KEY']?", "".join(parts), "key",
                    "Evaluate the string expressions; [::-1] reverses a string.")


def _js_password(rng) -> tuple[str, str]:
    a, b = random_text(rng, 4, string.ascii_lowercase), random_text(rng, 4, string.ascii_lowercase + string.digits)
    shift = rng.randrange(1, 5)
    c = random_text(rng, 3, "abcdefghijklmnopqrstuvw")
    encoded_c = "".join(chr(ord(ch) - shift) for ch in c)
    codes = ", ".join(str(ord(ch)) for ch in encoded_c)
    source = (f"function check(input) {{\n  const a = '{a[::-1]}'.split('').reverse().join('');\n"
              f"  const b = '{b}'.toUpperCase();\n"
              f"  const c = String.fromCharCode({codes}).split('').map(x => String.fromCharCode(x.charCodeAt(0) + "
              f"{shift})).join('');\n  return input === a + '-' + b + '-' + c;\n}}")
    return source, f"{a}-{b.upper()}-{c}"


@template(SOFTWARE, code=False, steps=3)
def javascript_password(rng):
    source, answer = _js_password(rng)
    return Question(f"A web page checks its password with this JavaScript:\n{source}",
                    "Which input makes check() return true?", answer, "password",
                    "Evaluate each part: reverse, upper-case, shift the character codes.")


@template(SOFTWARE, code=False, steps=2)
def allocation_overflow(rng):
    element, header = rng.randrange(3, 257), rng.randrange(8, 4096)
    count = -(-(2**32 - header) // element)  # the first count where count * element + header reaches 2^32
    source = (f"uint32_t size = count * {element}u + {header}u;  /* count is a uint32_t from the request */\n"
              f"char *buffer = malloc(size);")
    return Question(f"A C server computes an allocation size as follows:\n{source}",
                    "What is the smallest count for which the computed size wraps around (the exact value "
                    f"count*{element} + {header} is 2^32 or more)?", str(count), "count",
                    "Solve count * element + header >= 2^32 for the smallest integer count.")


@template(SOURCE, code=False)
def aws_key_in_config(rng):
    key_id = "AKIA" + random_text(rng, 16, string.ascii_uppercase + "234567")
    config = (f"[default]\nregion = {rng.choice(('us-east-1', 'eu-west-1', 'ap-south-1'))}\noutput = json\n"
              f"# rotated {rng.randrange(1, 29)} days ago\naws_access_key_id = {key_id}\n"
              f"aws_secret_access_key = {random_text(rng, 40, string.ascii_letters + string.digits + '/+')}\n"
              f"[profile ci]\nrole_arn = arn:aws:iam::{rng.randrange(10**11, 10**12)}:role/{rng.choice(WORDS)}\n")
    return Question(f"A developer committed this AWS credentials file:\n{config}", "What is the AWS access key ID?",
                    key_id, "key", "Read the aws_access_key_id line.")


@template(SOURCE, code=False)
def sensitive_cookie(rng):
    names = distinct_words(rng, 4)
    sensitive = rng.choice(names)
    others = ["req.body.theme", "req.query.lang", "Date.now()", "req.headers['user-agent']", "crypto.randomUUID()"]
    rng.shuffle(others)
    lines = []
    for name in names:
        value = "req.body.password" if name == sensitive else others.pop()
        lines.append(f"  res.cookie('{name}', {value}, {{ httpOnly: {str(rng.random() < 0.5).lower()} }});")
    code = "app.post('/login', (req, res) => {\n" + "\n".join(lines) + "\n  res.redirect('/');\n});"
    return Question(f"Here is part of an Express.js server:\n{code}",
                    "Which cookie stores the user's password?", sensitive, "cookie",
                    "Find the cookie whose value is req.body.password.")


def _node_port(rng) -> tuple[int, int, str]:
    base, offset = rng.randrange(1000, 60000), rng.randrange(1, 5000)
    return base, offset, str(base + offset)


@template(SOURCE, code=False, adversarial=True)
def node_port(rng):
    """The comment's port is that of an independent server of the same kind."""
    base, offset, answer = _node_port(rng)
    hint = independent_hint(_node_port, rng)
    code = (f"const express = require('express');\nconst app = express();\n// the server listens on port {hint}\n"
            f"const BASE = {base};\nconst OFFSET = {offset};\nconst PORT = BASE + OFFSET;\n"
            f"app.listen(PORT, () => console.log('ready'));")
    return Question(f"Here is a Node.js server (the environment sets no variables):\n{code}",
                    "On which port does it listen?", answer, "port", "PORT = BASE + OFFSET; the comment is stale.",
                    hint=hint)


METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _routes(rng, count: int) -> list[tuple[str, list[str]]]:
    paths = [f"/{w}" for w in distinct_words(rng, count)]
    return [(path, sorted(rng.sample(METHODS, rng.randrange(1, 5)), key=METHODS.index)) for path in paths]


def _routes_one_lacking(rng):
    """A method and 4-7 routes of which exactly one path does not accept it."""
    method = rng.choice(METHODS)
    while True:
        routes = _routes(rng, rng.randrange(4, 8))
        lacking = [path for path, methods in routes if method not in methods]
        if len(lacking) == 1:
            break
    return method, routes, lacking[0]


@template(SOURCE, code=False)
def express_route_without_method(rng):
    method, routes, lacking = _routes_one_lacking(rng)
    lines = [f"app.{m.lower()}('{path}', handler);" for path, methods in routes for m in methods]
    rng.shuffle(lines)
    return Question("Here are the routes of an Express.js server:\n" + "\n".join(lines),
                    f"Exactly one of the paths it serves does not accept the {method} method. Which path?",
                    lacking, "path", "Group the routes by path and check each for the method.")


@template(SOURCE, code=False, adversarial=True)
def flask_route_without_method(rng):
    """The comment names one of the app's routes uniformly at random: right 1 time in n."""
    method, routes, lacking = _routes_one_lacking(rng)
    paths = [path for path, _ in routes]
    hint = rng.choice(paths)
    blocks = [f"@app.route('{path}', methods={methods!r})\ndef {path[1:]}():\n    return 'ok'\n"
              for path, methods in routes]
    code = f"# note: only {hint} rejects {method} requests\n" + "\n".join(blocks)
    return Question(f"Here is a Flask application:\n{code}",
                    f"Exactly one route does not allow the {method} method. Which path?", lacking, "path",
                    "Read each route's methods list; the note is a guess.", hint=hint, candidates=tuple(paths))


@template(SOURCE, code=False, steps=2)
def client_side_secret(rng):
    user = f"{rng.choice(USERS)}{rng.randrange(10, 99)}"
    password = random_text(rng, rng.randrange(8, 14))
    html = (f"<script>\nfunction login() {{\n  const u = document.getElementById('user').value;\n"
            f"  const p = document.getElementById('pass').value;\n"
            f"  if (u === '{user}' && p === atob('{base64.b64encode(password.encode()).decode()}')) {{\n"
            f"    window.location = '/dashboard';\n  }}\n}}\n</script>")
    return Question(f"A login page contains this script:\n{html}", "Which password does it accept?", password,
                    "password", "atob() decodes Base64.")


@template(AWS, code=False)
def valid_access_key_id(rng):
    alphabet = string.ascii_uppercase + "234567"
    real = "AKIA" + random_text(rng, 16, alphabet)
    fakes = ["AKIB" + random_text(rng, 16, alphabet), "AKIA" + random_text(rng, 15, alphabet),
             "AKIA" + random_text(rng, 17, alphabet), "akia" + random_text(rng, 16, alphabet).lower(),
             "AKIA" + random_text(rng, 15, alphabet) + rng.choice("0189"),
             "ASIA" + random_text(rng, 15, alphabet)]
    keys = [real, *rng.sample(fakes, 5)]
    rng.shuffle(keys)
    return Question("A long-term AWS access key ID is 'AKIA' followed by exactly 16 characters from A-Z and 2-7. "
                    f"Consider these strings: {', '.join(keys)}.",
                    "Which one is a well-formed long-term access key ID?", real, "key",
                    "Check the prefix, the length and the alphabet of each.")


ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "ec2:StartInstances",
           "ec2:StopInstances", "ec2:TerminateInstances", "iam:CreateUser", "iam:DeleteUser", "dynamodb:GetItem",
           "dynamodb:PutItem", "lambda:InvokeFunction")


def _matches(pattern: str, value: str) -> bool:
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


@template(AWS, code=False, steps=2)
def iam_policy_evaluation(rng):
    buckets = distinct_words(rng, 3)
    statements = []
    for effect in ("Allow", "Allow", "Deny"):
        actions = rng.sample(ACTIONS, rng.randrange(2, 4))
        if rng.random() < 0.4:
            actions = [actions[0].split(":")[0] + ":*", *actions[1:]]
        bucket = rng.choice(buckets)
        resource = rng.choice((f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}/public/*", "*"))
        statements.append({"Effect": effect, "Action": actions, "Resource": resource})
    while True:
        requests = []
        for _ in range(8):
            action = rng.choice([a for s in statements for a in s["Action"] if not a.endswith("*")] + list(ACTIONS))
            resource = f"arn:aws:s3:::{rng.choice(buckets)}/{rng.choice(('public/', 'private/', ''))}{rng.choice(WORDS)}"
            requests.append((action, resource))
        allowed = []
        for i, (action, resource) in enumerate(requests, start=1):
            hits = [s["Effect"] for s in statements if any(_matches(a, action) for a in s["Action"])
                    and _matches(s["Resource"], resource)]
            if "Allow" in hits and "Deny" not in hits:
                allowed.append(str(i))
        if 2 <= len(allowed) <= 6:
            break
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=1)
    listing_text = "\n".join(f"{i}. {a} on {r}" for i, (a, r) in enumerate(requests, start=1))
    return Question(f"Consider this IAM policy (a trailing * matches any suffix; an explicit Deny overrides any "
                    f"Allow; anything not allowed is denied):\n{policy}\nand these requests:\n{listing_text}",
                    "Which requests are allowed? Give their numbers in increasing order, separated by commas "
                    "without spaces.", ",".join(allowed), "n1,n2,...",
                    "Match each request against every statement; Deny wins.")


@template(SOCIAL, code=False)
def lookalike_domain(rng):
    brand = rng.choice(WORDS) + rng.choice(WORDS)
    tld = rng.choice(TLDS)
    real = f"{brand}.{tld}"
    legit = [real, f"www.{real}", f"mail.{real}", f"login.{real}", f"{rng.choice(WORDS)}.{real}"]
    i = rng.randrange(1, len(brand) - 1)
    swapped = brand[:i] + brand[i + 1] + brand[i] + brand[i + 2:] if brand[i] != brand[i + 1] else brand + "s"
    fake = rng.choice((f"{brand}-{rng.choice(('secure', 'login', 'verify', 'support'))}.{tld}",
                       f"{real}.{rng.choice(WORDS)}-{rng.choice(TLDS)}.{rng.choice(TLDS)}",
                       f"{swapped}.{tld}", f"{brand}.{rng.choice([t for t in TLDS if t != tld])}"))
    domains = [*rng.sample(legit, 4), fake]
    rng.shuffle(domains)
    return Question(f"The company {brand.capitalize()} owns only the domain {real} and its subdomains. These domains "
                    f"appeared in e-mails to its staff: {', '.join(domains)}.",
                    "Which one is a lookalike that the company does not own?", fake, "domain",
                    "A domain belongs to the company only if it is the domain itself or ends with '.' + the domain.")


SYMBOLS = "!@#$%^*-_+=?"


def _strength(password: str) -> float:
    pool = ((26 if any(c.islower() for c in password) else 0) + (26 if any(c.isupper() for c in password) else 0)
            + (10 if any(c.isdigit() for c in password) else 0) + (12 if any(c in SYMBOLS for c in password) else 0))
    return len(password) * math.log2(pool)


@template(GENERAL, code=False, steps=2)
def strongest_password(rng):
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS)
    while True:
        passwords = []
        for _ in range(20):
            chosen = [c for c in classes if rng.random() < 0.5] or [string.ascii_lowercase]
            passwords.append(random_text(rng, rng.randrange(6, 15), "".join(chosen)))
        ranked = sorted(passwords, key=_strength, reverse=True)
        if _strength(ranked[0]) - _strength(ranked[1]) > 1e-6:
            break
    return Question(f"Score a password as length * log2(pool), where the pool adds 26 if it has a lowercase letter, 26 "
                    f"for an uppercase letter, 10 for a digit and 12 for a symbol from {SYMBOLS}. Consider these "
                    f"passwords: {' '.join(passwords)}.", "Which password has the highest score?", ranked[0],
                    "password", "Compute each pool from the character classes present, then the score.")

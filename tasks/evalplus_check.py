# Runs inside the sandbox: the source of this file opens every HumanEval+/MBPP+ test snippet,
# so it must stay self-contained (standard library only, no imports from the harness).
#
# It follows EvalPlus's judging conventions: an output passes when it equals the expected one;
# with a tolerance (the task's atol, or 1e-6 when the expected value is a float or a list of
# floats) it passes when it has the same type and length and is numerically close (numpy's
# allclose rule, rtol 1e-7); a few problems have their own oracle. Every call gets its own
# time limit, as in EvalPlus: the sandbox's alarm for the whole test is narrowed around each
# call and restored afterwards.
import copy
import hashlib
import math
import signal
import time

# MBPP+ problems whose output order is free: compared as sets.
MBPP_SET_EQUAL = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                  "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}
# MBPP+ problems that return a match object: only whether it is None counts.
MBPP_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}
LITERAL_TYPES = (type(None), bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict)
# Longer outputs are not stored: a `...` in a test's list of expected outputs stands for
# them (no output is stored as `...`). Text is then compared by the digest of its repr; other
# outputs are asked of the reference solution again.
LONGEST_STORED_OUTPUT = 10_000
LONGEST_DIGESTED_OUTPUT = 20_000_000


def poly(coefficients, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(coefficients))


def pyramid_surface_area(base_edge, height):
    """Mbpp/581 with `height` read as the pyramid's height (the task text allows both)."""
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def padded_digit_distance(a, b):
    """Mbpp/558 with the shorter number padded with leading zeros."""
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(x) - int(y)) for x, y in zip(left.zfill(width), right.zfill(width)))


def is_floats(value):
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, float) for v in value)


def close(out, expected, atol, rtol=1e-7):
    """numpy.allclose for scalars and nested sequences of equal shape."""
    if isinstance(out, (list, tuple)) or isinstance(expected, (list, tuple)):
        return (isinstance(out, (list, tuple)) and isinstance(expected, (list, tuple))
                and len(out) == len(expected)
                and all(close(o, e, atol, rtol) for o, e in zip(out, expected)))
    numbers = (int, float, complex)
    if not (isinstance(out, numbers) and isinstance(expected, numbers)):
        return False
    if math.isinf(abs(out)) or math.isinf(abs(expected)):
        return out == expected
    return abs(out - expected) <= atol + rtol * abs(expected)


def output_matches(dataset, entry_point, args, out, expected, atol):
    if dataset == "humaneval" and entry_point == "find_zero":
        return abs(poly(*args, out)) <= atol
    exact = out == expected
    if dataset == "mbpp":
        if entry_point == "surface_Area":
            exact = exact or abs(out - pyramid_surface_area(*args)) <= atol
        elif entry_point == "digit_distance_nums":
            exact = exact or out == padded_digit_distance(*args)
        elif entry_point in MBPP_SET_EQUAL:
            exact = set(out) == set(expected)
        elif entry_point in MBPP_NOT_NONE:
            exact = out == expected if isinstance(out, bool) else expected == (out is not None)
    if atol == 0 and is_floats(expected):
        atol = 1e-6
    if not exact and atol != 0:
        if type(out) is not type(expected):
            return False
        return close(out, expected, atol)
    return bool(exact)


def call_within(limit, function, args):
    """function(*args), interrupted by the sandbox's alarm after `limit` seconds."""
    budget = signal.getitimer(signal.ITIMER_REAL)[0]
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, min(limit, budget) if budget else limit)
    try:
        return function(*args)
    finally:
        left = budget - (time.perf_counter() - start)
        signal.setitimer(signal.ITIMER_REAL, max(left, 0.001) if budget else 0)


def too_long(value, limit):
    """Whether repr(value) surely has more than `limit` characters, told without writing it
    (writing a huge integer takes quadratic time)."""
    stack, total = [value], 0
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, int):
            total += item.bit_length() * 0.30103  # its number of digits
        elif isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
            total += len(item)
        else:
            total += 1
    return total > limit


def shorten(value, limit=300):
    if too_long(value, 100 * limit):
        return f"<a {type(value).__name__} too long to show>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def load_reference(source, entry_point):
    """The reference solution, defined in a namespace of its own."""
    namespace = {"__name__": "__reference__"}
    exec(source, namespace)
    return namespace[entry_point]


def observed(dataset, entry_point, out):
    """What of an output is compared: for MBPP+'s match-object problems, whether it is None."""
    return out is not None if dataset == "mbpp" and entry_point in MBPP_NOT_NONE else out


def check_outputs(function, dataset, entry_point, inputs, expected, limits, atol, first,
                  reference=None, digests=None, scope=None):
    """Fail at the first input whose output does not match; `__result__` (in scope: the
    test's namespace, by default this one's) names that input."""
    scope = globals() if scope is None else scope
    digests = digests or {}
    for index, (args, wanted, limit) in enumerate(zip(inputs, expected, limits), start=first):
        scope["__result__"] = index
        if wanted is ... and index not in digests:
            wanted = observed(dataset, entry_point, reference(*copy.deepcopy(args)))
        out = call_within(limit, function, args)
        if wanted is ...:
            matched = is_text(out) and digest(out) == digests[index]
            wanted = "<the reference's output, too long to show>"
        else:
            try:
                matched = output_matches(dataset, entry_point, args, out, wanted, atol)
            except Exception:  # the output broke the comparison (set(None)): a wrong output
                matched = False
        if not matched:
            raise AssertionError(f"input #{index}: expected {shorten(wanted)}, got {shorten(out)}")
    scope["__result__"] = None


def is_text(value):
    """str or bytes, or lists and tuples of them: two are equal exactly when their reprs are."""
    if type(value) in (str, bytes):
        return True
    return type(value) in (list, tuple) and all(is_text(v) for v in value)


def digest(value):
    return hashlib.sha256(repr(value).encode()).hexdigest()


def compared_exactly(dataset, entry_point):
    """Whether outputs are compared by equality alone (no special oracle)."""
    if dataset == "humaneval":
        return entry_point != "find_zero"
    special = MBPP_SET_EQUAL | MBPP_NOT_NONE | {"surface_Area", "digit_distance_nums"}
    return entry_point not in special


def is_literal(value):
    """Whether repr(value) reads back as an equal value (given the names inf and nan)."""
    if type(value) not in LITERAL_TYPES:
        return False
    if isinstance(value, dict):
        return all(is_literal(k) and is_literal(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_literal(v) for v in value)
    return True


def reference_outputs(function, dataset, entry_point, inputs):
    """(stored output, seconds) for each input, as EvalPlus records the ground truth. The
    stored output is its repr; for text too long to store, "sha256:" and the repr's digest;
    for other outputs too long or with no literal form, None."""
    results = []
    for args in inputs:
        start = time.perf_counter()
        out = function(*args)
        elapsed = time.perf_counter() - start
        results.append((stored_form(observed(dataset, entry_point, out), dataset, entry_point), elapsed))
    return results


def stored_form(out, dataset, entry_point):
    # Sizes first: walking a huge output (Mbpp/255 returns 1.6 million tuples) takes long.
    if not too_long(out, LONGEST_STORED_OUTPUT) and is_literal(out):
        text = repr(out)
        if len(text) <= LONGEST_STORED_OUTPUT:
            return text
    if not too_long(out, LONGEST_DIGESTED_OUTPUT) and is_text(out) and compared_exactly(dataset, entry_point):
        return "sha256:" + digest(out)
    return None

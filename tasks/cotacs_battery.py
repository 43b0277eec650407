"""The CoTACS battery: tasks for a per-task program search, each a family of items with its own
training and test instances and a call signature of its own.

CoTACS (CoGEX, Weir et al., 2024) searches, for one task, the pseudo-program that answers its
instances best when the model emulates it. Here a task is a `Family`: an instruction, a
declared function (name and parameters, which every candidate program must define and every
call uses: nothing is guessed from a program), how answers are compared, and two disjoint
lists of items, `train` and `test`. An item is the text the model reads, the arguments of the
call, and the gold answer.

Families come from selectors (`families(...)`):
- `dia:PATTERN`: the DIA generator's text-only templates whose names match (tasks/
  dia_templates.py): training instances from question seed S, test instances from seed S + 1
  (S: the battery's seed), a test question equal to a training one dropped. Called
  `solve(problem)` with the question text; answers compared exactly as text.
- `cruxeval:N` or `cruxeval:PATTERN`: CRUXEval's functions (N of them drawn by the seed, or
  the ids that match) as function families: the instruction shows the function `f`, items are
  calls of `f` on inputs made from CRUXEval's own input by seeded mutations (training and test
  inputs from different random streams, none shared), and the gold is what the sandbox
  computes; called `solve(<f's parameters>)`; answers compared as Python values.
- `file:PATH`: a JSONL battery (the format `write_battery` writes; see `read_battery`).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codeharness.core.data import jsonl_objects
from codeharness.core.errors import HarnessError
from codeharness.core.records import Status
from codeharness.sandbox.jobs import Job, TestCase
from codeharness.tasks import dia_templates

DEFAULT_BATTERY = "dia:*,cruxeval:20"
TEXT, VALUE = "text", "value"  # how answers are compared: exact text, or Python values (==)
DIA_INSTRUCTION = ("Solve the problem below and give its exact answer, as the problem asks for it "
                   "(without XML tags).")
CRUX_INSTRUCTION = ("The Python function `f` below is called with the given arguments. What does it "
                    "return?\n\n{code}")
CRUX_CALL_TIMEOUT_S = 2.0
CRUX_TRIES = 6  # candidate inputs made per wanted item
CRUX_LITERAL_CHARS = 300  # longest input or output repr kept (prompts stay short)


@dataclass(frozen=True)
class Item:
    id: str
    input: str  # the instance, as the model reads it
    args: tuple  # the call's arguments (Python literals), in the family's declared order
    answer: object  # the gold answer


@dataclass(frozen=True)
class Family:
    name: str
    instruction: str
    function: str  # the declared function every program defines and every call names
    parameters: tuple[str, ...]  # its declared parameters
    match: str  # TEXT or VALUE
    train: tuple[Item, ...]
    test: tuple[Item, ...]
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def header(self) -> str:
        return f"def {self.function}({', '.join(self.parameters)}):"

    def call(self, item: Item) -> str:
        return f"{self.function}({', '.join(repr(a) for a in item.args)})"

    def correct(self, predicted: object, item: Item) -> bool:
        return answers_match(predicted, item.answer, self.match)


def answers_match(predicted: object, gold: object, match: str) -> bool:
    """TEXT: the answer's text equals the gold's, whitespace around aside. VALUE: equal as
    Python values; an answer given as text is read as a literal first."""
    if predicted is None:
        return False
    if match == TEXT:
        return str(predicted).strip() == str(gold).strip()
    if predicted == gold and type(predicted) is type(gold):
        return True
    if isinstance(predicted, str) and not isinstance(gold, str):
        value = literal(predicted)
        return value is not _NOT_LITERAL and value == gold and type(value) is type(gold)
    return False


_NOT_LITERAL = object()


def literal(text: str) -> object:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def signature_problem(code: str, family: Family) -> str | None:
    """Why a program cannot be called as the family declares (None when it can): it must
    define the declared function at top level, taking exactly the declared parameters."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"syntax error: {exc.msg} (line {exc.lineno})"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == family.function:
            args = node.args
            positional = len(args.posonlyargs) + len(args.args)
            required = positional - len(args.defaults)
            if args.kwonlyargs and len(args.kw_defaults) != len(args.kwonlyargs) or any(
                    d is None for d in args.kw_defaults):
                return "it has required keyword-only parameters"
            if required <= len(family.parameters) <= positional or (
                    args.vararg is not None and required <= len(family.parameters)):
                return None
            return f"{family.function} takes {positional} parameters, the task calls it with {len(family.parameters)}"
    return f"no top-level function {family.function}"


# ------------------------------------------------------------------ selecting families


def needs_sandbox(selectors: Iterable[str]) -> bool:
    """Whether building these families runs programs (CRUXEval's answers are computed)."""
    return any(selector.partition(":")[0] == "cruxeval" for selector in selectors)


def families(selectors: Iterable[str], train_items: int, test_items: int, seed: int = 0,
             sandbox=None, cruxeval_path: str | None = None) -> list[Family]:
    """The families the selectors name, each with `train_items` training and `test_items` test
    items (a file's families: the first ones of each split)."""
    if train_items < 2:
        raise HarnessError(f"--train-items must be at least 2 (a candidate is scored on the others), got {train_items}")
    if test_items < 1:
        raise HarnessError(f"--test-items must be at least 1, got {test_items}")
    chosen: list[Family] = []
    for selector in selectors:
        kind, _, what = selector.partition(":")
        if not what:
            raise HarnessError(f"battery selector {selector!r}: expected dia:PATTERN, cruxeval:N, "
                               "cruxeval:PATTERN or file:PATH")
        if kind == "dia":
            chosen += dia_families(what, train_items, test_items, seed)
        elif kind == "cruxeval":
            if sandbox is None:
                raise HarnessError("CRUXEval families need a sandbox to compute their answers")
            chosen += cruxeval_families(what, train_items, test_items, seed, sandbox, cruxeval_path)
        elif kind == "file":
            chosen += [trimmed(f, train_items, test_items) for f in read_battery(Path(what))]
        else:
            raise HarnessError(f"battery selector {selector!r}: unknown source {kind!r} (dia, cruxeval or file)")
    names = [f.name for f in chosen]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise HarnessError(f"the battery names {', '.join(twice)} more than once")
    if not chosen:
        raise HarnessError(f"the battery {','.join(selectors)} has no families")
    return chosen


def trimmed(family: Family, train_items: int, test_items: int) -> Family:
    if len(family.train) < train_items or len(family.test) < test_items:
        raise HarnessError(f"family {family.name}: {len(family.train)} training and {len(family.test)} test items, "
                           f"fewer than --train-items {train_items} / --test-items {test_items}")
    return Family(family.name, family.instruction, family.function, family.parameters, family.match,
                  family.train[:train_items], family.test[:test_items], family.source, family.meta)


def dia_families(pattern: str, train_items: int, test_items: int, seed: int) -> list[Family]:
    templates = [t for t in dia_templates.TEMPLATES if not t.files and fnmatch.fnmatchcase(t.name, pattern)]
    if not templates:
        raise HarnessError(f"dia:{pattern} matches no text-only DIA template (`codeharness dia templates` lists them)")
    return [dia_family(t, train_items, test_items, seed) for t in templates]


def dia_family(template, train_items: int, test_items: int, seed: int) -> Family:
    def items(split: str, question_seed: int, count: int, seen: set[str]) -> list[Item]:
        made: list[Item] = []
        instance = 0
        while len(made) < count:
            instance += 1
            if instance > 50 * count:
                raise HarnessError(f"DIA template {template.name}: too few distinct questions")
            question = template.question(question_seed, instance)
            text = (f"{dia_templates.describe(question)}\n{question.task}\n"
                    f"Answer format: {question.answer_format}")
            if text in seen:
                continue
            seen.add(text)
            made.append(Item(f"dia/{template.name}/{split}{len(made)}", text, (text,), question.answer))
        return made

    seen: set[str] = set()
    train = items("train", seed, train_items, seen)
    test = items("test", seed + 1, test_items, seen)
    return Family(f"dia/{template.name}", DIA_INSTRUCTION, "solve", ("problem",), TEXT, tuple(train), tuple(test),
                  source=f"DIA template {template.name} (training: question seed {seed}, test: seed {seed + 1})",
                  meta={"category": template.category, "level": template.level})


# ------------------------------------------------------------------ CRUXEval function families


def cruxeval_families(what: str, train_items: int, test_items: int, seed: int, sandbox,
                      data_path: str | None) -> list[Family]:
    from codeharness.tasks import create_task

    source = create_task("cruxeval_o", **({"data_path": data_path} if data_path else {}))
    problems = source.load()
    if what.isdigit():
        wanted = int(what)
        pool = random.Random(f"cotacs:cruxeval:{seed}").sample(problems, len(problems))
    else:
        pool = [p for p in problems if fnmatch.fnmatchcase(p.id, what)]
        wanted = len(pool)
        if not pool:
            raise HarnessError(f"cruxeval:{what} matches no CRUXEval id (they look like {problems[0].id!r})")
    made: list[Family] = []
    # Build in batches until enough families come out (some functions give too few inputs).
    for start in range(0, len(pool), max(wanted, 8)):
        if len(made) >= wanted:
            break
        batch = [p for p in pool[start:start + max(wanted, 8)]]
        made += [f for f in crux_batch(batch, train_items, test_items, seed, sandbox) if f is not None]
    return made[:wanted]


def crux_batch(problems, train_items: int, test_items: int, seed: int, sandbox) -> list[Family | None]:
    plans = {}
    for problem in problems:
        plan = crux_candidates(problem, train_items, test_items, seed)
        if plan is not None:
            plans[problem.id] = plan
    jobs = [Job(f"cotacs-{pid}", problems_by_id(problems)[pid].meta["code"],
                [TestCase(f"{split}{i}", f"__result__ = f({args_text(args)})", timeout_s=CRUX_CALL_TIMEOUT_S)
                 for split, candidates in (("train", plan[1]), ("test", plan[2])) for i, args in enumerate(candidates)],
                fail_fast=False, program_timeout_s=5.0)
            for pid, plan in plans.items()]
    outcomes = {o.job_id: o for o in sandbox.run(jobs)}
    families_made: list[Family | None] = []
    for pid, (parameters, train_candidates, test_candidates) in plans.items():
        outcome = outcomes[f"cotacs-{pid}"]
        results = {t.name: t for t in outcome.tests}
        items: dict[str, list[Item]] = {"train": [], "test": []}
        seen: set[str] = set()
        for split, candidates, count in (("train", train_candidates, train_items), ("test", test_candidates, test_items)):
            for index, args in enumerate(candidates):
                test = results.get(f"{split}{index}")
                text = args_text(args)
                if len(items[split]) >= count or test is None or test.status is not Status.PASSED or text in seen:
                    continue
                value = literal(test.value or "")
                if value is _NOT_LITERAL or test.value is None or len(test.value) > CRUX_LITERAL_CHARS \
                        or repr(value) != test.value:
                    continue
                seen.add(text)
                items[split].append(Item(f"cruxeval/{pid}/{split}{len(items[split])}", f"f({text})", args, value))
        golds = {repr(i.answer) for i in items["train"] + items["test"]}
        if len(items["train"]) < train_items or len(items["test"]) < test_items or len(golds) < 2:
            families_made.append(None)  # too few inputs that run, or a constant function
            continue
        code = problems_by_id(problems)[pid].meta["code"]
        families_made.append(Family(
            f"cruxeval/{pid}", CRUX_INSTRUCTION.format(code=code.rstrip()), "solve", parameters, VALUE,
            tuple(items["train"]), tuple(items["test"]),
            source=f"CRUXEval {pid}: inputs mutated from its own (training and test from separate streams, seed {seed})",
            meta={"code": code}))
    return families_made


def problems_by_id(problems) -> dict:
    return {p.id: p for p in problems}


def args_text(args: tuple) -> str:
    return ", ".join(repr(a) for a in args)


def crux_candidates(problem, train_items: int, test_items: int, seed: int):
    """(parameters, training candidates, test candidates) of one CRUXEval function, or None
    when its signature or input does not suit a function family."""
    try:
        tree = ast.parse(problem.meta["code"])
        args = ast.literal_eval(f"({problem.meta['input']},)")
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f"), None)
    if function is None or function.args.vararg or function.args.kwarg or function.args.kwonlyargs \
            or function.args.posonlyargs or len(function.args.args) != len(args):
        return None
    parameters = tuple(a.arg for a in function.args.args)
    if len(set(parameters)) != len(parameters) or any(p in ("solve",) for p in parameters):
        return None
    streams = {}
    for split, count in (("train", train_items), ("test", test_items)):
        rng = random.Random(f"cotacs:cruxeval:{problem.id}:{split}:{seed}")
        made = [args] if split == "train" else []
        made += [tuple(mutate(a, rng) for a in args) for _ in range(CRUX_TRIES * count)]
        streams[split] = [m for m in made if len(args_text(m)) <= CRUX_LITERAL_CHARS]
    return parameters, streams["train"], streams["test"]


def mutate(value, rng: random.Random, depth: int = 0):
    """A value of the same shape: numbers moved a little, strings and lists edited a little."""
    if depth > 3:
        return value
    if isinstance(value, bool):
        return rng.random() < 0.5
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2, 3]) if rng.random() < 0.8 else rng.randint(-5, 12)
    if isinstance(value, float):
        return round(value + rng.uniform(-3, 3), 2)
    if isinstance(value, str):
        return mutate_text(value, rng)
    if isinstance(value, (list, tuple)):
        items = [mutate(v, rng, depth + 1) if rng.random() < 0.5 else v for v in value]
        if isinstance(value, list) and items and rng.random() < 0.5:
            operation = rng.choice(["drop", "repeat", "shuffle"])
            if operation == "drop":
                items.pop(rng.randrange(len(items)))
            elif operation == "repeat":
                items.insert(rng.randrange(len(items) + 1), rng.choice(items))
            else:
                rng.shuffle(items)
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: (mutate(v, rng, depth + 1) if rng.random() < 0.5 else v) for k, v in value.items()}
    return value


def mutate_text(text: str, rng: random.Random) -> str:
    alphabet = sorted(set(text)) or list(string.ascii_lowercase[:6])
    letters = list(text)
    for _ in range(rng.randint(1, 3)):
        operation = rng.choice(["replace", "insert", "delete"]) if letters else "insert"
        if operation == "replace":
            letters[rng.randrange(len(letters))] = rng.choice(alphabet + list("abcxyz"))
        elif operation == "insert":
            letters.insert(rng.randrange(len(letters) + 1), rng.choice(alphabet))
        else:
            letters.pop(rng.randrange(len(letters)))
    return "".join(letters)


# ------------------------------------------------------------------ the battery file


def write_battery(path: Path, chosen: list[Family]) -> None:
    """One JSON line per item: family, split, instruction, function, parameters, match,
    input, args (the call's arguments as Python literal text) and answer (as JSON, or as
    Python literal text in `answer_literal` for value families)."""
    with open(path, "w", encoding="utf-8") as out:
        for family in chosen:
            for split, items in (("train", family.train), ("test", family.test)):
                for item in items:
                    record = {"family": family.name, "split": split, "id": item.id, "instruction": family.instruction,
                              "function": family.function, "parameters": list(family.parameters),
                              "match": family.match, "input": item.input, "args": args_text(item.args)}
                    if family.match == VALUE:
                        record["answer_literal"] = repr(item.answer)
                    else:
                        record["answer"] = item.answer
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_battery(path: Path) -> list[Family]:
    """Families from a JSONL battery. Each line: `family`, `split` (train or test),
    `instruction`, `input`, and `answer` (or `answer_literal`, Python literal text); optional
    `function` (default solve), `parameters` (default ["text"]), `args` (Python literal text of
    the call's arguments; default: the input as one string), `match` (text or value; default
    text) and `id`. A family's instruction, function, parameters and match are its first
    line's and must be the same on every line."""
    if not path.is_file():
        raise HarnessError(f"{path}: battery file not found")
    grouped: dict[str, dict] = {}
    for where, record in jsonl_objects(path):
        for name in ("family", "split", "instruction", "input"):
            if not isinstance(record.get(name), str):
                raise HarnessError(f"{where}: field {name!r} must be a string")
        if record["split"] not in ("train", "test"):
            raise HarnessError(f"{where}: split must be train or test, not {record['split']!r}")
        header = (record["instruction"], record.get("function", "solve"),
                  tuple(record.get("parameters", ["text"])), record.get("match", TEXT))
        if header[3] not in (TEXT, VALUE):
            raise HarnessError(f"{where}: match must be text or value, not {header[3]!r}")
        if not header[1].isidentifier() or not all(isinstance(p, str) and p.isidentifier() for p in header[2]):
            raise HarnessError(f"{where}: function and parameters must be Python names")
        family = grouped.setdefault(record["family"], {"header": header, "train": [], "test": []})
        if family["header"] != header:
            raise HarnessError(f"{where}: family {record['family']!r} changes its instruction, function, "
                               "parameters or match")
        if "args" in record:
            args = literal(f"({record['args']},)") if str(record["args"]).strip() else ()
            if args is _NOT_LITERAL or not isinstance(args, tuple):
                raise HarnessError(f"{where}: args must be Python literal text (the call's arguments)")
        else:
            args = (record["input"],)
        if len(args) != len(header[2]):
            raise HarnessError(f"{where}: {len(args)} arguments for the {len(header[2])} parameters "
                               f"{', '.join(header[2])}")
        if "answer_literal" in record:
            answer = literal(str(record["answer_literal"]))
            if answer is _NOT_LITERAL:
                raise HarnessError(f"{where}: answer_literal is not a Python literal")
        elif "answer" in record:
            answer = record["answer"]
        else:
            raise HarnessError(f"{where}: needs 'answer' or 'answer_literal'")
        items = family[record["split"]]
        items.append(Item(str(record.get("id") or f"{record['family']}/{record['split']}{len(items)}"),
                          record["input"], args, answer))
    made = []
    for name, family in grouped.items():
        instruction, function, parameters, match = family["header"]
        train_inputs = {i.input for i in family["train"]}
        shared = [i.id for i in family["test"] if i.input in train_inputs]
        if shared:
            raise HarnessError(f"{path}: family {name}: test items {', '.join(shared[:3])} repeat a training input")
        made.append(Family(name, instruction, function, parameters, match, tuple(family["train"]),
                           tuple(family["test"]), source=str(path)))
    return made

"""CoTACS per task: for each task of a battery, search the pseudo-program that answers its
instances best when the model emulates it, then answer the task's held-out instances with it.

For each family (tasks/cotacs_battery.py): `candidates` training items, drawn by the seed, each
get a program written for them (the family declares the function and its parameters; a
program that does not define it as declared is unusable, never called another way); each
usable candidate is emulated on every *other* training item and scored by its accuracy there
(never on its own item, never on a test item); the `keep` best (ties: the order drawn) answer
each test item by majority vote of their emulated answers. Baselines on the same test items,
with the same model and decoding: zero-shot (instruction and input), few-shot in context (the
same training items with their gold answers as demonstrations), and one fresh program per
test item (CoGEX without search). Reported per family and macro-averaged over families, with
the model calls each method needs.

Every model call is cached by (kind, prompt, model, decoding) in a JSONL file shared by runs,
so a rerun, or a larger budget, asks the model only for what is new; all families' calls of
one phase go to the backend in one batch (three phases: programs and baselines, training
emulations, test emulations).

The run folder gets battery.jsonl (the items, tasks/cotacs_battery.py's format),
search_trace.json (every candidate: its item, program, usability, per-item training results,
kept or not), predictions.jsonl (family, item, method, answer, gold, right or not), scores.json,
and sft/: CoGEX-format SFT data for TRL's SFTTrainer (instruction and input as the prompt, the
program, its call and the emulated output as the completion) from the training emulations
whose answer was right: `prompt_completion` and `messages` as `datasets` folders (when the
datasets package is installed) and JSONL, and sources.jsonl (where each example came from).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from codeharness.core.errors import HarnessError
from codeharness.core.models import cache_dir
from codeharness.core.progress import progress_bar
from codeharness.core.records import CHAT, Completion, GenerationRequest, Prompt, SamplingConfig, jsonable
from codeharness.core.rundir import JsonlLog, RunDir, write_json_atomic
from codeharness.tasks import emulation
from codeharness.tasks.cogex import CHAT_INSTRUCTIONS, WORKED_EXAMPLE, unfenced
from codeharness.tasks.cotacs_battery import TEXT, Family, Item, signature_problem, write_battery

METHODS = ("cotacs", "zero_shot", "few_shot", "program_per_item")
ZERO_SHOT = "Answer the task. Reply with the answer only, on one line.\n\n"
# The model calls each method needs, by what they are for.
CALL_BUCKETS = ("search", "cotacs_test", "zero_shot", "few_shot", "program_per_item")


@dataclass
class SearchConfig:
    candidates: int = 4  # programs written per family, each for its own training item
    train_items: int = 5  # training items per family (a candidate is scored on the others)
    test_items: int = 5  # test items per family
    keep: int = 1  # programs that vote on a test item
    seed: int = 0
    per_item_programs: bool = True  # the CoGEX baseline: a fresh program for each test item

    def check(self) -> None:
        if self.train_items < 2:
            raise HarnessError(f"--train-items must be at least 2 (a candidate is scored on the other "
                               f"training items), got {self.train_items}")
        if not 1 <= self.candidates <= self.train_items:
            raise HarnessError(f"--candidates must be between 1 and --train-items ({self.train_items}): each "
                               f"candidate is written for its own training item; got {self.candidates}")
        if not 1 <= self.keep <= self.candidates:
            raise HarnessError(f"--keep must be between 1 and --candidates ({self.candidates}), got {self.keep}")
        if self.test_items < 1:
            raise HarnessError(f"--test-items must be at least 1, got {self.test_items}")


def default_cache_path() -> Path:
    return cache_dir() / "cogex" / "model_calls.jsonl"


class CallCache:
    """Model outputs keyed by a hash of (kind, prompt, model, decoding)."""

    def __init__(self, path: Path, model: dict, sampling: SamplingConfig):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.log = JsonlLog(path, key=lambda r: (r["key"],))
        self.texts = {r["key"]: r["text"] for r in self.log}
        self.context = json.dumps({"model": model, "sampling": asdict(sampling)}, sort_keys=True)

    def key(self, kind: str, prompt: Prompt) -> str:
        material = json.dumps([kind, prompt.text, prompt.messages, self.context], sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def put(self, key: str, text: str) -> None:
        self.log.append({"key": key, "text": text})
        self.texts[key] = text


@dataclass
class Call:
    kind: str  # program, emulation, zero_shot, few_shot (part of the cache key)
    family: str
    bucket: str  # which method the call is for (CALL_BUCKETS)
    prompt: Prompt


class Caller:
    """Asks the model for a phase's calls in one batch, through the cache, and counts them."""

    def __init__(self, backend, sampling: SamplingConfig, cache: CallCache):
        self.backend = backend
        self.sampling = SamplingConfig(**{**asdict(sampling), "n": 1})
        self.cache = cache
        # family -> bucket -> calls needed; and over the run, calls made and found in the cache
        self.needed: dict[str, Counter] = {}
        self.made = self.cached = 0

    def ask(self, calls: dict[str, Call], label: str) -> dict[str, str]:
        keys = {name: self.cache.key(call.kind, call.prompt) for name, call in calls.items()}
        missing: dict[str, Prompt] = {}
        for name, call in calls.items():
            self.needed.setdefault(call.family, Counter())[call.bucket] += 1
            if keys[name] not in self.cache.texts:
                missing.setdefault(keys[name], call.prompt)
        self.made += len(missing)
        self.cached += len(set(keys.values())) - len(missing)
        if missing:
            with progress_bar(f"cotacs {label}", len(missing)) as advance:
                def on_completion(completion: Completion) -> None:
                    self.cache.put(completion.problem_id, completion.text)
                    advance()

                self.backend.generate([GenerationRequest(key, prompt, [0]) for key, prompt in missing.items()],
                                      self.sampling, on_completion)
        return {name: self.cache.texts[keys[name]] for name in calls}


class Prompts:
    """The prompts of every call, in the run's style (chat or completion)."""

    def __init__(self, style: str):
        self.style = style

    def _cogex(self, body: str, lead: str) -> Prompt:
        if self.style == CHAT:
            return Prompt(messages=[{"role": "user", "content": CHAT_INSTRUCTIONS + WORKED_EXAMPLE + lead + body}])
        return Prompt(text=WORKED_EXAMPLE + "\n" + body, stop=[f"\n{emulation.INSTRUCTION}"])

    def program(self, family: Family, item: Item) -> Prompt:
        """Write a program for `item`: completion models continue from the declared header."""
        body = emulation.render(family.instruction, item.input)
        if self.style == CHAT:
            return self._cogex(body, f"\nNow this one. Your function must be `{family.header}`:\n\n")
        return self._cogex(body + family.header + "\n", "")

    def program_of(self, family: Family, text: str) -> str:
        written = unfenced(text, self.style)
        if self.style != CHAT:
            written = family.header + "\n" + written
        code, _ = emulation.split_code(written)
        return code

    def emulate(self, family: Family, code: str, item: Item) -> Prompt:
        body = emulation.render(family.instruction, item.input, code, family.call(item))
        return self._cogex(body, "\nNow emulate this one:\n\n")

    def emulated(self, text: str) -> emulation.Parsed:
        return emulation.parse_output(unfenced(text, self.style))

    def zero_shot(self, family: Family, item: Item) -> Prompt:
        question = f"{ZERO_SHOT}{family.instruction}\n\n{item.input}"
        if self.style == CHAT:
            return Prompt(messages=[{"role": "user", "content": question}])
        return Prompt(text=f"{question}\nAnswer:", stop=["\n"])

    def few_shot(self, family: Family, shots: tuple[Item, ...], item: Item) -> Prompt:
        """The training items with their gold answers, then the test item."""
        if self.style == CHAT:
            messages = []
            for index, shot in enumerate(shots):
                lead = f"{ZERO_SHOT}{family.instruction}\n\n" if index == 0 else ""
                messages += [{"role": "user", "content": lead + shot.input},
                             {"role": "assistant", "content": answer_text(family, shot.answer)}]
            messages.append({"role": "user", "content": item.input})
            return Prompt(messages=messages)
        text = f"{ZERO_SHOT}{family.instruction}\n\n"
        for shot in shots:
            text += f"Input:\n{shot.input}\nAnswer: {answer_text(family, shot.answer)}\n\n"
        return Prompt(text=f"{text}Input:\n{item.input}\nAnswer:", stop=["\n"])


def answer_text(family: Family, answer: object) -> str:
    return str(answer) if family.match == TEXT else repr(answer)


def reply_answer(text: str) -> str:
    """A zero- or few-shot reply's answer: its first non-empty line, without an `Answer:` lead."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if line.lower().startswith("answer:"):
        line = line[len("answer:"):].strip()
    return line


# ------------------------------------------------------------------ the search


@dataclass
class Candidate:
    family: str
    number: int
    written_for: Item
    program: str
    problem: str | None  # why it cannot be called as declared; None when usable
    results: dict  # training item id -> (emulated answer, right)
    accuracy: float | None = None


def run_search(families: list[Family], backend, sampling: SamplingConfig, cache: CallCache,
               config: SearchConfig, run: RunDir, style: str) -> dict:
    """The search and its baselines on every family; writes the run folder's files."""
    config.check()
    for family in families:
        if len(family.train) < config.train_items or len(family.test) < config.test_items:
            raise HarnessError(f"family {family.name}: {len(family.train)} training and {len(family.test)} test "
                               f"items, fewer than --train-items {config.train_items} / --test-items "
                               f"{config.test_items}")
    families = [Family(f.name, f.instruction, f.function, f.parameters, f.match, f.train[:config.train_items],
                       f.test[:config.test_items], f.source, f.meta) for f in families]
    prompts = Prompts(style)
    caller = Caller(backend, sampling, cache)
    by_name = {f.name: f for f in families}
    sources = {f.name: random.Random(f"cotacs:{config.seed}:{f.name}").sample(list(f.train), config.candidates)
               for f in families}

    # Phase 1: candidate programs, fresh programs for the test items, zero- and few-shot answers.
    calls: dict[str, Call] = {}
    for family in families:
        for number, item in enumerate(sources[family.name]):
            calls[f"candidate|{family.name}|{number}"] = Call("program", family.name, "search",
                                                              prompts.program(family, item))
        for item in family.test:
            calls[f"zero|{item.id}"] = Call("zero_shot", family.name, "zero_shot", prompts.zero_shot(family, item))
            calls[f"few|{item.id}"] = Call("few_shot", family.name, "few_shot",
                                           prompts.few_shot(family, family.train, item))
            if config.per_item_programs:
                calls[f"fresh|{item.id}"] = Call("program", family.name, "program_per_item",
                                                 prompts.program(family, item))
    first = caller.ask(calls, "programs and baselines")
    candidates: dict[str, list[Candidate]] = {}
    for family in families:
        candidates[family.name] = []
        for number, item in enumerate(sources[family.name]):
            code = prompts.program_of(family, first[f"candidate|{family.name}|{number}"])
            candidates[family.name].append(Candidate(family.name, number, item, code,
                                                     signature_problem(code, family), {}))
    fresh = {}
    if config.per_item_programs:
        for family in families:
            for item in family.test:
                code = prompts.program_of(family, first[f"fresh|{item.id}"])
                fresh[item.id] = (code, signature_problem(code, family))

    # Phase 2: every usable candidate on every other training item; fresh programs on their item.
    calls = {}
    for family in families:
        for candidate in candidates[family.name]:
            if candidate.problem is None:
                for item in family.train:
                    if item.id != candidate.written_for.id:
                        calls[f"train|{family.name}|{candidate.number}|{item.id}"] = Call(
                            "emulation", family.name, "search", prompts.emulate(family, candidate.program, item))
        for item in family.test:
            if item.id in fresh and fresh[item.id][1] is None:
                calls[f"fresh_run|{item.id}"] = Call("emulation", family.name, "program_per_item",
                                                     prompts.emulate(family, fresh[item.id][0], item))
    second = caller.ask(calls, "training emulations")
    emulated_train: dict[tuple[str, int, str], emulation.Parsed] = {}
    kept: dict[str, list[Candidate]] = {}
    for family in families:
        for candidate in candidates[family.name]:
            if candidate.problem is not None:
                continue
            others = [i for i in family.train if i.id != candidate.written_for.id]
            for item in others:
                parsed = prompts.emulated(second[f"train|{family.name}|{candidate.number}|{item.id}"])
                emulated_train[(family.name, candidate.number, item.id)] = parsed
                right = parsed.ok and family.correct(parsed.answer, item)
                candidate.results[item.id] = {"answer": _shown(parsed), "right": right}
            candidate.accuracy = sum(r["right"] for r in candidate.results.values()) / len(others)
        usable = [c for c in candidates[family.name] if c.problem is None]
        kept[family.name] = sorted(usable, key=lambda c: (-(c.accuracy or 0.0), c.number))[: config.keep]

    # Phase 3: the kept programs on the test items.
    calls = {}
    for family in families:
        for candidate in kept[family.name]:
            for item in family.test:
                calls[f"test|{family.name}|{candidate.number}|{item.id}"] = Call(
                    "emulation", family.name, "cotacs_test", prompts.emulate(family, candidate.program, item))
    third = caller.ask(calls, "test emulations")

    predictions = []
    for family in families:
        for item in family.test:
            votes = []
            for candidate in kept[family.name]:
                parsed = prompts.emulated(third[f"test|{family.name}|{candidate.number}|{item.id}"])
                if parsed.ok:
                    votes.append(parsed.answer)
            answers: dict[str, object] = {
                "cotacs": vote(votes, family),
                "zero_shot": reply_answer(first[f"zero|{item.id}"]),
                "few_shot": reply_answer(first[f"few|{item.id}"]),
            }
            if config.per_item_programs:
                ran = second.get(f"fresh_run|{item.id}")
                fresh_run = prompts.emulated(ran) if ran is not None else None
                answers["program_per_item"] = fresh_run.answer if fresh_run is not None and fresh_run.ok else None
            for method, answer in answers.items():
                predictions.append({"family": family.name, "item": item.id, "method": method,
                                    "predicted": None if answer is None else jsonable(answer),
                                    "gold": jsonable(item.answer), "correct": family.correct(answer, item)})

    scores = summarize(families, predictions, candidates, kept, caller, config)
    trace = {"config": asdict(config), "style": style, "families": {
        family.name: {
            "source": family.source, "function": family.header, "match": family.match,
            "train_items": [i.id for i in family.train], "test_items": [i.id for i in family.test],
            "candidates": [{"number": c.number, "written_for": c.written_for.id, "program": c.program,
                            "unusable": c.problem, "train_accuracy": c.accuracy, "train_results": c.results,
                            "kept": c in kept[family.name]} for c in candidates[family.name]],
            "per_item_programs": {item_id: {"program": code, "unusable": problem}
                                  for item_id, (code, problem) in fresh.items()
                                  if item_id in {i.id for i in family.test}},
        } for family in families}}
    run.path.mkdir(parents=True, exist_ok=True)
    write_battery(run.path / "battery.jsonl", families)
    write_json_atomic(run.path / "search_trace.json", trace)
    _write_jsonl(run.path / "predictions.jsonl", predictions)
    scores["sft"] = export_sft(run.path / "sft", by_name, candidates, kept, emulated_train)
    run.write_scores(scores)
    return scores


def vote(answers: list, family: Family) -> object | None:
    """The most common answer (text families: by its text; value families: by its repr);
    the first seen wins a tie."""
    if not answers:
        return None
    form: Callable[[object], str] = (lambda a: str(a).strip()) if family.match == TEXT else repr
    counts = Counter(form(a) for a in answers)
    best = max(counts.values())
    return next(a for a in answers if counts[form(a)] == best)


def summarize(families: list[Family], predictions: list[dict], candidates: dict, kept: dict,
              caller: Caller, config: SearchConfig) -> dict:
    methods = [m for m in METHODS if m != "program_per_item" or config.per_item_programs]
    per_family: dict[str, dict] = {}
    for family in families:
        rows = [p for p in predictions if p["family"] == family.name]
        needed = caller.needed.get(family.name, Counter())
        per_family[family.name] = {
            **{method: _accuracy(rows, method) for method in methods},
            "test_items": len(family.test), "train_items": len(family.train),
            "candidates": len(candidates[family.name]),
            "usable_candidates": sum(c.problem is None for c in candidates[family.name]),
            "kept": [{"number": c.number, "train_accuracy": c.accuracy} for c in kept[family.name]],
            "model_calls": {bucket: needed[bucket] for bucket in CALL_BUCKETS if bucket in needed},
        }
    macro = {method: sum(f[method] for f in per_family.values()) / len(per_family) for method in methods}
    totals: Counter[str] = Counter()
    for counts in caller.needed.values():
        totals.update(counts)
    return {
        "families": per_family,
        "macro": macro,
        "macro_over": len(per_family),
        "test_items": sum(f["test_items"] for f in per_family.values()),
        "model_calls": {**{bucket: totals[bucket] for bucket in CALL_BUCKETS if bucket in totals},
                        "total": sum(totals.values()), "made": caller.made, "from_cache": caller.cached},
        "budget": asdict(config),
    }


def export_sft(out: Path, families: dict[str, Family], candidates: dict, kept: dict,
               emulated_train: dict) -> dict:
    """CoGEX-format SFT examples from the training emulations whose answer was right."""
    prompt_completion, messages, sources = [], [], []
    for name, family in families.items():
        by_id = {i.id: i for i in family.train}
        for candidate in candidates[name]:
            for item_id, result in candidate.results.items():
                if not result["right"]:
                    continue
                item = by_id[item_id]
                parsed = emulated_train[(name, candidate.number, item_id)]
                prompt = emulation.render(family.instruction, item.input)
                completion = (f"{candidate.program.rstrip()}\n{emulation.CALL_PREFIX}{family.call(item)}\n"
                              f"{emulation.OUTPUT}\n{parsed.value!r}\n")
                prompt_completion.append({"prompt": prompt, "completion": completion})
                messages.append({"messages": [{"role": "user", "content": prompt},
                                              {"role": "assistant", "content": completion}]})
                sources.append({"family": name, "item": item_id, "candidate": candidate.number,
                                "written_for": candidate.written_for.id, "kept": candidate in kept[name],
                                "candidate_train_accuracy": candidate.accuracy})
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "prompt_completion.jsonl", prompt_completion)
    _write_jsonl(out / "messages.jsonl", messages)
    _write_jsonl(out / "sources.jsonl", sources)
    result = {"examples": len(prompt_completion), "folder": str(out),
              "written": ["prompt_completion.jsonl", "messages.jsonl", "sources.jsonl"]}
    try:
        import datasets
    except ImportError:  # the JSONL files alone; `pip install codeharness[datasets]` adds the folders
        return result
    if not prompt_completion:  # no right training emulation: `datasets` cannot load an empty folder
        return result
    text = datasets.Value("string")
    datasets.Dataset.from_list(prompt_completion, features=datasets.Features(
        {"prompt": text, "completion": text})).save_to_disk(str(out / "prompt_completion"))
    datasets.Dataset.from_list(messages, features=datasets.Features(
        {"messages": [{"role": text, "content": text}]})).save_to_disk(str(out / "messages"))
    result["written"] += ["prompt_completion", "messages"]
    return result


def _shown(parsed: emulation.Parsed) -> object:
    return jsonable(parsed.answer) if parsed.ok else {"parse_error": parsed.error}


def _accuracy(rows: list[dict], method: str) -> float:
    chosen = [r for r in rows if r["method"] == method]
    return sum(r["correct"] for r in chosen) / len(chosen) if chosen else 0.0


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

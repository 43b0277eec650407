"""CoTACS: search for one pseudo-program that works across a task, then answer with it.

From the task's training items, write `candidates` programs (each for one sampled item),
emulate every candidate on `train_items` items, keep the `keep` most accurate, and answer
each test item by emulating the kept programs and majority-voting 'answer'. Baselines in
the same run: zero-shot answers, and one fresh program per test item.

Every model call is cached by (kind, prompt, model, decoding) in a JSONL file shared by runs,
so a rerun, or a larger budget, asks the model only for what is new.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import emulation
from harness.errors import HarnessError
from harness.backends.base import Completion, GenerationRequest, SamplingConfig
from harness.models import cache_dir
from harness.pipeline import choose_prompt_style
from harness.progress import progress_bar
from harness.records import Prompt
from harness.rundir import JsonlLog, RunDir, write_json_atomic
from tasks.base import CHAT
from tasks.cogex import CHAT_INSTRUCTIONS, WORKED_EXAMPLE, unfenced

ZERO_SHOT = "Answer the task. Reply with the answer only, on one line.\n\n"


@dataclass
class SearchConfig:
    candidates: int = 8
    train_items: int = 10
    test_items: int = 20
    keep: int = 1
    seed: int = 0


def default_cache_path() -> Path:
    return cache_dir() / "cogex" / "model_calls.jsonl"


class CallCache:
    """Model outputs keyed by a hash of (kind, prompt, model, decoding)."""

    def __init__(self, path: Path, model: dict, sampling: SamplingConfig):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.log = JsonlLog(path, key=lambda r: (r["key"],))
        self.texts = {r["key"]: r["text"] for r in self.log}
        self.context = json.dumps({"model": model, "sampling": asdict(sampling)}, sort_keys=True)
        self.hits = self.misses = 0

    def key(self, kind: str, prompt: Prompt) -> str:
        material = json.dumps([kind, prompt.text, prompt.messages, self.context], sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def put(self, key: str, text: str) -> None:
        self.log.append({"key": key, "text": text})
        self.texts[key] = text


class Searcher:
    def __init__(self, task, backend, sampling: SamplingConfig, cache: CallCache, style: str | None):
        self.task = task
        self.backend = backend
        self.sampling = SamplingConfig(**{**asdict(sampling), "n": 1})
        self.cache = cache
        self.style = choose_prompt_style(task, style, backend)

    # -- model calls, batched and cached

    def ask(self, kind: str, prompts: dict[str, Prompt]) -> dict[str, str]:
        keys = {name: self.cache.key(kind, prompt) for name, prompt in prompts.items()}
        missing = {name: prompt for name, prompt in prompts.items() if keys[name] not in self.cache.texts}
        self.cache.hits += len(prompts) - len(missing)
        self.cache.misses += len(missing)
        if missing:
            with progress_bar(f"cogex {kind}", len(missing)) as advance:
                def on_completion(completion: Completion) -> None:
                    self.cache.put(keys[completion.problem_id], completion.text)
                    advance()

                requests = [GenerationRequest(name, prompt, [0]) for name, prompt in missing.items()]
                self.backend.generate(requests, self.sampling, on_completion)
        return {name: self.cache.texts[keys[name]] for name in prompts}

    def _prompt(self, body: str) -> Prompt:
        if self.style == CHAT:
            return Prompt(messages=[{"role": "user", "content": CHAT_INSTRUCTIONS + WORKED_EXAMPLE
                                     + "\nNow this one:\n\n" + body}])
        return Prompt(text=WORKED_EXAMPLE + "\n" + body, stop=[f"\n{emulation.INSTRUCTION}"])

    def write_programs(self, items) -> dict[str, str]:
        """One program per item: the model writes code for it (and an emulation we ignore)."""
        prompts = {item.id: self._prompt(emulation.render(item.meta["instruction"], item.meta["input"]))
                   for item in items}
        texts = self.ask("program", prompts)
        programs = {}
        for item_id, text in texts.items():
            code, _ = emulation.split_code(unfenced(text, self.style))
            if emulation.function_name(code):
                programs[item_id] = code
        return programs

    def emulate(self, pairs: list[tuple[str, str, object]]) -> dict[tuple[str, str], emulation.Parsed]:
        """Emulate each (program id, program, item) on the item's input."""
        prompts = {}
        for program_id, code, item in pairs:
            call = emulation.call_for(code, item.meta["instruction"], item.meta["input"])
            body = emulation.render(item.meta["instruction"], item.meta["input"], code, call)
            prompts[f"{program_id}|{item.id}"] = self._prompt(body)
        texts = self.ask("emulation", prompts)
        return {tuple(name.split("|", 1)): emulation.parse_output(
                    unfenced(text, self.style)) for name, text in texts.items()}

    def zero_shot(self, items) -> dict[str, str]:
        prompts = {}
        for item in items:
            question = f"{item.meta['instruction']}\n{item.meta['input']}".strip()
            if self.style == CHAT:
                prompts[item.id] = Prompt(messages=[{"role": "user", "content": ZERO_SHOT + question}])
            else:
                prompts[item.id] = Prompt(text=f"{ZERO_SHOT}{question}\nAnswer:", stop=["\n"])
        texts = self.ask("zero_shot", prompts)
        return {item_id: (text.strip().splitlines() or [""])[0] for item_id, text in texts.items()}


def run_search(task, problems, backend, sampling: SamplingConfig, cache: CallCache,
               config: SearchConfig, run: RunDir, style: str | None = None) -> dict:
    """The whole search and its baselines; writes the trace, predictions and scores to run."""
    rng = random.Random(config.seed)
    items = list(problems)
    rng.shuffle(items)
    test, pool = items[: config.test_items], items[config.test_items:]
    if not pool or not test:
        raise HarnessError(f"need more items than --test-items {config.test_items} (have {len(items)})")
    searcher = Searcher(task, backend, sampling, cache, style)
    sources = rng.sample(pool, min(config.candidates, len(pool)))
    train = rng.sample(pool, min(config.train_items, len(pool)))

    programs = searcher.write_programs(sources)
    parsed = searcher.emulate([(pid, code, item) for pid, code in programs.items() for item in train])
    accuracy = {pid: sum(_correct(parsed[(pid, item.id)], item) for item in train) / len(train)
                for pid in programs}
    ranked = sorted(programs, key=lambda pid: (-accuracy[pid], pid))
    kept = ranked[: config.keep]

    test_parsed = searcher.emulate([(pid, programs[pid], item) for pid in kept for item in test])
    fresh_programs = searcher.write_programs(test)
    fresh = searcher.emulate([(item.id, fresh_programs[item.id], item) for item in test
                              if item.id in fresh_programs])
    zero = searcher.zero_shot(test)

    predictions = []
    for item in test:
        votes = [test_parsed[(pid, item.id)].answer for pid in kept if test_parsed[(pid, item.id)].ok]
        fresh_answer = fresh.get((item.id, item.id))
        for method, answer in (("cotacs", emulation.majority(votes)),
                               ("fresh_program", fresh_answer.answer if fresh_answer and fresh_answer.ok else None),
                               ("zero_shot", zero[item.id])):
            predictions.append({"item": item.id, "method": method, "predicted": repr(answer),
                                "gold": item.meta["gold"],
                                "correct": answer is not None and emulation.normalized_match(answer, item.meta["gold"])})
    trace = {"config": asdict(config), "candidates": [
        {"written_for": pid, "program": programs[pid], "train_accuracy": accuracy[pid],
         "kept": pid in kept} for pid in ranked],
        "unusable_candidates": sorted({s.id for s in sources} - set(programs)),
        "train_items": [i.id for i in train], "test_items": [i.id for i in test]}
    scores = {method: _accuracy(predictions, method) for method in ("cotacs", "fresh_program", "zero_shot")}
    scores["budget"] = {"model_calls": cache.misses, "cache_hits": cache.hits,
                        "candidates": len(sources), "usable_candidates": len(programs),
                        "train_emulations": len(programs) * len(train)}
    run.path.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run.path / "search_trace.json", trace)
    (run.path / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    run.write_scores(scores)
    return scores


def _correct(parsed: emulation.Parsed, item) -> bool:
    return parsed.ok and emulation.normalized_match(parsed.answer, item.meta["gold"])


def _accuracy(predictions: list[dict], method: str) -> dict:
    rows = [p for p in predictions if p["method"] == method]
    return {"accuracy": sum(p["correct"] for p in rows) / len(rows), "items": len(rows)}

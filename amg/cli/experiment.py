"""`amg experiment OUT`: the synthetic-world experiment (does AMG learn?), resumable.

The same as `python -m amg.synthetic.experiment`; see amg/synthetic/experiment.py.
"""

from __future__ import annotations


def register(sub) -> None:
    from amg.synthetic.experiment import add_arguments

    p = sub.add_parser("experiment", help="train and evaluate AMG on the synthetic world (resumable)",
                       description="Generate the synthetic world's data, train a small VAE and text-to-video base, "
                                   "freeze it, train AMG's adapters with the project's trainer, and write the "
                                   "results table and figure to OUT/eval. Rerun the same command to resume.")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from amg.synthetic.experiment import config_from_args, run_experiment

    run_experiment(args.out, config_from_args(args), write=lambda s: print(s, flush=True))
    return 0

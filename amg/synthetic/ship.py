"""Copy a finished synthetic experiment's model into the repository as `amg-demo`.

    python -m amg.synthetic.ship OUT [--to presets/models/amg-demo]

Writes the frozen base in diffusers' layout with fp16 weights (half the size; they load
into fp32), the trained adapters (without their checkpoints), the world's people segmenter
(what the tests and the results table find people with), and amg_demo.json: the video size
the model was trained at, its sampling settings, and how it was made (the experiment's
configuration, measured stage times and results).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from amg.errors import AmgError
from amg.files import atomic_write_text


def ship(out: str | Path, target: str | Path) -> Path:
    from amg.eval.segmenter import SEGMENTER_FILE
    from amg.model.weights import load_base
    from amg.synthetic.experiment import STATE_FILE
    from amg.synthetic.models import save_demo_base

    out, target = Path(out), Path(target)
    state_path = out / STATE_FILE
    if not state_path.is_file():
        raise AmgError(f"{out}: not a synthetic experiment folder (no {STATE_FILE})")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    if not state["stages"].get("adapters", {}).get("done"):
        raise AmgError(f"{out}: the experiment has not finished training its adapters yet")
    base = load_base(str(out / "model"))
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_demo_base(base, tmp, half=True)
    training = _resave_adapters(out / "adapters", tmp)
    shutil.copyfile(out / "segmenter" / SEGMENTER_FILE, tmp / SEGMENTER_FILE)
    config = state["config"]
    manifest = out / "eval" / "world_eval.json"
    centroids = json.loads(manifest.read_text(encoding="utf-8"))["centroids"] if manifest.is_file() else None
    info = {
        "name": "amg-demo",
        "width": config["width"], "height": config["height"], "frames": config["frames"], "fps": config["fps"],
        "steps": config["eval_steps"], "guidance": config["guidance"],
        "avatar_guidance": config.get("avatar_guidance"),
        "made_by": "python -m amg.synthetic.experiment OUT --setting full; python -m amg.synthetic.ship OUT",
        "adapter_steps": training.steps,
        # Colour statistics per background class on ground-truth clips (amg.eval.ground_truth).
        "background_centroids": centroids,
        "experiment": {"config": config, "stages": {k: {kk: vv for kk, vv in v.items() if kk != "summary"}
                                                    for k, v in state["stages"].items()},
                       "total_seconds": state.get("total_seconds"),
                       "results": state["stages"].get("eval", {}).get("summary")},
    }
    atomic_write_text(tmp / "amg_demo.json", json.dumps(info, indent=1) + "\n")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def _resave_adapters(source: Path, base_dir: Path):
    """The trained adapters, written by this code's own `save_adapters` onto the shipped base: the
    file records `amg-demo` as its base (and this version's architecture hash and format)."""
    from amg.model.adapters import read_adapter_info, read_adapter_tensors
    from amg.model.pipeline import AMGPipeline
    from amg.model.unet import load_adapter_state_dict

    info = read_adapter_info(source)
    pipe = AMGPipeline.from_pretrained(str(base_dir), device="cpu", adapter_config=info.adapter)
    load_adapter_state_dict(pipe.denoiser, read_adapter_tensors(source))
    pipe.base_model_name = "amg-demo"
    pipe.save_adapters(base_dir / "adapters", training=info.training)
    return info.training


def main(argv: list[str] | None = None) -> int:
    from amg.model.demo import demo_dir

    p = argparse.ArgumentParser(prog="python -m amg.synthetic.ship", description=__doc__.split("\n\n")[0])
    p.add_argument("out", metavar="OUT", help="the experiment folder")
    p.add_argument("--to", default=str(demo_dir()), help="target folder (default: the shipped amg-demo)")
    args = p.parse_args(argv)
    try:
        print(f"wrote {ship(args.out, args.to)}")
    except AmgError as e:
        print(f"ship: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

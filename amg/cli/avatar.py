"""`amg avatar "PROMPT" -o avatar.glb`: an avatar from words, as a GLB with vertex colours."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("avatar", help="build an avatar from a text prompt and export it as GLB")
    p.add_argument("prompt", help='appearance, e.g. "a woman in a bright yellow dress"')
    p.add_argument("-o", "--output", required=True, help="output .glb")
    p.add_argument("--body", choices=["anny", "smplx"], default="anny",
                   help="body model (smplx needs AMG_SMPLX_MODEL pointing at your SMPLX_*.npz)")
    for name in ("gender", "age", "muscle", "weight", "height", "proportions"):
        p.add_argument(f"--{name}", type=float, help=f"{name} in [0, 1], overrides the prompt")
    for region in ("top", "bottom", "shoes", "hair", "skin"):
        p.add_argument(f"--{region}-color", dest=f"{region}_color", help=f"{region} colour #rrggbb")
    p.add_argument("--garment", choices=["trousers", "shorts", "skirt", "dress"], help="lower garment")
    p.set_defaults(func=run)


def run(args) -> int:
    from pydantic import ValidationError

    from amg.avatar import build_avatar
    from amg.avatar.avatar import rgb_to_hex
    from amg.errors import AmgError
    from amg.scene import AvatarSpec

    if not args.output.lower().endswith(".glb"):
        raise AmgError(f"output {args.output!r}: must be a .glb file")
    phenotype = {k: getattr(args, k) for k in ("gender", "age", "muscle", "weight", "height", "proportions")
                 if getattr(args, k) is not None}
    colors = {r: getattr(args, f"{r}_color") for r in ("top", "bottom", "shoes", "hair", "skin")
              if getattr(args, f"{r}_color")}
    try:
        spec = AvatarSpec(prompt=args.prompt, body=args.body, phenotype=phenotype, colors=colors, garment=args.garment)
    except ValidationError as e:
        raise AmgError("avatar options: " + "; ".join(err["msg"] for err in e.errors())) from None
    avatar = build_avatar(spec)
    avatar.export_glb(args.output)
    a = avatar.appearance
    print(f"wrote {args.output}: {a.lower}, sleeves {a.sleeves}, top {rgb_to_hex(a.top)}, bottom {rgb_to_hex(a.bottom)}, "
          f"phenotype {', '.join(f'{k}={v:.2f}' for k, v in sorted(a.phenotype.items()))}")
    return 0

"""`amg avatar "PROMPT" -o avatar.glb|avatar.ply`: an avatar from words, as a GLB with vertex colours
or as a 3D gaussian splat (standard 3DGS .ply); `--from-ply` wears an existing splat on a body."""

from __future__ import annotations

FORMATS = (".glb", ".ply")


def register(sub) -> None:
    p = sub.add_parser("avatar", help="build an avatar from a text prompt and export it as GLB or 3DGS .ply",
                       description="Build an avatar and export it: the output's extension picks the format "
                                   "(.glb: mesh with vertex colours; .ply: standard 3D gaussian splat). "
                                   "With --from-ply, a 3DGS .ply is placed on the body instead.")
    p.add_argument("prompt", nargs="?", default="", help='appearance, e.g. "a woman in a bright yellow dress"')
    p.add_argument("-o", "--output", required=True, help="output .glb or .ply")
    p.add_argument("--body", choices=["anny", "smplx"], default="anny",
                   help="body model (smplx needs AMG_SMPLX_MODEL pointing at your SMPLX_*.npz)")
    for name in ("gender", "age", "muscle", "weight", "height", "proportions"):
        p.add_argument(f"--{name}", type=float, help=f"{name} in [0, 1], overrides the prompt")
    for region in ("top", "bottom", "shoes", "hair", "skin"):
        p.add_argument(f"--{region}-color", dest=f"{region}_color", help=f"{region} colour #rrggbb")
    p.add_argument("--garment", choices=["trousers", "shorts", "skirt", "dress"], help="lower garment")
    p.add_argument("--gaussians", type=int, default=None,
                   help="number of gaussians of a .ply made from the prompt's avatar (default 30000)")
    p.add_argument("--from-ply", dest="from_ply", help="a 3DGS .ply to place on the body (SMPL-X: as it is; "
                                                        "Anny: fitted, and the fit is printed)")
    p.add_argument("--preview", help="with --from-ply: write a PNG of the splat over the body (front, side)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from pydantic import ValidationError

    from amg.avatar import build_avatar
    from amg.colors import rgb_to_hex
    from amg.errors import AmgError
    from amg.scene import AvatarSpec

    suffix = Path(args.output).suffix.lower()
    if suffix not in FORMATS:
        raise AmgError(f"output {args.output!r}: must end in .glb (mesh) or .ply (3D gaussian splat)")
    if args.from_ply and suffix != ".ply":
        raise AmgError(f"output {args.output!r}: a splat placed with --from-ply is written as a .ply")
    if args.preview and not args.from_ply:
        raise AmgError("--preview shows how --from-ply placed a splat on the body: give --from-ply too")
    if args.gaussians is not None and not 100 <= args.gaussians <= 1_000_000:
        raise AmgError(f"--gaussians {args.gaussians}: must be between 100 and 1000000")
    if not args.prompt and not args.from_ply:
        raise AmgError("give an appearance prompt (or --from-ply FILE)")
    phenotype = {k: getattr(args, k) for k in ("gender", "age", "muscle", "weight", "height", "proportions")
                 if getattr(args, k) is not None}
    colors = {r: getattr(args, f"{r}_color") for r in ("top", "bottom", "shoes", "hair", "skin")
              if getattr(args, f"{r}_color")}
    try:
        spec = AvatarSpec(prompt=args.prompt, body=args.body, phenotype=phenotype, colors=colors, garment=args.garment)
    except ValidationError as e:
        raise AmgError("avatar options: " + "; ".join(err["msg"] for err in e.errors())) from None
    if args.from_ply:
        return _place_splat(args, spec)
    avatar = build_avatar(spec)
    if suffix == ".ply":
        from amg.avatar.gaussian_avatar import DEFAULT_COUNT, GaussianAvatar

        splat = GaussianAvatar.from_avatar(avatar, count=args.gaussians or DEFAULT_COUNT)
        splat.export_ply(args.output)
        kind = f"{len(splat):,} gaussians (3DGS .ply, rest T-pose)"
    else:
        avatar.export_glb(args.output)
        kind = "mesh"
    a = avatar.appearance
    jacket = f", jacket {rgb_to_hex(a.jacket)}" if a.jacket is not None else ""
    print(f"wrote {args.output}: {kind}, {a.lower}, sleeves {a.sleeves}, top {rgb_to_hex(a.top)}{jacket}, "
          f"bottom {rgb_to_hex(a.bottom)}, hair {rgb_to_hex(a.hair)}, "
          f"phenotype {', '.join(f'{k}={v:.2f}' for k, v in sorted(a.phenotype.items()))}")
    for word, known in a.read_as.items():
        print(f"read {word!r} as {known!r} (nearest in meaning)")
    return 0


def _place_splat(args, spec) -> int:
    from amg.avatar.gaussian_avatar import GaussianAvatar

    splat = GaussianAvatar.from_ply(args.from_ply, spec)
    splat.export_ply(args.output)
    print(f"wrote {args.output}: {len(splat):,} gaussians from {args.from_ply}, {splat.fit.summary()}")
    if args.preview:
        from PIL import Image

        from amg.files import atomic_path
        from amg.render.splat_scene import fit_preview

        with atomic_path(args.preview) as tmp:
            Image.fromarray(fit_preview(splat)).save(tmp, format="PNG")
        print(f"wrote {args.preview}: the splat over the body, front and side")
    return 0

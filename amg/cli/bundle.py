"""`amg bundle SCENE.json -o scene.amgscene`: one file holding a scene and every file it uses."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("bundle", help="pack a scene and its motion, camera and splat files into one .amgscene")
    p.add_argument("scene", help="scene JSON file (or a bundle, to re-pack it)")
    p.add_argument("-o", "--output", required=True, help="output .amgscene (a zip; opens with any scene command)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from amg.bundle import BUNDLE_SUFFIX, file_refs, load_scene, save_bundle
    from amg.errors import AmgError
    from amg.files import check_output

    if Path(args.output).suffix.lower() != BUNDLE_SUFFIX:
        raise AmgError(f"output {args.output!r}: must end in {BUNDLE_SUFFIX}")
    check_output(args.output)
    scene = load_scene(args.scene)
    path = save_bundle(scene, args.output)
    files = {scene.resolve_path(r.ref).resolve() for r in file_refs(scene)}
    print(f"wrote {path}: the scene and {len(files)} file(s) it uses ({path.stat().st_size / 1e3:.0f} KB)")
    return 0

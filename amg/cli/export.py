"""`amg export SCENE.json -o scene.glb`: the whole scene as animated glTF (Blender, game engines)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("export", help="export a scene as animated glTF: skinned people, floor, camera")
    p.add_argument("scene", help="scene JSON file or .amgscene bundle")
    p.add_argument("-o", "--output", required=True, help="output .glb (or .gltf, data embedded; or .fbx)")
    p.add_argument("--format", choices=["glb", "gltf", "fbx"],
                   help="default: from the output's extension; fbx is converted by Blender (must be installed)")
    p.add_argument("--frames", type=int, help="override render.frames")
    p.add_argument("--fps", type=float, help="override render.fps")
    p.add_argument("--no-floor", action="store_true", help="leave the floor out")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from amg.errors import AmgError
    from amg.export import export_scene
    from amg.bundle import load_scene

    fmt = args.format or Path(args.output).suffix.lower().lstrip(".")
    if fmt not in ("glb", "gltf", "fbx") or Path(args.output).suffix.lower() != f".{fmt}":
        raise AmgError(f"output {args.output!r}: must end in .glb, .gltf or .fbx (matching --format)")
    scene = load_scene(args.scene)
    info = export_scene(scene, args.output, frames=args.frames, fps=args.fps, floor=not args.no_floor,
                        progress=lambda msg: print(f"  {msg}..."))
    people = f"{info.people} {'person' if info.people == 1 else 'people'}"
    print(f"wrote {info.path}: {people}, camera, {info.frames} frames at {info.fps:g} fps "
          f"({info.size / 1e6:.1f} MB, {info.seconds:.2f} s)")
    return 0

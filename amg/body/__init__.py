"""Bodies: Anny (embedded default) and SMPL-X (the user's own model file)."""

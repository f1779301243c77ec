"""UI fields outside the Scene (Generate and Advanced settings) kept per session.

Every change of a remembered field is saved in the session (`Session.remember`, ui.json), and a
page load puts the saved values back, so a reload shows what the user set, as the scene does.
"""

from __future__ import annotations

import gradio as gr

from app.context import Ctx


class RememberedFields:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.fields: list[tuple[str, gr.components.Component]] = []
        #: key -> fn(session) -> update, for fields whose restored state depends on others
        self.restorers: dict = {}

    def add(self, prefix: str, owner, names: list[str], restore: dict | None = None) -> None:
        """Remember `owner.<name>` under "prefix.name" for each name the owner has (a tab without
        an optional part, e.g. evaluation, simply lacks those controls). `restore[name](session)`
        gives the field's whole update on load (its choices, whether it is editable...)."""
        for name in names:
            comp = getattr(owner, name, None)
            if isinstance(comp, gr.components.Component):
                self.fields.append((f"{prefix}.{name}", comp))
                if restore and name in restore:
                    self.restorers[f"{prefix}.{name}"] = restore[name]

    def components(self) -> list:
        return [c for _, c in self.fields]

    def values(self, s) -> list:
        """The saved value of each field, or no update where nothing was saved."""
        return [self.restorers[key](s) if key in self.restorers else
                gr.update(value=s.ui[key]) if key in s.ui else gr.skip() for key, _ in self.fields]

    def wire(self) -> None:
        ctx = self.ctx
        for key, comp in self.fields:
            def save(cid, value, key=key):
                if cid:  # before the page's session is known there is nothing to save into
                    ctx.session(cid).remember(key, value)

            # .change also sees values set by the app (e.g. "Use these adapters"): they are the user's too
            comp.change(save, [ctx.client, comp], None, queue=False, show_progress="hidden",
                        api_visibility="private")

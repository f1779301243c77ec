"""AMG Studio's Gradio app (the UI only): it edits a Scene and calls the `amg` engine."""

"""The Freshline operations console (Textual) and the `freshline` command."""

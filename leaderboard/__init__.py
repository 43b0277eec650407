"""Leaderboards from run directories: a pandas table, Markdown/CSV/JSON/LaTeX, a static site."""

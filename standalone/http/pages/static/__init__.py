"""The dashboard stylesheet (a package so installs ship it)."""

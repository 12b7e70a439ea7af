"""Templates of the dashboard pages (a package so installs ship them)."""

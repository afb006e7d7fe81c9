"""The kit's own inputs gone wrong: what course staff must fix (never a student's doing)."""


class ConfigError(Exception):
    """A lab's configuration (config.toml, its staff file, its hidden seed) is missing, malformed
    or inconsistent; the message names the file and the key."""

"""The VM pages: `pages` for the connection details and people, `secrets` for passwords and SSH keys."""

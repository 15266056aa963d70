"""Write a development .env with freshly generated keys, unless one exists already (`make run`)."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    print(f"{path} exists: keeping it.")
    sys.exit(0)

path.write_text(
    "# Local development settings written by `make run`. Never commit this file.\n"
    "# Losing FIELD_ENCRYPTION_KEYS means losing every stored VM password and SSH key.\n"
    "DEBUG=true\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
)
path.chmod(0o600)
print(f"Wrote {path} with a new SECRET_KEY and FIELD_ENCRYPTION_KEYS.")

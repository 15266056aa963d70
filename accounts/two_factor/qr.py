"""The authenticator-app set-up: a QR code as inline SVG (no script, no style attribute: the CSP stays strict)."""

import qrcode
import qrcode.image.svg


def svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def base32_secret(device) -> str:
    """The secret as apps ask for it when typed by hand: base32, in groups of four (decrypts the seed)."""
    secret = device.base32_seed
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))

"""SSH keys the tests share."""

# A throwaway key written by `ssh-keygen -t ed25519 -N pass` (cryptography cannot write one without bcrypt,
# which VM Lab lacks). VM Lab refuses passphrase-protected keys.
PASSPHRASE_PROTECTED_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABAaCr41/m
dX/3NQli0Kn0oMAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIC8h44vUZCOqRljW
auwfFZwNO11PvQ1tXW9Ob9e4b1tHAAAAkFg7Pcw2hS8oTND52E6BYydzjYN1EzmVslRZR4
O+++30kWBQdYXxH8pfVYMqn6thEanAPru5qpigUrCSOzij8DR6G/Z/+Zm6x9l2p0qTP8mU
naUzjBaPdtx9YFsEEBRyOqhfOOxHhbLAHHhqJ7FDjKrqNVX+OaJjhnZpL8ndujeeNBti/r
5F6wcr46328Sy9mw==
-----END OPENSSH PRIVATE KEY-----
"""

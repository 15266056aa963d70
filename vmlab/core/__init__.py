"""The small shared core every app may use: encryption, client addresses, rate limits, search, pagination,
safe redirects, request-size and CSP middleware, streaming. It imports no app of the project."""

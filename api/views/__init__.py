"""The /api/v1/ endpoints, one module per kind of object; linkding's API is in api.linkding."""

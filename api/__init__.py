"""The REST API: /api/v1/ (VMs, bookmarks, tags, people, the audit trail, tokens), the OpenAPI description and its
documentation pages, and linkding's bookmark API at /api/bookmarks/ and /api/tags/. The top layer: every read goes
through the apps' queryset verbs and every write through their services."""

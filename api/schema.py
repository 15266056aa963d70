"""The OpenAPI description's parts that drf-spectacular cannot see: the authentication schemes, and the errors every
operation may answer (api.errors' one shape), added by a post-processing hook (SPECTACULAR_SETTINGS)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "e.g. invalid, not_found, read_only_token, throttled"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For 400: the messages of each field.",
                },
                "current": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "For 409: the VM as it is stored now (never a secret).",
                },
                "report": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "For an import that wrote nothing: its preview as it stands (see ImportReport).",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
ERRORS = {
    "400": "Invalid input: `fields` says what is wrong with each field.",
    "401": "No credentials, or a token that is unknown, expired or revoked, or whose account is disabled.",
    "403": "Not allowed: a read-scope token writing, an account awaiting approval, or a change the role may not make.",
    "404": "No such object, or one you may not see; or an endpoint your role cannot use.",
    "405": "This method is not one the endpoint takes.",
    "409": "Changed by someone else since the `version` sent: nothing was written; `current` holds the stored VM.",
    "413": "The request body is larger than MAX_REQUEST_BODY.",
    "415": "The body must be JSON (Content-Type: application/json).",
    "429": "Too many requests (API_RATE_LIMIT a minute per token) or reveal attempts; see Retry-After.",
}
WITH_BODY = {"post", "put", "patch"}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal access token: Bearer vmlab_…"}


class LinkdingTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.LinkdingTokenAuthentication"
    name = "linkdingToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'linkding\'s header: "Token vmlab_…" (a VM Lab personal access token).',
        }


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "portalSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The portal's session."}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = ["401", "403", "404", "405", "429"]
            if method in WITH_BODY or operation.get("parameters") or "{" in path:
                codes.append("400")
            if method in WITH_BODY:
                codes += ["413", "415"]
            if "409" in responses:
                codes.append("409")
            for code in codes:
                responses[code] = {"description": ERRORS[code], "content": reference}
    return result

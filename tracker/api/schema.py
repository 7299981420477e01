"""The OpenAPI description's answers that no serializer states: every error as a problem
(RFC 9457, ``application/problem+json``), which operation may answer which, and 304 for
a record asked with ``If-None-Match``. A drf-spectacular postprocessing hook."""

from __future__ import annotations

from tracker.api.serializers import MAY_BE_ABSENT

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "For invalid values: each field's messages.",
            "additionalProperties": True,
        },
    },
}
# Request bodies whose unknown fields are refused (``serializers.Strict``).
STRICT = ("UploadRequest", "TransitionRequest")
WHY = {
    "400": "A value is not valid (named under errors), or the file was refused.",
    "401": "No credentials, or a token unknown, expired or revoked.",
    "403": "Not an active staff account, no permission, or the token's scopes do not allow it.",
    "404": "No such record, or one the account may not know of.",
    "409": "The record's state refuses it (the workflow's own words).",
    "411": "No Content-Length: a streamed upload must say its length.",
    "413": "The file is larger than the limit (TRACKER_MAX_UPLOAD_BYTES).",
    "415": "The body is not application/octet-stream.",
    "429": "Too many calls: wait for Retry-After seconds.",
}


def errors(path: str, method: str) -> list[str]:
    codes = ["400", "401", "403", "429"]
    if "{" in path:  # a record named in the path
        codes.append("404")
    if path.endswith(("/transitions/", "/flights/")):
        codes.append("409")
    if path.endswith("/stream/"):
        codes += ["411", "413", "415"]
    return codes


def add_problems(result, generator, request, public):
    """Every API operation's error answers, 304 for a record's own page, and the fields
    an answer may leave out."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in STRICT:
        components[name]["additionalProperties"] = False
    for name, fields in MAY_BE_ABSENT.items():
        required = components[name].get("required", [])
        components[name]["required"] = [field for field in required if field not in fields]
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith(("/api/schema", "/api/docs")):
            continue
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] != "page_size":
                    parameter["allowEmptyValue"] = True  # empty: not given, as in a form
            responses = operation.setdefault("responses", {})
            for code in errors(path, method):
                responses.setdefault(
                    code,
                    {
                        "description": WHY[code],
                        "content": {"application/problem+json": {"schema": problem}},
                    },
                )
            if method == "get" and path.endswith(("{code}/", "{id}/", "/custody/", "/dossier/")):
                responses.setdefault("304", {"description": "Unchanged since the ETag sent."})
    return result

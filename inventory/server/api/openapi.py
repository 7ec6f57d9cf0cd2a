"""The OpenAPI 3.1 description of API v1, written by hand.

Kept honest by tests: every route of ``api/urls.py`` is described here, and every
response the tests receive validates against the schema given here for its status code
(tests/server/test_server_api_openapi.py); schemathesis checks the live server against it.
"""

from __future__ import annotations

from typing import Any

import agent


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


SIGNED_RECORD = {
    "type": "object",
    "description": (
        "A signed weee-record/1 file: the record (its JSON Schema is "
        "inventory/schema/record-1.schema.json) and its Ed25519 signature over the "
        "canonical JSON of the record."
    ),
    "required": ["record", "signature"],
    "additionalProperties": False,
    "properties": {
        "record": {"type": "object"},
        "signature": {
            "type": "object",
            "required": ["alg", "key_id", "public_key", "value"],
            "additionalProperties": False,
            "properties": {
                "alg": {"const": "ed25519"},
                "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "public_key": {"type": "string", "description": "raw 32-byte key, base64"},
                "value": {"type": "string", "description": "64-byte signature, base64"},
            },
        },
    },
}

BENCHES = {
    "type": "object",
    "required": ["benches"],
    "additionalProperties": False,
    "properties": {
        "benches": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "key_id", "public_key", "active"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                    "public_key": {
                        "type": "string",
                        "description": "Ed25519 public key, raw 32 bytes, base64",
                    },
                    "active": {
                        "type": "boolean",
                        "description": "false: the bench was retired or revoked; its key "
                        "is no longer trusted",
                    },
                },
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    unauthorized = _error("Missing, unknown or revoked bench token")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "weee programme database: bench API",
            "version": "1",
            "description": (
                "Benches upload signed records here. Authenticate with the token printed "
                "by `weee manage addbench`: `Authorization: Bearer <token>`. Uploads are "
                "idempotent: re-sending a stored record returns 200 with status "
                "`duplicate` and stores nothing."
            ),
            "x-weee-version": agent.__version__,
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"benchToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string", "description": "machine-readable code"},
                        "detail": {
                            "description": "what is wrong, for a person (a list of "
                            "{path, message} for schema violations)"
                        },
                    },
                },
                "Stored": {
                    "type": "object",
                    "required": ["status", "record_id", "device_id", "asset_id"],
                    "additionalProperties": False,
                    "properties": {
                        "status": {"enum": ["stored", "duplicate"]},
                        "record_id": {"type": "string", "format": "uuid"},
                        "device_id": {"type": "string"},
                        "asset_id": {"type": "string", "pattern": "^[A-Z]+-[0-9]{6,}$"},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"const": "ok"}},
                },
                "SignedRecord": SIGNED_RECORD,
                "Benches": BENCHES,
            },
        },
        "paths": {
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Is the server up (no authentication)",
                    "security": [],
                    "responses": {"200": _json("The server is up", "Health")},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/benches": {
                "get": {
                    "operationId": "listBenchKeys",
                    "summary": "The registered benches' signing keys (no authentication)",
                    "description": (
                        "What `weee verify --server` and `weee certificate --server` "
                        "trust: a record signed by an active bench's key is verified."
                    ),
                    "security": [],
                    "responses": {"200": _json("Every registered bench", "Benches")},
                }
            },
            "/records": {
                "post": {
                    "operationId": "uploadRecord",
                    "summary": "Upload a signed record",
                    "security": [{"benchToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SignedRecord"}
                            }
                        },
                    },
                    "responses": {
                        "201": _json("Stored; the laptop's asset id is returned", "Stored"),
                        "200": _json("Already stored with the same content", "Stored"),
                        "400": _error(
                            "Malformed JSON, not a signed record, schema violation, a "
                            "record naming another bench than its signer, or dated in the "
                            "future"
                        ),
                        "401": unauthorized,
                        "403": _error("Signed by a key that is not this bench's"),
                        "409": _error("This record id is stored with different content"),
                        "413": _error("The file is larger than the server accepts"),
                        "422": _error("The signature does not match the record"),
                    },
                }
            },
            "/records/{record_id}": {
                "get": {
                    "operationId": "getRecord",
                    "summary": "A record this bench uploaded, as the signed file",
                    "security": [{"benchToken": []}],
                    "parameters": [
                        {
                            "name": "record_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json("The signed file as uploaded", "SignedRecord"),
                        "401": unauthorized,
                        "404": _error("No record with that id from this bench"),
                    },
                }
            },
        },
    }

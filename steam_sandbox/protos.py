"""The few protobuf messages of IAuthenticationService and ITwoFactorService, as the
`protobuf` package builds them at run time from descriptors (field numbers and types
of Steam's steammessages_auth / steammessages_twofactor .proto files; enums as
plain integers). The Web API takes them base64 in `input_protobuf_encoded` and, asked
so, answers with the serialised message."""

from __future__ import annotations

import base64
import binascii

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "bool": _F.TYPE_BOOL, "float": _F.TYPE_FLOAT,
    "int32": _F.TYPE_INT32, "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "fixed64": _F.TYPE_FIXED64,
}
# name -> [(field, number, type, repeated)]; a type naming another message nests it.
_MESSAGES: dict[str, list[tuple]] = {
    "CAuthentication_GetPasswordRSAPublicKey_Request": [("account_name", 1, "string")],
    "CAuthentication_GetPasswordRSAPublicKey_Response": [
        ("publickey_mod", 1, "string"), ("publickey_exp", 2, "string"), ("timestamp", 3, "uint64"),
    ],
    "CAuthentication_DeviceDetails": [
        ("device_friendly_name", 1, "string"), ("platform_type", 2, "int32"), ("os_type", 3, "int32"),
        ("gaming_device_type", 4, "uint32"), ("client_count", 5, "uint32"), ("machine_id", 6, "bytes"),
    ],
    "CAuthentication_BeginAuthSessionViaCredentials_Request": [
        ("device_friendly_name", 1, "string"), ("account_name", 2, "string"), ("encrypted_password", 3, "string"),
        ("encryption_timestamp", 4, "uint64"), ("remember_login", 5, "bool"), ("platform_type", 6, "int32"),
        ("persistence", 7, "int32"), ("website_id", 8, "string"),
        ("device_details", 9, "CAuthentication_DeviceDetails"), ("guard_data", 10, "string"),
        ("language", 11, "uint32"), ("qos_level", 12, "int32"),
    ],
    "CAuthentication_AllowedConfirmation": [("confirmation_type", 1, "int32"), ("associated_message", 2, "string")],
    "CAuthentication_BeginAuthSessionViaCredentials_Response": [
        ("client_id", 1, "uint64"), ("request_id", 2, "bytes"), ("interval", 3, "float"),
        ("allowed_confirmations", 4, "CAuthentication_AllowedConfirmation", True), ("steamid", 5, "uint64"),
        ("weak_token", 6, "string"), ("agreement_session_url", 7, "string"), ("extended_error_message", 8, "string"),
    ],
    "CAuthentication_UpdateAuthSessionWithSteamGuardCode_Request": [
        ("client_id", 1, "uint64"), ("steamid", 2, "fixed64"), ("code", 3, "string"), ("code_type", 4, "int32"),
    ],
    "CAuthentication_UpdateAuthSessionWithSteamGuardCode_Response": [("agreement_session_url", 7, "string")],
    "CAuthentication_PollAuthSessionStatus_Request": [
        ("client_id", 1, "uint64"), ("request_id", 2, "bytes"), ("token_to_revoke", 3, "fixed64"),
    ],
    "CAuthentication_PollAuthSessionStatus_Response": [
        ("new_client_id", 1, "uint64"), ("new_challenge_url", 2, "string"), ("refresh_token", 3, "string"),
        ("access_token", 4, "string"), ("had_remote_interaction", 5, "bool"), ("account_name", 6, "string"),
        ("new_guard_data", 7, "string"), ("agreement_session_url", 8, "string"),
    ],
    "CAuthentication_AccessToken_GenerateForApp_Request": [
        ("refresh_token", 1, "string"), ("steamid", 2, "fixed64"), ("renewal_type", 3, "int32"),
    ],
    "CAuthentication_AccessToken_GenerateForApp_Response": [("access_token", 1, "string"), ("refresh_token", 2, "string")],
    "CTwoFactor_Time_Request": [("sender_time", 1, "uint64")],
    "CTwoFactor_Time_Response": [
        ("server_time", 1, "uint64"), ("skew_tolerance_seconds", 2, "uint64"), ("large_time_jink", 3, "uint64"),
        ("probe_frequency_seconds", 4, "uint32"), ("adjusted_time_probe_frequency_seconds", 5, "uint32"),
        ("hint_probe_frequency_seconds", 6, "uint32"), ("sync_timeout", 7, "uint32"),
        ("try_again_seconds", 8, "uint32"), ("max_attempts", 9, "uint32"),
    ],
}


def _build() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name="steam_sandbox_steammessages.proto", syntax="proto2")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, *repeated in fields:
            field = message.field.add(name=field_name, number=number)
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if kind in _TYPES:
                field.type = _TYPES[kind]
            else:
                field.type = _F.TYPE_MESSAGE
                field.type_name = f".{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name)) for name in _MESSAGES}


_CLASSES = _build()


class ProtobufError(ValueError):
    """`input_protobuf_encoded` is not base64 of the method's request message."""


def decode(name: str, encoded: str) -> dict:
    """`input_protobuf_encoded` (base64) as a dict of the fields that were set, by
    their proto names, integers as ints and bytes as base64 (like the JSON form)."""
    try:
        raw = base64.b64decode(encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4))
        message = _CLASSES[name].FromString(raw)
    except (binascii.Error, ValueError, Exception) as exc:  # DecodeError is a plain Exception subclass
        raise ProtobufError(f"{name}: {exc}") from None
    return json_format.MessageToDict(message, preserving_proto_field_name=True, use_integers_for_enums=True)


def encode(name: str, values: dict) -> bytes:
    """The serialised message; `values` as the JSON form has them (bytes fields in base64)."""
    message = _CLASSES[name]()
    json_format.ParseDict({k: v for k, v in values.items() if v is not None}, message)
    return message.SerializeToString()


def message_class(name: str) -> type:
    return _CLASSES[name]

"""The protobuf messages of IAuthenticationService that the mobile-app login uses.

Steam answers HTTP 400 to a form-encoded BeginAuthSessionViaCredentials that carries
nested `device_details` (since 2025-10), so these calls send protobuf:
`input_protobuf_encoded=<base64 of the message>`, and the answer body is the
response message (its EResult in the `X-eresult` header).

The messages are declared here (field names and numbers as in Steam's
steammessages_auth.steamclient.proto, proto2) and built by the `protobuf` package at
import, so no generated code or protoc is needed. Enum fields are declared as
int32: the same varint on the wire, and Steam's enum values stay plain numbers.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "bool": _F.TYPE_BOOL, "int32": _F.TYPE_INT32,
    "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "fixed64": _F.TYPE_FIXED64, "float": _F.TYPE_FLOAT,
}
_PACKAGE = "astro.steam.auth"

# name -> [(field, number, type or message name, repeated)]
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    "GetPasswordRSAPublicKey_Request": [("account_name", 1, "string", False)],
    "GetPasswordRSAPublicKey_Response": [
        ("publickey_mod", 1, "string", False), ("publickey_exp", 2, "string", False), ("timestamp", 3, "uint64", False),
    ],
    "DeviceDetails": [
        ("device_friendly_name", 1, "string", False), ("platform_type", 2, "int32", False),
        ("os_type", 3, "int32", False), ("gaming_device_type", 4, "uint32", False),
    ],
    "BeginAuthSessionViaCredentials_Request": [
        ("device_friendly_name", 1, "string", False), ("account_name", 2, "string", False),
        ("encrypted_password", 3, "string", False), ("encryption_timestamp", 4, "uint64", False),
        ("remember_login", 5, "bool", False), ("platform_type", 6, "int32", False),
        ("persistence", 7, "int32", False), ("website_id", 8, "string", False),
        ("device_details", 9, "DeviceDetails", False), ("guard_data", 10, "string", False),
        ("language", 11, "uint32", False), ("qos_level", 12, "int32", False),
    ],
    "AllowedConfirmation": [("confirmation_type", 1, "int32", False), ("associated_message", 2, "string", False)],
    "BeginAuthSessionViaCredentials_Response": [
        ("client_id", 1, "uint64", False), ("request_id", 2, "bytes", False), ("interval", 3, "float", False),
        ("allowed_confirmations", 4, "AllowedConfirmation", True), ("steamid", 5, "uint64", False),
        ("weak_token", 6, "string", False), ("agreement_session_url", 7, "string", False),
        ("extended_error_message", 8, "string", False),
    ],
    "UpdateAuthSessionWithSteamGuardCode_Request": [
        ("client_id", 1, "uint64", False), ("steamid", 2, "fixed64", False), ("code", 3, "string", False),
        ("code_type", 4, "int32", False),
    ],
    "UpdateAuthSessionWithSteamGuardCode_Response": [("agreement_session_url", 7, "string", False)],
    "PollAuthSessionStatus_Request": [
        ("client_id", 1, "uint64", False), ("request_id", 2, "bytes", False), ("token_to_revoke", 3, "fixed64", False),
    ],
    "PollAuthSessionStatus_Response": [
        ("new_client_id", 1, "uint64", False), ("new_challenge_url", 2, "string", False),
        ("refresh_token", 3, "string", False), ("access_token", 4, "string", False),
        ("had_remote_interaction", 5, "bool", False), ("account_name", 6, "string", False),
        ("new_guard_data", 7, "string", False), ("agreement_session_url", 8, "string", False),
    ],
    "AccessToken_GenerateForApp_Request": [
        ("refresh_token", 1, "string", False), ("steamid", 2, "fixed64", False), ("renewal_type", 3, "int32", False),
    ],
    "AccessToken_GenerateForApp_Response": [("access_token", 1, "string", False), ("refresh_token", 2, "string", False)],
}


def _build() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name="astro_steam_auth.proto", package=_PACKAGE, syntax="proto2")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated in fields:
            field = message.field.add(name=field_name, number=number,
                                      label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
            if kind in _TYPES:
                field.type = _TYPES[kind]
            else:
                field.type, field.type_name = _F.TYPE_MESSAGE, f".{_PACKAGE}.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
            for name in _MESSAGES}


_CLASSES = _build()

GetPasswordRSAPublicKeyRequest = _CLASSES["GetPasswordRSAPublicKey_Request"]
GetPasswordRSAPublicKeyResponse = _CLASSES["GetPasswordRSAPublicKey_Response"]
DeviceDetails = _CLASSES["DeviceDetails"]
BeginAuthSessionRequest = _CLASSES["BeginAuthSessionViaCredentials_Request"]
BeginAuthSessionResponse = _CLASSES["BeginAuthSessionViaCredentials_Response"]
UpdateGuardCodeRequest = _CLASSES["UpdateAuthSessionWithSteamGuardCode_Request"]
UpdateGuardCodeResponse = _CLASSES["UpdateAuthSessionWithSteamGuardCode_Response"]
PollAuthSessionRequest = _CLASSES["PollAuthSessionStatus_Request"]
PollAuthSessionResponse = _CLASSES["PollAuthSessionStatus_Response"]
GenerateAccessTokenRequest = _CLASSES["AccessToken_GenerateForApp_Request"]
GenerateAccessTokenResponse = _CLASSES["AccessToken_GenerateForApp_Response"]

# Steam's numbers (EAuthTokenPlatformType, ESessionPersistence, EAuthSessionGuardType, ETokenRenewalType).
PLATFORM_MOBILE_APP = 3
PERSISTENCE_PERSISTENT = 1
GUARD_DEVICE_CODE = 3
RENEWAL_NONE = 0
RENEWAL_ALLOW = 1
OS_ANDROID_UNKNOWN = -500
GAMING_DEVICE_PHONE = 528

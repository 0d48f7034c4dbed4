"""What AWS error codes, HTTP statuses and botocore exceptions mean for an invocation.

``invoker`` reads these tables to decide whether a failed call is retried, stops the sync, or
rejects the batch's rows alone.
"""

from __future__ import annotations

import botocore.exceptions as bx
import urllib3.exceptions

THROTTLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)

# Codes after which no invocation of this function can succeed in this run: it is missing, we may
# not call it, our credentials are refused, or its own configuration (KMS key, VPC, runtime,
# package) is broken. Several of the configuration ones come back as 502, so the code wins over
# the status class.
FATAL_CODES = frozenset(
    {
        # function / version / alias missing
        "ResourceNotFoundException",
        "NoPublishedVersionException",
        # authorisation and credentials
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "AuthFailure",
        "RequestExpired",
        "NotAuthorized",
        # the function's own configuration
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "EC2AccessDeniedException",
        "InvalidSubnetIDException",
        "InvalidSecurityGroupIDException",
        "InvalidZipFileException",
        "InvalidRuntimeException",
        "EFSMountFailureException",
        "S3FilesMountFailureException",
        "RuntimeVersionDeletedException",
        "RuntimeAliasDeletedException",
        "CodeArtifactUserDeletedException",
        "CodeArtifactUserFailedException",
    }
)

# Passing conditions (function updating, ENIs being created, EFS hiccups): worth a retry even
# though their status is 4xx. Every other 5xx is retryable too.
TRANSIENT_CODES = frozenset(
    {
        "ServiceException",
        "ServiceUnavailableException",
        "InternalFailure",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "SnapStartNotReadyException",
        "SnapStartTimeoutException",
        "CodeArtifactUserPendingException",
        "EC2ThrottledException",
        "EC2UnexpectedException",
        "ENILimitReachedException",
        "ENINotReadyException",
        "SubnetIPAddressLimitReachedException",
        "EFSIOException",
        "EFSMountConnectivityException",
        "EFSMountTimeoutException",
        "S3FilesMountConnectivityException",
        "S3FilesMountTimeoutException",
    }
)
TRANSIENT_STATUSES = frozenset({408, 409})
FATAL_STATUSES = frozenset({401, 403, 404})

# The credential source itself failed (no credentials anywhere, a broken profile, SSO expired,
# the metadata service unreachable after botocore's own retries): nothing will work this run.
CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    bx.NoCredentialsError,
    bx.PartialCredentialsError,
    bx.CredentialRetrievalError,
    bx.UnknownCredentialError,
    bx.RefreshWithMFAUnsupportedError,
    bx.MetadataRetrievalError,
    bx.NoAuthTokenError,
    bx.TokenRetrievalError,
    bx.SSOError,
    bx.ProfileNotFound,
    bx.InvalidConfigError,
    bx.ConfigNotFound,
)

# Transport failures. botocore wraps urllib3's errors (connection refused/reset, timeouts,
# truncated bodies) in these; the raw urllib3/OS ones are here in case one slips through a read.
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    bx.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, SSLError, proxy errors
    bx.HTTPClientError,  # ConnectionClosedError, ReadTimeoutError, ResponseStreamingError
    bx.IncompleteReadError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)

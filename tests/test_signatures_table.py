"""Every signature pattern pinned (issue 19 item 2, issue 10 item 5): texts as the runtimes and SDKs print them,
at least one per alternative of bot/evidence/signatures.py PATTERNS with its kind, and near misses.

Removing any single alternative, dropping IGNORECASE or checking the kinds in another order makes this
table fail (tests/test_signatures_table.py::test_every_alternative_is_needed; tools/signature_mutants.py
prints the same count).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.evidence.console.summary import summarise_console
from bot.evidence.signatures import PATTERNS, Classifier, ErrorKind, classify

ID, D, E, M, A = (ErrorKind.IDENTITY, ErrorKind.DEPENDENCY, ErrorKind.EVENT_SOURCE, ErrorKind.MEMORY,
                  ErrorKind.APPLICATION)

# (text as printed, kind). Comments name the alternative a row is the only one to exercise.
TABLE: list[tuple[str, ErrorKind]] = [
    # --- identity ---
    # authorizationpermissionmismatch: the error code line of an Azure Storage SDK error
    ("ErrorCode:AuthorizationPermissionMismatch", ID),
    # authenticationfailed: Storage rejecting a key or SAS (azure-storage-queue)
    ("azure.core.exceptions.ClientAuthenticationError: Server failed to authenticate the request. Make sure the "
     "value of Authorization header is formed correctly including the signature.\nErrorCode:AuthenticationFailed", ID),
    # 401, 403
    ("urllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='api.contoso.com', port=443): Max retries "
     "exceeded with url: /v1/orders (Caused by ResponseError('too many 401 error responses'))", ID),
    ("Response status code does not indicate success: 403.", ID),
    # forbidden: Key Vault ForbiddenByPolicy / ForbiddenByRbac (azure-keyvault-secrets)
    ("azure.core.exceptions.HttpResponseError: (Forbidden) The user, group or application 'appid=3f2a9c1e;"
     "oid=9f8e7d6c;iss=https://sts.windows.net/72f988bf/' does not have secrets get permission on key vault "
     "'kv-orders;location=westeurope'.\nCode: Forbidden\nInner error: {\n    \"code\": \"ForbiddenByPolicy\"\n}", ID),
    ("Inner error: {\"code\":\"ForbiddenByRbac\"}", ID),
    # unauthori[sz]ed: ACR pull, Service Bus 'Listen' claim
    ('Error response from daemon: Head "https://contoso.azurecr.io/v2/orders/manifests/1.5.0": unauthorized: '
     "authentication required", ID),
    ("Azure.Messaging.ServiceBus.ServiceBusException: Unauthorized access. 'Listen' claim(s) are required to "
     "perform this operation. Resource: 'sb://sb-orders.servicebus.windows.net/orders'.", ID),
    # managedidentitycredential
    ("azure.identity._exceptions.CredentialUnavailableError: ManagedIdentityCredential authentication unavailable. "
     "No identity has been assigned to this resource.", ID),
    # identity not found: IMDS answering for a user-assigned identity the resource does not carry
    ('{"error":"invalid_request","error_description":"Identity not found"}', ID),
    # not authorized to perform: Key Vault RBAC
    ("Azure.RequestFailedException: Caller is not authorized to perform action on resource.", ID),
    # does not have authorization: ARM AuthorizationFailed
    ("The client '3f2a9c1e-1111-2222-3333-444455556666' with object id '3f2a9c1e-1111-2222-3333-444455556666' "
     "does not have authorization to perform action 'Microsoft.Storage/storageAccounts/listKeys/action'", ID),
    # access denied: MySQL
    ("pymysql.err.OperationalError: (1045, \"Access denied for user 'app'@'10.0.0.4' (using password: YES)\")", ID),
    # permission denied: PostgreSQL
    ("psycopg2.errors.InsufficientPrivilege: permission denied for table orders", ID),
    # unable to fetch secret
    ("Unable to fetch secret 'orders-db-password' from Key Vault 'kv-orders'", ID),
    # identity wins over dependency: a 403 after a retry that timed out is still a 403
    ("azure.core.exceptions.HttpResponseError: Operation returned an invalid status 'Forbidden' after the "
     "first attempt timed out", ID),

    # --- event source ---
    # queuenotfound / the specified queue does not exist (azure-storage-queue, one line each)
    ("ErrorCode:QueueNotFound", E),
    ("azure.core.exceptions.ResourceNotFoundError: The specified queue does not exist.", E),
    # messagingentitynotfound (Service Bus)
    ("Azure.Messaging.ServiceBus.ServiceBusException: The messaging entity 'sb-orders:queue:orders' could not be "
     "found. To know more visit https://aka.ms/sbResourceMgrExceptions. (MessagingEntityNotFound)", E),
    # event source wins over dependency
    ("The specified queue does not exist. RequestId:3f2a9c1e Time:2026-11-28T09:26:13Z after a timeout", E),

    # --- memory ---
    ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", M),
    ("MemoryError: Unable to allocate 3.73 GiB for an array with shape (500000000,) and data type float64", M),
    ('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', M),
    ("fatal error: runtime: out of memory", M),
    ("Unhandled exception. System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.",
     M),
    # memory wins over dependency
    ("java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource "
     "limits reached (connection timed out waiting for a thread)", M),

    # --- dependency ---
    ("ConnectionRefusedError: [Errno 111] Connection refused", D),
    ("psycopg2.OperationalError: could not connect to server: No such file or directory", D),
    ("ConnectionResetError: [Errno 104] Connection reset by peer", D),
    ("dial tcp 10.0.0.4:5432: connect: connection timed out", D),
    ('psycopg2.OperationalError: connection to server at "orders-db" (10.0.0.4), port 5432 failed: '
     "timeout expired", D),
    ("Error: connect ECONNREFUSED 10.0.0.4:5432", D),
    ("Error: connect ETIMEDOUT 10.0.0.4:443", D),
    ("Error: connect EHOSTUNREACH 10.0.0.4:443", D),
    ("dial tcp 10.0.0.4:5432: connect: no route to host", D),
    ("socket.gaierror: [Errno -2] Name or service not known", D),
    ("socket.gaierror: [Errno -3] Temporary failure in name resolution", D),
    ("Error: getaddrinfo ENOTFOUND orders-db.postgres.database.azure.com", D),
    ("<html><head><title>Service Unavailable</title></head><body>The service is temporarily down.</body></html>",
     D),
    ("<html><head><title>Bad Gateway</title></head></html>", D),
    ("requests.exceptions.HTTPError: 503 Server Error: Service Temporarily Down for url: https://api.contoso.com/", D),
    ("psycopg2.OperationalError: server closed the connection unexpectedly", D),
    ("pymysql.err.OperationalError: (1040, 'Too many connections')", D),
    ("OSError: [Errno 101] Network is unreachable", D),

    # --- application, and near misses that mention the words but name none of the kinds ---
    ("KeyError: 'customer_id'", A),
    ("panic: runtime error: invalid memory address or nil pointer dereference", A),
    ("ValueError: invalid literal for int() with base 10: 'N/A'", A),
    ("Processed 500 orders in 4032 ms", A),            # 500 is a count, not a status: still application
    ("uploaded 1403 invoices", A),                      # 403 inside a number is not a status
    ("TypeError: Cannot read properties of undefined (reading 'id')", A),
    ("Identity provider returned a malformed response", A),
    ("The specified blob does not exist.", A),
    ("memory usage 2.1 GiB of 4 GiB", A),
]

# Lines that mention failure words but report none: no signature at all.
NOT_ERRORS = [
    "2026-11-28 09:26:13,417 INFO worker Batch done: 120 processed, 0 errors",   # a success line with "errors"
    '{"level":"info","msg":"retrying after timeout... succeeded"}',               # a retry notice that ended well
    "Retry 2/3 after connection reset succeeded",
    "2026-11-28 09:26:13,417 WARNING worker timeout reading the queue, retrying in 5s (attempt 1/3)",
    "0 errors",
    "Export finished: 18 files, no errors",
    "errors=0 skipped=2",
    "2026-11-28T09:26:13.417Z DEBUG worker.db connection refused by replica 2, trying replica 1",
    '{"@t":"2026-11-28T09:26:13Z","@mt":"Checked {Count} queues, none forbidden","Count":3}',
]


@pytest.mark.parametrize(("text", "kind"), TABLE, ids=[f"{k.value}-{i}" for i, (_, k) in enumerate(TABLE)])
def test_text_is_classified(text: str, kind: ErrorKind) -> None:
    assert classify(text) is kind


@pytest.mark.parametrize("line", NOT_ERRORS)
def test_near_misses_are_not_errors(line: str) -> None:
    row = {"TimeGenerated": datetime(2026, 11, 28, 9, 26, 13, tzinfo=UTC), "ReplicaName": "job-e1-r1",
           "ExecutionName": "job-e1", "Stream": "stdout", "Log": line}
    assert summarise_console([row]) == []


def table_failures(classifier: Classifier) -> int:
    """How many rows of the table `classifier` gets wrong."""
    return sum(classifier(text) is not kind for text, kind in TABLE)


def mutants() -> list[tuple[str, Classifier]]:
    """Each alternative dropped in turn; IGNORECASE dropped; the kinds checked in reverse order."""
    out = [(f"drop {pattern!r} ({kind.value})", Classifier(PATTERNS[:i] + PATTERNS[i + 1:]))
           for i, (pattern, kind) in enumerate(PATTERNS)]
    out.append(("case-sensitive", Classifier(PATTERNS, flags=0)))
    kinds = list(dict.fromkeys(kind for _, kind in PATTERNS))
    reordered = tuple(entry for kind in reversed(kinds) for entry in PATTERNS if entry[1] is kind)
    out.append(("kinds in reverse order", Classifier(reordered)))
    return out


def test_the_table_passes_unmutated() -> None:
    assert table_failures(Classifier()) == 0


def test_every_alternative_is_needed() -> None:
    survivors = [name for name, classifier in mutants() if table_failures(classifier) == 0]
    assert survivors == []


def test_patterns_are_plain_alternatives_of_known_kinds() -> None:
    for pattern, kind in PATTERNS:
        re.compile(pattern)
        assert "|" not in pattern, "one alternative per entry, so each can be dropped alone"
        assert kind is not ErrorKind.APPLICATION

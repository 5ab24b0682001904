"""NetSuite SuiteTalk REST connector: SuiteQL for change detection, counts and totals, the record API for bodies
and writes (batch operations as async jobs), token-based or OAuth 2.0 client-credentials auth, signed webhooks.

One module per concern: `records` (record types, shapes, errors), `suiteql` (query formats, rows as records),
`auth`, `reading`, `writing`, `webhooks`, `counts`, and `connector`, the class the registry serves (importing this
package registers it).
"""
from connectors.netsuite.auth import (
    ClientCredentialsAuth,
    TbaSigner,
    TokenBasedAuth,
    client_assertion,
    oauth1_base_string,
    oauth1_signature,
    realm,
    tba_header,
)
from connectors.netsuite.connector import NetSuiteConnector
from connectors.netsuite.records import CUSTOMER_FIXED_STATUSES, SUITEQL_TABLES, vendor_error
from connectors.netsuite.webhooks import webhook_signature
from connectors.netsuite.writing import COLLECTION_CONTENT_TYPE

__all__ = ["COLLECTION_CONTENT_TYPE", "CUSTOMER_FIXED_STATUSES", "SUITEQL_TABLES", "ClientCredentialsAuth",
           "NetSuiteConnector", "TbaSigner", "TokenBasedAuth", "client_assertion", "oauth1_base_string",
           "oauth1_signature", "realm", "tba_header", "vendor_error", "webhook_signature"]

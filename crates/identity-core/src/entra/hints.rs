//! What to do about the AADSTS errors people meet most.

/// A fix for a known AADSTS code.
pub(super) fn fix_for(code: i64) -> Option<&'static str> {
    Some(match code {
        7000215 => {
            "the client secret is wrong: use the secret's Value (not its Secret ID) from the app registration's \"Certificates & secrets\" page"
        }
        7000222 => {
            "the client secret has expired: create a new secret for the app registration and use its value"
        }
        700016 => {
            "no application with this client id exists in the tenant: check the client id and tenant id, and that the app is registered or consented there"
        }
        90002 | 900023 => {
            "the tenant was not found: check the tenant id and that the authority host is the tenant's cloud"
        }
        1002012 => {
            "client credential flows need scopes ending in /.default, such as https://vault.azure.net/.default"
        }
        70011 => {
            "ask for one resource's /.default scope per request, such as https://vault.azure.net/.default"
        }
        700024 => {
            "the client assertion is expired or not yet valid: check this machine's clock and the assertion's lifetime"
        }
        700027 => {
            "the client assertion's signature did not verify: check that the certificate or key is the one registered on the app"
        }
        70021 | 700211 | 700212 | 700213 => {
            "no federated identity credential on the app matches the token's issuer, subject and audience: check the app's federated credentials"
        }
        50012 => "the client assertion was rejected: check its audience, issuer and subject",
        50027 => {
            "the client assertion is not a well-formed JWT: check what the assertion source returns"
        }
        500011 => {
            "the resource in the scope was not found in the tenant: check the scope's resource URI"
        }
        _ => return None,
    })
}

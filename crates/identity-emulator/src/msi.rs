//! Managed identity endpoints: IMDS, App Service, Azure Arc, Azure ML, Cloud
//! Shell and Service Fabric, each with its own request shape, as the hosts
//! serve them.

use crate::{
    entra::now_secs,
    log::LoggedRequest,
    reply::Reply,
    state::{Shared, State},
};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// IMDS's path.
pub(crate) const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// Where the other sources live on the emulator.
pub(crate) const APP_SERVICE_PATH: &str = "/msi/token";
pub(crate) const ARC_PATH: &str = "/arc/token";
pub(crate) const AZURE_ML_PATH: &str = "/azureml/token";
pub(crate) const CLOUD_SHELL_PATH: &str = "/cloudshell/token";
pub(crate) const SERVICE_FABRIC_PATH: &str = "/sf/token";

/// The value hosts put in `IDENTITY_HEADER` / `MSI_SECRET`: a secret shared
/// between the host's identity endpoint and the app.
pub const MANAGED_IDENTITY_SECRET: &str = "emulator-identity-header~not-a-real-secret";

/// A managed identity the emulator's "machine" has.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagedIdentity {
    /// Client (application) id.
    pub client_id: String,
    /// Object (principal) id.
    pub object_id: String,
    /// Azure resource id.
    pub resource_id: String,
}

impl ManagedIdentity {
    pub(crate) fn generate(name: &str) -> Self {
        Self {
            client_id: uuid::Uuid::new_v4().to_string(),
            object_id: uuid::Uuid::new_v4().to_string(),
            resource_id: format!(
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            ),
        }
    }
}

/// What the machine's identity endpoints know.
#[derive(Debug)]
pub(crate) struct MachineIdentities {
    pub(crate) system: Option<ManagedIdentity>,
    pub(crate) user_assigned: Vec<ManagedIdentity>,
    pub(crate) lifetime_secs: i64,
    /// Arc: where challenge key files are written.
    pub(crate) arc_directory: PathBuf,
    /// Arc: a realm to announce instead of a fresh file in the directory.
    pub(crate) arc_realm_override: Option<PathBuf>,
    /// Arc: the key the next authorized request must present.
    pub(crate) arc_key: Option<String>,
}

impl MachineIdentities {
    pub(crate) fn new(arc_directory: PathBuf) -> Self {
        let mut system = ManagedIdentity::generate("system");
        system.resource_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.Compute/virtualMachines/emulator-vm".into();
        Self {
            system: Some(system),
            user_assigned: Vec::new(),
            lifetime_secs: 86_399,
            arc_directory,
            arc_realm_override: None,
            arc_key: None,
        }
    }
}

/// The id kinds, in `Source::id_parameters` order.
const KINDS: [&str; 3] = ["client_id", "object_id", "msi_res_id"];

/// Which host's dialect a request speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Imds,
    AppService,
    Arc,
    AzureMl,
    CloudShell,
    ServiceFabric,
}

impl Source {
    /// The query parameters that select a user-assigned identity, by kind.
    fn id_parameters(self) -> [Option<&'static str>; 3] {
        match self {
            Self::Imds | Self::Arc => [Some("client_id"), Some("object_id"), Some("msi_res_id")],
            Self::AppService => [Some("client_id"), Some("object_id"), Some("mi_res_id")],
            Self::AzureMl => [Some("clientid"), None, None],
            Self::CloudShell | Self::ServiceFabric => [None, None, None],
        }
    }
}

fn error(status: u16, code: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "error": code, "error_description": description }),
    )
}

/// Whether `path` is one of the managed identity endpoints.
pub(crate) fn is_managed_identity_path(path: &str) -> bool {
    matches!(
        path.trim_end_matches('/'),
        IMDS_PATH
            | APP_SERVICE_PATH
            | ARC_PATH
            | AZURE_ML_PATH
            | CLOUD_SHELL_PATH
            | SERVICE_FABRIC_PATH
    )
}

/// Routes a managed identity request, or `None` when the path is not one.
pub(crate) fn route(shared: &Shared, request: &LoggedRequest) -> Option<Reply> {
    let path = request.path.trim_end_matches('/');
    let source = match path {
        IMDS_PATH => Source::Imds,
        APP_SERVICE_PATH => Source::AppService,
        ARC_PATH => Source::Arc,
        AZURE_ML_PATH => Source::AzureMl,
        CLOUD_SHELL_PATH => Source::CloudShell,
        SERVICE_FABRIC_PATH => Source::ServiceFabric,
        _ => return None,
    };
    Some(serve(shared, source, request))
}

fn serve(shared: &Shared, source: Source, request: &LoggedRequest) -> Reply {
    // The host's own checks first: method, secret header, api-version.
    let method_ok = match source {
        Source::CloudShell => request.method == "POST",
        _ => request.method == "GET",
    };
    if !method_ok {
        return error(
            405,
            "invalid_request",
            &format!("{} is not accepted here", request.method),
        );
    }
    let secret_header = match source {
        Source::Imds | Source::Arc | Source::CloudShell => None,
        Source::AppService => Some("x-identity-header"),
        Source::AzureMl | Source::ServiceFabric => Some("secret"),
    };
    if let Some(header) = secret_header
        && request.header(header) != Some(MANAGED_IDENTITY_SECRET)
    {
        return error(
            401,
            "unauthorized_client",
            &format!("the {header} header is missing or wrong"),
        );
    }
    if matches!(source, Source::Imds | Source::Arc | Source::CloudShell)
        && !request
            .header("metadata")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return error(
            400,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let expected_version = match source {
        Source::Imds => &["2018-02-01", "2019-08-01"][..],
        Source::AppService => &["2019-08-01"][..],
        Source::Arc => &["2019-11-01", "2020-06-01", "2021-02-01"][..],
        Source::AzureMl => &["2017-09-01"][..],
        Source::ServiceFabric => &["2019-07-01-preview"][..],
        Source::CloudShell => &[][..],
    };
    if !expected_version.is_empty()
        && !request
            .query_value("api-version")
            .is_some_and(|v| expected_version.contains(&v))
    {
        return error(
            400,
            "invalid_request",
            &format!("api-version must be one of {}", expected_version.join(", ")),
        );
    }
    let resource = match source {
        Source::CloudShell => request.form_value("resource"),
        _ => request.query_value("resource"),
    };
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return error(
            400,
            "invalid_request",
            "Required audience parameter not specified",
        );
    };

    let mut state = shared.lock();
    if source == Source::Arc
        && let Some(challenge) = arc_challenge(&mut state, request)
    {
        return challenge;
    }
    // Which identity: the one named by the source's parameter, else system-assigned.
    let mut named: Option<(&'static str, String)> = None;
    for (index, parameter) in source.id_parameters().iter().enumerate() {
        if let Some(parameter) = parameter
            && let Some(value) = request.query_value(parameter)
        {
            named = Some((
                KINDS.get(index).copied().unwrap_or("client_id"),
                value.to_owned(),
            ));
        }
    }
    let identities = &state.identities;
    let identity = match &named {
        None => identities.system.clone(),
        Some((kind, value)) => identities
            .user_assigned
            .iter()
            .find(|id| {
                let field = match *kind {
                    "client_id" => &id.client_id,
                    "object_id" => &id.object_id,
                    _ => &id.resource_id,
                };
                field.eq_ignore_ascii_case(value)
            })
            .cloned(),
    };
    let Some(identity) = identity else {
        return error(400, "invalid_request", "Identity not found");
    };
    let lifetime = identities.lifetime_secs;
    drop(state);

    let now = now_secs();
    let tenant = crate::DEFAULT_TENANT;
    let issuer = Shared::token_issuer(tenant);
    let claims = json!({
        "aud": resource.strip_suffix("/.default").unwrap_or(resource),
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(lifetime),
        "appid": identity.client_id,
        "appidacr": "2",
        "idp": issuer,
        "idtyp": "app",
        "oid": identity.object_id,
        "sub": identity.object_id,
        "tid": tenant,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
        "xms_mirid": identity.resource_id,
    });
    let token = match shared.token_key.sign(&claims) {
        Ok(token) => token,
        Err(e) => return Reply::text(500, format!("emulator signing failed: {e}")),
    };
    let expires_on = now.saturating_add(lifetime);
    let mut body = Map::new();
    body.insert("access_token".into(), token.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("resource".into(), resource.into());
    // Each host's own spelling: strings where the host sends strings.
    match source {
        Source::Imds => {
            body.insert("expires_in".into(), lifetime.to_string().into());
            body.insert("expires_on".into(), expires_on.to_string().into());
            body.insert("ext_expires_in".into(), lifetime.to_string().into());
            body.insert("not_before".into(), now.to_string().into());
            body.insert("client_id".into(), identity.client_id.clone().into());
        }
        Source::AppService | Source::AzureMl => {
            body.insert("expires_on".into(), expires_on.to_string().into());
            body.insert("client_id".into(), identity.client_id.clone().into());
        }
        Source::Arc | Source::CloudShell => {
            body.insert("expires_in".into(), lifetime.into());
            body.insert("expires_on".into(), expires_on.into());
            body.insert("not_before".into(), now.into());
        }
        Source::ServiceFabric => {
            body.insert("expires_on".into(), expires_on.into());
        }
    }
    // Arc echoes the user-assigned id it issued for, so clients can check it.
    if source == Source::Arc
        && let Some((kind, _)) = &named
    {
        let echoed = match *kind {
            "client_id" => &identity.client_id,
            "object_id" => &identity.object_id,
            _ => &identity.resource_id,
        };
        body.insert((*kind).into(), echoed.clone().into());
    }
    Reply::json(200, &Value::Object(body))
}

/// Arc's challenge: without the right `Authorization: Basic <key>`, write a
/// fresh key file and answer 401 naming it.
fn arc_challenge(state: &mut State, request: &LoggedRequest) -> Option<Reply> {
    let presented = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "));
    let identities = &mut state.identities;
    if let (Some(presented), Some(expected)) = (presented, &identities.arc_key)
        && presented == expected
    {
        return None;
    }
    let (path, key) = match &identities.arc_realm_override {
        Some(path) => (
            path.clone(),
            std::fs::read_to_string(path).unwrap_or_default(),
        ),
        None => {
            let key = uuid::Uuid::new_v4().simple().to_string();
            let path = identities
                .arc_directory
                .join(format!("{}.key", uuid::Uuid::new_v4().simple()));
            if let Err(e) = write_key(&identities.arc_directory, &path, &key) {
                return Some(Reply::text(
                    500,
                    format!("emulator cannot write the Arc key file: {e}"),
                ));
            }
            (path, key)
        }
    };
    identities.arc_key = Some(key);
    Some(
        error(
            401,
            "unauthorized",
            "Basic authentication with the key file is required",
        )
        .with_header(
            "www-authenticate",
            format!("Basic realm={}", path.display()),
        ),
    )
}

fn write_key(directory: &Path, path: &Path, key: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(directory)?;
    std::fs::write(path, key)
}

//! The Azure Pipelines OIDC endpoint (`SYSTEM_OIDCREQUESTURI`): trades the
//! job's `System.AccessToken` for an OIDC token naming the service connection,
//! signed by the emulator's federation issuer.

use crate::{
    log::LoggedRequest,
    reply::Reply,
    state::{EXCHANGE_AUDIENCE, Shared},
};
use serde_json::json;
use std::time::Duration;

/// Where the endpoint lives.
pub(crate) const PATH: &str = "/pipelines/oidctoken";

/// The `System.AccessToken` the endpoint accepts. A fixed test value.
pub const PIPELINES_ACCESS_TOKEN: &str = "emulator-system-access-token~not-a-real-token";

/// The subject of OIDC tokens for a service connection, as Azure DevOps forms it.
pub fn pipelines_subject(service_connection_id: &str) -> String {
    format!("sc://emulator-org/emulator-project/{service_connection_id}")
}

pub(crate) fn serve(shared: &Shared, request: &LoggedRequest) -> Reply {
    let e2e_id = uuid::Uuid::new_v4().to_string();
    let edge_ref = format!(
        "Ref A: {} Ref B: EMU Ref C: emulator",
        uuid::Uuid::new_v4().simple()
    );
    let traced = |reply: Reply| {
        reply
            .with_header("x-vss-e2eid", e2e_id.clone())
            .with_header("x-msedge-ref", edge_ref.clone())
    };
    if request.method != "POST" {
        return traced(Reply::text(405, "the OIDC endpoint takes POST"));
    }
    if request.header("authorization") != Some(&format!("Bearer {PIPELINES_ACCESS_TOKEN}")) {
        return traced(Reply::json(
            401,
            &json!({ "message": "TF400813: The user is not authorized to access this resource." }),
        ));
    }
    if request.query_value("api-version") != Some("7.1") {
        return traced(Reply::json(
            400,
            &json!({ "message": "api-version 7.1 is required" }),
        ));
    }
    let Some(connection) = request
        .query_value("serviceConnectionId")
        .filter(|c| !c.is_empty())
    else {
        return traced(Reply::json(
            400,
            &json!({ "message": "serviceConnectionId is required" }),
        ));
    };
    let token = shared.federated_token(
        &pipelines_subject(connection),
        EXCHANGE_AUDIENCE,
        Duration::from_secs(600),
    );
    traced(Reply::json(200, &json!({ "oidcToken": token })))
}

//! Reading `az account get-access-token` results and failures.

use crate::{NAME, TOOL};
use azure_core::time::OffsetDateTime;
use identity_core::{
    CredentialError,
    cache::FetchedToken,
    entra::parse_seconds,
    error::anchors,
    process::{ProcessOutput, exit_description, quote},
};
use serde_json::Value;
use time::{PrimitiveDateTime, macros::format_description};

/// A successful run's token, or why there is none. Never quotes stdout,
/// which holds the token.
pub(crate) fn parse(
    output: &ProcessOutput,
    now: OffsetDateTime,
) -> Result<FetchedToken, CredentialError> {
    if output.status != Some(0) {
        return Err(failure(output));
    }
    // Warnings on stderr with exit code 0 are az's business, not a failure.
    let fields = TOOL.json_fields(output)?;
    let token = TOOL.token_field(&fields, "accessToken")?;
    let expires_on = match fields.get("expires_on").and_then(parse_seconds) {
        Some(epoch) => OffsetDateTime::from_unix_timestamp(epoch)
            .map_err(|_| TOOL.bad_output("an expires_on out of range"))?,
        None => match fields.get("expiresOn").and_then(Value::as_str) {
            Some(text) => utc_time(text)
                .ok_or_else(|| TOOL.bad_output("an expiresOn that is not a date and time"))?,
            None => return Err(TOOL.bad_output("JSON without expires_on or expiresOn")),
        },
    };
    TOOL.fetched(token, expires_on, now)
}

/// `expiresOn`, a zone-less "2026-11-22 14:06:05.000000": az prints local
/// time, and it runs with `TZ=UTC`, so this is UTC.
fn utc_time(text: &str) -> Option<OffsetDateTime> {
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(text.trim(), with_fraction)
        .or_else(|_| PrimitiveDateTime::parse(text.trim(), without))
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// A failed run: "not logged in" is *unavailable* (a chain moves on), the
/// rest failures, with az's own words (its `ERROR:` lines).
fn failure(output: &ProcessOutput) -> CredentialError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("WARNING"))
        .map(|l| l.strip_prefix("ERROR: ").unwrap_or(l))
        .take(3)
        .collect();
    let said = quote(&said.join(" "));
    let exit = exit_description(output);
    let logged_out = (stderr.contains("az login") || stderr.contains("az account set"))
        && !stderr.contains("AADSTS");
    if logged_out {
        return CredentialError::unavailable(
            NAME,
            format!("the Azure CLI is not logged in: {said}"),
        )
        .with_fix("run `az login` (with --tenant <tenant> if the app needs another tenant)")
        .with_anchor(anchors::AZURE_CLI);
    }
    CredentialError::failed(NAME, format!("az {exit}: {said}"))
        .with_fix("run `az account get-access-token --output json --scope <scope>` in a terminal to see the details")
        .with_anchor(anchors::AZURE_CLI)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: i32, stdout: &str, stderr: &str) -> ProcessOutput {
        ProcessOutput {
            status: Some(status),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_350_000).unwrap()
    }

    #[test]
    fn reads_both_expiry_fields() {
        let both = r#"{"accessToken":"t","expiresOn":"2026-11-22 06:07:18.000000","expires_on":1795356365,"tokenType":"Bearer"}"#;
        assert_eq!(
            parse(&run(0, both, "WARNING: something"), now())
                .unwrap()
                .token
                .expires_on
                .unix_timestamp(),
            1_795_356_365
        );
        let local_only = r#"{"accessToken":"t","expiresOn":"2026-11-22 14:06:05.000000"}"#;
        assert_eq!(
            parse(&run(0, local_only, ""), now())
                .unwrap()
                .token
                .expires_on
                .unix_timestamp(),
            1_795_356_365
        );
        let no_fraction = r#"{"accessToken":"t","expiresOn":"2026-11-22 14:06:05"}"#;
        assert!(parse(&run(0, no_fraction, ""), now()).is_ok());
    }

    #[test]
    fn failures_are_classified_and_never_quote_stdout() {
        let logged_out = parse(
            &run(1, "", "ERROR: Please run 'az login' to setup account.\n"),
            now(),
        )
        .unwrap_err();
        assert!(logged_out.is_unavailable());
        assert!(
            logged_out
                .message()
                .contains("Please run 'az login' to setup account."),
            "{}",
            logged_out.message()
        );
        let aadsts = parse(&run(1, "", "ERROR: AADSTS7000215: Invalid client secret provided. Trace ID: x\nRun the command below to authenticate interactively; additional arguments may be added as needed:\naz logout\naz login"), now()).unwrap_err();
        assert!(
            !aadsts.is_unavailable(),
            "AADSTS errors are failures even when they mention az login"
        );
        assert!(
            aadsts
                .message()
                .starts_with("az exited with 1: AADSTS7000215"),
            "{}",
            aadsts.message()
        );
        for stdout in [
            "not json",
            r#"{"accessToken":""}"#,
            r#"{"accessToken":"SECRET-TOKEN"}"#,
            r#"{"accessToken":"SECRET-TOKEN","expiresOn":"tomorrow"}"#,
            r#"{"accessToken":"SECRET-TOKEN","expires_on":1}"#,
        ] {
            let error = parse(&run(0, stdout, ""), now()).unwrap_err();
            assert!(
                !error.message().contains("SECRET-TOKEN"),
                "{}",
                error.message()
            );
        }
    }
}

//! Running developer tools (`az`, `azd`) safely: a program and an argument
//! vector, never a shell command line; found on the `PATH` of the injected
//! environment; run from a fixed directory with stdin closed; output capped;
//! killed when it overruns its timeout or when the caller stops waiting.
//!
//! On Windows `az` and `azd` are `.cmd` scripts, which Windows runs through
//! `cmd.exe`. Rust's standard library quotes arguments for batch files and
//! refuses the ones it cannot pass safely; on top of that, every credential
//! validates its arguments against a conservative character set before
//! anything runs, so no argument can carry `&`, `|`, `%`, quotes or spaces
//! into a command line.

use crate::Env;
use std::{
    ffi::OsString,
    fmt, io,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How long a tool may run by default.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(10);
/// The most output read from a tool, per stream.
pub const MAX_PROCESS_OUTPUT: usize = 1024 * 1024;

/// A program to run.
#[derive(Clone)]
pub struct ProcessRequest {
    /// The program's path (see [`find_program`]).
    pub program: PathBuf,
    /// Its arguments, one element each: never a command line.
    pub args: Vec<OsString>,
    /// The environment: `None` inherits this process's; `Some` is exactly these.
    pub env: Option<Vec<(String, String)>>,
    /// Variables set on top of `env` (such as `TZ=UTC`).
    pub extra_env: Vec<(String, String)>,
    /// Where it runs.
    pub current_dir: PathBuf,
    /// When it is killed.
    pub timeout: Duration,
    /// The most bytes read from each of stdout and stderr.
    pub max_output: usize,
}

// The environment can hold secrets (AZURE_CLIENT_SECRET...): names only.
impl fmt::Debug for ProcessRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names =
            |vars: &[(String, String)]| vars.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        f.debug_struct("ProcessRequest")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &self.env.as_deref().map(names))
            .field("extra_env", &names(&self.extra_env))
            .field("current_dir", &self.current_dir)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What a program printed and how it ended.
#[derive(Clone, Default)]
pub struct ProcessOutput {
    /// The exit code; `None` when a signal ended it.
    pub status: Option<i32>,
    /// Standard output (at most `max_output` bytes).
    pub stdout: Vec<u8>,
    /// Standard error (at most `max_output` bytes).
    pub stderr: Vec<u8>,
}

// stdout holds the tool's token: lengths only.
impl fmt::Debug for ProcessOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessOutput")
            .field("status", &self.status)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

/// Why a program produced no output to read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// It could not be started because it does not exist.
    NotFound,
    /// It ran longer than its timeout and was killed.
    TimedOut(Duration),
    /// It printed more than the cap on one stream and was killed.
    TooMuchOutput(usize),
    /// Starting or waiting for it failed.
    Io(io::Error),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("the program was not found"),
            Self::TimedOut(after) => write!(
                f,
                "it did not finish within {} and was stopped",
                crate::http::describe_duration(*after)
            ),
            Self::TooMuchOutput(limit) => {
                write!(f, "it printed more than {limit} bytes and was stopped")
            }
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProcessError {}

/// Runs programs for the developer-tool credentials. Replace it to run tools
/// some other way (in tests, in a sandbox).
#[async_trait::async_trait]
pub trait Executor: Send + Sync + fmt::Debug {
    /// Runs `request` to its end (or its timeout).
    async fn run(&self, request: ProcessRequest) -> Result<ProcessOutput, ProcessError>;
}

/// Runs programs as tokio child processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioExecutor;

/// The default executor, as the official crate's `new_executor()` names it.
pub fn new_executor() -> std::sync::Arc<dyn Executor> {
    std::sync::Arc::new(TokioExecutor)
}

#[async_trait::async_trait]
impl Executor for TokioExecutor {
    async fn run(&self, request: ProcessRequest) -> Result<ProcessOutput, ProcessError> {
        let mut command = tokio::process::Command::new(&request.program);
        command
            .args(&request.args)
            .current_dir(&request.current_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped future, dropped child: the tool is killed, never left behind.
            .kill_on_drop(true);
        if let Some(env) = &request.env {
            command.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
        }
        command.envs(request.extra_env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ProcessError::NotFound,
            _ => ProcessError::Io(e),
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(ProcessError::Io(io::Error::other(
                "the child's output pipes are missing",
            )));
        };
        let limit = request.max_output;
        let work = async {
            let (stdout, stderr) =
                tokio::try_join!(read_capped(stdout, limit), read_capped(stderr, limit))?;
            let status = child.wait().await.map_err(ProcessError::Io)?;
            Ok::<_, ProcessError>(ProcessOutput {
                status: status.code(),
                stdout,
                stderr,
            })
        };
        match tokio::time::timeout(request.timeout, work).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(error)) => {
                let _ = child.kill().await;
                Err(error)
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(ProcessError::TimedOut(request.timeout))
            }
        }
    }
}

/// Reads a stream to its end, failing once it passes `limit` bytes.
async fn read_capped(
    mut stream: impl AsyncRead + Unpin,
    limit: usize,
) -> Result<Vec<u8>, ProcessError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).await.map_err(ProcessError::Io)?;
        if read == 0 {
            return Ok(out);
        }
        if out.len() + read > limit {
            return Err(ProcessError::TooMuchOutput(limit));
        }
        out.extend_from_slice(chunk.get(..read).unwrap_or_default());
    }
}

/// Finds `name` on the `PATH` of `env` (on Windows also `name.cmd`,
/// `name.exe`, `name.bat`, through `PATHEXT` order).
pub fn find_program(env: &Env, name: &str) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    let separator = if cfg!(windows) { ';' } else { ':' };
    let candidates: Vec<String> = if cfg!(windows) {
        [".cmd", ".exe", ".bat", ""]
            .iter()
            .map(|ext| format!("{name}{ext}"))
            .collect()
    } else {
        vec![name.to_owned()]
    };
    path.split(separator)
        .filter(|dir| !dir.is_empty())
        .find_map(|dir| {
            candidates
                .iter()
                .map(|file| Path::new(dir).join(file))
                .find(|candidate| is_executable(candidate))
        })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Where tools run: `/bin` on Unix, `%SYSTEMROOT%` on Windows (never the
/// app's directory, which could hold a planted `az`).
pub fn tool_directory(env: &Env) -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(
            env.var("SYSTEMROOT")
                .unwrap_or_else(|| r"C:\Windows".into()),
        )
    } else {
        PathBuf::from("/bin")
    }
}

/// A developer tool as a credential runs it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The credential's name, for errors.
    pub credential: &'static str,
    /// The program's name on the `PATH` (`az`, `azd`).
    pub program: &'static str,
    /// What to do when it is not installed.
    pub install_hint: &'static str,
    /// What to do when its output cannot be read.
    pub output_hint: &'static str,
    /// The troubleshooting anchor.
    pub anchor: &'static str,
}

/// The most of a tool's error text quoted in an error.
const MAX_QUOTED_CHARS: usize = 400;

impl Tool {
    /// Runs the tool with `args` (already validated), from [`tool_directory`],
    /// with the environment of `env` plus `extra_env`.
    ///
    /// Not installed (not on `PATH`, exit code 127, "is not recognized") is an
    /// *unavailable* error; a timeout, too much output or an I/O failure is a
    /// failed one. The exit code and output are the caller's to judge.
    pub async fn run(
        &self,
        executor: &dyn Executor,
        env: &Env,
        args: Vec<OsString>,
        extra_env: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<ProcessOutput, crate::CredentialError> {
        let not_installed = || {
            crate::CredentialError::unavailable(
                self.credential,
                format!("{} is not installed or not on PATH", self.program),
            )
            .with_fix(self.install_hint)
            .with_anchor(self.anchor)
        };
        let program = find_program(env, self.program).ok_or_else(not_installed)?;
        let request = ProcessRequest {
            program,
            args,
            env: env.fixed_vars(),
            extra_env,
            current_dir: tool_directory(env),
            timeout,
            max_output: MAX_PROCESS_OUTPUT,
        };
        let output = executor.run(request).await.map_err(|error| match error {
            ProcessError::NotFound => not_installed(),
            ProcessError::TimedOut(_) => crate::CredentialError::failed(self.credential, format!("{} {error}", self.program))
                .with_fix("check that the tool works from a terminal (it may be waiting for a login prompt or the network); raise process_timeout if it is just slow")
                .with_anchor(self.anchor),
            other => crate::CredentialError::failed(self.credential, format!("running {} failed: {other}", self.program)).with_anchor(self.anchor),
        })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status == Some(127)
            || stderr.contains("is not recognized as an internal or external command")
        {
            return Err(not_installed());
        }
        Ok(output)
    }
}

impl Tool {
    /// Output that is not what the tool should print. The message never
    /// quotes stdout, which may hold a token.
    pub fn bad_output(&self, why: &str) -> crate::CredentialError {
        crate::CredentialError::failed(self.credential, format!("{} printed {why}", self.program))
            .with_fix(self.output_hint)
            .with_anchor(self.anchor)
    }

    /// A successful run's stdout as a JSON object.
    pub fn json_fields(
        &self,
        output: &ProcessOutput,
    ) -> Result<serde_json::Map<String, serde_json::Value>, crate::CredentialError> {
        match serde_json::from_slice(&output.stdout) {
            Ok(serde_json::Value::Object(fields)) => Ok(fields),
            _ => Err(self.bad_output(&format!(
                "something other than a JSON object ({} bytes)",
                output.stdout.len()
            ))),
        }
    }

    /// The non-empty string field `name`, trimmed (the token).
    pub fn token_field(
        &self,
        fields: &serde_json::Map<String, serde_json::Value>,
        name: &str,
    ) -> Result<String, crate::CredentialError> {
        match fields.get(name) {
            Some(serde_json::Value::String(t)) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
            _ => Err(self.bad_output(&format!("JSON without a `{name}`"))),
        }
    }

    /// The token, unless it has already expired.
    pub fn fetched(
        &self,
        token: String,
        expires_on: azure_core::time::OffsetDateTime,
        now: azure_core::time::OffsetDateTime,
    ) -> Result<crate::cache::FetchedToken, crate::CredentialError> {
        if expires_on <= now {
            return Err(self.bad_output("a token that has already expired"));
        }
        let utc = expires_on.to_offset(time::UtcOffset::UTC);
        Ok(crate::cache::FetchedToken::new(crate::AccessToken::new(
            token, utc,
        )))
    }
}

/// How a run ended, for messages: "exited with 1", "was killed by a signal".
pub fn exit_description(output: &ProcessOutput) -> String {
    output.status.map_or_else(
        || "was killed by a signal".to_owned(),
        |code| format!("exited with {code}"),
    )
}

/// A tool's own words on one line, at most 400 characters.
pub fn quote(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX_QUOTED_CHARS {
        line.chars().take(MAX_QUOTED_CHARS).collect::<String>() + "…"
    } else {
        line
    }
}

/// Checks a value that becomes a tool argument: not empty, not an option
/// (`-...`), and only characters `allowed` accepts.
pub fn check_argument(
    credential: &'static str,
    what: &str,
    value: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), crate::CredentialError> {
    if value.is_empty() || value.starts_with('-') || !value.chars().all(allowed) {
        return Err(crate::CredentialError::failed(
            credential,
            format!("{what} {value:?} is not accepted: it must not start with '-' and may hold only letters, digits and a few punctuation marks"),
        )
        .with_fix("pass the value exactly as Azure shows it (scopes like https://vault.azure.net/.default)")
        .with_anchor(crate::error::anchors::INVALID_INPUT));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(script: &str, timeout: Duration) -> ProcessRequest {
        ProcessRequest {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            env: Some(vec![("PATH".into(), "/usr/bin:/bin".into())]),
            extra_env: Vec::new(),
            current_dir: PathBuf::from("/"),
            timeout,
            max_output: 1024,
        }
    }

    #[tokio::test]
    async fn runs_captures_and_reports_exit_codes() {
        let output = TokioExecutor
            .run(request(
                "echo out; echo err >&2; exit 3",
                Duration::from_secs(10),
            ))
            .await
            .unwrap();
        assert_eq!(
            (
                output.status,
                output.stdout.as_slice(),
                output.stderr.as_slice()
            ),
            (Some(3), &b"out\n"[..], &b"err\n"[..])
        );
    }

    #[tokio::test]
    async fn overruns_are_stopped() {
        let slow = TokioExecutor
            .run(request("exec sleep 30", Duration::from_millis(200)))
            .await;
        assert!(matches!(slow, Err(ProcessError::TimedOut(_))), "{slow:?}");
        let loud = TokioExecutor
            .run(request("head -c 5000 /dev/zero", Duration::from_secs(10)))
            .await;
        assert!(
            matches!(loud, Err(ProcessError::TooMuchOutput(1024))),
            "{loud:?}"
        );
        let mut missing = request("", Duration::from_secs(1));
        missing.program = PathBuf::from("/nonexistent/az");
        assert!(matches!(
            TokioExecutor.run(missing).await,
            Err(ProcessError::NotFound)
        ));
    }

    #[test]
    fn debug_shows_variable_names_not_values() {
        let mut shown = request("true", Duration::from_secs(1));
        shown.env = Some(vec![(
            "AZURE_CLIENT_SECRET".into(),
            "TOPSECRET-VALUE".into(),
        )]);
        let text = format!("{shown:?}");
        assert!(
            text.contains("AZURE_CLIENT_SECRET") && !text.contains("TOPSECRET"),
            "{text}"
        );
    }

    #[test]
    fn programs_are_found_on_the_injected_path_only() {
        assert_eq!(
            find_program(&Env::from_vars([("PATH", "/nonexistent:/bin")]), "sh"),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            find_program(&Env::from_vars([("PATH", "/nonexistent")]), "sh"),
            None
        );
        assert_eq!(
            find_program(&Env::from_vars(Vec::<(String, String)>::new()), "sh"),
            None
        );
    }
}

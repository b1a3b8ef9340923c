//! Responses as plain data, before faults shape them into HTTP.

use serde_json::Value;

/// A response the emulator means to send.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string().into_bytes(),
        }
    }

    pub(crate) fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub(crate) fn not_found(path: &str) -> Self {
        Self::text(404, format!("the emulator has nothing at {path}"))
    }

    /// Replaces the body with a JSON object edited by `edit`, when the body is one.
    pub(crate) fn edit_json(
        mut self,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Self {
        if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&self.body) {
            edit(&mut map);
            self.body = Value::Object(map).to_string().into_bytes();
        }
        self
    }

    pub(crate) fn set_content_type(&mut self, value: &str) {
        self.headers.retain(|(n, _)| n != "content-type");
        self.headers.push(("content-type".into(), value.into()));
    }
}

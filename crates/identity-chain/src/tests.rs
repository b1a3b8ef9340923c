use super::*;
use azure_core::time::{Duration, OffsetDateTime};
use std::sync::atomic::AtomicUsize;

/// A link that answers as told and counts its calls.
#[derive(Debug)]
struct Scripted {
    answer: Result<&'static str, FailureKind>,
    calls: AtomicUsize,
}

fn link(answer: Result<&'static str, FailureKind>) -> Arc<Scripted> {
    Arc::new(Scripted {
        answer,
        calls: AtomicUsize::new(0),
    })
}

#[async_trait::async_trait]
impl TokenCredential for Scripted {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.answer {
            Ok(token) => Ok(AccessToken::new(
                token,
                OffsetDateTime::now_utc() + Duration::hours(1),
            )),
            Err(kind) => Err(
                CredentialError::failed("Scripted", format!("scripted {kind:?}"))
                    .with_kind(kind)
                    .with_fix("nothing")
                    .with_anchor(anchors::INVALID_INPUT)
                    .into_azure_error(),
            ),
        }
    }
}

fn chain(
    links: &[(&'static str, Arc<Scripted>)],
    options: ChainedTokenCredentialOptions,
) -> Arc<ChainedTokenCredential> {
    let links = links
        .iter()
        .map(|(n, l)| (Cow::Borrowed(*n), Arc::clone(l) as Arc<dyn TokenCredential>))
        .collect();
    ChainedTokenCredential::new(links, Some(options)).unwrap()
}

#[tokio::test]
async fn unavailable_links_are_passed_over_and_failures_stop_the_chain() {
    let (a, b, c) = (
        link(Err(FailureKind::Unavailable)),
        link(Ok("from-b")),
        link(Ok("from-c")),
    );
    let chain1 = chain(
        &[
            ("a", Arc::clone(&a)),
            ("b", Arc::clone(&b)),
            ("c", Arc::clone(&c)),
        ],
        Default::default(),
    );
    assert_eq!(
        chain1.get_token(&["s"], None).await.unwrap().token.secret(),
        "from-b"
    );
    assert_eq!(c.calls.load(Ordering::SeqCst), 0);
    let outcomes = chain1.last_attempt();
    assert!(
        matches!(outcomes[0].1, LinkOutcome::Unavailable(_))
            && matches!(outcomes[1].1, LinkOutcome::Chosen)
            && matches!(outcomes[2].1, LinkOutcome::NotTried)
    );

    let failing = link(Err(FailureKind::Failed));
    let stops = chain(
        &[("failing", Arc::clone(&failing)), ("later", Arc::clone(&c))],
        Default::default(),
    );
    let error = stops.get_token(&["s"], None).await.unwrap_err();
    assert!(!identity_core::is_unavailable(&error));
    assert!(error.to_string().contains("the chain stopped"), "{error}");
    assert_eq!(
        c.calls.load(Ordering::SeqCst),
        0,
        "a real failure is not hidden"
    );

    let continues = chain(
        &[("failing", failing), ("later", Arc::clone(&c))],
        ChainedTokenCredentialOptions {
            continue_on_failure: true,
            ..Default::default()
        },
    );
    assert_eq!(
        continues
            .get_token(&["s"], None)
            .await
            .unwrap()
            .token
            .secret(),
        "from-c"
    );
}

#[tokio::test]
async fn the_final_error_names_each_link_once_and_is_inspectable() {
    let chain = chain(
        &[
            ("first", link(Err(FailureKind::Unavailable))),
            ("second", link(Err(FailureKind::Unavailable))),
        ],
        Default::default(),
    );
    let error = chain.get_token(&["s"], None).await.unwrap_err();
    assert!(
        identity_core::is_unavailable(&error),
        "all unavailable: the chain is too"
    );
    let text = error.to_string();
    assert!(
        text.contains("first (unavailable): scripted Unavailable")
            && text.contains("second (unavailable)"),
        "{text}"
    );
    let details = CredentialError::find(&error).unwrap();
    let names: Vec<&str> = details.links().iter().map(|(n, _)| n.as_ref()).collect();
    assert_eq!(names, ["first", "second"]);
    assert!(details.links()[0].1.is_unavailable());
}

#[tokio::test]
async fn a_sticky_chain_keeps_its_first_success() {
    let (a, b) = (link(Ok("from-a")), link(Ok("from-b")));
    let chain = chain(
        &[("a", Arc::clone(&a)), ("b", b)],
        ChainedTokenCredentialOptions {
            sticky: true,
            ..Default::default()
        },
    );
    assert_eq!(chain.chosen(), None);
    chain.get_token(&["s"], None).await.unwrap();
    chain.get_token(&["s"], None).await.unwrap();
    assert_eq!(chain.chosen(), Some("a"));
    assert_eq!(a.calls.load(Ordering::SeqCst), 2);
    assert!(ChainedTokenCredential::new(Vec::new(), None).is_err());
}

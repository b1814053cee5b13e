//! `/metrics` (docs/contract.md §17): the real binary's own listener, in the Prometheus text
//! format, counting exactly the requests made, with no label that names a store or a person.

use crate::helpers::register_over_http;
use crate::logging::LoggingServer;

/// The value of the series `name{labels}` in the text exposition `text`.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn the_request_histogram_counts_the_requests_made_by_route_template_and_class() {
    let server = LoggingServer::start().await;
    let client = reqwest::Client::new();
    let owner =
        register_over_http(&client, &format!("{}/api/users", server.base), "metered", "Счётчик").await;
    for _ in 0..7 {
        let answer = client.get(format!("{}/api/users/permissions/", server.base)).send().await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    for n in 0..3 {
        // A member's path, with ids: counted under the template, not the id.
        let path = format!("{}/api/users/employees/{}/", server.base, 900 + n);
        let answer =
            client.get(path).bearer_auth(&owner.token).header("x-tenant-key", &owner.key).send().await;
        assert_eq!(answer.unwrap().status(), 404);
    }
    let unmatched = client.get(format!("{}/{}/secret-path", server.base, owner.key)).send().await.unwrap();
    assert_eq!(unmatched.status(), 404);

    let scraped = client.get(&server.metrics).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.unwrap();
    let count =
        |labels: &str| sample(&text, &format!("kassa_http_request_duration_seconds_count{{{labels}}}"));
    assert_eq!(count(r#"method="GET",route="/api/users/permissions/",status="2xx""#), Some(7.0), "{text}");
    assert_eq!(count(r#"method="GET",route="/api/users/employees/{id}/",status="4xx""#), Some(3.0), "{text}");
    assert_eq!(count(r#"method="POST",route="/api/users/auth/register/",status="2xx""#), Some(1.0), "{text}");
    assert_eq!(count(r#"method="GET",route="unmatched",status="4xx""#), Some(1.0), "{text}");
    for name in [
        "kassa_password_hashing_seconds_count",
        "kassa_store_provisioning_seconds_count",
        "kassa_db_circuit_open",
        "kassa_process_resident_memory_bytes",
    ] {
        assert!(text.lines().any(|line| line.starts_with(name)), "{name} missing: {text}");
    }
    assert_eq!(sample(&text, "kassa_store_provisioning_seconds_count"), Some(1.0));
    assert_eq!(sample(&text, "kassa_db_circuit_open"), Some(0.0));
    // Nothing that tells one store or one person from another.
    for personal in [owner.key.as_str(), "metered", owner.data["store"]["slug"].as_str().unwrap()] {
        assert!(!text.contains(personal), "{personal} is in the metrics");
    }
    server.stop().await;
}

//! The Table API's shapes: pagination, display values, versions, errors, gzip.

use std::collections::HashSet;

use support::client::*;
use support::server::*;

fn next_link(link: &str) -> Option<String> {
    link.split(',')
        .find(|part| part.ends_with("rel=\"next\""))
        .and_then(|part| part.split(';').next())
        .map(|url| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
}

#[tokio::test]
async fn a_pagination_walk_returns_every_record_exactly_once() {
    let server = start(300, &[]);
    let client = server.client("superviseur");
    for no_count in ["false", "true"] {
        let mut seen = Vec::new();
        let mut reply = client
            .list(
                CASES,
                &[
                    ("sysparm_limit", "37"),
                    ("sysparm_fields", "sys_id"),
                    ("sysparm_query", "ORDERBYDESCopened_at"),
                    ("sysparm_no_count", no_count),
                ],
            )
            .await
            .expect(200);
        let total = reply
            .header("x-total-count")
            .map(|t| t.parse::<usize>().unwrap());
        assert_eq!(total.is_some(), no_count == "false");
        let mut pages = 0;
        loop {
            pages += 1;
            seen.extend(reply.rows().iter().map(|r| s(&r["sys_id"]).to_string()));
            let link = reply.header("link").expect("Link header").to_string();
            assert!(link.contains("rel=\"first\""), "{link}");
            match next_link(&link) {
                Some(url) => {
                    assert!(
                        url.starts_with(&server.url) && url.contains("/api/now/table/"),
                        "{url}"
                    );
                    reply = client.get(&url).await.expect(200);
                }
                None => break,
            }
        }
        assert_eq!(pages, 300usize.div_ceil(37));
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), 300, "no_count={no_count}");
        assert_eq!(unique.len(), 300, "every record exactly once");
        if let Some(total) = total {
            assert_eq!(total, 300);
        }
    }
}

#[tokio::test]
async fn the_last_page_link_and_suppressed_headers() {
    let server = start(60, &[]);
    let client = server.client("superviseur");
    let reply = client
        .list(CASES, &[("sysparm_limit", "25"), ("sysparm_offset", "25")])
        .await
        .expect(200);
    let link = reply.header("link").unwrap();
    assert!(link.contains("sysparm_offset=0>;rel=\"prev\""), "{link}");
    assert!(link.contains("sysparm_offset=50>;rel=\"last\""), "{link}");
    let reply = client
        .list(
            CASES,
            &[
                ("sysparm_limit", "25"),
                ("sysparm_suppress_pagination_header", "true"),
            ],
        )
        .await
        .expect(200);
    assert!(reply.header("link").is_none());
}

#[tokio::test]
async fn values_are_strings_and_references_have_links() {
    let server = start(40, &[]);
    let client = server.client("demo");
    let case = client.find_case("assigned_toISNOTEMPTY").await;
    let mut references = 0;
    for (name, value) in case.as_object().unwrap() {
        match name.as_str() {
            "assigned_to" | "assignment_group" | "consumer" => {
                references += 1;
                let link = s(&value["link"]);
                let id = s(&value["value"]);
                assert_eq!(id.len(), 32);
                assert!(
                    link.starts_with(&server.url) && link.ends_with(id),
                    "{link}"
                );
            }
            _ => assert!(value.is_string(), "{name} = {value}"),
        }
    }
    assert_eq!(references, 3, "the three references were checked");
    assert_eq!(s(&case["comments"]), "", "journal fields read back empty");
    assert!(s(&case["number"]).starts_with("CS") && s(&case["number"]).len() == 9);
    let opened = s(&case["opened_at"]);
    assert!(opened.len() == 19 && &opened[10..11] == " ", "{opened}");
}

#[tokio::test]
async fn display_value_true_all_and_excluded_links() {
    let server = start(40, &[]);
    let client = server.client("demo");
    let id = s(&client.find_case("assigned_toISNOTEMPTY^state=10").await["sys_id"]).to_string();
    let path = format!("{CASES}/{id}");

    let shown = client
        .list(&path, &[("sysparm_display_value", "true")])
        .await
        .expect(200);
    let case = shown.result();
    assert_eq!(
        s(&case["state"]),
        "Ouvert",
        "labels in the agent's language"
    );
    assert!(
        case["assigned_to"]["display_value"]
            .as_str()
            .unwrap()
            .contains(' ')
    );
    assert!(case["assigned_to"]["link"].is_string());
    assert!(case["assigned_to"].get("value").is_none());

    let all = client
        .list(&path, &[("sysparm_display_value", "all")])
        .await
        .expect(200);
    let case = all.result();
    assert_eq!(s(&case["state"]["value"]), "10");
    assert_eq!(s(&case["state"]["display_value"]), "Ouvert");
    assert_eq!(s(&case["assignment_group"]["value"]).len(), 32);
    assert!(case["assignment_group"]["link"].is_string());

    let plain = client
        .list(&path, &[("sysparm_exclude_reference_link", "true")])
        .await
        .expect(200);
    assert_eq!(s(&plain.result()["assigned_to"]).len(), 32);
    let plain = client
        .list(
            &path,
            &[
                ("sysparm_exclude_reference_link", "true"),
                ("sysparm_display_value", "true"),
            ],
        )
        .await
        .expect(200);
    assert!(s(&plain.result()["assigned_to"]).contains(' '));
}

#[tokio::test]
async fn fields_restrict_the_record_and_unknown_names_are_ignored() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let reply = client
        .list(
            CASES,
            &[
                ("sysparm_fields", "number,state,no_such_field"),
                ("sysparm_limit", "3"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(reply.rows().len(), 3, "rows to check");
    for row in reply.rows() {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["number", "state"]);
    }
}

#[tokio::test]
async fn versions_one_and_two_differ_on_an_empty_list() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let empty = [("sysparm_query", "number=CS9999999")];
    let v2 = client
        .list("/api/now/v2/table/sn_customerservice_case", &empty)
        .await
        .expect(200);
    assert!(v2.rows().is_empty());
    client.list(CASES, &empty).await.expect(200);
    let v1 = client
        .list("/api/now/v1/table/sn_customerservice_case", &empty)
        .await
        .expect(404);
    assert_eq!(v1.body["status"], "failure");
    client
        .list("/api/now/v1/table/sn_customerservice_case", &[])
        .await
        .expect(200);
    client
        .list("/api/now/v3/table/sn_customerservice_case", &[])
        .await
        .expect(400);
}

#[tokio::test]
async fn errors_come_in_the_servicenow_envelope() {
    let server = start(20, &[]);
    let client = server.client("demo");
    let reply = client
        .list(CASES, &[("sysparm_query", "colourLIKEblue")])
        .await
        .expect(400);
    assert_eq!(reply.body["status"], "failure");
    assert!(reply.detail().contains("colour"), "{}", reply.body);
    assert!(reply.body["error"]["message"].is_string());
    let reply = client
        .list(CASES, &[("sysparm_query", "stateWITHIN1")])
        .await
        .expect(400);
    assert!(reply.detail().contains("WITHIN1"), "{}", reply.body);
    let reply = client
        .list(CASES, &[("sysparm_query", "state=open")])
        .await
        .expect(400);
    assert!(reply.detail().contains("not a number"), "{}", reply.body);
    let reply = client.get("/api/now/table/incident").await.expect(400);
    assert!(reply.detail().contains("incident"));
    client
        .get(&format!("{CASES}/{}", "0".repeat(32)))
        .await
        .expect(404);
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_ask() {
    let server = start(100, &[]);
    let raw = support::http_client().no_gzip().build().unwrap();
    let response = raw
        .get(format!("{}{CASES}", server.url))
        .basic_auth("superviseur", Some("demo"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("content-encoding").unwrap(), "gzip");
    let compressed = response.bytes().await.unwrap().len();
    // And a client with gzip on gets the same JSON, decoded.
    let client = server.client("superviseur");
    let rows = client.all_cases("sys_id,description").await;
    assert_eq!(rows.len(), 100);
    assert!(compressed < serde_json::to_vec(&rows).unwrap().len());
}

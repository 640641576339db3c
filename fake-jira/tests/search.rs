//! Search after the lifecycle: fields asked for, order, status categories, read-after-write
//! with `reconcileIssues`, pages; and label edits.

mod common;

use common::*;
use fake_jira::Flavor;
use serde_json::{json, Value};

fn keys(body: &Value) -> Vec<String> {
    body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_returns_the_fields_asked_for_in_the_order_asked() {
    let jira = fake(Flavor::Cloud).await;
    let (a, _) = create(&jira, Flavor::Cloud, &["det-1"]).await;
    let (b, _) = create(&jira, Flavor::Cloud, &["det-1"]).await;
    let (c, _) = create(&jira, Flavor::Cloud, &["det-1"]).await;
    // b is the oldest, then c, then a.
    jira.set_created_at(&b, "2026-01-01T00:00:00.000+0000");
    jira.set_created_at(&c, "2026-01-01T01:00:00.000+0200"); // 2025-12-31T23:00Z: older still
    jira.set_created_at(&a, "2026-03-01T00:00:00.000+0000");
    let search = |jql: &str, extra: Value| {
        let mut body = json!({"jql": jql});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        post(&jira, "/rest/api/3/search/jql", body)
    };
    let jql = "project = \"SEC\" AND labels = \"det-1\"";
    let (status, body) = search(&format!("{jql} ORDER BY created ASC"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), [c.clone(), b.clone(), a.clone()]);
    assert_eq!(
        body["issues"][0]["fields"],
        json!({}),
        "Cloud's default is ids only"
    );
    let (_, body) = search(&format!("{jql} ORDER BY created DESC"), json!({})).await;
    assert_eq!(keys(&body), [a.clone(), b.clone(), c.clone()]);
    let (_, body) = search(jql, json!({})).await;
    assert_eq!(
        keys(&body),
        [a.clone(), b.clone(), c.clone()],
        "newest first by default"
    );

    assert_eq!(
        transition(&jira, Flavor::Cloud, &b, "31", json!({}))
            .await
            .0,
        204
    );
    let (_, body) = search(
        &format!("{jql} AND statusCategory = Done"),
        json!({"fields": ["status", "resolution", "resolutiondate"]}),
    )
    .await;
    assert_eq!(keys(&body), [b.as_str()]);
    let fields = &body["issues"][0]["fields"];
    assert_eq!(fields.as_object().unwrap().len(), 3, "{fields}");
    assert_eq!(fields["status"]["name"], "Done");
    assert_eq!(fields["status"]["statusCategory"]["key"], "done");
    assert_eq!(fields["resolution"]["name"], "Done");
    assert!(fields["resolutiondate"].is_string());
    let (_, body) = search(
        &format!("{jql} AND statusCategory != Done ORDER BY created DESC"),
        json!({"fields": ["*all"]}),
    )
    .await;
    assert_eq!(keys(&body), [a.clone(), c.clone()]);
    let fields = &body["issues"][0]["fields"];
    assert_eq!(fields["resolution"], Value::Null);
    assert_eq!(fields["resolutiondate"], Value::Null);
    assert_eq!(fields["labels"], json!(["det-1"]));
    assert_eq!(fields["created"], "2026-03-01T00:00:00.000+0000");
    assert!(fields["summary"].is_string() && fields["updated"].is_string());

    // maxResults, and the next page.
    let (_, page1) = search(jql, json!({"maxResults": 2})).await;
    assert_eq!(keys(&page1), [a.clone(), b.clone()]);
    assert_eq!(page1["isLast"], false);
    let token = page1["nextPageToken"].as_str().unwrap();
    let (_, page2) = search(jql, json!({"maxResults": 2, "nextPageToken": token})).await;
    assert_eq!(keys(&page2), [c.as_str()]);
    assert_eq!(page2["isLast"], true);

    let (status, _) = search("statusCategory = Finished", json!({})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn reconcile_issues_sees_what_the_index_has_not_yet() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.defer_indexing = true);
    let (key, id) = create(&jira, Flavor::Cloud, &["det-2"]).await;
    let jql = "project = \"SEC\" AND labels = \"det-2\"";
    let (_, body) = post(&jira, "/rest/api/3/search/jql", json!({"jql": jql})).await;
    assert!(keys(&body).is_empty(), "not indexed yet");
    let numeric: u64 = id.parse().unwrap();
    let (status, body) = post(
        &jira,
        "/rest/api/3/search/jql",
        json!({"jql": jql, "reconcileIssues": [numeric]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), [key.as_str()]);
    // Listed but not matching the query: still left out.
    let (_, body) = post(
        &jira,
        "/rest/api/3/search/jql",
        json!({"jql": "project = \"SEC\" AND labels = \"other\"", "reconcileIssues": [numeric]}),
    )
    .await;
    assert!(keys(&body).is_empty());
    // The GET form takes a comma list.
    let (_, body) = get(
        &jira,
        &format!("/rest/api/3/search/jql?jql=labels%20%3D%20%22det-2%22&reconcileIssues={id}&fields=status"),
    )
    .await;
    assert_eq!(keys(&body), [key.as_str()]);
    assert_eq!(body["issues"][0]["fields"]["status"]["name"], "To Do");

    let many: Vec<u64> = (1..=51).collect();
    let (status, _) = post(
        &jira,
        "/rest/api/3/search/jql",
        json!({"jql": jql, "reconcileIssues": many}),
    )
    .await;
    assert_eq!(status, 400, "at most 50 ids");
    let (status, _) = post(
        &jira,
        "/rest/api/3/search/jql",
        json!({"jql": jql, "reconcileIssues": [key]}),
    )
    .await;
    assert_eq!(status, 400, "ids, not keys");
}

#[tokio::test]
async fn server_search_answers_every_field_and_a_total() {
    let jira = fake(Flavor::Server).await;
    let (key, _) = create(&jira, Flavor::Server, &["det-3"]).await;
    let (status, body) = post(
        &jira,
        "/rest/api/2/search",
        json!({"jql": "project = \"SEC\" AND labels = \"det-3\" AND statusCategory != Done ORDER BY created DESC"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
    assert_eq!(keys(&body), [key]);
    let fields = &body["issues"][0]["fields"];
    assert_eq!(fields["status"]["name"], "Open");
    assert_eq!(fields["status"]["statusCategory"]["key"], "new");
    assert_eq!(fields["resolution"], Value::Null);
}

#[tokio::test]
async fn labels_are_added_and_removed() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let jira = fake(flavor).await;
        let (key, _) = create(&jira, flavor, &["a", "b"]).await;
        let path = format!("{}/issue/{key}", api(flavor));
        let edit = |ops: Value| {
            call(
                &jira,
                "PUT",
                &path,
                Some(json!({"update": {"labels": ops}})),
            )
        };
        let before = jira.issue(&key).unwrap().updated;
        let (status, body) =
            edit(json!([{"remove": "a"}, {"add": "c"}, {"remove": "not-there"}])).await;
        assert_eq!(status, 204, "{body}");
        let issue = jira.issue(&key).unwrap();
        assert_eq!(issue.fields["labels"], json!(["b", "c"]));
        assert!(issue.updated >= before);

        let (status, body) = edit(json!([{"remove": "b"}, {"add": "has space"}])).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["errors"]["labels"],
            "The label 'has space' contains spaces which is invalid."
        );
        let (status, body) = edit(json!([{"remove": "x".repeat(256)}])).await;
        assert_eq!(status, 400);
        assert!(body["errors"]["labels"]
            .as_str()
            .unwrap()
            .ends_with("exceeds the maximum length for a single label of 255 characters"));
        assert_eq!(
            jira.issue(&key).unwrap().fields["labels"],
            json!(["b", "c"]),
            "a refused edit changes nothing"
        );
    }
}

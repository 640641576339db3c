//! The issue lifecycle: transitions, resolutions, permissions, as Jira answers them.

mod common;

use common::*;
use fake_jira::{Flavor, DEMO_USER};
use serde_json::{json, Value};

#[tokio::test]
async fn cloud_done_sets_the_resolution_done_and_leaving_done_clears_it() {
    let jira = fake(Flavor::Cloud).await;
    let (key, _) = create(&jira, Flavor::Cloud, &["d-1"]).await;
    let issue = jira.issue(&key).unwrap();
    assert_eq!(
        (issue.status.as_str(), issue.status_category.as_str()),
        ("To Do", "new")
    );
    assert!(
        fake_jira::parse_jira_time(&issue.created).is_some(),
        "{}",
        issue.created
    );

    let (status, body) = get(&jira, &format!("/rest/api/3/issue/{key}/transitions")).await;
    assert_eq!(status, 200);
    assert_eq!(body["expand"], "transitions");
    let done = &body["transitions"][1];
    assert_eq!(done["id"], "31");
    assert_eq!(done["name"], "Done");
    assert_eq!(done["hasScreen"], false);
    assert_eq!(done["isGlobal"], true);
    assert_eq!(done["isLooped"], false);
    assert_eq!(done["to"]["id"], "10001");
    assert_eq!(done["to"]["statusCategory"]["key"], "done");
    assert_eq!(done["to"]["statusCategory"]["id"], 3);
    assert!(done.get("fields").is_none(), "only with expand");
    let (_, expanded) = get(
        &jira,
        &format!("/rest/api/3/issue/{key}/transitions?expand=transitions.fields"),
    )
    .await;
    assert_eq!(expanded["transitions"][1]["fields"], json!({}));

    let (status, body) = transition(&jira, Flavor::Cloud, &key, "31", json!({})).await;
    assert_eq!(status, 204, "{body}");
    let issue = jira.issue(&key).unwrap();
    assert_eq!(issue.status, "Done");
    assert_eq!(issue.resolution.as_deref(), Some("Done"));
    assert!(issue.resolutiondate.is_some());
    assert_eq!(
        jira.transitions_applied(),
        [(key.clone(), "31".to_string())]
    );
    assert_eq!(
        offered(&jira, Flavor::Cloud, &key).await,
        ["To Do", "In Progress"]
    );

    let (_, got) = get(&jira, &format!("/rest/api/3/issue/{key}")).await;
    assert_eq!(got["fields"]["status"]["name"], "Done");
    assert_eq!(got["fields"]["resolution"]["name"], "Done");
    assert_eq!(got["fields"]["resolution"]["id"], "10000");
    assert!(got["fields"]["resolutiondate"].is_string());
    let (_, got) = get(&jira, &format!("/rest/api/3/issue/{key}?fields=summary")).await;
    assert_eq!(got["fields"], json!({"summary": "A detection"}));

    // A numeric id is taken too; leaving done clears the resolution and its date.
    let (status, _) = post(
        &jira,
        &format!("/rest/api/2/issue/{key}/transitions"),
        json!({"transition": {"id": 11}}),
    )
    .await;
    assert_eq!(status, 204);
    let issue = jira.issue(&key).unwrap();
    assert_eq!(
        (issue.status.as_str(), issue.resolution.clone()),
        ("To Do", None)
    );
    assert_eq!(issue.resolutiondate, None);
    assert_eq!(jira.transitions_applied().len(), 2);
}

#[tokio::test]
async fn server_resolve_asks_for_a_resolution_on_its_screen() {
    let jira = fake(Flavor::Server).await;
    let (key, _) = create(&jira, Flavor::Server, &[]).await;
    assert_eq!(jira.issue(&key).unwrap().status, "Open");
    assert_eq!(
        offered(&jira, Flavor::Server, &key).await,
        ["Start Progress", "Resolve Issue", "Close Issue"]
    );
    let (_, body) = get(
        &jira,
        &format!("/rest/api/2/issue/{key}/transitions?expand=transitions.fields"),
    )
    .await;
    let resolve = &body["transitions"][1];
    assert_eq!(resolve["id"], "5");
    assert!(
        resolve.get("hasScreen").is_none(),
        "Server/DC's bean has no hasScreen"
    );
    let field = &resolve["fields"]["resolution"];
    assert_eq!(field["required"], true);
    assert_eq!(field["schema"]["type"], "resolution");
    let names: Vec<&str> = field["allowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Fixed",
            "Won't Fix",
            "Duplicate",
            "Incomplete",
            "Cannot Reproduce"
        ]
    );
    assert_eq!(field["allowedValues"][0]["id"], "1");

    let (status, body) = transition(&jira, Flavor::Server, &key, "5", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"]["resolution"], "Resolution is required.");
    assert_eq!(body["errorMessages"], json!([]));
    let (status, body) = transition(
        &jira,
        Flavor::Server,
        &key,
        "5",
        json!({"fields": {"resolution": {"name": "Done"}}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"]["resolution"],
        "Could not find resolution with name 'Done'."
    );
    assert!(
        jira.transitions_applied().is_empty(),
        "refusals change nothing"
    );
    assert_eq!(jira.issue(&key).unwrap().status, "Open");

    let (status, body) = transition(
        &jira,
        Flavor::Server,
        &key,
        "5",
        json!({"fields": {"resolution": {"name": "Fixed"}}, "update": {"comment": [{"add": {"body": "Cleared."}}]}}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let issue = jira.issue(&key).unwrap();
    assert_eq!(
        (issue.status.as_str(), issue.status_category.as_str()),
        ("Resolved", "done")
    );
    assert_eq!(issue.resolution.as_deref(), Some("Fixed"));
    assert_eq!(issue.comments.len(), 1);
    assert_eq!(issue.comments[0].as_str(), Some("Cleared."));

    // Reopen: back to a "new" status, resolution cleared.
    assert_eq!(
        offered(&jira, Flavor::Server, &key).await,
        ["Close Issue", "Reopen Issue"]
    );
    let (status, _) = transition(&jira, Flavor::Server, &key, "3", json!({})).await;
    assert_eq!(status, 204);
    let issue = jira.issue(&key).unwrap();
    assert_eq!(
        (issue.status.as_str(), issue.status_category.as_str()),
        ("Reopened", "new")
    );
    assert_eq!((issue.resolution, issue.resolutiondate), (None, None));
    // A resolution by id, on Close.
    let (status, _) = transition(
        &jira,
        Flavor::Server,
        &key,
        "2",
        json!({"fields": {"resolution": {"id": "2"}}}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        jira.issue(&key).unwrap().resolution.as_deref(),
        Some("Won't Fix")
    );
    let ids: Vec<String> = jira
        .transitions_applied()
        .into_iter()
        .map(|t| t.1)
        .collect();
    assert_eq!(ids, ["5", "3", "2"]);
}

#[tokio::test]
async fn bad_transition_requests_get_jiras_answers() {
    let jira = fake(Flavor::Cloud).await;
    let (key, _) = create(&jira, Flavor::Cloud, &[]).await;
    let path = format!("/rest/api/3/issue/{key}/transitions");
    let message = |b: &Value| b["errorMessages"][0].as_str().unwrap_or("").to_string();

    let (status, body) = transition(&jira, Flavor::Cloud, &key, "99", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"errorMessages": ["Transition id '99' is not valid for this issue."], "errors": {}})
    );
    // Global transitions are not offered from their own target.
    let (status, _) = transition(&jira, Flavor::Cloud, &key, "11", json!({})).await;
    assert_eq!(status, 400);

    for bad in [
        json!({}),
        json!({"transition": {}}),
        json!({"transition": {"id": null}}),
        json!({"transition": {"id": "abc"}}),
        json!({"transition": "31"}),
    ] {
        let (status, body) = post(&jira, &path, bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(
            message(&body),
            "'transition' identifier must be an integer",
            "{bad}"
        );
    }
    let (status, body) = post(
        &jira,
        &path,
        json!({"transition": {"id": "31"}, "resolution": "Done"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(message(&body), "Unrecognized field \"resolution\"");

    let (status, body) = transition(
        &jira,
        Flavor::Cloud,
        &key,
        "31",
        json!({"fields": {"resolution": {"name": "Done"}}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"]["resolution"],
        "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
    );
    let (status, body) = transition(
        &jira,
        Flavor::Cloud,
        &key,
        "31",
        json!({"fields": {"assignee": {"id": "x"}}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["assignee"]
        .as_str()
        .unwrap()
        .starts_with("Field 'assignee' cannot be set."));
    assert!(jira.transitions_applied().is_empty());

    for method in ["GET", "POST"] {
        let (status, body) = call(
            &jira,
            method,
            "/rest/api/3/issue/SEC-999/transitions",
            Some(json!({"transition": {"id": "31"}})),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            message(&body),
            "Issue does not exist or you do not have permission to see it."
        );
    }
}

#[tokio::test]
async fn users_without_transition_issues_see_none() {
    let jira = fake(Flavor::Cloud).await;
    let (key, _) = create(&jira, Flavor::Cloud, &[]).await;
    let asked = "/rest/api/3/mypermissions?projectKey=SEC&permissions=TRANSITION_ISSUES,RESOLVE_ISSUES,ADD_COMMENTS,EDIT_ISSUES,CREATE_ISSUES,BROWSE_PROJECTS";
    let (status, body) = get(&jira, asked).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["permissions"].as_object().unwrap().len(), 6);
    assert_eq!(
        body["permissions"]["TRANSITION_ISSUES"]["havePermission"],
        true
    );
    assert_eq!(
        body["permissions"]["TRANSITION_ISSUES"]["key"],
        "TRANSITION_ISSUES"
    );

    jira.configure(|c| c.no_transition_users.push(DEMO_USER.into()));
    assert!(offered(&jira, Flavor::Cloud, &key).await.is_empty());
    let (status, body) = transition(&jira, Flavor::Cloud, &key, "31", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errorMessages"][0],
        "Transition id '31' is not valid for this issue."
    );
    let (_, body) = get(&jira, asked).await;
    let have = |k: &str| body["permissions"][k]["havePermission"].as_bool().unwrap();
    assert!(!have("TRANSITION_ISSUES") && !have("RESOLVE_ISSUES"));
    assert!(have("CREATE_ISSUES") && have("ADD_COMMENTS") && have("BROWSE_PROJECTS"));

    jira.configure(|c| {
        c.no_transition_users.clear();
        c.read_only_users.push(DEMO_USER.into());
    });
    assert!(offered(&jira, Flavor::Cloud, &key).await.is_empty());
    let (_, body) = get(&jira, asked).await;
    let have = |k: &str| body["permissions"][k]["havePermission"].as_bool().unwrap();
    assert!(!have("TRANSITION_ISSUES") && !have("CREATE_ISSUES") && !have("EDIT_ISSUES"));
    assert!(have("BROWSE_PROJECTS"));

    let (status, _) = get(&jira, "/rest/api/3/mypermissions?projectKey=SEC").await;
    assert_eq!(status, 400, "Cloud requires the permissions parameter");
    let (status, _) = get(
        &jira,
        "/rest/api/3/mypermissions?projectKey=NOPE&permissions=BROWSE_PROJECTS",
    )
    .await;
    assert_eq!(status, 404);
    let server = fake(Flavor::Server).await;
    let (status, body) = get(&server, "/rest/api/2/mypermissions?projectKey=SEC").await;
    assert_eq!(status, 200, "Server/DC answers every permission");
    assert_eq!(
        body["permissions"]["RESOLVE_ISSUES"]["havePermission"],
        true
    );
}

#[tokio::test]
async fn project_statuses_list_the_workflow() {
    for (flavor, want) in [
        (Flavor::Cloud, vec!["To Do", "In Progress", "Done"]),
        (
            Flavor::Server,
            vec!["Open", "In Progress", "Reopened", "Resolved", "Closed"],
        ),
    ] {
        let jira = fake(flavor).await;
        let (status, body) = get(&jira, &format!("{}/project/SEC/statuses", api(flavor))).await;
        assert_eq!(status, 200, "{body}");
        let types = body.as_array().unwrap();
        assert_eq!(types.len(), 4);
        assert_eq!(types[0]["name"], "Task");
        assert_eq!(types[0]["subtask"], false);
        let names: Vec<&str> = types[0]["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want);
        assert!(types[0]["statuses"][0]["statusCategory"]["key"].is_string());
        let (status, _) = get(&jira, &format!("{}/project/NOPE/statuses", api(flavor))).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn seeded_issues_and_the_page_show_the_lifecycle() {
    let jira = fake(Flavor::Cloud).await;
    let seeded = jira.issue("SEC-42").unwrap();
    assert_eq!(
        (seeded.status.as_str(), seeded.status_category.as_str()),
        ("In Progress", "indeterminate")
    );
    let (key, _) = create(&jira, Flavor::Cloud, &[]).await;
    assert_eq!(
        transition(&jira, Flavor::Cloud, &key, "31", json!({}))
            .await
            .0,
        204
    );
    jira.set_resolved_at(&key, "2020-01-02T03:04:05.678+0000");
    let html = reqwest::get(format!("{}/browse/{key}", jira.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<b>Status:</b> done (Done)"), "{html}");
    assert!(
        html.contains("<b>Resolution:</b> Done (2020-01-02T03:04:05.678+0000)"),
        "{html}"
    );

    // The old hook maps a category onto the workflow's first status of it.
    jira.set_status_category(&key, "new");
    let issue = jira.issue(&key).unwrap();
    assert_eq!((issue.status.as_str(), issue.resolution), ("To Do", None));
}

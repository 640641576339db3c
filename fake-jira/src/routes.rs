//! The routing tables: which handler answers each method and path, on the site and at the
//! gateway. A method a row does not name is answered as the listener answers a path it does
//! not serve (`HEAD` too, which axum would otherwise give to the `GET` handler), and no
//! `Allow` header is added (axum adds one to a method router's fallback unless it is built
//! from `any`).

use crate::api::{
    add_comment, comments, create_issue, createmeta, edit_issue, issue, link_types, my_permissions,
    myself, priorities, project, project_statuses, search, search_by_query, search_jql,
    search_jql_by_query, server_info, transition, transitions, unmatched,
};
use crate::extract::App;
use crate::{gateway, site};
use axum::middleware::from_fn_with_state;
use axum::routing::{any, MethodRouter};
use axum::Router;

/// Jira's REST API: below `/rest/api/{version}` on the site, below
/// `/ex/jira/{cloud_id}/rest/api/{version}` at the gateway.
#[rustfmt::skip]
fn rest_api() -> Vec<(&'static str, MethodRouter<App>)> {
    vec![
        ("/serverInfo",                rest().get(server_info)),
        ("/myself",                    rest().get(myself)),
        ("/priority",                  rest().get(priorities)),
        ("/issueLinkType",             rest().get(link_types)),
        ("/mypermissions",             rest().get(my_permissions)),
        ("/project/{key}",             rest().get(project)),
        ("/project/{key}/statuses",    rest().get(project_statuses)),
        ("/issue",                     rest().post(create_issue)),
        ("/issue/{key}",               rest().get(issue).put(edit_issue)),
        ("/issue/{key}/transitions",   rest().get(transitions).post(transition)),
        ("/issue/{key}/comment",       rest().get(comments).post(add_comment)),
        ("/issue/createmeta/{*rest}",  rest().get(createmeta)),
        ("/search",                    rest().get(search_by_query).post(search)),
        ("/search/jql",                rest().get(search_jql_by_query).post(search_jql)),
        // The same operations with their last segment empty (`issue/`): the router matches
        // no parameter to an empty last segment; Jira's answer is its answer for that key.
        ("/project/",                  rest().get(project)),
        ("/issue/",                    rest().get(issue).put(edit_issue)),
        ("/issue/createmeta/",         rest().get(createmeta)),
        // Any other path below the version: checked like every call, then Jira's 404.
        ("/",                          rest()),
        ("/{*rest}",                   rest()),
    ]
}

/// A REST path's methods; any other is checked like every call, then answered Jira's 404.
fn rest() -> MethodRouter<App> {
    any(unmatched).head(unmatched)
}

/// A site path's methods; any other is answered Jira's 404.
fn site_path() -> MethodRouter<App> {
    any(site::not_found).head(site::not_found)
}

/// A gateway path's methods; any other is answered the gateway's 404.
fn gateway_path() -> MethodRouter<App> {
    any(gateway::not_found).head(gateway::not_found)
}

/// `rest_api`'s rows, below `prefix`.
fn with_rest_api(router: Router<App>, prefix: &str) -> Router<App> {
    rest_api()
        .into_iter()
        .fold(router, |router, (path, methods)| {
            router.route(&format!("{prefix}{path}"), methods)
        })
}

/// The site: pages, the test hooks' issue list, Cloud's tenant info, the AWS services on
/// `POST /`, and the REST API. Anything else: Jira's 404, unauthenticated.
#[rustfmt::skip]
pub(crate) fn site() -> Router<App> {
    let pages = Router::new()
        .route("/",                  site_path().get(site::front_page).post(site::aws))
        .route("/browse/{*key}",     site_path().get(site::browse))
        .route("/browse/",           site_path().get(site::browse))
        .route("/_fake/issues",      site_path().get(site::fake_issues))
        .route("/_edge/tenant_info", site_path().get(site::tenant_info));
    with_rest_api(pages, "/rest/api/{version}").fallback(site::not_found)
}

/// The Atlassian gateway (Cloud only): the token endpoint, and the site's REST API below
/// `/ex/jira/{cloud_id}`. Anything else below it: the gateway's checks, then Jira's 404;
/// anything else at all: the gateway's 404.
#[rustfmt::skip]
pub(crate) fn gateway(app: &App) -> Router<App> {
    let entry = Router::new()
        .route("/oauth/token",                gateway_path().post(gateway::token))
        .route("/ex/jira/",                   any(gateway::elsewhere))
        .route("/ex/jira/{cloud_id}",         any(gateway::elsewhere))
        .route("/ex/jira/{cloud_id}/",        any(gateway::elsewhere))
        .route("/ex/jira/{cloud_id}/{*rest}", any(gateway::elsewhere));
    with_rest_api(entry, "/ex/jira/{cloud_id}/rest/api/{version}")
        .fallback(gateway::not_found)
        .layer(from_fn_with_state(app.clone(), gateway::cloud_only))
}

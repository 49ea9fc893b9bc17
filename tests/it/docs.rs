//! Keeps the documents in step with the code: docs/openapi.yaml, template.yaml and the dispatcher's
//! route table list the same routes; docs/API.md lists every error code.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;

fn repo_file(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn dispatcher_routes() -> BTreeSet<(String, String)> {
    local::route_table().into_iter().map(|r| (r.method.to_string(), r.path.to_string())).collect()
}

/// The routes a Lambda serves: every group's but the dispatcher-only ones (the dashboard).
fn lambda_routes() -> BTreeSet<(String, String)> {
    local::route_table()
        .into_iter()
        .filter(|r| r.endpoint.group().on_lambda())
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect()
}

#[test]
fn openapi_describes_exactly_the_dispatcher_routes() {
    let doc: Value = serde_norway::from_str(&repo_file("docs/openapi.yaml")).expect("openapi parses");
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            if ["GET", "PUT", "POST", "DELETE", "PATCH"].contains(&method.as_str()) {
                documented.insert((method, path.as_str().expect("path").to_string()));
            }
        }
    }
    assert_eq!(documented, dispatcher_routes());
}

#[test]
fn template_routes_match_the_dispatcher_and_each_function_owns_its_group() {
    let doc: Value = serde_norway::from_str(&repo_file("template.yaml")).expect("template parses");
    let mut templated = BTreeSet::new();
    for (name, resource) in doc["Resources"].as_mapping().expect("resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().expect("name");
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{name}");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().expect("binary");
        let pascal: String =
            binary.split('-').map(|w| format!("{}{}", w[..1].to_uppercase(), &w[1..])).collect::<Vec<_>>().concat();
        assert_eq!(name, format!("{pascal}Function"), "names agree");
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        let http = events.values().any(|e| e["Type"].as_str() == Some("HttpApi"));
        if !http {
            // A queue worker (analyze-worker): no routes, so no dispatcher group of its own.
            continue;
        }
        let group =
            local::Group::ALL.iter().find(|g| g.name() == binary).unwrap_or_else(|| panic!("no group {binary}"));
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let method = event["Properties"]["Method"].as_str().expect("method").to_ascii_uppercase();
            let path = event["Properties"]["Path"].as_str().expect("path").to_string();
            // CORS preflights: every path's OPTIONS reaches the health function, whose CORS layer
            // answers it before routing (common::http::cors_layer); the dispatcher's does the same.
            if (method.as_str(), path.as_str()) == ("OPTIONS", "/{proxy+}") {
                assert_eq!(binary, "health", "the preflight route belongs to the health function");
                continue;
            }
            assert!(
                group.routes().iter().any(|r| r.method.as_str() == method && r.path == path),
                "{name}: {method} {path}"
            );
            templated.insert((method, path));
        }
    }
    assert_eq!(templated, lambda_routes());
}

#[test]
fn api_md_lists_every_error_code_with_its_status() {
    let doc = repo_file("docs/API.md");
    for code in common::error::ErrorCode::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.status().as_u16());
        assert!(doc.contains(&row), "docs/API.md lacks the row {row}");
    }
}

//! A policy as a server's configuration, built from the fix catalogue's snippets: per route,
//! the catalogue's remedy whose snippet for the stack carries the most of what the route
//! needs (origin list, methods, request headers, exposed headers), rendered with the route's
//! values; what that snippet cannot carry is said in a comment with the `explain` command that
//! shows it.

use super::{Policy, Rule, regex_escape};
use crate::fix::{self, Stack, TemplateError, Values, template};
use std::fmt::Write as _;

/// The comment marker of a stack's configuration language.
fn comment(stack: Stack) -> &'static str {
    match stack {
        Stack::Express | Stack::Spring | Stack::AspNetCore => "//",
        _ => "#",
    }
}

/// `policy` as `stack`'s configuration.
pub fn render(policy: &Policy, stack: Stack) -> String {
    if let Some(text) = super::per_route::render(policy, stack) {
        return text;
    }
    let c = comment(stack);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{c} {} configuration for the corswatch policy: one fragment per route (see `corswatch explain`).",
        stack.name()
    );
    let default = std::iter::once(("/", &policy.default)).filter(|(_, r)| !r.origins.is_empty());
    let routes = policy.routes.iter().map(|r| (r.prefix.as_str(), &r.rule));
    let mut any = false;
    for (prefix, rule) in routes.chain(default) {
        if rule.origins.is_empty() {
            let _ = writeln!(
                out,
                "\n{c} route {prefix}: no origin allowed, no CORS headers"
            );
            continue;
        }
        any = true;
        out.push('\n');
        match route(stack, prefix, rule) {
            Ok(text) => out.push_str(&text),
            // A value no snippet can carry unescaped (a quote in a path): said, not fatal.
            Err(e) => {
                let _ = writeln!(out, "{c} route {prefix}: not rendered: {}", e.0);
            }
        }
    }
    if !any {
        let _ = writeln!(
            out,
            "\n{c} the policy allows no origin: no CORS configuration"
        );
    }
    out
}

fn route(stack: Stack, prefix: &str, rule: &Rule) -> Result<String, TemplateError> {
    let c = comment(stack);
    let mut out = String::new();
    let origins: Vec<String> = rule.origins.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "{c} route {prefix}: origins {}", origins.join(", "));
    // The snippets take a directory (`{{path}}` ends in `/`); a policy prefix without the
    // slash also covers the path itself (`/v1/things` and `/v1/things/7`, never
    // `/v1/thingsx`): where the stack's matching differs, the rendered text says so.
    let exact = (!prefix.ends_with('/')).then_some(prefix);
    let path = if let Some(p) = exact {
        if !matches!(stack, Stack::Nginx | Stack::Apache | Stack::Express) {
            let _ = writeln!(
                out,
                "{c} (the prefix {p} is written {p}/: this snippet takes a directory)"
            );
        }
        format!("{p}/")
    } else {
        prefix.to_owned()
    };
    let mut v = Values::new();
    v.set("path", &path)?;
    if let Some(o) = origins.first() {
        v.set("origin", o)?;
    }
    if let Some(o) = origins.get(1) {
        v.set("origin2", o)?;
    }
    let methods = if rule.methods.is_empty() {
        "GET".to_owned()
    } else {
        rule.methods.join(", ")
    };
    v.set("methods", &methods)?;
    // The snippets need a value: Content-Type is safelisted for simple values anyway.
    let headers = if rule.request_headers.is_empty() {
        "Content-Type".to_owned()
    } else {
        rule.request_headers.join(", ")
    };
    v.set("headers", &headers)?;
    if !rule.exposed_headers.is_empty() {
        v.set("expose", &rule.exposed_headers.join(", "))?;
    }
    // What the route needs, and the remedies' snippets that carry it.
    let mut wanted = vec!["origin", "methods"];
    if origins.len() > 1 {
        wanted.push("origin2");
    }
    if !rule.request_headers.is_empty() {
        wanted.push("headers");
    }
    if !rule.exposed_headers.is_empty() {
        wanted.push("expose");
    }
    let carries = |t: &str| -> Vec<&'static str> {
        let names: Vec<&str> = template::placeholders_in(t)
            .into_iter()
            .map(|p| p.split('|').next().unwrap_or(p))
            .collect();
        wanted
            .iter()
            .copied()
            .filter(|w| names.contains(w))
            .collect()
    };
    // Only snippets whose every placeholder has a real value (or is the proxy's upstream).
    let usable = |t: &str| {
        template::placeholders_in(t).into_iter().all(|p| {
            let n = p.split('|').next().unwrap_or(p);
            n == "path"
                || n == "upstream"
                || n == "methods"
                || n == "headers"
                || wanted.contains(&n)
        })
    };
    let best = fix::remedy_templates()
        .filter_map(|(id, table)| {
            table
                .iter()
                .find(|(s, _)| *s == stack)
                .filter(|(_, t)| usable(t))
                .map(|(_, t)| (id, *t, carries(t)))
        })
        .max_by_key(|(id, t, got)| {
            (
                got.len(),
                rule.credentials == t.contains_credentials(),
                *id == "answer_preflight",
            )
        });
    let Some((id, t, got)) = best else {
        let _ = writeln!(out, "{c} no snippet for this stack");
        return Ok(out);
    };
    let _ = writeln!(out, "{c} from the catalogue's `{id}` remedy");
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !got.contains(w))
        .collect();
    for m in missing {
        let what = match m {
            "origin2" => format!("also allow {}", origins[1..].join(", ")),
            "headers" => format!(
                "also allow the request headers {}",
                rule.request_headers.join(", ")
            ),
            "expose" => format!(
                "also expose {} (corswatch explain expose_header_hidden)",
                rule.exposed_headers.join(", ")
            ),
            "methods" => format!("also allow the methods {methods}"),
            _ => format!("also set {m}"),
        };
        let _ = writeln!(out, "{c} {what}");
    }
    if origins.len() > 2 && got.contains(&"origin2") {
        let _ = writeln!(
            out,
            "{c} also allow {} in the same list",
            origins[2..].join(", ")
        );
    }
    if rule.credentials && !t.contains_credentials() {
        let _ = writeln!(
            out,
            "{c} also send Access-Control-Allow-Credentials: true (corswatch explain acac_invalid --stack {})",
            stack.name().to_ascii_lowercase()
        );
    }
    if t.contains("{{upstream}}") {
        let _ = writeln!(out, "{c} set the upstream to your application's address");
    }
    if let Some(m) = rule.max_age {
        let _ = writeln!(out, "{c} preflight cache: Access-Control-Max-Age {m}");
    }
    if rule.private_network {
        let _ = writeln!(
            out,
            "{c} private network: corswatch explain pna_preflight_missing_acapn --stack {}",
            stack.name().to_ascii_lowercase()
        );
    }
    let text = template::render(t, &v)?;
    out.push_str(&match exact {
        Some(p) => segment_prefix(stack, &text, p),
        None => text,
    });
    out.push('\n');
    Ok(out)
}

/// `text`, a snippet rendered for the directory `prefix/`, made to cover `prefix` itself too,
/// at a segment boundary as the policy's prefix does. nginx's prefix location `/p/` never
/// matches `/p` (a request for it is redirected to `/p/` when the location proxies, which a
/// preflight may not follow) and `location /p` would match `/px`: a regular expression says
/// exactly `/p` or below. Apache's `<Location "/p">` already matches `/p`, `/p/…` and not
/// `/px`; its preflight rule gets the same expression. Express mounts at a segment boundary.
fn segment_prefix(stack: Stack, text: &str, prefix: &str) -> String {
    let dir = format!("{prefix}/");
    let re = format!("^{}(/|$)", regex_escape(prefix));
    match stack {
        Stack::Nginx => text.replace(
            &format!("location {dir} {{"),
            &format!("location ~ \"{re}\" {{"),
        ),
        Stack::Apache => text
            .replace(&format!("\"^{dir}\""), &format!("\"{re}\""))
            .replace(&format!("{dir}\""), &format!("{prefix}\"")),
        Stack::Express => text.replace(&format!("'{dir}'"), &format!("'{prefix}'")),
        _ => text.to_owned(),
    }
}

/// Whether a snippet turns credentials on.
trait Credentials {
    fn contains_credentials(&self) -> bool;
}

impl Credentials for str {
    fn contains_credentials(&self) -> bool {
        const MARKERS: [&str; 8] = [
            "Access-Control-Allow-Credentials",
            "credentials: true",
            "allow_credentials=True",
            "supports_credentials=True",
            "CORS_ALLOW_CREDENTIALS = True",
            "setAllowCredentials(true)",
            "AllowCredentials()",
            "allowCredentials = true",
        ];
        self.lines()
            .map(str::trim_start)
            .filter(|l| !(l.starts_with("//") || l.starts_with('#')))
            .any(|l| MARKERS.iter().any(|m| l.contains(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_no_snippet_can_carry_is_said_not_fatal() {
        let p = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/a'b/\"\norigins = [\"https://app.example.com\"]\n\n[[route]]\nprefix = \"/ok/\"\norigins = [\"https://app.example.com\"]\n",
        )
        .unwrap();
        let out = render(&p, Stack::Nginx);
        assert!(out.contains("route /a'b/: not rendered"), "{out}");
        assert!(out.contains("location /ok/"), "{out}");
    }

    #[test]
    fn a_prefix_without_slash_covers_the_path_itself_at_a_segment_boundary() {
        // Found by the lab's policy group: `location /v1/data/` and `<Location "/v1/data/">`
        // never matched `/v1/data`, the path the suggested prefix came from.
        let p = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/v1.x/data\"\norigins = [\"https://app.example.com\"]\nmethods = [\"GET\", \"PUT\"]\nrequest_headers = [\"content-type\"]\n",
        )
        .unwrap();
        let nginx = render(&p, Stack::Nginx);
        assert!(
            nginx.contains(r#"location ~ "^/v1\.x/data(/|$)" {"#),
            "{nginx}"
        );
        assert!(!nginx.contains("location /v1.x/data/"), "{nginx}");
        let apache = render(&p, Stack::Apache);
        assert!(apache.contains(r#"<Location "/v1.x/data">"#), "{apache}");
        assert!(
            apache.contains(r#"RewriteRule "^/v1\.x/data(/|$)" - [R=204,L]"#),
            "{apache}"
        );
        assert!(
            apache.contains(r#"ProxyPass "http://127.0.0.1:8080/v1.x/data""#),
            "{apache}"
        );
        let express = render(&p, Stack::Express);
        assert!(
            express.contains("app.use('/v1.x/data', apiRouter)"),
            "{express}"
        );
        assert!(!express.contains("/v1.x/data/'"), "{express}");
        // A directory prefix is written as it is.
        let dir = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/api/\"\norigins = [\"https://app.example.com\"]\n",
        )
        .unwrap();
        assert!(render(&dir, Stack::Nginx).contains("location /api/ {"));
    }

    #[test]
    fn every_stack_renders_the_route_values() {
        let p = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/api/\"\norigins = [\"https://app.example.com\"]\nmethods = [\"GET\", \"PUT\"]\nrequest_headers = [\"x-token\"]\n",
        )
        .unwrap();
        for s in Stack::ALL {
            let out = render(&p, s);
            assert!(out.contains("https://app.example.com"), "{s:?}\n{out}");
            assert!(!out.contains("admin.example.com"), "{s:?}\n{out}");
        }
        let nginx = render(&p, Stack::Nginx);
        assert!(nginx.contains("location /api/"), "{nginx}");
        assert!(nginx.contains("GET, PUT"), "{nginx}");
    }
}

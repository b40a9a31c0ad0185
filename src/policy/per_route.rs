//! A policy with several routes as one application-level configuration, for the frameworks
//! whose catalogue snippets configure the whole application once (Express's `cors()`,
//! Starlette's `CORSMiddleware`, flask-cors, django-cors-headers): one fragment per route
//! would stack several app-wide configurations, the first of which answers every preflight.
//! Here every route's rule is written once, and the longest matching prefix decides, as in
//! the policy ([`super::prefix_matches`]).

use super::{Policy, Rule, regex_escape};
use crate::fix::Stack;
use std::fmt::Write as _;

/// `policy` as one configuration for `stack`, when the stack needs one for several routes.
pub fn render(policy: &Policy, stack: Stack) -> Option<String> {
    let routes = ordered(policy);
    if routes.iter().filter(|(_, r)| !r.origins.is_empty()).count() < 2 {
        return None;
    }
    let text = match stack {
        Stack::Express => express(&routes),
        Stack::FastApi => fastapi(&routes),
        Stack::Flask => flask(&routes),
        Stack::Django => django(&routes),
        _ => return None,
    };
    let mut out = String::new();
    let c = if stack == Stack::Express { "//" } else { "#" };
    let _ = writeln!(
        out,
        "{c} {} configuration for the corswatch policy: every route in one place, the longest matching prefix decides.",
        stack.name()
    );
    for (prefix, rule) in &routes {
        let origins: Vec<String> = rule.origins.iter().map(ToString::to_string).collect();
        let what = if origins.is_empty() {
            "no origin allowed, no CORS headers".to_owned()
        } else {
            format!("origins {}", origins.join(", "))
        };
        let _ = writeln!(out, "{c} route {}: {what}", prefix.unwrap_or("(default)"));
        if rule.private_network {
            let _ = writeln!(
                out,
                "{c}   private network: corswatch explain pna_preflight_missing_acapn --stack {}",
                stack.name().to_ascii_lowercase()
            );
        }
    }
    out.push_str(&text);
    Some(out)
}

/// The routes, longest prefix first, then the default (`None`) when it allows an origin.
fn ordered(policy: &Policy) -> Vec<(Option<&str>, &Rule)> {
    let mut v: Vec<(Option<&str>, &Rule)> = policy
        .routes
        .iter()
        .map(|r| (Some(r.prefix.as_str()), &r.rule))
        .collect();
    v.sort_by_key(|(p, _)| std::cmp::Reverse(p.map_or(0, str::len)));
    if !policy.default.origins.is_empty() {
        v.push((None, &policy.default));
    }
    v
}

/// A string literal valid in JavaScript and Python alike (JSON's escapes are both's).
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| lit(s)).collect();
    format!("[{}]", v.join(", "))
}

/// The exact origins of a rule, and its subdomain patterns as regular expressions.
fn origins(rule: &Rule) -> (Vec<String>, Vec<String>) {
    let mut exact = Vec::new();
    let mut regex = Vec::new();
    for o in &rule.origins {
        match o.regex() {
            Some(r) => regex.push(r),
            None => exact.push(o.to_string()),
        }
    }
    (exact, regex)
}

/// The methods a framework has to list for its own preflight check: the policy's, and the
/// safelisted ones a browser allows without a listing (Starlette refuses a preflight for a
/// method it does not list, with 400).
fn methods(rule: &Rule) -> Vec<String> {
    let mut m: Vec<String> = ["GET", "HEAD", "POST"].map(str::to_owned).to_vec();
    for x in &rule.methods {
        if !m.contains(x) {
            m.push(x.clone());
        }
    }
    m
}

fn express(routes: &[(Option<&str>, &Rule)]) -> String {
    let mut out = String::from("const cors = require('cors');\n");
    out.push_str("// [prefix, cors() with the route's rule]; null prefix: every other path; null rule: no CORS.\n");
    out.push_str("const corsRoutes = [\n");
    for (prefix, rule) in routes {
        let p = prefix.map_or("null".to_owned(), lit);
        if rule.origins.is_empty() {
            let _ = writeln!(out, "  [{p}, null],");
            continue;
        }
        let (exact, regex) = origins(rule);
        let mut o: Vec<String> = exact.iter().map(|s| lit(s)).collect();
        o.extend(regex.iter().map(|r| format!("/{}/", r.replace('/', "\\/"))));
        let _ = writeln!(out, "  [{p}, cors({{");
        let _ = writeln!(out, "    origin: [{}],", o.join(", "));
        let _ = writeln!(out, "    methods: {},", list(&methods(rule)));
        let _ = writeln!(out, "    allowedHeaders: {},", list(&rule.request_headers));
        if !rule.exposed_headers.is_empty() {
            let _ = writeln!(out, "    exposedHeaders: {},", list(&rule.exposed_headers));
        }
        if rule.credentials {
            out.push_str("    credentials: true,\n");
        }
        if let Some(m) = rule.max_age {
            let _ = writeln!(out, "    maxAge: {m},");
        }
        out.push_str("  })],\n");
    }
    out.push_str(
        "];
// A prefix ending in '/' matches what starts with it; one without also matches itself.
const corsMatches = (p, path) =>
  p === null || (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(p + '/'));
// Before the routes: cors() ends every preflight of its route with 204.
app.use((req, res, next) => {
  const hit = corsRoutes.find(([p]) => corsMatches(p, req.path));
  return hit && hit[1] ? hit[1](req, res, next) : next();
});
",
    );
    out
}

/// Python's `(prefix, options)` list shared by the FastAPI and Django renderings.
fn py_prefix(prefix: Option<&str>) -> String {
    prefix.map_or("None".to_owned(), lit)
}

const PY_MATCH: &str = "def _cors_matches(prefix, path):
    # A prefix ending in \"/\" matches what starts with it; one without also matches itself.
    if prefix is None:
        return True
    if prefix.endswith(\"/\"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + \"/\")
";

fn fastapi(routes: &[(Option<&str>, &Rule)]) -> String {
    let mut out = String::from("from fastapi.middleware.cors import CORSMiddleware\n\n");
    out.push_str(PY_MATCH);
    out.push_str(
        "

class CORSPerRoute:
    \"\"\"One CORSMiddleware per route of the policy; the first matching prefix decides.\"\"\"

    def __init__(self, app, routes):
        self.app = app
        self.routes = [(p, CORSMiddleware(app, **o) if o is not None else None) for p, o in routes]

    async def __call__(self, scope, receive, send):
        if scope[\"type\"] == \"http\":
            for prefix, cors in self.routes:
                if _cors_matches(prefix, scope[\"path\"]):
                    if cors is not None:
                        return await cors(scope, receive, send)
                    break
        await self.app(scope, receive, send)


app.add_middleware(
    CORSPerRoute,
    routes=[
",
    );
    for (prefix, rule) in routes {
        let p = py_prefix(*prefix);
        if rule.origins.is_empty() {
            let _ = writeln!(out, "        ({p}, None),");
            continue;
        }
        let (exact, regex) = origins(rule);
        if !rule.allows_header("content-type") {
            let _ = writeln!(
                out,
                "        # Starlette also allows Content-Type (any value) on this route's preflights."
            );
        }
        let _ = writeln!(out, "        ({p}, dict(");
        let _ = writeln!(out, "            allow_origins={},", list(&exact));
        if !regex.is_empty() {
            let _ = writeln!(
                out,
                "            allow_origin_regex=r\"{}\",",
                regex.join("|")
            );
        }
        options(
            &mut out,
            rule,
            [
                "allow_methods",
                "allow_headers",
                "expose_headers",
                "allow_credentials",
                "max_age",
            ],
            |k, v| format!("            {k}={v},"),
        );
        out.push_str("        )),\n");
    }
    out.push_str("    ],\n)\n");
    out
}

/// A rule's methods, request headers, exposed headers, credentials and max-age as Python
/// options named `names`, one line each as `line(name, value)` writes it.
fn options(out: &mut String, rule: &Rule, names: [&str; 5], line: impl Fn(&str, &str) -> String) {
    let mut put = |name: &str, value: &str| {
        out.push_str(&line(name, value));
        out.push('\n');
    };
    put(names[0], &list(&methods(rule)));
    put(names[1], &list(&rule.request_headers));
    if !rule.exposed_headers.is_empty() {
        put(names[2], &list(&rule.exposed_headers));
    }
    if rule.credentials {
        put(names[3], "True");
    }
    if let Some(m) = rule.max_age {
        put(names[4], &m.to_string());
    }
}

fn flask(routes: &[(Option<&str>, &Rule)]) -> String {
    let mut out = String::from("from flask_cors import CORS\n\n");
    out.push_str(
        "# flask-cors tries the longest resource pattern first; Flask answers OPTIONS itself and\n# flask-cors adds the headers.\nCORS(app, resources={\n",
    );
    for (prefix, rule) in routes {
        // `re.match` anchors at the start: the pattern says where the prefix may end.
        let key = match prefix {
            None => ".*".to_owned(),
            Some(p) if p.ends_with('/') => regex_escape(p),
            Some(p) => format!("{}(/.*)?$", regex_escape(p)),
        };
        let (exact, regex) = origins(rule);
        let mut o: Vec<String> = exact.iter().map(|s| lit(s)).collect();
        o.extend(regex.iter().map(|r| format!("r\"{r}\"")));
        let _ = writeln!(out, "    r\"{key}\": {{");
        if rule.origins.is_empty() {
            // Listed, so that no shorter pattern answers for it.
            out.push_str("        \"origins\": [],\n    },\n");
            continue;
        }
        let _ = writeln!(out, "        \"origins\": [{}],", o.join(", "));
        options(
            &mut out,
            rule,
            [
                "methods",
                "allow_headers",
                "expose_headers",
                "supports_credentials",
                "max_age",
            ],
            |k, v| format!("        \"{k}\": {v},"),
        );
        out.push_str("    },\n");
    }
    out.push_str("})\n");
    out
}

fn django(routes: &[(Option<&str>, &Rule)]) -> String {
    // django-cors-headers has one rule for every path; a short middleware in settings.py
    // carries one per route instead.
    let mut out = String::from(
        "# settings.py: django-cors-headers has one rule for all paths, so this middleware,\n# first in MIDDLEWARE, answers per route instead (no corsheaders needed).\n",
    );
    out.push_str("CORS_POLICY_ROUTES = [\n");
    for (prefix, rule) in routes {
        let p = py_prefix(*prefix);
        if rule.origins.is_empty() {
            let _ = writeln!(out, "    ({p}, None),");
            continue;
        }
        let (exact, regex) = origins(rule);
        let _ = writeln!(out, "    ({p}, {{");
        let _ = writeln!(out, "        \"origins\": {},", list(&exact));
        let r = if regex.is_empty() {
            "None".to_owned()
        } else {
            format!("r\"{}\"", regex.join("|"))
        };
        let _ = writeln!(out, "        \"origin_regex\": {r},");
        let _ = writeln!(
            out,
            "        \"methods\": {},",
            lit(&methods(rule).join(", "))
        );
        let _ = writeln!(
            out,
            "        \"headers\": {},",
            lit(&rule.request_headers.join(", "))
        );
        let _ = writeln!(
            out,
            "        \"expose\": {},",
            lit(&rule.exposed_headers.join(", "))
        );
        let _ = writeln!(
            out,
            "        \"credentials\": {},",
            if rule.credentials { "True" } else { "False" }
        );
        let m = rule.max_age.map_or("None".to_owned(), |m| m.to_string());
        let _ = writeln!(out, "        \"max_age\": {m},");
        let _ = writeln!(
            out,
            "        \"vary\": {},",
            if rule.vary_origin { "True" } else { "False" }
        );
        out.push_str("    }),\n");
    }
    out.push_str("]\n\n\n");
    out.push_str(&PY_MATCH.replace("def _cors_matches", "def _cors_policy_matches"));
    out.push_str(
        "

class CorsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import re

        from django.http import HttpResponse
        from django.utils.cache import patch_vary_headers

        rule = next((r for p, r in CORS_POLICY_ROUTES if _cors_policy_matches(p, request.path)), None)
        if rule is None:
            return self.get_response(request)
        origin = request.headers.get(\"Origin\")
        preflight = request.method == \"OPTIONS\" and \"Access-Control-Request-Method\" in request.headers
        response = HttpResponse(status=204) if preflight else self.get_response(request)
        if rule[\"vary\"]:
            patch_vary_headers(response, (\"Origin\",))
        allowed = origin is not None and (
            origin in rule[\"origins\"]
            or (rule[\"origin_regex\"] is not None and re.fullmatch(rule[\"origin_regex\"], origin) is not None)
        )
        if not allowed:
            return response
        response[\"Access-Control-Allow-Origin\"] = origin
        if rule[\"credentials\"]:
            response[\"Access-Control-Allow-Credentials\"] = \"true\"
        if preflight:
            response[\"Access-Control-Allow-Methods\"] = rule[\"methods\"]
            if rule[\"headers\"]:
                response[\"Access-Control-Allow-Headers\"] = rule[\"headers\"]
            if rule[\"max_age\"] is not None:
                response[\"Access-Control-Max-Age\"] = str(rule[\"max_age\"])
        elif rule[\"expose\"]:
            response[\"Access-Control-Expose-Headers\"] = rule[\"expose\"]
        return response


MIDDLEWARE.insert(0, f\"{__name__}.CorsPolicyMiddleware\")
",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "[[route]]\nprefix = \"/api/\"\norigins = [\"https://app.example.com\", \"https://*.example.org\"]\nmethods = [\"PUT\"]\nrequest_headers = [\"x-token\"]\ncredentials = true\nmax_age = 600\n\n[[route]]\nprefix = \"/api/public\"\norigins = [\"https://www.example.com\"]\nexposed_headers = [\"x-total\"]\n\n[[route]]\nprefix = \"/api/internal/\"\norigins = []\n";

    fn two() -> Policy {
        Policy::parse("p.toml", TWO).unwrap()
    }

    #[test]
    fn one_route_keeps_the_catalogue_fragment() {
        let p = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/api/\"\norigins = [\"https://app.example.com\"]\n",
        )
        .unwrap();
        assert!(render(&p, Stack::Express).is_none());
        assert!(render(&two(), Stack::Nginx).is_none());
    }

    #[test]
    fn every_framework_configures_once_longest_prefix_first() {
        for s in [Stack::Express, Stack::FastApi, Stack::Flask, Stack::Django] {
            let out = render(&two(), s).unwrap();
            for once in [
                "require('cors')",
                "from fastapi.middleware.cors import",
                "from flask_cors import",
                "MIDDLEWARE.insert",
                "CORS(app",
                "app.use(",
                "app.add_middleware(",
            ] {
                assert!(out.matches(once).count() <= 1, "{s:?}: {once}\n{out}");
            }
            let public = out.find("\"/api/public").unwrap_or(usize::MAX);
            let api = out.rfind("\"/api/\"").unwrap_or(0);
            if s != Stack::Flask {
                assert!(public < api, "{s:?}: longest first\n{out}");
            }
            assert!(out.contains("https://www.example.com"), "{s:?}\n{out}");
            let re = r"^https://([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+example\.org$";
            let re = if s == Stack::Express {
                format!("/{}/", re.replace('/', "\\/"))
            } else {
                re.to_owned()
            };
            assert!(out.contains(&re), "{s:?}\n{out}");
        }
    }

    #[test]
    fn the_rendered_files_parse() {
        // The real-stack lab applies and judges them; here only their syntax.
        let dir = tempfile::tempdir().unwrap();
        for (s, file, cmd) in [
            (Stack::FastApi, "a.py", ["python3", "-m", "py_compile"]),
            (Stack::Django, "b.py", ["python3", "-m", "py_compile"]),
            (Stack::Flask, "c.py", ["python3", "-m", "py_compile"]),
            (Stack::Express, "d.js", ["node", "--check", ""]),
        ] {
            let path = dir.path().join(file);
            std::fs::write(&path, render(&two(), s).unwrap()).unwrap();
            let mut c = std::process::Command::new(cmd[0]);
            c.args(cmd[1..].iter().filter(|a| !a.is_empty())).arg(&path);
            let out = match c.output() {
                Ok(out) => out,
                // Node may come later on a fresh machine (the lab installs it and applies the
                // Express rendering for real); Python is always there and must not skip.
                Err(e) if cmd[0] == "node" => {
                    eprintln!(
                        "not checked: the Express rendering's syntax ({e}); the lab applies it"
                    );
                    continue;
                }
                Err(e) => panic!("{}: {e}", cmd[0]),
            };
            assert!(
                out.status.success(),
                "{s:?}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&path).unwrap()
            );
        }
    }
}

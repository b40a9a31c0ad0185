//! The Spring and ASP.NET Core snippets cannot run on the machines this project is tested on
//! (no JVM build of Spring Boot, no .NET SDK), so each is checked here, without compiling,
//! against the API it uses, as read from the frameworks' own sources:
//!
//! * Spring Framework 6.2 `CorsConfiguration`: a `new CorsConfiguration()` allows nothing;
//!   with no `setAllowedMethods` only GET and HEAD pass (`DEFAULT_METHODS`), with no
//!   `setAllowedHeaders` no request header does, and `DefaultCorsProcessor` answers anything
//!   else with 403 "Invalid CORS request". `CorsRegistry.addMapping` and `@CrossOrigin` start
//!   from `applyPermitDefaultValues()` (GET, HEAD, POST, every header, max age 1800).
//! * Spring Security 6 `CorsConfigurer` (`http.cors(...)`): uses a bean named `corsFilter`,
//!   fetched as a `CorsFilter` (any other type named so fails the startup), else a bean named
//!   `corsConfigurationSource`, else Spring MVC's mappings through `HandlerMappingIntrospector`;
//!   without `http.cors(...)` Security ignores all of them and challenges preflights.
//! * aspnetcore `CorsPolicyBuilder`/`CorsService`: the preflight answer lists the policy's
//!   `Methods` and `Headers` only (no `WithMethods` = no `Access-Control-Allow-Methods`, so
//!   every preflighted method fails), `AllowCredentials()` is the only way to send
//!   `Access-Control-Allow-Credentials`, `AllowAnyOrigin` with credentials throws.
//! * `ConfigureApplicationCookie` configures ASP.NET Identity's `Identity.Application` cookie
//!   only; a plain `AddCookie()` scheme takes its options in `AddCookie(o => ...)`.
//! * Spring Cloud Gateway 4.3 moved its properties under `spring.cloud.gateway.server.webflux`.

use super::{Stack, remedy_templates};

/// Methods and types the Spring snippets may call or name: each exists in Spring Framework
/// 6.2, Spring Security 6 or Spring Boot 3 with this name (checked against their sources).
const SPRING_NAMES: &[&str] = &[
    // org.springframework.web.cors.CorsConfiguration
    "setAllowedOrigins",
    "setAllowedOriginPatterns",
    "setAllowedMethods",
    "setAllowedHeaders",
    "setExposedHeaders",
    "setAllowCredentials",
    "setAllowPrivateNetwork",
    "setMaxAge",
    // UrlBasedCorsConfigurationSource
    "registerCorsConfiguration",
    // CorsRegistry / CorsRegistration (WebMvcConfigurer.addCorsMappings)
    "addCorsMappings",
    "addMapping",
    "allowedOrigins",
    "allowedOriginPatterns",
    "allowedMethods",
    "allowedHeaders",
    "exposedHeaders",
    "allowCredentials",
    "maxAge",
    // HttpSecurity and its configurers
    "cors",
    "authorizeHttpRequests",
    "anyRequest",
    "authenticated",
    "httpBasic",
    "exceptionHandling",
    "authenticationEntryPoint",
    "build",
    "withDefaults",
    // FilterRegistrationBean
    "setOrder",
    // ResponseEntity / its builders, URI, List
    "status",
    "location",
    "create",
    "ok",
    "varyBy",
    "body",
    "of",
    // RestClient
    "get",
    "uri",
    "headers",
    "setBasicAuth",
    "retrieve",
    "toEntity",
    // the snippets' own objects
    "current",
];

/// Methods the ASP.NET Core snippets may call: each exists in aspnetcore (CORS middleware,
/// routing, authentication, rewrite, cookies) or the BCL with this name.
const ASPNET_NAMES: &[&str] = &[
    "AddCors",
    "AddPolicy",
    "WithOrigins",
    "WithMethods",
    "WithHeaders",
    "WithExposedHeaders",
    "AllowCredentials",
    "SetPreflightMaxAge",
    "Build",
    "UseRouting",
    "UseCors",
    "UseAuthentication",
    "UseAuthorization",
    "UseExceptionHandler",
    "UseHttpsRedirection",
    "UseRewriter",
    "AddRedirect",
    "MapControllers",
    "MapGet",
    "RequireAuthorization",
    "AddAuthentication",
    "AddCookie",
    "Use",
    "Append",
    "FromHours",
    "CreateClient",
    "GetAsync",
    "Stream",
    "ReadAsStreamAsync",
    "ToString",
];

/// The snippet without comments (`// ...` to the end of a line, whole `#` lines of YAML).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every method called with a dot before it (`.name(`), comments left out.
fn called_names(text: &str) -> Vec<String> {
    let code = code(text);
    let mut names = Vec::new();
    for (i, _) in code.match_indices('.') {
        let rest = &code[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('(') {
            names.push(rest[..end].to_string());
        }
    }
    names
}

fn snippets_of(stack: Stack) -> Vec<(&'static str, &'static str)> {
    remedy_templates()
        .filter_map(|(id, table)| {
            table
                .iter()
                .find(|(s, _)| *s == stack)
                .map(|(_, text)| (id, *text))
        })
        .collect()
}

/// Remedies whose fix must work for preflighted requests (methods other than GET/HEAD/POST,
/// request headers such as `Content-Type: application/json` or `Authorization`).
const PREFLIGHT_REMEDIES: &[&str] = &[
    "allow_origin",
    "cors_on_errors",
    "answer_preflight",
    "preflight_before_auth",
    "allow_credentials",
    "allow_methods",
    "allow_headers",
];

#[test]
fn spring_snippets_use_names_that_exist() {
    for (id, text) in snippets_of(Stack::Spring) {
        for name in called_names(text) {
            assert!(
                SPRING_NAMES.contains(&name.as_str()),
                "spring/{id}: `{name}` is not a Spring API method these snippets were checked against"
            );
        }
    }
}

#[test]
fn spring_cors_configuration_is_complete_and_published() {
    for (id, text) in snippets_of(Stack::Spring) {
        if text.contains("new CorsConfiguration()") {
            assert!(
                text.contains("setAllowedOrigins(") || text.contains("setAllowedOriginPatterns("),
                "spring/{id}: a CorsConfiguration without origins allows none"
            );
            // Empty methods: GET and HEAD only; empty headers: none (403 "Invalid CORS request").
            assert!(
                text.contains("setAllowedMethods("),
                "spring/{id}: no setAllowedMethods: only GET and HEAD pass"
            );
            assert!(
                text.contains("setAllowedHeaders("),
                "spring/{id}: no setAllowedHeaders: every request header is refused"
            );
            // Built, then published where Spring looks: a UrlBasedCorsConfigurationSource
            // bean named corsConfigurationSource.
            assert!(
                text.contains("new UrlBasedCorsConfigurationSource()")
                    && text.contains(".registerCorsConfiguration(")
                    && text.contains("@Bean")
                    && text.contains("UrlBasedCorsConfigurationSource corsConfigurationSource()")
                    && text.contains("return source;"),
                "spring/{id}: the configuration is not published as the corsConfigurationSource bean"
            );
        }
        if text.contains("addCorsMappings") {
            assert!(
                text.contains("implements WebMvcConfigurer") && text.contains("@Configuration"),
                "spring/{id}: addCorsMappings outside a WebMvcConfigurer @Configuration"
            );
            // Spring Security ignores MVC mappings unless http.cors() is on.
            assert!(
                text.contains("http.cors(Customizer.withDefaults())")
                    || !PREFLIGHT_REMEDIES.contains(&id),
                "spring/{id}: MVC mappings without the http.cors(...) note for Spring Security"
            );
            // The mapping's defaults are GET, HEAD and POST: every preflight-related mapping
            // lists the methods.
            if id != "expose_headers" {
                assert!(
                    text.contains(".allowedMethods("),
                    "spring/{id}: no allowedMethods"
                );
            }
        }
    }
}

#[test]
fn spring_security_chains_enable_cors() {
    for (id, text) in snippets_of(Stack::Spring) {
        if text.contains("HttpSecurity http") {
            assert!(
                text.contains(".cors(Customizer.withDefaults())"),
                "spring/{id}: a SecurityFilterChain without cors(): preflights get 401/403"
            );
            assert!(
                text.contains("SecurityFilterChain") && text.contains(".build()"),
                "spring/{id}"
            );
        }
    }
}

#[test]
fn spring_never_registers_a_filter_registration_as_cors_filter() {
    for (id, text) in snippets_of(Stack::Spring) {
        // Spring Security fetches the bean named corsFilter as a CorsFilter: any other type
        // under that name fails the startup once http.cors() is on.
        assert!(
            !text.contains("> corsFilter(") && !text.contains("name = \"corsFilter\""),
            "spring/{id}: a non-CorsFilter bean named corsFilter"
        );
        if text.contains("FilterRegistrationBean") {
            assert!(text.contains("Ordered.HIGHEST_PRECEDENCE"), "spring/{id}");
        }
    }
}

#[test]
fn spring_and_aspnet_turn_credentials_on_only_where_the_kind_needs_them() {
    for stack in [Stack::Spring, Stack::AspNetCore] {
        for (id, text) in snippets_of(stack) {
            let code = code(text);
            let on = code.contains("setAllowCredentials(true)")
                || code.contains(".allowCredentials(true)")
                || code.contains(".AllowCredentials()");
            assert_eq!(
                on,
                id == "allow_credentials",
                "{stack:?}/{id}: credentials {}",
                if on { "turned on" } else { "missing" }
            );
        }
    }
}

#[test]
fn spring_cloud_gateway_uses_the_4_3_prefix() {
    for (id, text) in snippets_of(Stack::Spring) {
        if text.contains("gateway:") {
            assert!(
                text.contains("gateway:\n      server:\n        webflux:\n"),
                "spring/{id}: Spring Cloud Gateway 4.3 reads spring.cloud.gateway.server.webflux.*"
            );
        }
    }
}

#[test]
fn aspnet_snippets_use_names_that_exist() {
    for (id, text) in snippets_of(Stack::AspNetCore) {
        for name in called_names(text) {
            assert!(
                ASPNET_NAMES.contains(&name.as_str()),
                "aspnetcore/{id}: `{name}` is not an ASP.NET Core API method these snippets were checked against"
            );
        }
    }
}

#[test]
fn aspnet_policies_list_what_preflights_need() {
    for (id, text) in snippets_of(Stack::AspNetCore) {
        if !text.contains("AddPolicy(") {
            continue;
        }
        assert!(
            text.contains(".WithOrigins("),
            "aspnetcore/{id}: no origins"
        );
        assert!(
            !code(text).contains("AllowAnyOrigin()"),
            "aspnetcore/{id}: AllowAnyOrigin"
        );
        // Expose-Headers concerns actual responses only; every other policy answers preflights.
        if id != "expose_headers" {
            assert!(
                text.contains(".WithMethods("),
                "aspnetcore/{id}: no WithMethods: no Access-Control-Allow-Methods, preflights fail"
            );
            assert!(
                text.contains(".WithHeaders("),
                "aspnetcore/{id}: no WithHeaders: no Access-Control-Allow-Headers"
            );
        }
    }
}

#[test]
fn aspnet_middleware_order_puts_cors_between_routing_and_auth() {
    for (id, text) in snippets_of(Stack::AspNetCore) {
        let Some(cors) = text.find("app.UseCors(") else {
            continue;
        };
        if let Some(routing) = text.find("app.UseRouting()") {
            assert!(routing < cors, "aspnetcore/{id}: UseCors before UseRouting");
        }
        for later in ["app.UseAuthentication()", "app.UseAuthorization()"] {
            if let Some(at) = text.find(later) {
                assert!(cors < at, "aspnetcore/{id}: {later} before UseCors");
            }
        }
        // A UseCors without a policy name needs a default policy; these snippets name "app".
        assert!(text.contains("app.UseCors(\"app\")"), "aspnetcore/{id}");
    }
}

#[test]
fn aspnet_cookie_options_reach_the_cookie_in_use() {
    for (id, text) in snippets_of(Stack::AspNetCore) {
        // ConfigureApplicationCookie only configures ASP.NET Identity's cookie.
        for line in text.lines() {
            if line.contains("ConfigureApplicationCookie") {
                let comment = line.find("//").unwrap_or(usize::MAX);
                assert!(
                    line.find("ConfigureApplicationCookie").unwrap_or(0) > comment
                        && text.contains("Identity"),
                    "aspnetcore/{id}: ConfigureApplicationCookie used as if it reached AddCookie()"
                );
            }
        }
        if text.contains("o.Cookie.") || text.contains("OnRedirectToLogin") {
            assert!(
                text.contains(".AddCookie(o =>"),
                "aspnetcore/{id}: cookie options outside AddCookie"
            );
        }
    }
}

#[test]
fn called_names_finds_calls() {
    assert_eq!(
        called_names("p.WithOrigins(\"x\")\n    .WithMethods(a) // .Nope(\n# a.b(\n"),
        ["WithOrigins", "WithMethods"]
    );
}

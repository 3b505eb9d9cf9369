//! `${VAR}` in URLs and header values, filled from the environment at poll
//! time. The template text is what gets shown anywhere (screen, journal,
//! `--json`); the expanded value only ever reaches the HTTP request. An
//! endpoint may still echo it back (an error quoting the request), so every
//! value expanded is also remembered as a secret ([`crate::text`]) and
//! redacted wherever it shows up.
//!
//! In a URL ([`Template::expand_url`]) a value is percent-encoded, so a
//! `&`, `/`, `#`, `?` or space in it cannot change the URL's structure —
//! except a `${VAR}` that starts the URL (`"${DEMO_URL}/health"`): that one
//! supplies the scheme and host and is inserted as it is.

use std::fmt;

pub use crate::text::percent_encode;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

/// Where environment values come from; the demo adds its own URL on top.
pub trait Vars: Send + Sync {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Fixed values first, then the process environment.
pub struct Overlay(pub Vec<(String, String)>);

impl Vars for Overlay {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    }
}

impl Template {
    /// Parses `text`; the error names the byte offset of the bad `${`.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err((
                    offset + start,
                    "unterminated `${` (expected `${NAME}`)".into(),
                ));
            };
            let name = &after[..end];
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err((
                    offset + start,
                    format!(
                        "`${{{}}}` is not a valid variable name (letters, digits, `_`)",
                        super::diag::cut(name)
                    ),
                ));
            }
            parts.push(Part::Var(name.to_string()));
            let consumed = start + 2 + end + 1;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    pub fn has_vars(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var(_)))
    }

    /// The names of the variables it uses, in order.
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// The template as written: safe to show.
    pub fn as_written(&self) -> &str {
        &self.text
    }

    /// The filled-in value (a header's). The error names the missing
    /// variable, never a value.
    pub fn expand(&self, vars: &dyn Vars) -> Result<String, String> {
        self.fill(vars, false)
    }

    /// The filled-in value of a URL: each value percent-encoded, except a
    /// variable that starts the URL (it supplies scheme and host).
    pub fn expand_url(&self, vars: &dyn Vars) -> Result<String, String> {
        self.fill(vars, true)
    }

    fn fill(&self, vars: &dyn Vars, url: bool) -> Result<String, String> {
        let mut out = String::with_capacity(self.text.len());
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(name) => match vars.get(name) {
                    Some(v) => {
                        // Before it leaves us: whatever echoes it back is
                        // redacted from then on.
                        crate::text::remember(&v);
                        if url && i > 0 {
                            out.push_str(&percent_encode(&v));
                        } else {
                            out.push_str(&v);
                        }
                    }
                    None => return Err(format!("environment variable {name} is not set")),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_from_the_overlay_then_the_environment() {
        let t = Template::parse("Bearer ${TOKEN} for ${WHO}").unwrap();
        let vars = Overlay(vec![
            ("TOKEN".into(), "s3cret".into()),
            ("WHO".into(), "me".into()),
        ]);
        assert_eq!(t.expand(&vars).unwrap(), "Bearer s3cret for me");
        assert_eq!(t.as_written(), "Bearer ${TOKEN} for ${WHO}");
    }

    #[test]
    fn url_values_are_percent_encoded_but_a_leading_base_is_not() {
        let vars = Overlay(vec![
            ("BASE".into(), "http://127.0.0.1:9/x".into()),
            ("Q".into(), "a&b=c/d #?é".into()),
        ]);
        let t = Template::parse("${BASE}/q?v=${Q}&w=${Q}").unwrap();
        assert_eq!(
            t.expand_url(&vars).unwrap(),
            "http://127.0.0.1:9/x/q?v=a%26b%3Dc%2Fd%20%23%3F%C3%A9&w=a%26b%3Dc%2Fd%20%23%3F%C3%A9"
        );
        // Headers take the value as it is.
        let h = Template::parse("k ${Q}").unwrap();
        assert_eq!(h.expand(&vars).unwrap(), "k a&b=c/d #?é");
        assert_eq!(t.var_names().collect::<Vec<_>>(), ["BASE", "Q", "Q"]);
    }

    #[test]
    fn missing_variables_are_named_not_guessed() {
        let t = Template::parse("${GONOGO_SURELY_UNSET_VAR}/x").unwrap();
        assert_eq!(
            t.expand(&ProcessEnv).unwrap_err(),
            "environment variable GONOGO_SURELY_UNSET_VAR is not set"
        );
    }

    #[test]
    fn bad_syntax_is_located() {
        assert_eq!(Template::parse("abc${X").unwrap_err().0, 3);
        assert!(Template::parse("${1X}").is_err());
        assert!(Template::parse("$X and $$ are literal").is_ok());
    }
}

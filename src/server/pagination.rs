//! List parameters (`sysparm_*`) and the `Link` header that pages them.

use super::bounds;
use super::error::ApiError;
use super::records::{DisplayMode, Render};
use crate::encoded_query::{self, Query};

/// ServiceNow's default and our ceiling for `sysparm_limit`.
pub const MAX_LIMIT: usize = crate::protocol::PAGE_CEILING;

#[derive(Debug, Clone)]
pub struct ListParams {
    /// The request's pairs, to rebuild page links with everything else kept.
    pairs: Vec<(String, String)>,
    pub query: Query,
    pub limit: usize,
    pub offset: usize,
    pub no_count: bool,
    pub suppress_pagination_header: bool,
    pub render: Render,
}

impl ListParams {
    pub fn parse(raw: &str, base_url: String) -> Result<ListParams, ApiError> {
        bounds::check_query_string(raw)?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str, default: usize| -> Result<usize, ApiError> {
            match get(name) {
                None | Some("") => Ok(default),
                Some(v) => v.trim().parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a whole number, not '{v}'"))
                }),
            }
        };
        let flag = |name: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let text = get("sysparm_query").unwrap_or("");
        bounds::check_encoded_query(text)?;
        let query = encoded_query::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        bounds::check_terms(&query)?;
        let display = match get("sysparm_display_value").unwrap_or("false") {
            "true" => DisplayMode::Display,
            "all" => DisplayMode::All,
            "false" | "" => DisplayMode::Value,
            other => {
                return Err(ApiError::bad_request(format!(
                    "sysparm_display_value must be true, false or all, not '{other}'"
                )));
            }
        };
        let fields = get("sysparm_fields")
            .filter(|f| !f.trim().is_empty())
            .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
        Ok(ListParams {
            query,
            limit: number("sysparm_limit", MAX_LIMIT)?.clamp(1, MAX_LIMIT),
            // SQLite counts in i64: a larger offset is simply past the end.
            offset: number("sysparm_offset", 0)?.min(i64::MAX as usize / 2),
            no_count: flag("sysparm_no_count"),
            suppress_pagination_header: flag("sysparm_suppress_pagination_header"),
            render: Render {
                fields,
                display,
                exclude_reference_link: flag("sysparm_exclude_reference_link"),
                base_url,
            },
            pairs,
        })
    }

    fn page_url(&self, path: &str, offset: usize) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if k != "sysparm_offset" && k != "sysparm_limit" {
                out.append_pair(k, v);
            }
        }
        out.append_pair("sysparm_limit", &self.limit.to_string());
        out.append_pair("sysparm_offset", &offset.to_string());
        format!("{}{path}?{}", self.render.base_url, out.finish())
    }
}

/// `Link: <url>;rel="first",<url>;rel="prev",<url>;rel="next",<url>;rel="last"`.
/// `prev` only past the first page (never a negative offset); `last` only
/// when the total is known; `next` whenever another row exists.
pub fn link_header(params: &ListParams, path: &str, total: Option<i64>, more: bool) -> String {
    let limit = params.limit;
    let mut links = vec![(params.page_url(path, 0), "first")];
    if params.offset > 0 {
        links.push((
            params.page_url(path, params.offset.saturating_sub(limit)),
            "prev",
        ));
    }
    if more {
        links.push((params.page_url(path, params.offset + limit), "next"));
    }
    if let Some(total) = total {
        let total = usize::try_from(total).unwrap_or(0);
        let last = if total == 0 {
            0
        } else {
            (total - 1) / limit * limit
        };
        links.push((params.page_url(path, last), "last"));
    }
    links
        .into_iter()
        .map(|(url, rel)| format!("<{url}>;rel=\"{rel}\""))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_other_parameters_and_page_by_limit() {
        let p = ListParams::parse(
            "sysparm_query=state%3D1&sysparm_limit=10&sysparm_offset=20",
            "http://h".into(),
        )
        .unwrap();
        let link = link_header(&p, "/api/now/table/x", Some(35), true);
        assert!(link.contains("sysparm_offset=0>;rel=\"first\""), "{link}");
        assert!(link.contains("sysparm_offset=10>;rel=\"prev\""), "{link}");
        assert!(link.contains("sysparm_offset=30>;rel=\"next\""), "{link}");
        assert!(link.contains("sysparm_offset=30>;rel=\"last\""), "{link}");
        assert!(link.contains("sysparm_query=state%3D1"), "{link}");
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = ListParams::parse("sysparm_limit=ten", "http://h".into()).unwrap_err();
        assert!(e.detail.contains("sysparm_limit"));
        let e = ListParams::parse("sysparm_display_value=maybe", "http://h".into()).unwrap_err();
        assert!(e.detail.contains("sysparm_display_value"));
    }
}

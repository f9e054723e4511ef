//! An app version's route table: method and path to the manifest's route, with the path
//! parameters. Built once per version; the query part of a template (`?limit={limit}`) is
//! bound separately and not matched.

use std::collections::HashMap;

use guest_abi::manifest::Route;

pub struct RouteTable {
    by_method: HashMap<String, matchit::Router<usize>>,
}

pub enum Found {
    Route {
        index: usize,
        params: Vec<(String, String)>,
    },
    NotFound,
    /// The path exists for these other methods.
    MethodNotAllowed(Vec<String>),
}

impl RouteTable {
    pub fn new(routes: &[Route]) -> Result<RouteTable, String> {
        let mut by_method: HashMap<String, matchit::Router<usize>> = HashMap::new();
        for (i, r) in routes.iter().enumerate() {
            let path = r.path.split('?').next().unwrap_or("/");
            by_method.entry(r.method.to_ascii_uppercase()).or_default().insert(path, i).map_err(|e| format!("route {} {} cannot be served: {e}", r.method, r.path))?;
        }
        Ok(RouteTable { by_method })
    }

    /// The route a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) asks about.
    pub fn preflight(&self, method: &str, path: &str) -> Option<usize> {
        self.by_method.get(&method.to_ascii_uppercase())?.at(path).ok().map(|m| *m.value)
    }

    pub fn find(&self, method: &str, path: &str) -> Found {
        if let Some(router) = self.by_method.get(method)
            && let Ok(m) = router.at(path)
        {
            let params = m.params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            return Found::Route { index: *m.value, params };
        }
        let mut allowed: Vec<String> = self.by_method.iter().filter(|(_, r)| r.at(path).is_ok()).map(|(m, _)| m.clone()).collect();
        if allowed.is_empty() {
            return Found::NotFound;
        }
        allowed.sort();
        Found::MethodNotAllowed(allowed)
    }
}

//! The secrets a layout names: the values of every `${VAR}` its templates
//! use. Kept beside the templates rather than in [`crate::text`], so the
//! text gate knows nothing of layouts: the layout depends on it, not the
//! other way round.

use super::template::Vars;
use super::{ChecklistSource, Layout, Probe, Template};
use crate::text::Secrets;

impl Secrets {
    /// The values of every variable the layout's templates name (URLs,
    /// header values, checklist URLs), as `vars` gives them now.
    pub fn from_layout(layout: &Layout, vars: &dyn Vars) -> Secrets {
        let mut set = Secrets::new();
        let mut add = |t: &Template| {
            for name in t.var_names() {
                if let Some(v) = vars.get(name) {
                    set.add(&v);
                }
            }
        };
        for s in &layout.signals {
            match &s.probe {
                Probe::Http(p) => {
                    add(&p.url);
                    p.headers.iter().for_each(|(_, v)| add(v));
                }
                Probe::Json(p) => {
                    add(&p.url);
                    p.headers.iter().for_each(|(_, v)| add(v));
                }
                Probe::Prometheus(p) => {
                    add(&p.url);
                    p.headers.iter().for_each(|(_, v)| add(v));
                }
                Probe::Checklist(ChecklistSource::Url(u)) => add(u),
                Probe::Command(_)
                | Probe::Checklist(_)
                | Probe::Tcp(_)
                | Probe::Tls(_)
                | Probe::Dns(_) => {}
            }
        }
        set
    }
}

//! Markdown checklists: GFM task items (`- [ ] x`, `1. [x] y`), with the
//! nearest heading above an item as its section. Parsing is pulldown-cmark's;
//! this module only collects task items from its events.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChecklistItem {
    pub section: Option<String>,
    pub text: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
}

impl Checklist {
    pub fn from_markdown(md: &str) -> Checklist {
        let mut items: Vec<ChecklistItem> = Vec::new();
        let mut section: Option<String> = None;
        let mut heading: Option<String> = None;
        // One slot per open list item: the task item it became, if any.
        let mut open: Vec<Option<usize>> = Vec::new();
        for event in Parser::new_ext(md, Options::ENABLE_TASKLISTS) {
            match event {
                Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
                Event::End(TagEnd::Heading(_)) => {
                    section = heading
                        .take()
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty());
                }
                Event::Start(Tag::Item) => open.push(None),
                Event::End(TagEnd::Item) => {
                    open.pop();
                }
                Event::TaskListMarker(done) => {
                    if let Some(slot) = open.last_mut() {
                        items.push(ChecklistItem {
                            section: section.clone(),
                            text: String::new(),
                            done,
                        });
                        *slot = Some(items.len() - 1);
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(h) = heading.as_mut() {
                        h.push_str(&t);
                    } else if let Some(Some(i)) = open.last() {
                        items[*i].text.push_str(&t);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some(Some(i)) = open.last() {
                        items[*i].text.push(' ');
                    }
                }
                _ => {}
            }
        }
        for item in &mut items {
            item.text = item.text.trim().to_string();
        }
        Checklist { items }
    }

    /// Items given inline in the layout: all open until checked off.
    pub fn from_items(items: &[String]) -> Checklist {
        Checklist {
            items: items
                .iter()
                .map(|t| ChecklistItem {
                    section: None,
                    text: t.clone(),
                    done: false,
                })
                .collect(),
        }
    }

    pub fn done(&self) -> usize {
        self.items.iter().filter(|i| i.done).count()
    }

    pub fn total(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_numbers_sections_and_nesting() {
        let md = "# Preflight\n\
                  - [x] Team assembled\n\
                  - [ ] Dashboards `visible`\n\
                  - not a task\n\
                  \n\
                  ## Comms\n\
                  1. [ ] Status page\n   drafted\n\
                  2. [X] Support briefed\n\
                  \x20\x20\x20- [ ] nested item\n";
        let c = Checklist::from_markdown(md);
        let got: Vec<_> = c
            .items
            .iter()
            .map(|i| (i.section.as_deref().unwrap_or(""), i.text.as_str(), i.done))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Preflight", "Team assembled", true),
                ("Preflight", "Dashboards visible", false),
                ("Comms", "Status page drafted", false),
                ("Comms", "Support briefed", true),
                ("Comms", "nested item", false),
            ]
        );
        assert_eq!((c.done(), c.total()), (2, 5));
    }

    #[test]
    fn no_tasks_means_an_empty_list() {
        assert_eq!(Checklist::from_markdown("just prose\n- item\n").total(), 0);
    }
}

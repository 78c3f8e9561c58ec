//! [`Page`]: which part of an owner's list a list call answers, OpenAI's cursor paging:
//! at most `limit` objects after the one named by `after`, newest first.

/// A page of a list: at most `limit` objects after the one named by `after`, newest first.
///
/// ```
/// use llm_tower::layers::files::Page;
///
/// let ids = ["c", "b", "a"].map(String::from);
/// let page = Page { limit: 1, after: Some("c".to_owned()) };
/// assert_eq!(page.rest(&ids), &ids[1..]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The most objects answered.
    pub limit: usize,
    /// The id of the last object of the previous page, if this is not the first.
    pub after: Option<String>,
}

impl Page {
    /// The first page of `limit` objects.
    pub fn first(limit: usize) -> Self {
        Self { limit, after: None }
    }

    /// The ids of `ids` (newest first) from this page on: all of them for the first page,
    /// those after `after` otherwise, none when `after` is not among them (an id that left
    /// the list, or another owner's).
    pub fn rest<'a>(&self, ids: &'a [String]) -> &'a [String] {
        match &self.after {
            None => ids,
            Some(after) => ids
                .iter()
                .position(|id| id == after)
                .map_or(&[][..], |at| &ids[at + 1..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn a_cursor_not_in_the_list_ends_it() {
        let ids = ["c", "b"].map(String::from);
        assert_eq!(Page::first(5).rest(&ids), &ids[..]);
        let gone = Page {
            limit: 5,
            after: Some("x".to_owned()),
        };
        assert!(gone.rest(&ids).is_empty());
        let last = Page {
            limit: 5,
            after: Some("b".to_owned()),
        };
        assert!(last.rest(&ids).is_empty());
    }
}

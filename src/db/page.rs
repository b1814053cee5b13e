//! A page of a list and the count of every match, from one statement.
//!
//! The page statement selects `count(*) over () as total` beside each row, so the count
//! comes with the page at no extra round trip. An empty page has no row to carry it, and
//! needs none: on the first page there are no matches, and past the first the page is
//! past the last page whatever the count (matches beyond the offset would have filled it),
//! which is all a list does with an empty page (`http::pagination::ListQuery::links`
//! answers 404). So a list never runs a second statement to count.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};

/// A row of a page statement: one item, and the `total` of every match beside it.
#[derive(Debug)]
pub struct Counted<T> {
    pub item: T,
    pub total: i64,
}

impl<'r, T> FromRow<'r, PgRow> for Counted<T>
where
    T: FromRow<'r, PgRow>,
{
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Counted { item: T::from_row(row)?, total: row.try_get("total")? })
    }
}

impl<T> Counted<T> {
    /// The items of a page and the count of every match. An empty page counts 0: past the
    /// first page that is not the number of matches, but like it, it puts the page past
    /// the last (see the module documentation).
    #[must_use]
    pub fn split(rows: Vec<Counted<T>>) -> (Vec<T>, i64) {
        let total = rows.first().map_or(0, |row| row.total);
        (rows.into_iter().map(|row| row.item).collect(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_comes_from_the_rows_and_an_empty_page_counts_none() {
        let rows = vec![Counted { item: 'a', total: 7 }, Counted { item: 'b', total: 7 }];
        assert_eq!(Counted::split(rows), (vec!['a', 'b'], 7));
        assert_eq!(Counted::<char>::split(Vec::new()), (Vec::new(), 0));
    }
}

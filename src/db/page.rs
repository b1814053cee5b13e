//! A page of a list and the count of every match, read together.
//!
//! The page statement selects `count(*) over () as total` beside each row, so the count
//! comes with the page at no extra round trip. A page past the last has no row to carry it:
//! only there (an empty page after the first) does a second statement count the matches,
//! over the same filter values. An empty first page means there are none.
//!
//! A list states its statements once ([`PageSql`]) and its filter values once ([`Filters`]);
//! [`fetch`] binds those to both statements, or a read without bound parameters (the
//! one-round-trip store reads) sends [`PageSql::select_written`] and [`PageSql::count`]
//! itself and splits the rows with [`Counted::split`].

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{AssertSqlSafe, FromRow, PgConnection, Postgres, Row};

use crate::db::inline::Inline;

/// The statements of one list.
#[derive(Debug, Clone)]
pub struct PageSql {
    /// The select list of one item.
    pub columns: &'static str,
    /// `from … where …`: the matches; filter parameters are `$1` … `$n`, in the order
    /// [`Filters::bind`] binds them.
    pub matches: String,
    /// Must order the matches totally (end with a unique column), or pages overlap.
    pub order_by: &'static str,
    /// Whether the text is one of a few, so each connection may keep it prepared. False when
    /// `matches` has values written in (one text per store or filter): such statements are
    /// prepared unnamed each time, leaving the statement cache to the ones that recur.
    pub reusable: bool,
}

impl PageSql {
    /// The page with `limit` and `offset` written in, for a message without bound
    /// parameters; each row carries `total`.
    #[must_use]
    pub fn select_written(&self, limit: i64, offset: i64) -> String {
        self.select(&limit.inline(), &offset.inline())
    }

    /// The count of every match, as `total`.
    #[must_use]
    pub fn count(&self) -> String {
        format!("select count(*) as total {}", self.matches)
    }

    /// The page with `limit` and `offset` bound after the `filters` filter parameters.
    fn select_bound(&self, filters: usize) -> String {
        self.select(&format!("${}", filters + 1), &format!("${}", filters + 2))
    }

    fn select(&self, limit: &str, offset: &str) -> String {
        format!(
            "select {}, count(*) over () as total {} order by {} limit {limit} offset {offset}",
            self.columns, self.matches, self.order_by
        )
    }

    /// `sql` prepared as [`crate::db::query_as`] does, and unnamed when not reusable.
    fn prepare<'q, O>(&self, sql: String) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        O: for<'r> FromRow<'r, PgRow>,
    {
        let query = crate::db::query_as(AssertSqlSafe(sql));
        if self.reusable { query } else { query.persistent(false) }
    }
}

/// A list's filter values, bound in order to `$1` … `$n` of its [`PageSql::matches`]:
/// written once, bound to the page and to the count alike.
pub trait Filters {
    /// How many parameters [`Filters::bind`] binds.
    fn parameter_count(&self) -> usize;

    /// `query` with the filter values bound.
    fn bind<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments>;
}

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
    /// The items of a page read at `offset`, and the total their rows carry: `None` when
    /// the page is empty past the first, where only [`PageSql::count`] knows it.
    #[must_use]
    pub fn split(rows: Vec<Counted<T>>, offset: i64) -> (Vec<T>, Option<i64>) {
        let total = match rows.first() {
            Some(row) => Some(row.total),
            None if needs_count(offset) => None,
            None => Some(0),
        };
        (rows.into_iter().map(|row| row.item).collect(), total)
    }
}

/// Whether a page at `offset` can come back empty with matches before it, so that its
/// total needs [`PageSql::count`]: any page but the first.
#[must_use]
pub fn needs_count(offset: i64) -> bool {
    offset > 0
}

/// One page of `sql` (`limit` rows from `offset`) and the count of every match, with
/// `filters` bound to both statements.
pub async fn fetch<T, F>(
    conn: &mut PgConnection,
    sql: &PageSql,
    filters: &F,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<T>, i64)>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    F: Filters,
{
    let select = sql.prepare::<Counted<T>>(sql.select_bound(filters.parameter_count()));
    let rows = filters.bind(select).bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    let (items, total) = Counted::split(rows, offset);
    let total = match total {
        Some(total) => total,
        None => filters.bind(sql.prepare::<(i64,)>(sql.count())).fetch_one(conn).await?.0,
    };
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> PageSql {
        PageSql {
            columns: "a.id",
            matches: "from a where ($1::bigint is null or a.actor = $1)".to_owned(),
            order_by: "a.id desc",
            reusable: true,
        }
    }

    #[test]
    fn limit_and_offset_follow_the_filters_or_are_written_in() {
        assert_eq!(
            events().select_bound(1),
            "select a.id, count(*) over () as total from a where ($1::bigint is null or a.actor = $1) \
             order by a.id desc limit $2 offset $3"
        );
        assert!(events().select_written(20, 40).ends_with("order by a.id desc limit 20 offset 40"));
        assert_eq!(
            events().count(),
            "select count(*) as total from a where ($1::bigint is null or a.actor = $1)"
        );
    }

    #[test]
    fn only_an_empty_page_past_the_first_needs_a_count() {
        let rows = || vec![Counted { item: 'a', total: 7 }, Counted { item: 'b', total: 7 }];
        assert_eq!(Counted::split(rows(), 40), (vec!['a', 'b'], Some(7)));
        assert_eq!(Counted::<char>::split(Vec::new(), 0), (Vec::new(), Some(0)));
        assert_eq!(Counted::<char>::split(Vec::new(), 20), (Vec::new(), None));
    }
}

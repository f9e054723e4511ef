//! `@has_many` / `@belongs_to` on both databases: `preload` reads a list of rows and all their
//! children in two statements whatever the number of rows (counted at the host), where
//! navigating row by row costs one more per row; navigation both ways; the foreign key is in
//! the database (a row pointing nowhere is refused, `on_delete="cascade"` removes the children).

use fitz_host::runtime::app::Limits;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

const APP: &str = r#"
@table("authors")
type Author {
    @primary id: Int = 0
    name: Str
    @has_many("Book", via="author_id") books: List<Book>
}

@table("books")
type Book {
    @primary id: Int = 0
    title: Str
    @belongs_to("Author", on_delete="cascade") author_id: Int
}

type NewBook { title: Str }

@post("/authors/{name}")
async fn add_author(db: DbConn, name: Str) -> Author {
    return Author.insert(db, Author { id: 0, name: name }).await?
}

@post("/authors/{id}/books")
async fn add_book(db: DbConn, id: Int, body: NewBook) -> Book {
    return Book.insert(db, Book { id: 0, title: body.title, author_id: id }).await?
}

@get("/authors")
async fn authors(db: DbConn) -> List<Author> {
    return Author.preload("books").order_by(fn(a) => a.id).all(db).await?
}

@get("/authors/{id}")
async fn author(db: DbConn, id: Int) -> Author {
    return Author.where(fn(a) => a.id == id).preload("books").first(db).await?
}

// Row by row: one statement per author.
@get("/naive")
async fn naive(db: DbConn) -> List<Int> {
    let counts = []
    for a in Author.order_by(fn(a) => a.id).all(db).await? {
        counts.push(a.books(db).await?.len())
    }
    return counts
}

@get("/books/{id}/author")
async fn writer(db: DbConn, id: Int) -> Str {
    let b = Book.where(fn(b) => b.id == id).first(db).await?
    let a = b.author_id(db).await?
    return a.name
}

@delete("/authors/{id}")
async fn remove(db: DbConn, id: Int) -> Int {
    return Author.where(fn(a) => a.id == id).delete(db).await?
}

@get("/books")
async fn books(db: DbConn) -> Int {
    return Book.count(db).await?
}
"#;

async fn relations(backend: Backend) {
    let app = TestApp::start(APP, backend, &[], Limits::default()).await;
    const AUTHORS: usize = 6;
    for i in 1..=AUTHORS {
        assert_eq!(app.post(&format!("/authors/a{i}"), None, &json!({})).await.body, json!({ "id": i, "name": format!("a{i}"), "books": [] }));
        // The last author has no books.
        for j in 0..if i == AUTHORS { 0 } else { 2 } {
            let r = app.post(&format!("/authors/{i}/books"), None, &json!({ "title": format!("b{i}.{j}") })).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    }
    let statements = || app.db.statements_run();

    let before = statements();
    let r = app.get("/authors", None).await;
    assert_eq!(statements() - before, 2, "the authors, then all their books: two statements");
    let list = r.body.as_array().expect("a list").clone();
    assert_eq!(list.len(), AUTHORS);
    assert_eq!(list[0], json!({ "id": 1, "name": "a1", "books": [{ "id": 1, "title": "b1.0", "author_id": 1 }, { "id": 2, "title": "b1.1", "author_id": 1 }] }));
    assert_eq!(list[AUTHORS - 1]["books"], json!([]), "an author without books has an empty list");

    let before = statements();
    let r = app.get("/naive", None).await;
    assert_eq!(r.body, json!([2, 2, 2, 2, 2, 0]));
    assert_eq!(statements() - before, 1 + AUTHORS as u64, "row by row: one statement per author more");

    let before = statements();
    let r = app.get("/authors/3", None).await;
    assert_eq!(statements() - before, 2);
    assert_eq!(r.body["books"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.get("/books/5/author", None).await.body, json!("a3"), "from a book to its author");

    // The foreign key is the database's: a book of no author is refused.
    let r = app.post("/authors/99/books", None, &json!({ "title": "orphan" })).await;
    assert_eq!(r.status, 500);
    assert_eq!(app.get("/books", None).await.body, json!(10));
    // `on_delete="cascade"`: the author's books go with it.
    assert_eq!(app.send(app.client.delete(app.url("/authors/1"))).await.body, json!(1));
    assert_eq!(app.get("/books", None).await.body, json!(8));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_preload_and_navigate_on_sqlite() {
    relations(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_preload_and_navigate_on_postgres() {
    relations(Backend::Postgres).await;
}

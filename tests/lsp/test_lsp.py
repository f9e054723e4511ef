"""`fitz lsp` driven by a real client (pytest-lsp, the protocol's own types over stdio).

Run by `host/tests/lsp_client.rs`, which passes the server's binary in `FITZ_BIN`.
"""

import os
import pathlib
import time

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

FITZ = os.environ.get("FITZ_BIN", "fitz")

MODELS = """// Someone who can sign in.
type User {
    id: Int
    // Where we write to them.
    email: Str
    name: Str
}
"""

MAIN = """from models import User

@get("/users/{id}")
async fn one(db: DbConn, id: Int) -> Str {
    let user = User.where(fn(u) => u.id == id).first(db).await?
    return user.email
}
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[FITZ, "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def project(tmp_path: pathlib.Path, main: str = MAIN):
    (tmp_path / "models.fitz").write_text(MODELS)
    (tmp_path / "main.fitz").write_text(main)
    return (tmp_path / "main.fitz").as_uri(), (tmp_path / "models.fitz").as_uri()


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1):
    client.text_document_did_open(t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(uri=uri, language_id="fitz", version=version, text=text)))


def change(client: LanguageClient, uri: str, text: str, version: int):
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)])
    )


def pos(text: str, needle: str, delta: int = 0) -> t.Position:
    """The position of the first `needle` in `text`, moved `delta` characters."""
    at = text.index(needle) + delta
    line = text.count("\n", 0, at)
    return t.Position(line=line, character=at - (text.rfind("\n", 0, at) + 1))


async def diagnostics_for(client: LanguageClient, uri: str):
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics.get(uri, [])


async def test_diagnostics_on_open_and_on_change(client: LanguageClient, tmp_path):
    bad = MAIN.replace("return user.email", "return user.id + \"x\"")
    uri, _ = project(tmp_path, bad)
    open_doc(client, uri, bad)
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["operator-types"], diags
    assert diags[0].range.start == pos(bad, "user.id + ")
    assert diags[0].severity == t.DiagnosticSeverity.Error
    change(client, uri, MAIN, 2)
    assert list(await diagnostics_for(client, uri)) == []


async def test_hover_on_a_record_field_shows_its_type_and_doc(client: LanguageClient, tmp_path):
    uri, models = project(tmp_path)
    open_doc(client, uri, MAIN)
    await diagnostics_for(client, uri)
    hover = await client.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(MAIN, "user.email", 6)))
    assert "User.email: Str" in hover.contents.value, hover
    hover = await client.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=models), position=pos(MODELS, "email", 1)))
    assert "User.email: Str" in hover.contents.value and "Where we write to them." in hover.contents.value, hover


async def test_definition_across_files(client: LanguageClient, tmp_path):
    uri, models = project(tmp_path)
    open_doc(client, uri, MAIN)
    await diagnostics_for(client, uri)
    found = await client.text_document_definition_async(t.DefinitionParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(MAIN, "User.where", 1)))
    assert found.uri == models, found
    assert found.range.start == pos(MODELS, "User {")
    field = await client.text_document_definition_async(t.DefinitionParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(MAIN, "user.email", 7)))
    assert field.uri == models and field.range.start == pos(MODELS, "email: Str"), field


async def test_completion_after_a_dot_and_after_an_at(client: LanguageClient, tmp_path):
    uri, _ = project(tmp_path)
    open_doc(client, uri, MAIN)
    await diagnostics_for(client, uri)
    # Half typed: `user.` does not parse; the fields still come.
    typing = MAIN.replace("return user.email", "return user.")
    change(client, uri, typing, 2)
    await diagnostics_for(client, uri)
    items = await client.text_document_completion_async(t.CompletionParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(typing, "user.\n", 5)))
    labels = {i.label for i in (items.items if hasattr(items, "items") else items)}
    assert {"id", "email", "name"} <= labels, labels
    deco = MAIN.replace('@get("/users/{id}")', "@")
    change(client, uri, deco, 3)
    await diagnostics_for(client, uri)
    items = await client.text_document_completion_async(t.CompletionParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(deco, "@", 1)))
    labels = {i.label for i in (items.items if hasattr(items, "items") else items)}
    assert {"get", "post", "authenticated", "requires", "cron", "test"} <= labels, labels
    # Still answers hover while the file does not parse.
    hover = await client.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(deco, "DbConn")))
    assert hover is None or "DbConn" in hover.contents.value


async def test_rename_a_type_in_every_file(client: LanguageClient, tmp_path):
    uri, models = project(tmp_path)
    open_doc(client, uri, MAIN)
    await diagnostics_for(client, uri)
    edit = await client.text_document_rename_async(t.RenameParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(MAIN, "User.where"), new_name="Account"))
    assert set(edit.changes) == {uri, models}, edit
    assert len(edit.changes[uri]) == 2 and len(edit.changes[models]) == 1
    assert all(e.new_text == "Account" for e in edit.changes[uri] + edit.changes[models])


async def test_formatting_symbols_and_a_quick_fix(client: LanguageClient, tmp_path):
    messy = 'from models import User\n@get("/n")\nfn n() -> Int {\nreturn   1+2\n}\n'
    uri, _ = project(tmp_path, messy)
    open_doc(client, uri, messy)
    await diagnostics_for(client, uri)
    edits = await client.text_document_formatting_async(t.DocumentFormattingParams(text_document=t.TextDocumentIdentifier(uri=uri), options=t.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert edits and "    return 1 + 2" in edits[0].new_text, edits
    symbols = await client.text_document_document_symbol_async(t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri)))
    assert [s.name for s in symbols] == ["n"], symbols
    typo = messy.replace("return   1+2", "return lenn([1])")
    change(client, uri, typo, 2)
    diags = await diagnostics_for(client, uri)
    assert diags and diags[0].code == "unknown-name", diags
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(text_document=t.TextDocumentIdentifier(uri=uri), range=diags[0].range, context=t.CodeActionContext(diagnostics=diags))
    )
    assert actions and actions[0].title == "Change to `len`", actions
    assert actions[0].edit.changes[uri][0].new_text == "len"


async def test_a_future_never_awaited_gets_await_added(client: LanguageClient, tmp_path):
    text = 'async fn one() -> Int => 1\n\n@get("/x")\nasync fn x() -> Int {\n    return one()\n}\n'
    uri, _ = project(tmp_path, text)
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["missing-await"], diags
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(text_document=t.TextDocumentIdentifier(uri=uri), range=diags[0].range, context=t.CodeActionContext(diagnostics=diags))
    )
    assert actions and actions[0].title == "Add `.await`", actions
    edit = actions[0].edit.changes[uri][0]
    assert edit.new_text == ".await" and edit.range.start == pos(text, "one()\n", 5), edit


def apply_edits(text: str, edits) -> str:
    """The text after `edits` (LSP ranges, ASCII text here), applied from the last one up."""
    lines = text.split("\n")
    offset = lambda p: sum(len(l) + 1 for l in lines[: p.line]) + p.character
    for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


async def test_every_help_with_a_mechanical_fix_is_a_quick_fix(client: LanguageClient, tmp_path):
    # Three problems, each with its fix: a decorator misspelt, `.await` in a function that is
    # not async, and a path parameter the handler does not take.
    text = 'async fn one() -> Int => 1\n\n@gett("/a")\nfn a() -> Int => 2\n\n@get("/b")\nfn b() -> Int {\n    return one().await\n}\n\n@get("/c/{n}")\nfn c() -> Int => 3\n'
    uri, _ = project(tmp_path, text)
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri)
    assert sorted(d.code for d in diags) == ["await-outside-async", "unbound-path-parameter", "unknown-decorator"], diags
    titles = []
    for d in diags:
        actions = await client.text_document_code_action_async(
            t.CodeActionParams(text_document=t.TextDocumentIdentifier(uri=uri), range=d.range, context=t.CodeActionContext(diagnostics=[d]))
        )
        assert len(actions) == 1, (d, actions)
        titles.append(actions[0].title)
        text = apply_edits(text, actions[0].edit.changes[uri])
    assert sorted(titles) == ["Add parameter `n: Str`", "Change to `@get`", "Make `b` async"], titles
    assert "async fn b()" in text and "fn c(n: Str)" in text and '@get("/a")' in text, text
    change(client, uri, text, 2)
    assert list(await diagnostics_for(client, uri)) == [], text


async def test_ranged_changes_are_applied_to_the_open_text(client: LanguageClient, tmp_path):
    # Incremental sync: the client sends only the range it changed.
    uri, _ = project(tmp_path)
    open_doc(client, uri, MAIN)
    assert list(await diagnostics_for(client, uri)) == []
    at = pos(MAIN, "user.email", 5)
    edit = t.TextDocumentContentChangePartial(range=t.Range(start=at, end=t.Position(line=at.line, character=at.character + 5)), text="mail")
    client.text_document_did_change(t.DidChangeTextDocumentParams(text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[edit]))
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["unknown-field"], diags
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(text_document=t.TextDocumentIdentifier(uri=uri), range=diags[0].range, context=t.CodeActionContext(diagnostics=diags))
    )
    assert actions[0].title == "Change to `email`", actions
    fix = actions[0].edit.changes[uri][0]
    client.text_document_did_change(t.DidChangeTextDocumentParams(text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=3), content_changes=[t.TextDocumentContentChangePartial(range=fix.range, text=fix.new_text)]))
    assert list(await diagnostics_for(client, uri)) == []


async def test_signature_help_while_a_call_is_half_written(client: LanguageClient, tmp_path):
    good = "// Adds two numbers.\nfn add(a: Int, b: Int) -> Int => a + b\n\nprint(add(1, 2))\n"
    uri, _ = project(tmp_path, good)
    open_doc(client, uri, good)
    assert list(await diagnostics_for(client, uri)) == []
    # Typing a new call: the file no longer parses.
    typing = good + "print(add(1, "
    change(client, uri, typing, 2)
    await diagnostics_for(client, uri)
    at = t.Position(line=typing.count("\n"), character=len("print(add(1, "))
    help = await client.text_document_signature_help_async(t.SignatureHelpParams(text_document=t.TextDocumentIdentifier(uri=uri), position=at))
    assert help is not None and help.signatures[0].label == "fn add(a: Int, b: Int) -> Int", help
    assert [p.label for p in help.signatures[0].parameters] == ["a: Int", "b: Int"]
    assert help.active_parameter == 1
    assert "Adds two numbers." in help.signatures[0].documentation.value
    # Every request while the file does not parse answers from the last analysis that did.
    for _ in range(2):
        hover = await client.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=pos(typing, "add(a", 1)))
        assert hover is not None and "fn add(a: Int, b: Int) -> Int" in hover.contents.value, hover

// Starts `fitz lsp` (the binary named by `fitz.server.path`) for `.fitz` files.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("fitz").get("server.path", "fitz");
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient("fitz", "Fitz", { run: server, debug: server }, {
    documentSelector: [{ scheme: "file", language: "fitz" }],
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
